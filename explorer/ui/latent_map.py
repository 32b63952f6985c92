"""Latent map page: the test set's codes in 2-D, coloured by class; select points to see them.

Where the picture comes from, fastest first: the latent itself (2-D codes), a projection shipped
beside the model, the on-disk projection cache, PCA (instant), or a UMAP / t-SNE job running in a
background thread (shared by every session) while the PCA picture stands in for it.
"""

import uuid
from functools import partial

import numpy as np
import streamlit as st

from explorer import datasets, exports, figures, lessons, mapview, projection
from explorer.errors import ExplorerError
from explorer.projection_files import (
    ProjectionCache,
    default_cache_root,
    load_coords,
    projection_file,
)
from explorer.projection_jobs import ProjectionJob
from explorer.ui import common, pages

cur = common.start_page("Latent map", needs="encode", what="The latent map")
common.explain(
    "Each point is one test image, placed where the encoder puts it: its **code** (for a VAE, "
    "the posterior mean μ). Colours are the true classes, which the model never saw while "
    "training; if same-coloured points gather, the code has captured what makes a digit that "
    "digit. A 2-D code is drawn as it is; a longer one is squeezed onto the screen by a "
    "projection — PCA keeps the broad layout, UMAP and t-SNE keep neighbours together but "
    "distort distances between clusters.",
    cfg=cur.cfg,
)

# The codes (N, D) come from cur.codes() where needed: a map from stored coordinates needs none.
labels, names = cur.labels, cur.names
dim = cur.cfg.latent_dim


@st.cache_resource(max_entries=1)
def projection_cache() -> ProjectionCache:
    return ProjectionCache(default_cache_root())


@st.cache_resource(max_entries=32, show_spinner=False)
def projection_job(path: str, content_hash: str, dataset: str, params: projection.ProjectionParams):
    """One background job per model and settings, shared by every session that asks."""
    codes = common.test_codes(path, content_hash, dataset)
    return ProjectionJob(codes, params, cache=projection_cache(), model_hash=content_hash,
                         data_key="test").start()


def map_csv(coords: np.ndarray) -> str:
    """The map's CSV, made when its button is pressed: it needs the codes, the map does not."""
    codes = common.test_codes(str(cur.entry.path), cur.hash, cur.entry.dataset)
    return exports.coords_csv(codes, coords, labels, names)


def stored_coords(params: projection.ProjectionParams) -> np.ndarray | None:
    """A projection computed before: shipped beside the model, or in the disk cache."""
    if params == projection.ProjectionParams(method=params.method):
        shipped = projection_file(cur.entry.path, params.method)
        if shipped.exists():
            coords = load_coords(shipped, cur.hash)
            if coords is not None:
                return coords
    return projection_cache().get(cur.hash, "test", params)


def fit_or_stop(params: projection.ProjectionParams) -> np.ndarray:
    """A quick projection (PCA) fitted here; codes it cannot map get a sentence, not a trace."""
    try:
        return projection.fit_projection(cur.codes(), params).coords
    except ExplorerError as e:
        st.error(f"This model's codes cannot be drawn as a map: {e}")
        st.stop()


if dim == 2:
    method = "latent"
    st.caption("This model's code is 2-D, so the map is the latent space itself: no projection, "
               "nothing distorted. Each point is one test image's posterior mean.")
    coords, pending = cur.codes(), None
