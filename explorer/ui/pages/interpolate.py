"""Interpolate page: walk between two images, along one latent dimension, or over a 2-D grid, or
do arithmetic with codes (class means, "same style, another digit").

Every slider lives in a fragment, so moving it reruns only the few lines that decode one code;
the test set is encoded once per model (cached) and never on a slider's path.
"""

import zlib

import numpy as np
import streamlit as st

from explorer import analysis, lessons, usertext
from explorer.errors import ModelFileError
from explorer.ui.parts import common, conditional, export_buttons, page_start, theory, url_values

BIG = 196  # px for the image a slider drives
CHECKED = 1000  # test images whose analogies the classifier reads (all of mnist-5k's)

cur = page_start.start_page("Interpolate")
if analysis.can(cur.model, "condition"):  # a CVAE: keep z, change the label
    st.info("A conditional model is told the class: its label, not arithmetic with codes, "
            "changes the digit. So this page shows its own \"same style, another digit\": the "
            "picture that latent arithmetic (this page's Arithmetic tab, for an AE or a VAE) "
            "builds from class means.", icon=":material/info:")
    conditional.same_style_view(cur)
    st.stop()
page_start.require(cur, "encode", "Interpolating between images")
codes = cur.codes()  # (N, D), cached per model
x_test, y_test, names = cur.data.x_test, cur.labels, cur.names
n_test, dim = len(codes), cur.cfg.latent_dim
# Default images of two different classes: the test split may be sorted by class.
first, second = (analysis.mixed_indices(y_test, 2).tolist() + [0, 0])[:2]


def class_means(path: str, content_hash: str, dataset: str) -> np.ndarray:
    """(K, D) the mean test code of each class (NaN for a class with no test image)."""
    return common.view_of(path, content_hash).class_means()


@st.cache_data(max_entries=16, show_spinner="Reading the analogies of the test images…")
def analogy_check(path: str, content_hash: str, dataset: str):
    """The classifier's reading of every analogy of up to CHECKED test images, and how far their
    codes land from the test codes; None when no classifier ships for the dataset."""
    try:
        clf, _ = analysis.load_classifier(dataset)
    except ModelFileError:
        return None
    codes = common.test_codes(path, content_hash, dataset)
    labels = common.get_dataset(dataset).y_test.numpy()
    means = class_means(path, content_hash, dataset)
    chosen = analysis.mixed_indices(labels, CHECKED)
    check = analysis.check_analogies(common.get_model(path, content_hash), clf, codes, labels,
                                     means, chosen)
    sums = analysis.analogy_codes(codes[chosen], means, labels[chosen])[check.asked]  # (n_asked, D)
    return check, analysis.landing_ratio(codes, sums)


def dimension_usage(path: str, content_hash: str, dataset: str) -> analysis.LatentUsage:
    """Each latent dimension's mean KL in nats (VAE) or code variance (AE) over the test set,
    and the dimensions most used first."""
    return common.view_of(path, content_hash).usage()


def dimension_number(value) -> int:
    """A dimension picker's value: its option (3) or, in a link, its text ("z[3]")."""
    return int(str(value).removeprefix("z[").removesuffix("]"))


def class_number(value) -> int:
    """A class picker's value: its option (3) or, in a link, the class's name."""
    return names.index(value) if value in names else int(value)


def draw_random(key: str, n: int) -> None:
    """Callback: a random one of `n` test images for the picker `key`. Its draws are numbered
    per session and seed the generator, so the same clicks give the same images; the index
    drawn is the picker's, so it is in the URL like a typed one."""
    draws = st.session_state.get(f"_{key}_draws", 0) + 1
    st.session_state[f"_{key}_draws"] = draws
    rng = np.random.default_rng([zlib.crc32(key.encode()), draws])
    st.session_state[key] = int(rng.integers(n))


def on_choose_by(key: str, n: int) -> None:
    """Callback: switching a picker to "random" draws an image at once."""
    if st.session_state.get(f"{key}_how") == "random":
        draw_random(key, n)


