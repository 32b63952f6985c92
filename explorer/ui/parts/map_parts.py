"""The latent map's shared parts: a model's test codes as 2-D coordinates, the projection
controls, what to colour the points by and the chosen images below a map. Every view of the map
(and any page that draws one) gets its picture here.

Where the picture comes from, fastest first: the latent itself (2-D codes), a projection shipped
beside the model, the on-disk projection cache, PCA (instant), or a UMAP / t-SNE job running in a
background thread (shared by every session) while the PCA picture stands in for it.
"""

from __future__ import annotations

import uuid

import numpy as np
import streamlit as st

from explorer import analysis, data, runs
from explorer.analysis import ModelView, ProjectionJob, ProjectionParams
from explorer.errors import ExplorerError
from explorer.ui.parts import common, url_values


def model_key(source: common.Current | runs.ModelEntry) -> tuple[str, str, str]:
    """(path, content hash, dataset) of the sidebar's model or of any other model entry."""
    entry = getattr(source, "entry", source)
    return str(entry.path), entry.card.get("content_hash", ""), entry.dataset


def codes_of(source: common.Current | runs.ModelEntry) -> np.ndarray:
    """(N, D) test codes of a model, cached per model (see :func:`common.codes_or_stop`)."""
    return common.codes_or_stop(*model_key(source))


def _view(source: common.Current | runs.ModelEntry) -> ModelView:
    path, content_hash, _ = model_key(source)
    return common.view_of(path, content_hash)


def per_image(source: common.Current | runs.ModelEntry, what: str) -> np.ndarray:
    """(N,) "error" (reconstruction cost in the model's own likelihood) or "kl" of each test
    image, nats; computed once per model, never on a slider."""
    return common.ask(_view(source), "per_image", "Scoring the test set…", what)


def projection_controls(dim: int, where=None) -> ProjectionParams | None:
    """The projection choice for codes of `dim` dimensions (bound to the URL; its knobs are
    advanced settings, hidden when presenting); None, drawing nothing, for 2-D codes. It takes
    a row of its own, or, when presenting (no knobs), the column `where` if one is given."""
    if dim <= 2:
        return None
    if where is not None and common.presenting():
        c1 = c2 = c3 = where  # the knobs are not drawn
    else:
        c1, c2, c3 = st.columns([2, 2, 2])
    method = c1.segmented_control(
        "Projection", ["umap", "pca", "tsne"], default="umap", key="map_method",
        format_func=analysis.TITLES.get,
        help=f"The codes are {dim}-D; a projection squeezes them onto the screen.",
        bind="query-params",
    ) or "umap"
    if method == "umap":
        n_neighbors = common.setting("slider", "Neighbours", "map_neighbors", 15, lo=5, hi=100,
                                     where=c2,
                                     help="Small: local detail. Large: the global layout.")
        min_dist = common.setting("slider", "Min distance", "map_min_dist", 0.1, lo=0.0,
                                  hi=0.99, step=0.01, where=c3,
                                  help="How tightly points may pack together.")
        return ProjectionParams("umap", n_neighbors=n_neighbors, min_dist=min_dist)
    if method == "tsne":
        perplexity = common.setting("slider", "Perplexity", "map_perplexity", 30, lo=5, hi=100,
                                    where=c2)
        return ProjectionParams("tsne", perplexity=float(perplexity))
    return ProjectionParams(method)


def map_coords(source: common.Current | runs.ModelEntry, params: ProjectionParams | None,
               slot: str = "map") -> tuple[np.ndarray, ProjectionJob | None]:
    """(N, k) map coordinates of a model's test codes under `params` (k = its n_components: 2,
    or 3 for the 3-D view), and the background job still fitting them (None when these are the
    coordinates asked for); see :meth:`ModelView.map`.

    `slot` names which of this session's maps this is: a session wants one map per slot, and a
    map it asked for before in that slot, not yet started, is dropped unless another session
    still wants it.
    """
    codes_of(source)  # a model whose codes cannot be had stops the page with a sentence
    view = _view(source)
    try:
        result = view.map(params)
    except ExplorerError as e:
        st.error(f"This model's codes cannot be drawn as a map: {e}")
        st.stop()
    if result.error is not None:
        st.error(f"The {(params or ProjectionParams()).method.upper()} map could not be "
                 f"computed: {result.error}")
    job = result.pending
    if job is not None:
        owner = st.session_state.setdefault("_map_owner", uuid.uuid4().hex)
        slot_key = "_map_job" if slot == "map" else f"_map_job_{slot}"
        previous = st.session_state.get(slot_key)
        if previous is not None and previous is not job:
            previous.release(owner)
        job.claim(owner)
        st.session_state[slot_key] = job
    return result.coords, job


