"""Inside the latent space: how much each dimension carries, the holes an AE leaves, how sure a
VAE's encoder is, and a replay of the space organising itself while the model trained.

The tabs are lazy (``on_change="rerun"``): only the open tab's code runs, and the open tab lives
in the URL (``?inside_tab=...``) so the Train page can link straight to the replay.
"""

import numpy as np
import streamlit as st

from explorer import analysis, runs
from explorer.figures import plots as figures
from explorer.ui.parts import common, export_buttons, page_start, replay_view

TABS = ("KL per dimension", "Holes", "Uncertainty", "Training replay")
# The shipped AE and VAE that differ only by the KL term, per dataset.
PAIRS = {"mnist-5k": ("mnist-ae-mlp-z2", "mnist-vae-mlp-z2"),
         "digits": ("digits-ae-mlp-z2", "digits-vae-mlp-z2")}
MAX_POINTS = 40  # posterior ellipses drawn at once

cur = page_start.start_page("Inside the latent space", needs="encode")
codes = cur.codes()  # (N, D) posterior means of the test set, cached per model
labels, names = cur.labels, cur.names
dim = codes.shape[1]
path = str(cur.entry.path)


# -- cached computations ----------------------------------------------------------------------
def usage_of(model_path: str, content_hash: str, dataset: str) -> analysis.LatentUsage:
    return common.ask(common.view_of(model_path, content_hash), "usage",
                      "Measuring each dimension on the test set…")


def posteriors_of(model_path: str, content_hash: str, dataset: str):
    """mu (N, D) and logvar (N, D) of q(z|x) for every test image, as numpy arrays."""
    return common.ask(common.view_of(model_path, content_hash), "posteriors",
                      "Encoding the test set…")


@st.cache_data(max_entries=32, show_spinner=False)
def holes_of(codes2d: np.ndarray, reference: str = "prior") -> dict[float, float]:
    return analysis.holes_fraction(codes2d, reference=reference)


def holes_sentence(codes2d: np.ndarray) -> None:
    """Both measured hole shares of these 2-D codes: one short sentence a student can repeat
    (and a slide can hold), then, smaller, what each counts and the codes' mean and spread."""
    codes2d = np.ascontiguousarray(codes2d, dtype=np.float64)
    prior, fitted = holes_of(codes2d), holes_of(codes2d, "fitted")
    spread, mean = codes2d.std(axis=0), codes2d.mean(axis=0)
    st.markdown(f"Against the prior N(0, I): **{prior[0.1]:.1%}** of its draws fall in a hole. "
                f"Against a Gaussian fitted to the codes: **{fitted[0.1]:.1%}**.")
    st.caption(f"A hole: where the codes' density is below a tenth of the prior's "
               f"({prior[0.01]:.1%} of the prior's draws land below a hundredth). The first "
               "share counts codes sitting elsewhere or at another scale as well as gaps; the "
               "second only the gaps inside the codes' own spread. The codes' mean is "
               f"({mean[0]:.2f}, {mean[1]:.2f}) and their spread {spread[0]:.2f} and "
               f"{spread[1]:.2f} (the prior's: 0 and 1).")


def dims_picker(key: str, order: np.ndarray) -> tuple[int, int]:
    """Two dimensions to look at, most used first by default; (0, 1) for a 2-D latent."""
    if dim == 2:
        return 0, 1
    c1, c2 = st.columns(2)
    options = order.tolist()
    i = c1.selectbox("Horizontal dimension", options, index=0, key=f"{key}_i", bind="query-params",
                     format_func=lambda k: f"z[{k}]")
    j = c2.selectbox("Vertical dimension", options, index=1, key=f"{key}_j", bind="query-params",
                     format_func=lambda k: f"z[{k}]")
    return int(i), int(j)


usage = usage_of(path, cur.hash, cur.entry.dataset)
tabs = st.tabs(TABS, key="inside_tab", on_change="rerun", bind="query-params")


