"""The latent map, two models side by side: the same test images on each model's map. Points
selected on either map are ringed on both, and their images shown once below."""

from __future__ import annotations

import streamlit as st

from explorer import analysis, families, runs
from explorer.figures import map as figures_map
from explorer.ui.parts import common, export_buttons, map_parts, url_values

CHARTS = ("beside_a", "beside_b")  # the two charts' widget keys, left and right


def others(cur: common.Current) -> list[runs.ModelEntry]:
    """The models that can sit beside the sidebar's: trained on its dataset, with an encoder."""
    entries, _ = common.list_entries()
    return [e for e in entries if e.dataset == cur.entry.dataset and e.id != cur.entry.id
            and families.of(e).can("encode")]


def chosen_from_charts(dataset: str, n: int) -> list[int]:
    """The selection both maps ring: the newest made on either chart (read before the charts are
    drawn, so both draw it), kept until another replaces it; at first, a link's (of `n` test
    images), and in the URL, so that a copied link rings the same images."""
    if "_beside_chosen" not in st.session_state:
        st.session_state["_beside_chosen"] = (dataset, url_values.selection(n))
    seen = st.session_state.get("_beside_seen", {})
    kept_dataset, chosen = st.session_state.get("_beside_chosen", (dataset, []))
    selections = {}
    for key in CHARTS:
        state = st.session_state.get(key)
        selections[key] = analysis.selected_indices(state.get("selection") if state else None)
    chosen = analysis.newest_selection(selections, seen, chosen if kept_dataset == dataset else [])
    st.session_state["_beside_seen"] = selections
    chosen = url_values.in_link_order(chosen)
    st.session_state["_beside_chosen"] = (dataset, chosen)
    url_values.keep_selection(chosen)
    return chosen


def show(cur: common.Current) -> None:
    candidates = others(cur)
    if not candidates:
        st.info(f"No other model with an encoder was trained on {cur.entry.dataset}, so there is "
                "no second map to put beside this one. Train one on the Train page.")
        return
    ids = [e.id for e in candidates]
    other_id = st.selectbox("Second model", ids, key="map_other", bind="query-params",
                            help=f"Another model trained on {cur.entry.dataset}: the same test "
                                 "images, placed by its codes.")
    other = candidates[ids.index(other_id)]
    codes = [cur.codes(), map_parts.codes_of(other)]
    labels, names = cur.labels, cur.names
    params = map_parts.projection_controls(max(c.shape[1] for c in codes))
    chosen = [i for i in chosen_from_charts(cur.entry.dataset, len(labels)) if i < len(labels)]

    pending = []
    for column, source, model_codes, key in zip(st.columns(2), (cur, other), codes, CHARTS,
                                                strict=True):
        coords, job = map_parts.map_coords(source, params, slot="map" if source is cur else key)
        pending.append(job)
        shown = map_parts.shown_method(model_codes.shape[1], params, job)
        entry = getattr(source, "entry", source)
        with column:
            st.markdown(f"**{entry.name}** · {entry.config.describe()}")
            # One legend, on the right-hand map: two would squeeze both maps.
            fig = figures_map.map_figure(coords, labels, names, shown, highlight=chosen,
                                         height=420, legend=source is other)
            export_buttons.chart(common.chart_style(fig), name=entry.name, key=key,
                                 settings=[export_buttons.method_name(shown)],
                                 on_select="rerun", selection_mode=("points", "box", "lasso"))
    map_parts.wait_for(pending)

    if not chosen:
        st.caption("Click a point (shift-click adds more), or draw a box or lasso, on either map: "
                   "the same test images are ringed on both.")
        return
    if st.button("Clear the selection", icon=":material/deselect:", type="tertiary"):
        st.session_state["_beside_chosen"] = (cur.entry.dataset, [])
        st.rerun()
    other_model = common.get_model(*map_parts.model_key(other)[:2])
    map_parts.show_chosen(cur, chosen, [(f"Reconstructed by {cur.entry.name}", cur.model, codes[0]),
                                        (f"Reconstructed by {other.name}", other_model, codes[1])])
