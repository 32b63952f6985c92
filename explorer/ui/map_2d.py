"""The latent map's main view: the test set's codes in 2-D, coloured by class; select points to
see their images, reconstructions and nearest neighbours."""

from __future__ import annotations

from functools import partial

import streamlit as st

from explorer import exports, figures, lessons, mapview
from explorer.ui import common, map_parts, pages
from explorer.ui.neighbours import show_neighbours


def show(cur: common.Current) -> None:
    codes = cur.codes()  # (N, D) posterior means of the test set, cached per model
    labels, names = cur.labels, cur.names
    dim = codes.shape[1]
    if dim == 2:
        st.caption("This model's code is 2-D, so the map is the latent space itself: no "
                   "projection, nothing distorted. Each point is one test image's posterior mean.")
    params = map_parts.projection_controls(dim)
    coords, pending = map_parts.map_coords(cur, params)
    map_parts.wait_for([pending])

    # No extra "chosen" trace: changing the figure would make Streamlit drop the selection, and
    # plotly already dims the points that are not selected.
    shown = map_parts.shown_method(dim, params, pending)
    fig = common.chart_style(figures.map_figure(coords, labels, names, shown))
    event = st.plotly_chart(fig, key="map_chart", on_select="rerun",
                            selection_mode=("points", "box", "lasso"))
    # A selection made on another model's map may point past this test set: drop those.
    picked = [i for i in mapview.selected_indices(event.selection if event else None)
              if i < len(codes)]
    # The selection outlives its figure: when the UMAP map replaces the PCA stand-in (a new
    # figure, which Streamlit starts unselected) the points chosen on the stand-in stay chosen.
    figure_id, (kept_id, kept) = (cur.hash, shown), st.session_state.get("map_kept", (None, []))
    if picked:
        chosen = mapview.in_click_order(kept, picked)
    elif kept and kept_id is not None and kept_id[0] == cur.hash and (
            kept_id != figure_id or st.session_state.get("map_inherited")):
        chosen = kept
        st.session_state["map_inherited"] = True
    else:
        chosen = []
    if picked or not chosen:
        st.session_state["map_inherited"] = False
    st.session_state["map_kept"] = (figure_id, chosen)
    if not common.presenting():
        st.download_button(
            "Coordinates (CSV)", data=partial(exports.coords_csv, codes, coords, labels, names),
            file_name=f"{cur.entry.name}-{shown}.csv", mime="text/csv", key="map_csv",
            on_click="ignore", icon=":material/download:", type="tertiary",
            help="One row per test image: index, label, class name, its x and y on this map, "
                 "and its full code z_0 … z_(D-1).")

    if not chosen:
        st.caption("Click a point (shift-click adds more), or pick Box or Lasso Select in the "
                   "chart's toolbar and draw around some, to see their images and what the "
                   "model makes of them. Click a class in the legend to hide it.")
        return

    if st.session_state.get("map_inherited"):
        st.caption("Kept from the map shown before; select on this one to start afresh.")
        if st.button("Clear the selection", icon=":material/deselect:", type="tertiary"):
            st.session_state["map_kept"], st.session_state["map_inherited"] = (None, []), False
            st.rerun()
    map_parts.show_chosen(cur, chosen, [("Reconstructions", cur.model, codes)])
    show_neighbours(cur, chosen)

    pair = mapview.pair_for_interpolation(chosen, labels)
    if pair is not None and st.button(f"Interpolate between #{pair[0]} and #{pair[1]}",
                                      icon=":material/linear_scale:"):
        st.session_state["interp_pair"] = pair
        # The pair is on the first tab: open that one, not whichever was used last.
        st.session_state.pop("interp_tab", None)
        pages.switch("interpolate", {"interp_tab": lessons.PAIR_TAB})