# -- KL per dimension -------------------------------------------------------------------------
@st.fragment
def kl_tab() -> None:
    if cur.is_vae:
        c1, c2, c3 = st.columns(3)
        c1.metric("Rate (total KL)", f"{usage.total_kl:.2f} nats",
                  help="Mean over the test set of KL(q(z|x) ‖ N(0, I)), the *rate*: an upper "
                       "bound on the information I(x; z) the code carries, which over these "
                       f"{len(codes):,} images cannot exceed log {len(codes):,} = "
                       f"{np.log(len(codes)):.1f} nats either.")
        c2.metric("Active units", f"{usage.active} of {dim}",
                  help="Dimensions whose posterior mean moves with the image "
                       "(variance over the test set above 0.01; Burda et al. 2016).")
        c3.metric("Busiest dimension", f"z[{usage.order[0]}]",
                  f"{usage.values[usage.order[0]]:.2f} nats", delta_color="off",
                  delta_arrow="off")
        if usage.collapsed:
            # Said in the same terms as the metrics above, so the two never seem to disagree.
            still = ("no dimension moves with the image" if not usage.active else
                     f"{usage.active} of {dim} dimensions still "
                     "move with the image, but ")
            st.warning("**Posterior collapse: the decoder (almost) ignores z.** "
                       f"{still.capitalize()}"
                       f"{'; ' if not usage.active else ''}together the codes carry only "
                       f"{usage.total_kl:.2f} nats about each image, so images decode to nearly "
                       "the same average picture. Lower β or train longer.",
                       icon=":material/warning:")
        what, key = "KL per dimension", "usage_kl"
    else:
        st.info("A plain autoencoder has **no KL term**: nothing pulls its codes towards a "
                "prior, so there is no KL to measure. Shown instead: how much each dimension's "
                "code varies over the test set. A dimension that never varies is unused.",
                icon=":material/info:")
        st.metric("Active units", f"{usage.active} of {dim}",
                  help="Dimensions whose code varies over the test set (variance above 0.01).")
        what, key = "variance per dimension", "usage_var"
    export_buttons.chart(common.chart_style(figures.usage_figure(usage)),
                         config={"displayModeBar": False}, key=key, name=cur.entry.name,
                         settings=[what])
    if cur.is_vae:
        st.caption("Each bar is the KL (nats) that one dimension carries, averaged over the test "
                   "set; the bars add up to the total KL. Pale bars are inactive dimensions: "
                   "there the posterior sits on the prior whatever the image, and moving that "
                   "coordinate changes nothing.")
    st.caption("The bars run in the same order as the dimension lists on the **Interpolate** "
               "page (most used first), so its first traversal sliders are the dimensions that "
               "carry the most.")


# -- holes ------------------------------------------------------------------------------------
def pair_entries() -> tuple[runs.ModelEntry, runs.ModelEntry] | None:
    wanted = PAIRS.get(cur.entry.dataset)
    if wanted is None:
        return None
    entries, _ = common.list_entries()
    by_id = {e.id: e for e in entries}
    found = [by_id.get(f"pretrained/{name}") for name in wanted]
    return (found[0], found[1]) if all(found) else None


def holes_picture(model, model_codes: np.ndarray, dims: tuple[int, int], center: np.ndarray,
                  n: int, show: dict, height: int = 560, extent=None):
    codes2d = model_codes[:, list(dims)]
    extent = extent or analysis.map_extent(codes2d)
    image, extent = analysis.decoded_grid(model, extent, n, dims, center)
    return figures.holes_figure(
        image, extent, codes2d if show["codes"] else None, labels, names,
        show_prior=show["prior"], show_data=show["data"], image_opacity=show["opacity"],
        axis_names=(f"z[{dims[0]}]", f"z[{dims[1]}]"), height=height)


def holes_arrangement() -> tuple[bool, bool]:
    """How the AE and the VAE are laid out: one above the other (each the page's width; the
    default when presenting) or side by side, and on the same axes or each on its own."""
    a, b = st.columns(2)
    stacked = a.toggle("One above the other", common.presenting(), key="holes_stacked",
                       bind="query-params",
                       help="Each picture the page's width, the VAE under the AE: larger "
                            "decoded digits. Off: side by side.")
    shared = b.toggle("Same axes for both", True, key="holes_shared", bind="query-params",
                      help="Both planes over the same stretch of the latent space, so their "
                           "sizes compare; off, each over its own codes.")
    return stacked, shared


def shared_extent(codes: list[np.ndarray]) -> tuple[float, float, float, float]:
    """One (x0, x1, y0, y1) covering every model's codes and the prior's ±3σ."""
    each = np.array([analysis.map_extent(c) for c in codes])
    return (float(each[:, 0].min()), float(each[:, 1].max()), float(each[:, 2].min()),
            float(each[:, 3].max()))


