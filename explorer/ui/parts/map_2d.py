"""The latent map's main view: the test set's codes in 2-D, coloured by class or by one number per
image; find an image or a class, or select points, to see their images, reconstructions and
nearest neighbours."""

from __future__ import annotations

from collections.abc import Hashable
from functools import partial

import numpy as np
import streamlit as st

from explorer import analysis, lessons, runs
from explorer.figures import map as figures_map
from explorer.ui import pages
from explorer.ui.parts import common, export_buttons, map_parts, projector, url_values
from explorer.ui.parts.neighbours import show_neighbours

PRESENTER_HEIGHT = 620  # px of the map in presenter mode (560 otherwise)
PRESENTER_MARKER = 8  # px of a point in presenter mode (5 otherwise)


def find_control(cur: common.Current, how_where, which_where) -> tuple[Hashable, list[int]]:
    """"Find" (bound to the URL): one test image by index, or every image of one class; returns
    what is searched for (None for nothing) and the test images found."""
    labels, names = cur.labels, cur.names
    how = how_where.segmented_control(
        "Find", ["image", "class"], key="map_find", bind="query-params",
        help="Ring one test image (by its index) or every image of a class on the map, and "
             "show them below.")
    if how == "image":
        n = len(labels)
        url_values.keep_in_range("map_find_index", 0, n - 1, 0)
        i = int(which_where.number_input("Test image #", 0, n - 1, 0, key="map_find_index",
                                         bind="query-params"))
        return ("image", i), [i]
    if how == "class":
        def class_number(value) -> int:  # its option (3) or, in a link, the class's name
            return names.index(value) if value in names else int(value)

        url_values.keep_in_range("map_find_class", 0, len(names) - 1, 0, parse=class_number)
        c = int(which_where.selectbox("Class", range(len(names)), format_func=names.__getitem__,
                                      key="map_find_class", bind="query-params"))
        return ("class", c), np.flatnonzero(labels == c).tolist()
    return None, []


def show(cur: common.Current) -> None:
    codes = cur.codes()  # (N, D) posterior means of the test set, cached per model
    labels, names = cur.labels, cur.names
    dim = codes.shape[1]
    presenting = common.presenting()
    if presenting and dim > 2:
        # One row of controls (the projection's knobs are hidden), so that on a projector the
        # map starts high on the screen; a dimension to colour by goes under "Colour by".
        c0, c1, c3, c4 = st.columns(4)
        params = map_parts.projection_controls(dim, where=c0)
        c2 = c1
    else:
        params = map_parts.projection_controls(dim)
        c1, c2, c3, c4 = st.columns(4)
    colour, j = map_parts.colour_control(cur, c1, c2)
    find, found = find_control(cur, c3, c4)
    coords, pending = map_parts.map_coords(cur, params)
    map_parts.wait_for([pending])

    shown = map_parts.shown_method(dim, params, pending)
    values = map_parts.colour_values(cur, colour, j)
    title = analysis.colour_title(colour, cur.cfg.kind, cur.cfg.likelihood, j) \
        if values is not None else ""
    # Only what was found is ringed, never the clicked points: changing the figure makes
    # Streamlit drop the selection, and plotly already dims the points that are not selected.
    # Presenting: a taller map (on a 1024×768 projector it nearly fills the screen) with points
    # big enough to see from the back of the room.
    fig = figures_map.map_figure(coords, labels, names, shown, highlight=found, values=values,
                                 values_title=title, centre=0.0 if colour == "z" else None,
                                 highlight_name="found", height=PRESENTER_HEIGHT if presenting
                                 else 560, marker_size=PRESENTER_MARKER if presenting else 5)
    # Presenting (a 1024×768 projector): what a click selects is drawn beside the map, so the
    # clicked image, its reconstruction and its neighbours are on one screen with it; elsewhere
    # under it, at full width.
    chart_col, detail_col = (projector.beside_the_chart() if presenting
                             else (st.container(), st.container()))
    with chart_col:
        event = export_buttons.chart(
            common.chart_style(fig), name=cur.entry.name, key="map_chart", on_select="rerun",
            width=projector.chart_width() if presenting else None,
            settings=[export_buttons.method_name(shown),
                      f"colour = {f'z[{j}]' if colour == 'z' else analysis.COLOURS[colour]}"],
            selection_mode=("points", "box", "lasso"))
        if dim == 2:  # under the map, not between its controls and it
            what = "posterior mean" if cur.is_vae else "code"  # an AE has no posterior
            st.caption("This model's code is 2-D, so the map is the latent space itself: no "
                       f"projection, nothing distorted. Each point is one test image's {what}.")
    # A selection made on another model's map may point past this test set: drop those.
    picked = [i for i in analysis.selected_indices(event.selection if event else None)
              if i < len(codes)]
    figure = (cur.hash, find, (shown, colour, j))
    kept = st.session_state.get("map_kept")
    if kept is None and not picked and (linked := url_values.selection(len(codes))):
        kept = analysis.Kept(figure, tuple(linked), inherited=True)  # a link's selection
    # The selection outlives its figure (a UMAP map replacing its PCA stand-in, another
    # colouring); a new search replaces it.
    chosen, kept = analysis.choose_points(picked, found, figure, kept)
    chosen = url_values.in_link_order(chosen)  # as a link shows it (a long one ascending)
    st.session_state["map_kept"] = kept
    url_values.keep_selection(kept.clicks)  # in the URL (?map_sel=3,103): a link shows it
    if not presenting:
        st.download_button(
            "Coordinates (CSV)", data=partial(runs.coords_csv, codes, coords, labels, names),
            file_name=f"{cur.entry.name}-{shown}.csv", mime="text/csv", key="map_csv",
            on_click="ignore", icon=":material/download:", type="tertiary",
            help="One row per test image: index, label, class name, its x and y on this map, "
                 "and its full code z_0 … z_(D-1).")
    with detail_col:
        show_selection(cur, chosen, kept, codes, values is None)


def show_selection(cur: common.Current, chosen: list[int], kept, codes, by_class: bool) -> None:
    """What the map's selection shows: its images, what the model makes of them, one image's
    neighbours and a pair to interpolate; how to select, while nothing is."""
    labels = cur.labels
    if not chosen:
        st.caption("Click a point (shift-click adds more), or pick Box or Lasso Select in the "
                   "chart's toolbar and draw around some, or Find one, to see their images and "
                   "what the model makes of them."
                   + (" Click a class in the legend to hide it." if by_class else ""))
        return

    if kept.inherited:
        st.caption("Kept from the map shown before (or the link); select on this one to start "
                   "afresh.")
        if st.button("Clear the selection", icon=":material/deselect:", type="tertiary"):
            st.session_state["map_kept"] = None
            st.rerun()
    map_parts.show_chosen(cur, chosen, [("Reconstructions", cur.model, codes)])
    show_neighbours(cur, chosen)

    pair = analysis.pair_for_interpolation(chosen, labels)
    if pair is not None:
        st.button(f"Interpolate between #{pair[0]} and #{pair[1]}",
                  icon=":material/linear_scale:", on_click=open_pair, args=pair)


def open_pair(a: int, b: int) -> None:
    """on_click: the Interpolate page between test images `a` and `b`, on its first tab, with the
    pair in its URL (so a link copied there opens the same pair). The page's remembered
    settings are forgotten first, as a lesson's are."""
    for key in lessons.VIEW_KEYS[lessons.INTERPOLATE]:
        st.session_state.pop(key, None)
    pages.open_page("interpolate", {"interp_a": str(int(a)), "interp_b": str(int(b))})
