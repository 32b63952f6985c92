"""Inside the latent space's Training replay tab: the codes of 500 test images after every epoch
of training, on one map (the last epoch's PCA or UMAP), played as an animation."""

import numpy as np
import streamlit as st

from explorer import analysis
from explorer.figures import plots as figures
from explorer.ui import pages
from explorer.ui.parts import common, export_buttons


@st.cache_data(max_entries=16, show_spinner=False)
def replay_of(model_path: str, content_hash: str) -> analysis.Replay | None:
    return analysis.load_replay(model_path, content_hash)


@st.cache_data(max_entries=16, show_spinner="Putting every epoch on one map…")
def replay_coords_of(model_path: str, content_hash: str, method: str) -> np.ndarray:
    return analysis.replay_coords(replay_of(model_path, content_hash), method)


@st.fragment
def tab(cur: common.Current) -> None:
    path = str(cur.entry.path)
    recorded = replay_of(path, cur.hash)
    if recorded is None:
        st.info("This model has no training replay. Models trained on the **Train** page keep "
                "the codes of 500 test images after every epoch, so you can watch the latent "
                "space organise itself.", icon=":material/movie:")
        st.page_link(pages.path("train"), label="Train a model",
                     icon=":material/model_training:")
        return
    method = "latent"
    if recorded.codes.shape[2] > 2:
        method = st.segmented_control(
            "Map", ["pca", "umap"], default="pca", key="replay_method", bind="query-params",
            required=True,
            format_func={"pca": "PCA", "umap": "UMAP"}.get,
            help="Fitted once, on the last epoch's codes; every earlier epoch is placed on that "
                 "same map, so the axes never change.") or "pca"
    try:
        coords = replay_coords_of(path, cur.hash, method)
    except analysis.ProjectionError as e:
        st.error(f"The replay could not be drawn: {e}")
        return
    fig = figures.replay_figure(coords, recorded.epochs, recorded.labels, cur.names,
                                figures.AXIS_NAMES[method])
    export_buttons.chart(common.chart_style(fig), key="replay_chart", movie=True,
                         name=cur.entry.name,
                         settings=["training replay", export_buttons.method_name(method)])
    first, last = int(recorded.epochs[0]), int(recorded.epochs[-1])
    st.caption(f"{recorded.codes.shape[1]} test images, from epoch {first} "
               f"{'(the untrained network) ' if first == 0 else ''}to epoch {last}, "
               f"{len(recorded.epochs)} frames. Press ▶ Play or drag the slider." +
               ("" if method == "latent" else
                f" The {method.upper()} map is fitted on the last epoch; earlier epochs are "
                "placed on it, so early frames show where the final map would put those codes."))