def pick_image(label: str, key: str, default: int) -> int:
    """An index into the test set, chosen by index, by class or at random."""
    st.markdown(f"**{label}**")
    how = st.segmented_control("Choose by", ["index", "class", "random"], default="index",
                               key=f"{key}_how", label_visibility="collapsed",
                               on_change=on_choose_by, args=(key, n_test), bind="query-params")
    if how == "class" and len(names) > 1:
        url_values.keep_in_range(f"{key}_class", 0, len(names) - 1, 0, parse=class_number)
        cls = st.selectbox("Class", range(len(names)), format_func=lambda c: names[c],
                           key=f"{key}_class", bind="query-params")
        members = np.flatnonzero(y_test == cls)
        url_values.keep_in_range(f"{key}_k", 0, len(members) - 1, 0)
        k = st.number_input("Which one", 0, len(members) - 1, 0, key=f"{key}_k",
                            bind="query-params")
        st.session_state[key] = int(members[k])
    elif how == "random":
        st.button("Another", key=f"{key}_roll", icon=":material/casino:", on_click=draw_random,
                  args=(key, n_test))
    url_values.keep_in_range(key, 0, n_test - 1, default % n_test)  # another model's test set

    # The default is the widget's own value (not set through session state), so that a link
    # without ?{key}= means exactly this default: a bound widget drops its default from the URL.
    st.number_input("Test image #", 0, n_test - 1, default % n_test, key=key,
                    disabled=how != "index", bind="query-params")
    idx = int(st.session_state[key])
    common.show_images([x_test[idx]], [f"#{idx} · {names[int(y_test[idx])]}"], size=112)
    return idx


theory.explain(
    "Every image here is decoded from a code that no test image has: on the line (or arc) "
    "between two images' codes, along one dimension with the others held still, on a grid "
    "over two dimensions, or at a sum of codes (Arithmetic). If the pictures change smoothly and stay plausible, the decoder has "
    "learned a continuous space; sudden jumps or smudges show regions it never learned."
)
# The open tab is part of the view, so it lives in the URL (?interp_tab=...); every tab still
# runs, which keeps each tab's settings (and their URL parameters) alive while another is open;
# only the Arithmetic tab's check of the whole test set waits until that tab is open.
tab_pair, tab_dim, tab_grid, tab_arith = st.tabs(list(lessons.INTERPOLATE_TABS), key="interp_tab",
                                                  bind="query-params")

# -- between two images ------------------------------------------------------------------------
with tab_pair:
    pair = st.session_state.pop("interp_pair", None)  # sent from the latent map's selection
    if pair is not None:
        st.session_state["interp_a"], st.session_state["interp_b"] = map(int, pair)
        st.session_state["interp_a_how"] = st.session_state["interp_b_how"] = "index"
    left, mid, right = st.columns([1, 2, 1])
    with left:
        a = pick_image("Start", "interp_a", first)
    with right:
        b = pick_image("End", "interp_b", second)
    z_a, z_b = codes[a], codes[b]
    with mid:
        method = st.radio("Path", ["linear", "spherical"], horizontal=True, key="interp_method",
                          help="Spherical (slerp) turns the angle at a steady pace; it keeps "
                               "the code's length only when both ends have the same length. "
                               "The lengths along both paths are shown under the strip.",
                          bind="query-params")

        @st.fragment
        def pair_slider():
            t = st.slider("t: from start (0) to end (1)", 0.0, 1.0, 0.5, 0.01, key="interp_t",
                          bind="query-params")
            path = analysis.slerp if method == "spherical" else analysis.lerp
            image = analysis.decode(cur.model, path(z_a, z_b, t))[0]
            common.show_images([image], [f"decoded at t = {t:.2f}"], size=BIG)

        pair_slider()
    steps = common.setting("slider", "Steps in the strip", "interp_steps", 10, lo=3, hi=16)
    strip = analysis.decode(cur.model, analysis.interpolate(z_a, z_b, steps, method))
    export_buttons.grid(strip, ncols=steps, size=72, key="interp_strip", movie=True,
                        caption=f"{method} interpolation, {steps} steps", name=cur.entry.name,
                        settings=[f"{method} interpolation", f"#{a} → #{b}", f"{steps} steps"])
    lengths = analysis.path_lengths(z_a, z_b)
    dim_z = len(z_a)
    shell = (f"In {dim_z} dimensions the prior N(0, I) puts most of its mass near a shell of "
             f"radius about √{dim_z} = {np.sqrt(dim_z):.1f}: a straight line that dips towards "
             "the origin leaves it, which is the case for slerp." if dim_z > 2 else
             "In 2-D the prior has no thin shell (its radius is spread from 0 to about 3), so "
             "slerp has no shell to follow here; the two paths just bend differently.")
    along = "; ".join(f"{path}: {v[0]:.2f} → {v[-1]:.2f}, between {v.min():.2f} and {v.max():.2f} "
                      "on the way" for path, v in lengths.items())
    st.caption(f"Code length ‖z‖ along each path — {along}. Slerp keeps the length only when "
               "both ends share it. " + shell)

