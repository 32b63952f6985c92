"""Decode anywhere: a plane of the latent space under the test codes, where a click on any
position, a code or the empty space between codes, decodes it beside the map. The classic
picture of a VAE's smooth space and of an autoencoder's holes.

A 2-D latent is the plane itself; a longer code shows two chosen dimensions with every other one
held at the test codes' mean. The clicked position lives in the URL (``?plane_at=x,y``), so a
shared link decodes the same point.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import analysis
from explorer.figures import map as figures_map
from explorer.ui.parts import common, export_buttons, projector, url_values

MANIFOLD_N = 20  # decoded images per side of the manifold picture
AT = "plane_at"  # the URL parameter holding the clicked position
PLANE_OF = "_plane_of"  # (model id, i, j) of the plane the position in the URL was clicked on
PATH_FROM = "_plane_path"  # (plane, previous position, position): where the path movie starts
PATH_STEPS = 24  # decoded frames of the path movie


@st.cache_data(max_entries=16, show_spinner="Decoding the manifold…")
def manifold_of(path: str, content_hash: str, dims: tuple[int, int], base: np.ndarray,
                extent: tuple[float, float, float, float]) -> np.ndarray:
    """The decoded manifold: a MANIFOLD_N x MANIFOLD_N grid of decodes tiling the plane."""
    model = common.get_model(path, content_hash)
    image, _ = analysis.decoded_grid(model, extent, MANIFOLD_N, dims, base)
    return image


@st.cache_resource(max_entries=8, show_spinner=False)
def plane_chart(path: str, content_hash: str, dataset: str, dims: tuple[int, int],
                manifold: bool, presenting: bool):
    """The plane's figure, built once per model, pair of dimensions and look: building its
    plotly objects is most of a click's time on the server, and a click never changes it. Shared
    read-only (Streamlit only serialises it)."""
    codes = common.test_codes(path, content_hash, dataset)
    data = common.get_dataset(dataset)
    i, j = dims
    codes2d = codes[:, [i, j]]
    extent = analysis.map_extent(codes2d)  # the codes and the prior's ±3σ, plus a margin
    image = manifold_of(path, content_hash, dims, codes.mean(axis=0), extent) if manifold else None
    # The legend above the plot, not beside it (it stood in the middle of the row, between the
    # plane and the decoded image); presenting, the plane as tall as a projector allows.
    fig = projector.legend_above(figures_map.plane_figure(
        codes2d, data.y_test.numpy(), data.class_names, extent, (f"z[{i}]", f"z[{j}]"), image,
        height=600 if presenting else 500), "class")
    return common.chart_style(fig)  # presenting is part of the key: the style depends on it


def forget_position() -> None:
    """A new pair of dimensions is a new plane: the old position means nothing on it."""
    st.query_params.pop(AT, None)


def pick_dims(codes: np.ndarray) -> tuple[int, int]:
    """Two dimensions to look at (bound to the URL), the two that vary most over the test set
    first; (0, 1) for a 2-D latent."""
    dim = codes.shape[1]
    if dim == 2:
        return 0, 1
    order = np.argsort(-codes.var(axis=0), kind="stable").tolist()  # most varied first
    c1, c2 = st.columns(2)
    picked = []
    for col, key, label, default in ((c1, "plane_i", "Horizontal dimension", order[0]),
                                     (c2, "plane_j", "Vertical dimension", order[1])):
        url_values.keep_in_range(key, 0, dim - 1, default, parse=int)  # after a change of model
        picked.append(int(col.selectbox(
            label, order, index=order.index(default), key=key, bind="query-params",
            format_func=lambda k: f"z[{k}]", on_change=forget_position,
            help="Listed by how much the test codes vary along each dimension, most first.")))
    return picked[0], picked[1]


def show(cur: common.Current) -> None:
    codes = cur.codes()  # (N, D) posterior means of the test set, cached per model
    dim = codes.shape[1]
    if dim < 2:
        st.info("A 1-D code has no plane to click on: the Map view draws it along one axis.",
                icon=":material/info:")
        return
    plane(cur, codes)


@st.fragment
def plane(cur: common.Current, codes: np.ndarray) -> None:
    """The plane and the decoded click: a click reruns only this part of the page."""
    dim = codes.shape[1]
    i, j = pick_dims(codes)
    if i == j:
        st.info("Pick two different dimensions.")
        return
    # A position belongs to one model's plane of two dimensions: on another (the sidebar's model
    # changed, or the dimensions did after it) it would decode a point nobody clicked. A link's
    # position is kept on its first run, when nothing is recorded yet.
    plane_of = (cur.entry.id, i, j)
    if st.session_state.get(PLANE_OF, plane_of) != plane_of:
        forget_position()
    st.session_state[PLANE_OF] = plane_of
    names = (f"z[{i}]", f"z[{j}]")
    base = codes.mean(axis=0)  # (D,) where the dimensions not shown are held
    if dim == 2:
        st.caption("This model's code is 2-D: the plane is its whole latent space. Click "
                   "anywhere, on a code or between codes, to see what the decoder draws there.")
    else:
        st.caption(f"A slice through the {dim}-D latent space: {names[0]} and {names[1]} vary "
                   f"across the plane; the other {dim - 2} dimensions are held at the test "
                   "codes' mean. A code is drawn by its two values only; clicking it decodes "
                   "that place on the slice, not its own full code.")
    manifold = st.toggle("Decoded manifold behind the codes", key="plane_manifold",
                         bind="query-params",
                         help=f"A {MANIFOLD_N}×{MANIFOLD_N} grid of decodes tiling the plane, "
                              "each drawn where its code is.")
    left, right = st.columns([2, 1], vertical_alignment="center")
    with left:
        fig = plane_chart(str(cur.entry.path), cur.hash, cur.entry.dataset, (i, j), manifold,
                          common.presenting())
        event = export_buttons.chart(
            fig, name=cur.entry.name, key="plane_chart", on_select="rerun",
            settings=["decode anywhere", f"{names[0]} × {names[1]}"]
            + (["decoded manifold"] if manifold else []), selection_mode="points")
    clicked = analysis.clicked_position((event or {}).get("selection"))
    if clicked is not None:
        st.query_params[AT] = analysis.position_text(clicked)
    position = clicked or analysis.parse_position(st.query_params.get(AT))
    with right:
        if position is None:
            st.caption("Click anywhere on the plane to decode that point here.")
            return
        # One code decoded, nothing encoded: a click costs one pass through the decoder.
        x_hat = analysis.decode(cur.model, analysis.plane_code(base, (i, j), position))[0]
        x, y = position
        common.show_images([x_hat], None, size=168)
        st.markdown(f"**{names[0]} = {x:.2f}, {names[1]} = {y:.2f}**")
        if dim > 2:
            st.caption("other dimensions at the test codes' mean")
        path_movie(cur, base, (i, j), plane_of, position)


def path_movie(cur: common.Current, base: np.ndarray, dims: tuple[int, int], plane_of: tuple,
               position: tuple[float, float]) -> None:
    """GIF / MP4 of the decodes along the straight path from the point clicked before (on this
    plane) to this one; from the plane's centre, the test codes' mean, after the first click."""
    kept = st.session_state.get(PATH_FROM)
    start = (float(base[dims[0]]), float(base[dims[1]]))
    if kept is not None and kept[0] == plane_of:
        start = kept[1] if tuple(kept[2]) == tuple(position) else tuple(kept[2])
    st.session_state[PATH_FROM] = (plane_of, start, tuple(position))
    points = np.linspace(start, position, PATH_STEPS)  # (PATH_STEPS, 2) on the plane
    names = [f"z[{d}]" for d in dims]
    st.caption(f"Path movie: from ({start[0]:.2f}, {start[1]:.2f}) to here")
    model = cur.model  # loaded here: the movie is made on another thread, on the click
    export_buttons.movie(
        lambda: analysis.decode(model, np.stack([analysis.plane_code(base, dims, p)
                                               for p in points])),
        name=cur.entry.name, key="plane_path", size=112,
        settings=["decode-anywhere path", f"{names[0]}, {names[1]} from "
                  f"({start[0]:.2f}, {start[1]:.2f}) to ({position[0]:.2f}, {position[1]:.2f})"])