def shown_method(dim: int, params: ProjectionParams | None, pending: ProjectionJob | None) -> str:
    """What the coordinates from :func:`map_coords` are: "latent", "pca", "umap" or "tsne"."""
    params = params or ProjectionParams()
    if dim <= params.n_components:
        return "latent"
    return "pca" if pending is not None else params.method


def wait_for(pending: list[ProjectionJob]) -> None:
    """A line saying how the background maps are getting on; the page reruns when one is done."""
    pending = [job for job in pending if job is not None]
    if not pending:
        return

    @st.fragment(run_every=1.0)
    def wait_for_projection():
        if any(job.done for job in pending):
            st.rerun()
        job = pending[0]
        st.info(f"{job.stage[:1].upper() + job.stage[1:]}… {job.elapsed():.0f} s. The PCA map "
                "stands in until it is ready; the page stays usable.",
                icon=":material/hourglass_top:")

    wait_for_projection()


def show_chosen(cur: common.Current, chosen: list[int],
                reconstructions: list[tuple[str, object, np.ndarray]]) -> None:
    """The chosen test images (at most 24, of mixed classes: a box over a crowded region may hold
    hundreds of one digit), then one row per (title, model, test codes) of what that model's
    decoder makes of their codes."""
    from explorer.analysis import decode  # torch: only once something is chosen

    labels, names = cur.labels, cur.names
    some = np.asarray(chosen)
    some = some[np.sort(data.mixed_indices(labels[some], 24))] if len(some) > 24 else some
    mixed = "of mixed classes " if len(np.unique(labels[some])) > 1 else ""
    st.subheader(f"{len(chosen)} selected" + (f" ({len(some)} {mixed}shown)"
                                              if len(chosen) > len(some) else ""))
    if common.presenting() and len(reconstructions) == 1 and len(some) == 1:
        # One click, presenting (a narrow column beside the map): the original and what the
        # model makes of it in one row, so its neighbours fit on the screen under them.
        (title, model, codes), i = reconstructions[0], int(some[0])
        common.show_images([cur.data.x_test[i], decode(model, codes[some])[0]],
                           [f"#{i} · {names[labels[i]]}", title.lower().rstrip("s")], size=72)
        return
    st.markdown("**Originals**")
    common.show_images(list(cur.data.x_test[some]),
                       [f"#{i} · {names[labels[i]]}" for i in some], size=72)
    for title, model, codes in reconstructions:
        st.markdown(f"**{title}**")
        common.show_images(list(decode(model, codes[some])), None, size=72)


def colour_control(cur: common.Current, where=st, dim_where=None) -> tuple[str, int]:
    """"Colour by" (bound to the URL) and, for one latent dimension, which one: (colour, j).
    A colouring this model cannot give (KL for an autoencoder, from a link or another model)
    falls back to class, with a sentence."""
    options = analysis.colour_options(cur.cfg.kind)
    asked = st.session_state.get("map_colour", None)
    if asked is None and st.query_params.get("map_colour") == analysis.COLOURS["kl"]:
        asked = "kl"
    if asked is not None and asked not in options:
        st.session_state["map_colour"] = "class"
        st.caption(f"{analysis.COLOURS[asked]} needs a VAE: an autoencoder's code has no "
                   "posterior to compare with the prior. The map is coloured by class.")
    colour = where.selectbox(
        "Colour by", options, format_func=analysis.COLOURS.get, key="map_colour",
        bind="query-params",
        help="Class: the true labels. Reconstruction error: how far each image's reconstruction "
             "is from it, in the model's own likelihood. KL per image (VAE): how far its "
             "posterior is from the prior, the nats its code spends. One latent dimension: that "
             "coordinate of each code.")
    if colour != "z":
        return colour, 0
    dim = cur.cfg.latent_dim
    url_values.keep_in_range("map_dim", 0, dim - 1, 0,
                         parse=lambda v: int(str(v).removeprefix("z[").removesuffix("]")))
    j = (dim_where or where).selectbox("Dimension", range(dim), format_func=lambda i: f"z[{i}]",
                                       key="map_dim", bind="query-params")
    return colour, int(j)


def colour_values(source: common.Current | runs.ModelEntry, colour: str,
                  j: int = 0) -> np.ndarray | None:
    """(N,) numbers to colour a model's test images by, None for class; cached per model."""
    if colour in ("error", "kl"):
        return per_image(source, colour)
    if colour == "z":
        return codes_of(source)[:, j]
    return None