@st.fragment
def holes_tab() -> None:
    st.caption("Every point of the latent space decodes to *some* image. Here a dense grid of "
               "codes is decoded and laid out where the codes are, behind the test set's codes: "
               "where no code ever lands, nothing taught the decoder what to draw.")
    pair = pair_entries()
    compare = pair is not None and st.toggle(
        "AE vs VAE side by side", key="holes_compare", bind="query-params",
        help=f"The shipped {pair[0].name} and {pair[1].name}: the same network, with and "
             "without the KL term." if pair else None)
    if compare:
        stacked, shared = holes_arrangement()
    c1, c2, c3, c4, c5 = st.columns([2, 1, 1, 1, 2])
    # Presenting, fewer and so larger decoded digits: readable from the back row.
    n = c1.slider("Grid size", 8, 32, 12 if common.presenting() else 20, key="holes_n",
                  bind="query-params",
                  help="Decoded images per side; each shows the code at its centre.")
    show = {"prior": c2.checkbox("Prior", True, key="holes_prior", bind="query-params",
                                 help="The prior N(0, I)'s circles at 1, 2 and 3σ: 39%, 86% "
                                      "and 99% of its draws fall inside them."),
            "data": c3.checkbox("Density", True, key="holes_data", bind="query-params",
                                help="Contours holding 50%, 90% and 99% of the test codes "
                                     "(a Gaussian kernel density estimate)."),
            "codes": c4.checkbox("Codes", True, key="holes_codes", bind="query-params"),
            "opacity": c5.slider("How bright the decoded digits are", 0.2, 1.0, 0.7, 0.1,
                                 key="holes_opacity", bind="query-params",
                                 help="Dim the decoded images to see the codes and contours.")}
    if compare:
        codes_of = [common.test_codes(str(e.path), e.card.get("content_hash", ""), e.dataset)
                    for e in pair]
        # One plane for both: the AE's axes run −25…5 and the VAE's −4…4, which side by side
        # on their own axes looked the same size.
        extent = (shared_extent([c[:, :2] for c in codes_of]) if shared else None)
        places = [st.container(), st.container()] if stacked else st.columns(2)
        for col, entry, pair_codes in zip(places, pair, codes_of, strict=True):
            with col:
                model = common.get_model(str(entry.path), entry.card.get("content_hash", ""))
                st.markdown(f"**{model.cfg.kind.upper()}** · {entry.name}")
                fig = holes_picture(model, pair_codes, (0, 1), np.zeros(2, np.float32), n, show,
                                    height=620, extent=extent)
                # The legend at the figure's foot, below the axis title: plotly makes room for
                # it there (one placed under the plot, in the plot's own terms, covered "z[0]"
                # once the text was large).
                fig.update_layout(legend=dict(orientation="h", yref="container", y=0,
                                              yanchor="bottom"))
                export_buttons.chart(common.chart_style(fig), key=f"holes_{entry.name}",
                                     name=entry.name, settings=["holes", "z[0] × z[1]"])
                holes_sentence(pair_codes[:, :2])
        st.caption("Left, the autoencoder: nothing ties its codes to N(0, I), so they sit "
                   "wherever training left them (note its axes), and much of the prior falls "
                   "where no code visits: what the decoder draws there was never trained. "
                   "Right, the VAE: the KL term pulls its codes to where its prior puts mass, "
                   "so a code drawn from the prior lands among them. Against a Gaussian fitted "
                   "to each model's own codes the two leave gaps of a similar, small share: the "
                   "AE's large share against the prior is mostly place and scale (the numbers "
                   "under each picture are measured with the density drawn here).")
        return
    dims = dims_picker("holes", usage.order)
    if dims[0] == dims[1]:
        st.info("Pick two different dimensions.")
        return
    center = np.zeros(dim, dtype=np.float32)
    if dim > 2:
        how = st.radio("Other dimensions at", ["zero", "mean"], horizontal=True,
                       key="holes_center", bind="query-params",
                       format_func={"zero": "0 (the prior's centre)",
                                    "mean": "the codes' mean"}.get,
                       help="The grid is a 2-D slice through the latent space; the other "
                            "dimensions stay fixed here.")
        center = analysis.center_code(codes, how)
    fig = holes_picture(cur.model, codes, dims, center, n, show)
    export_buttons.chart(common.chart_style(fig), key="holes_chart", name=cur.entry.name,
                         settings=["holes", f"z[{dims[0]}] × z[{dims[1]}]"])
    holes_sentence(codes[:, list(dims)])
    kind = ("The KL term pulls a VAE's codes to where N(0, I) puts mass, so few of the prior's "
            "draws fall where no code lands, though some do." if cur.is_vae else
            "Nothing pulls an autoencoder's codes towards N(0, I): they sit wherever training "
            "left them, so the share against the prior mostly measures their place and scale; "
            "the share against the fitted Gaussian, the gaps between the clusters and the "
            "smudges decoded there.")
    where = ("" if dim == 2 else
             f" The codes are drawn by their values in z[{dims[0]}] and z[{dims[1]}] only; the "
             "grid is one slice with every other dimension fixed, so a code can sit over a tile "
             "its own other coordinates would decode differently.")
    st.caption(kind + where)