else:
    c1, c2, c3 = st.columns([2, 2, 2])
    method = c1.segmented_control(
        "Projection", ["umap", "pca", "tsne"], default="umap", key="map_method",
        format_func={"umap": "UMAP", "pca": "PCA", "tsne": "t-SNE"}.get,
        help=f"The codes are {dim}-D; a projection squeezes them onto the screen.",
        bind="query-params",
    ) or "umap"
    params = projection.ProjectionParams(method=method)
    # The projection's knobs are advanced settings: not for the back of the room.
    if method == "umap":
        n_neighbors = common.setting("slider", "Neighbours", "map_neighbors", 15, lo=5, hi=100,
                                     where=c2,
                                     help="Small: local detail. Large: the global layout.")
        min_dist = common.setting("slider", "Min distance", "map_min_dist", 0.1, lo=0.0,
                                  hi=0.99, step=0.01, where=c3,
                                  help="How tightly points may pack together.")
        params = projection.ProjectionParams("umap", n_neighbors=n_neighbors, min_dist=min_dist)
    elif method == "tsne":
        perplexity = common.setting("slider", "Perplexity", "map_perplexity", 30, lo=5, hi=100,
                                    where=c2)
        params = projection.ProjectionParams("tsne", perplexity=float(perplexity))
    coords, pending = stored_coords(params), None
    if coords is None and method == "pca":
        coords = fit_or_stop(params)
        projection_cache().put(cur.hash, "test", params, coords)
    elif coords is None:
        key = (str(cur.entry.path), cur.hash, cur.entry.dataset, params)
        job = projection_job(*key)
        # This session now wants this map and no other: a map it asked for before and that has
        # not started is dropped unless another session still wants it.
        owner = st.session_state.setdefault("_map_owner", uuid.uuid4().hex)
        previous = st.session_state.get("_map_job")
        if previous is not None and previous is not job:
            previous.release(owner)
        job.claim(owner)
        st.session_state["_map_job"] = job
        if job.done and job.result is not None:
            coords = job.result.coords
        elif job.done:
            if not job.dropped:
                st.error(f"The {method.upper()} map could not be computed: {job.error}")
            projection_job.clear(*key)  # only this map's entry: the next attempt starts afresh
            if job.dropped:
                st.rerun()
        else:
            pending = job
    if coords is None:
        coords = stored_coords(projection.ProjectionParams("pca")) \
            if pending is not None else None
        if coords is None:
            coords = fit_or_stop(projection.ProjectionParams("pca"))

if pending is not None:
    @st.fragment(run_every=1.0)
    def wait_for_projection():
        if pending.done:
            st.rerun()
        st.info(f"{pending.stage[:1].upper() + pending.stage[1:]}… {pending.elapsed():.0f} s. The PCA map stands in "
                "until it is ready; the page stays usable.", icon=":material/hourglass_top:")

    wait_for_projection()

# No extra "chosen" trace: changing the figure would make Streamlit drop the selection, and
# plotly already dims the points that are not selected.
shown = method if pending is None else "pca"
fig = common.chart_style(figures.map_figure(coords, labels, names, shown))
event = st.plotly_chart(fig, key="map_chart", on_select="rerun",
                        selection_mode=("points", "box", "lasso"))
# A selection made on another model's map may point past this test set: drop those.
picked = [i for i in mapview.selected_indices(event.selection if event else None) if i < len(labels)]
# The selection outlives its figure: when the UMAP map replaces the PCA stand-in (a new figure,
# which Streamlit starts unselected) the points chosen on the stand-in stay chosen.
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
        "Coordinates (CSV)", data=partial(map_csv, coords),
        file_name=f"{cur.entry.name}-{shown}.csv", mime="text/csv", key="map_csv",
        on_click="ignore", icon=":material/download:", type="tertiary",
        help="One row per test image: index, label, class name, its x and y on this map, and "
             "its full code z_0 … z_(D-1).")

if not chosen:
    st.caption("Click a point (shift-click adds more), or pick Box or Lasso Select in the "
               "chart's toolbar and draw around some, to see their images and what the model "
               "makes of them. Click a class in the legend to hide it.")
    st.stop()

if st.session_state.get("map_inherited"):
    st.caption("Kept from the map shown before; select on this one to start afresh.")
    if st.button("Clear the selection", icon=":material/deselect:", type="tertiary"):
        st.session_state["map_kept"], st.session_state["map_inherited"] = (None, []), False
        st.rerun()
# What a selection shows needs the model (and torch): imported here, so the map alone draws without.
from explorer import latent  # noqa: E402
from explorer.ui.neighbours import show_neighbours  # noqa: E402

# At most 24 shown, of mixed classes: a box over a crowded region may hold hundreds of one digit.
some = np.asarray(chosen)
some = some[np.sort(datasets.mixed_indices(labels[some], 24))] if len(some) > 24 else some
st.subheader(f"{len(chosen)} selected" + (" (24 of mixed classes shown)" if len(chosen) > 24
                                          else ""))
x = cur.data.x_test[some]
x_hat = latent.decode(cur.model, cur.codes()[some])
st.markdown("**Originals**")
common.show_images(list(x), [f"#{i} · {names[labels[i]]}" for i in some], size=72)
st.markdown("**Reconstructions**")
common.show_images(list(x_hat), None, size=72)
show_neighbours(cur, chosen)

pair = mapview.pair_for_interpolation(chosen, labels)
if pair is not None and st.button(f"Interpolate between #{pair[0]} and #{pair[1]}",
                                  icon=":material/linear_scale:"):
    st.session_state["interp_pair"] = pair
    # The pair is on the first tab: open that one, not whichever was used last.
    st.session_state.pop("interp_tab", None)
    pages.switch("interpolate", {"interp_tab": lessons.PAIR_TAB})