# -- one dimension -----------------------------------------------------------------------------
with tab_dim:
    usage = dimension_usage(str(cur.entry.path), cur.hash, cur.entry.dataset)
    order = usage.order
    left, right = st.columns([1, 3])
    with left:
        base = pick_image("Around image", "trav_image", first)
    with right:
        url_values.keep_in_range("trav_dim", 0, dim - 1, int(order[0]), parse=dimension_number)
        # Its options read z[3] (a link holds that text), so what each carries is said below.
        d = st.selectbox("Dimension", order.tolist(), format_func=lambda i: f"z[{i}]",
                         key="trav_dim", bind="query-params")
        if cur.is_vae:
            st.caption(f"z[{d}] carries {usage.values[d]:.2f} nats (its mean KL over the test "
                       f"set; all {dim} together: {usage.total_kl:.2f}). Dimensions are listed "
                       "by the KL each carries, most first.")
        else:
            st.caption(f"z[{d}]'s codes vary by {usage.values[d]:.3g} (their variance over the "
                       "test set). Dimensions are listed by that variance, most first.")
        z0 = codes[base]
        span = common.setting("slider", "Range around the image's value", "trav_span", 3.0,
                              lo=0.5, hi=6.0, step=0.5)

        @st.fragment
        def dim_slider():
            # Its range follows the model, image, dimension and span: a value outside the new
            # range (another model's, from the URL or this session) gives way to the image's own.
            url_values.keep_in_range("trav_value", float(z0[d] - span), float(z0[d] + span),
                                 float(z0[d]))
            value = st.slider(f"z[{d}]", float(z0[d] - span), float(z0[d] + span),
                              float(z0[d]), 0.05, key="trav_value", bind="query-params")
            image = analysis.decode(cur.model, analysis.traverse(z0, d, [value]))[0]
            common.show_images([image], [f"z[{d}] = {value:.2f} (image's own: {z0[d]:.2f})"],
                               size=BIG)

        dim_slider()
        values = np.linspace(z0[d] - span, z0[d] + span, 11)
        walk = analysis.decode(cur.model, analysis.traverse(z0, d, values))
        export_buttons.grid(walk, ncols=11, size=64, key="trav_strip", movie=True,
                            caption=f"z[{d}] from {values[0]:.1f} to {values[-1]:.1f}",
                            name=cur.entry.name,
                            settings=[f"z[{d}] from {values[0]:.1f} to {values[-1]:.1f}",
                                      f"around #{base}"])