# -- uncertainty ------------------------------------------------------------------------------
def parse_indices(text: str, n_test: int) -> list[int]:
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        indices = [int(p) for p in parts]
    except ValueError:
        raise ValueError("Type test-image numbers as whole numbers separated by commas, "
                         "e.g. 3, 17, 42.") from None
    bad = [i for i in indices if not 0 <= i < n_test]
    if bad:
        raise ValueError(f"There is no test image #{bad[0]}: numbers run from 0 to {n_test - 1}.")
    return list(dict.fromkeys(indices))[:MAX_POINTS]


def per_class(k: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    chosen = []
    for c in range(len(names)):
        members = np.flatnonzero(labels == c)
        if len(members):
            chosen += rng.choice(members, size=min(k, len(members)), replace=False).tolist()
    return chosen[:MAX_POINTS]


def unc_seed() -> int:
    """Which draw of images "Other images" is at: in the URL (?unc_seed=2), so a link shows them."""
    try:
        return max(0, int(st.query_params.get("unc_seed", 0)))
    except ValueError:
        return 0


def next_seed() -> None:
    st.query_params["unc_seed"] = str(unc_seed() + 1)


@st.fragment
def uncertainty_tab() -> None:
    if not cur.is_vae:
        st.info("A plain autoencoder maps each image to **one point**: there is no posterior, so "
                "no uncertainty to draw. Pick a VAE in the sidebar (e.g. mnist-vae-mlp-z2) to "
                "see each image's cloud of likely codes.", icon=":material/info:")
        return
    mu, logvar = posteriors_of(path, cur.hash, cur.entry.dataset)
    st.caption("A VAE's encoder gives each image a Gaussian, not a point: q(z|x) = N(μ, σ²). "
               f"Its 1σ ellipse holds {analysis.sigma_mass(1):.0%} of that Gaussian's mass "
               f"(2σ: {analysis.sigma_mass(2):.0%}); the dashed circles are the prior "
               "N(0, I) that every posterior is pulled towards.")
    dims = dims_picker("unc", usage.order)
    if dims[0] == dims[1]:
        st.info("Pick two different dimensions.")
        return
    c1, c2, c3 = st.columns([2, 2, 1])
    how = c1.segmented_control("Which images", ["class", "index"], default="class",
                               key="unc_how", bind="query-params", required=True,
                               format_func={"class": "A few per class",
                                            "index": "By number"}.get)
    n_sigma = c3.radio("Ellipse", [1.0, 2.0], key="unc_sigma", bind="query-params",
                       format_func=lambda s: f"{s:g}σ")
    if how == "index":
        text = c2.text_input("Test images", "0, 1, 2, 3", key="unc_indices", bind="query-params",
                             help=f"Numbers from 0 to {len(codes) - 1}, separated by commas.")
        try:
            chosen = parse_indices(text, len(codes))
        except ValueError as e:
            st.error(str(e))
            return
    else:
        k = c2.number_input("Per class", 1, 4, 1, key="unc_k", bind="query-params")
        c2.button("Other images", on_click=next_seed, icon=":material/casino:", key="unc_roll")
        chosen = per_class(int(k), unc_seed())
    if not chosen:
        st.info("Choose at least one test image.")
        return
    fig = figures.ellipses_figure(mu, logvar, chosen, labels, names, dims, n_sigma)
    export_buttons.chart(common.chart_style(fig), key="unc_chart", name=cur.entry.name,
                         settings=["posterior ellipses", f"z[{dims[0]}] × z[{dims[1]}]",
                                   f"{n_sigma:g}σ"])
    sigma = np.exp(0.5 * logvar[:, list(dims)])  # (N, 2)
    st.caption(f"Typical posterior σ here: {np.median(sigma[:, 0]):.3f} along z[{dims[0]}], "
               f"{np.median(sigma[:, 1]):.3f} along z[{dims[1]}], against the prior's 1. "
               "A small ellipse: the encoder is sure. One as wide as the prior: that dimension "
               "says nothing about the image.")
    shown = chosen[:12]
    common.show_images(
        [cur.data.x_test[i] for i in shown],
        [f"#{i} · σ ({sigma[i, 0]:.2f}, {sigma[i, 1]:.2f})" for i in shown], size=72)


with tabs[0]:
    if tabs[0].open:
        kl_tab()
with tabs[1]:
    if tabs[1].open:
        holes_tab()
with tabs[2]:
    if tabs[2].open:
        uncertainty_tab()
with tabs[3]:
    if tabs[3].open:
        replay_view.tab(cur)
