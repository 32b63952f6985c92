"""The latent map in 3-D: the test set's codes as a rotatable cloud, the latent itself when it is
3-D, else PCA, UMAP or t-SNE fitted to three dimensions (through the same cache and background
jobs as the 2-D map)."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from explorer.analysis import ProjectionParams
from explorer.figures import map as figures_map
from explorer.ui.parts import common, export_buttons, map_parts

WHAT = {"pca": "The first three principal components of the codes (the 2-D PCA map's two, and "
               "the next)",
        "umap": "UMAP fitted to three dimensions, not the 2-D map with an axis added",
        "tsne": "t-SNE fitted to three dimensions, not the 2-D map with an axis added"}


def show(cur: common.Current) -> None:
    codes = cur.codes()  # (N, D) posterior means of the test set, cached per model
    dim = codes.shape[1]
    if dim < 3:
        st.info(f"This model's code is {dim}-D, so there is no third axis to show: the **Map** "
                "view already draws its whole latent space as it is, with nothing projected. "
                "Pick a model with a longer code for a 3-D view.", icon=":material/info:")
        return
    if dim == 3:
        st.caption("This model's code is 3-D, so the cloud is the latent space itself: no "
                   "projection, nothing distorted.")
        params = ProjectionParams("pca", n_components=3)  # codes this short are never projected
    else:
        params = replace(map_parts.projection_controls(dim), n_components=3)
    coords, pending = map_parts.map_coords(cur, params)  # (N, 3)
    map_parts.wait_for([pending])
    shown = map_parts.shown_method(dim, params, pending)
    fig = figures_map.map_3d_figure(coords, cur.labels, cur.names, shown)
    export_buttons.chart(common.chart_style(fig), name=cur.entry.name, key="map_3d_chart",
                         settings=["3-D map", export_buttons.method_name(shown)])
    where = "" if shown == "latent" else f"{WHAT[shown]}. "
    st.caption(f"{where}Each point is one test image's code, coloured by its class. Rotate with "
               "the mouse; pick points on the 2-D map (a 3-D chart cannot select them).")