# -- a 2-D grid --------------------------------------------------------------------------------
with tab_grid:
    order = dimension_usage(str(cur.entry.path), cur.hash, cur.entry.dataset).order
    c1, c2, c3, c4 = st.columns(4)
    # (hidden in presenter mode: the caption names its value, not the missing slider)
    extent = common.setting("slider", "Extent (±)", "grid_extent", 3.0, lo=1.0, hi=5.0, step=0.5,
                            where=c4)
    if dim == 2:
        dims = (0, 1)
        # The page's width, under the controls: in the first of four columns it was squeezed
        # into ~230 px.
        st.caption(f"This model's latent space is 2-D: the grid decodes the square ±{extent:g} "
                   "around 0 (the 'manifold' picture). A VAE's KL term pulls its codes towards "
                   "N(0, I), which has over 99% of its mass inside ±3; an autoencoder's codes "
                   "feel no such pull and may lie far outside the square (see its latent map's "
                   "axes).")
        center = np.zeros(2, dtype=np.float32)
    else:
        for n_key, key in enumerate(("grid_i", "grid_j")):
            url_values.keep_in_range(key, 0, dim - 1, int(order[n_key]), parse=dimension_number)
        i = c1.selectbox("Horizontal dimension", order.tolist(), index=0, key="grid_i",
                         format_func=lambda k: f"z[{k}]", bind="query-params")
        j = c2.selectbox("Vertical dimension", order.tolist(), index=1, key="grid_j",
                         format_func=lambda k: f"z[{k}]", bind="query-params")
        dims = (int(i), int(j))
        center = np.zeros(dim, dtype=np.float32)
    n = c3.slider("Grid size", 5, 25, 15, key="grid_n", bind="query-params")
    spacing = common.setting("radio", "Spacing", "grid_spacing", "linear",
                             options=("linear", "gaussian"), where=c4, horizontal=True,
                             help="Gaussian spacing puts more rows where the prior has more mass.")
    if dims[0] == dims[1]:
        st.info("Pick two different dimensions.")
    else:
        z = analysis.grid_2d(center, dims, (-extent, extent), n, spacing)
        size = max(24, min(56, 900 // n))
        grid = analysis.decode(cur.model, z)
        export_buttons.grid(grid, ncols=n, size=size, key="grid", name=cur.entry.name,
                            caption=f"z[{dims[0]}] left→right, z[{dims[1]}] bottom→top, "
                                    f"from −{extent:g} to {extent:g}; other dimensions at 0",
                            settings=[f"z[{dims[0]}] × z[{dims[1]}]", f"±{extent:g}",
                                      f"{spacing} spacing"])

# -- arithmetic --------------------------------------------------------------------------------
with tab_arith:
    means = class_means(str(cur.entry.path), cur.hash, cur.entry.dataset)  # (K, D)
    present = np.flatnonzero(np.isfinite(means).all(1))  # classes with a test image
    digit = "digit" if tuple(names) == analysis.DIGIT_NAMES else "class"
    try:
        clf = analysis.load_classifier(cur.entry.dataset)[0]
    except ModelFileError:
        clf = None
    average = analysis.decode(cur.model, means[present])
    mean_captions = [f"mean {names[c]}" for c in present]
    if clf is not None:
        read = analysis.read_codes(cur.model, clf, means[present])  # (K',)
        mean_captions = [f"mean {names[c]} · reads {names[r]}" for c, r in zip(present, read,
                                                                                strict=True)]
    st.markdown(f"**The average {digit}**: the mean code of each class's test images, decoded")
    common.show_images(average, mean_captions, size=64)
    what = "posterior means μ" if cur.is_vae else "codes"
    st.caption(f"Each picture decodes the mean of one class's {what} over the test split: what "
               "the average of each class looks like to the model."
               + ("" if clf is None else f" The shipped classifier reads "
                  f"{int((read == present).sum())} of {len(present)} as their own {digit}."))

    left, right = st.columns([1, 3])
    with left:
        a = pick_image("Image A", "arith_a", first)
    with right:
        source = int(y_test[a])
        st.markdown(f"**Same style, another {digit}**: decode(z_A − mean {usertext.md(names[source])} + "
                    f"mean c) for every other class c")
        others = [c for c in present if c != source]
        sums = analysis.analogy_codes(codes[a], means, source)  # (K, D), row `source` is z_A
        images = analysis.decode(cur.model, sums[[source, *others]])
        captions = ["A, rebuilt"] + [f"as {names[c]}" for c in others]
        if clf is not None:
            one = analysis.check_analogies(cur.model, clf, codes, y_test, means, [a])
            captions = ["A, rebuilt · reads " + names[one.read[0, source]]] + [
                f"as {names[c]} · reads {names[one.read[0, c]]}" for c in others]
        common.show_images(images, captions, size=64)
        if clf is not None:
            st.markdown(f"**{one.hits} of {one.n_asked}** are read as the {digit} asked for "
                        "(by the shipped classifier).")
        else:
            st.caption(f"No scoring classifier ships for {cur.entry.dataset}, so nothing here "
                       "checks which class the pictures show.")

    if clf is not None and tab_arith.open is not False:  # the whole test set: only when seen
        check, ratio = analogy_check(str(cur.entry.path), cur.hash, cur.entry.dataset)
        st.markdown(
            f"**Over {len(check.source):,} test images**: {check.hits:,} of {check.n_asked:,} "
            f"analogies ({check.hits / check.n_asked:.0%}) are read as the {digit} asked for. "
            f"For scale: their plain reconstructions are read as their own {digit} "
            f"{check.own / len(check.source):.0%} of the time.")
        st.caption(f"The sums land a median {ratio:.2f}× as far from the nearest test code as a "
                   "test code lies from its nearest other one (1× would be as close as the "
                   "data's own codes).")
    st.markdown(
        "**When it works.** A VAE's KL term pulls every code towards N(0, I), which keeps its "
        "space filled: a sum should land where the decoder has seen codes and decode to a clean "
        f"{digit}. An AE has no such term; its codes can leave holes between the classes, where "
        "a sum decodes to a blur or to another digit. **What the shipped MNIST models show:** "
        "the VAE's sums do land nearer the data's codes than those of the AE of the same size, "
        "yet they are read as the digit asked for only a few points more often; the size of the "
        "code matters far more — the 16-D models get about three in four right, the 2-D ones "
        "fewer than half. Switch models in the sidebar to compare.")
