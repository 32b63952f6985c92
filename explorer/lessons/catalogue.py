"""Guided lessons: each opens the right page, model and settings, with a few sentences to read.

Plain data, no UI. A lesson is a title, its text and the views it opens; a view is a page and the
URL query parameters that set it up, the very ones a shared link carries, so a lesson is a curated
link. Values are written the way the app's URL writes them: a model by its id
(``pretrained/<name>``), a tab or an option by its label. A page is named by its key in the app's
page table (``explorer/ui/pages/__init__.py``), which alone knows the page files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAP, COMPARE, INTERPOLATE, SAMPLE, TRAIN, INSIDE, RATE_DISTORTION = (
    "map", "compare", "interpolate", "sample", "train", "inside", "rate_distortion")
DIFFUSION = "diffusion"

AE_Z2, VAE_Z2 = "pretrained/mnist-ae-mlp-z2", "pretrained/mnist-vae-mlp-z2"
AE_Z16, VAE_Z16 = "pretrained/mnist-ae-mlp-z16", "pretrained/mnist-vae-mlp-z16"
BETA_VAE_Z16 = "pretrained/mnist-betavae-mlp-z16"
SWEEP = {beta: f"pretrained/mnist-vae-z8-beta{beta:g}" for beta in (0.25, 1.0, 8.0)}

# The interpolate page's tabs, by label (the URL names a tab by its label).
PAIR_TAB, DIM_TAB, GRID_TAB = "Between two images", "Along one dimension", "Over a 2-D grid"
ARITH_TAB = "Arithmetic"
INTERPOLATE_TABS = (PAIR_TAB, DIM_TAB, GRID_TAB, ARITH_TAB)


@dataclass(frozen=True)
class View:
    """One place in the app: a page and the query parameters that set it up."""

    label: str  # what its button says when it is not the lesson's first view
    page: str  # the page's name in the page table, e.g. "interpolate"
    params: dict[str, str] = field(default_factory=dict)

    @property
    def model(self) -> str | None:
        return self.params.get("model")


@dataclass(frozen=True)
class Lesson:
    slug: str
    title: str
    text: str  # Markdown: two or three sentences
    views: tuple[View, ...]  # the first is where "Open" goes; the others are the next steps
    try_this: str = ""  # one thing to do once the view is open
    kl_of: tuple[str, ...] = ()  # models whose total KL (from their cards) the lesson shows


# The settings that define a view on each page (the widget keys bound to the URL). Opening a
# lesson clears them first: a bound widget keeps its value across page switches, and a value
# equal to the widget's default never appears in a URL, so without a reset a "linear" lesson
# could open on the spherical path chosen earlier.
VIEW_KEYS: dict[str, tuple[str, ...]] = {
    MAP: ("map_view", "map_method", "map_neighbors", "map_min_dist", "map_perplexity",
          "map_colour", "map_dim", "map_find", "map_find_index", "map_find_class", "map_other",
          "plane_i", "plane_j", "plane_manifold"),
    COMPARE: ("compare_models", "compare_pca", "compare_how", "compare_n", "compare_worst",
              "compare_class", "compare_idx", "compare_seed", "compare_heat"),
    INTERPOLATE: ("interp_tab", "interp_method", "interp_t", "interp_steps", "trav_dim",
                  "trav_span", "trav_value", "grid_i", "grid_j", "grid_n", "grid_extent",
                  "grid_spacing")
                 + tuple(f"{image}{part}" for image in ("interp_a", "interp_b", "trav_image",
                                                               "arith_a")
                         for part in ("", "_how", "_class", "_k")),
    SAMPLE: ("temperature", "n_samples", "sample_seed"),
    INSIDE: ("inside_tab", "holes_compare", "holes_n", "holes_prior", "holes_data", "holes_codes",
             "holes_opacity", "holes_center", "holes_i", "holes_j", "unc_how", "unc_sigma",
             "unc_indices", "unc_k", "unc_i", "unc_j", "replay_method"),
    TRAIN: ("train_dataset", "train_kind", "train_arch", "train_beta"),
    RATE_DISTORTION: ("rd_likelihood",),
    DIFFUSION: ("ld_prior", "ld_sampler", "ld_steps", "ld_seed", "ld_t"),
}


def query_params(view: View) -> dict[str, str]:
    """The URL query of a view, e.g. {"model": "pretrained/mnist-vae-mlp-z16", "interp_t": "0.3"}."""
    return dict(view.params)


def keys_to_reset(view: View) -> tuple[str, ...]:
    """The target page's view settings, cleared before it opens; the view's own query then sets
    the ones it names (a value equal to the default is dropped from a URL, so it must be reset)."""
    return VIEW_KEYS.get(view.page, ())


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        slug="ae-vs-pca",
        title="An autoencoder versus PCA",
        text=(
            "PCA is the best *flat* squeeze: it keeps the directions along which the images vary "
            "most and rebuilds each image from them. An autoencoder can learn a *curved* code, so "
            "it should do better with the same number of values — but it has to learn that from "
            "4,000 training images, and PCA is a strong baseline. Read the table, then look at "
            "which digits each one gets wrong."
        ),
        views=(
            View("A 16-number code", COMPARE, {"model": AE_Z16}),
            View("The same with a 2-number code", COMPARE, {"model": AE_Z2}),
        ),
        try_this="Turn on **Worst first**. Then open the 2-value version: where does the gap "
                 "between PCA and the networks grow?",
    ),
    Lesson(
        slug="no-holes",
        title="Where the prior's draws land: VAE and AE",
        text=(
            "A plain autoencoder only has to put each image *somewhere*; nothing says where, and "
            "a code where none of its training images landed decodes to a smudge. A VAE pays a KL "
            "penalty for every code that strays from N(0, I), so its codes sit where its prior "
            "puts mass; the AE's sit wherever training left them. The page measures both: the "
            "share of prior draws that land where no code is (for the 2-D VAE a few percent, for "
            "the AE about half — mostly because its codes sit off-centre and four to five times "
            "wider than N(0, I)), and the share of draws from a Gaussian fitted to the model's "
            "own codes that land in a gap (a few percent at most for both)."
        ),
        views=(
            View("The holes, AE and VAE", INSIDE, {"model": AE_Z2, "inside_tab": "Holes"}),
            View("The AE's map", MAP, {"model": AE_Z2}),
            View("The AE's grid", INTERPOLATE, {"model": AE_Z2, "interp_tab": GRID_TAB}),
            View("The VAE's grid", INTERPOLATE, {"model": VAE_Z2, "interp_tab": GRID_TAB}),
        ),
        try_this="Turn on **AE vs VAE side by side**. On the AE's map, note where the empty "
                 "space is; then compare the two decoded grids.",
    ),
    Lesson(
        slug="beta",
        title="What β does",
        text=(
            "β weighs the KL term (the *rate*) of the VAE's loss against reconstruction. A larger "
            "β makes every nat of rate expensive, so the model keeps only what matters most: the "
            "β = 4 model keeps 14 active dimensions of 16 where β = 1 uses all 16, and the images "
            "get blurrier. A larger β is often said to give each dimension one factor (slant, "
            "width, thickness); that is not guaranteed (Locatello et al. 2019) and not measured "
            "here, so look and judge. "
            "Walk along the top dimensions of the β-VAE (β = 4), then of the plain VAE (β = 1)."
        ),
        views=(
            View("The β-VAE", INTERPOLATE,
                 {"model": BETA_VAE_Z16, "interp_tab": DIM_TAB, "trav_image": "300"}),
            View("The plain VAE", INTERPOLATE,
                 {"model": VAE_Z16, "interp_tab": DIM_TAB, "trav_image": "300"}),
        ),
        try_this="Drag the z slider of the first dimension in the list, then the second: what "
                 "changes in the digit?",
    ),
    Lesson(
        slug="posterior-collapse",
        title="Posterior collapse",
        text=(
            "When the KL term wins, the encoder gives up: for some dimensions, or all of them, "
            "q(z|x) is the prior N(0, 1) whatever the image, so they carry no information (0 nats) "
            "and the decoder learns to ignore them. The β-VAE is partway there: compare its total "
            "KL with the plain VAE's below, and look at how little each of its dimensions carries."
        ),
        views=(
            View("The β-VAE's KL per dimension", INSIDE,
                 {"model": BETA_VAE_Z16, "inside_tab": "KL per dimension"}),
            View("Walk its dimensions", INTERPOLATE,
                 {"model": BETA_VAE_Z16, "interp_tab": DIM_TAB}),
            View("Train a VAE with β = 20", TRAIN,
                 {"train_dataset": "digits", "train_kind": "vae", "train_beta": "20"}),
        ),
        kl_of=(BETA_VAE_Z16, VAE_Z16),
        try_this="On Interpolate, pick a dimension from the end of the list and drag its slider. "
                 "Then train a VAE on Digits with β = 20: its KL falls to almost zero, and its "
                 "samples all look alike.",
    ),
    Lesson(
        slug="lerp-vs-slerp",
        title="Interpolation: linear versus spherical",
        text=(
            "In 16 dimensions N(0, I)'s draws lie at radius 2.8 to 5.1 nine times in ten (around "
            "√16 = 4) and almost never near 0, so the straight line between two codes far apart "
            "in angle cuts inside that band, through shorter codes than the decoder usually sees. Spherical interpolation (slerp) turns "
            "the angle instead; it keeps the length only when both ends share it (here #2 and "
            "#105 differ, and the page shows the length along both paths). In a 2-D latent there "
            "is no thin shell, so the argument does not apply there."
        ),
        views=(
            View("Linear", INTERPOLATE,
                 {"model": VAE_Z16, "interp_a": "2", "interp_b": "105", "interp_t": "0.5"}),
            View("Spherical", INTERPOLATE,
                 {"model": VAE_Z16, "interp_a": "2", "interp_b": "105", "interp_t": "0.5",
                  "interp_method": "spherical"}),
        ),
        try_this="Look at the middle of each strip: which one keeps the strokes as bold as at "
                 "the ends?",
    ),
    Lesson(
        slug="rate-distortion",
        title="Rate, distortion and β",
        text=(
            "A VAE's −ELBO is the sum of two costs: the *rate*, the KL that bounds the information "
            "the code carries about the image, and the *distortion*, what reconstruction still "
            "costs. Six models of one body, trained with β from 0.25 to 8, lie on one curve "
            "(Alemi et al. 2018): a larger β buys a lower rate with more distortion. At small β "
            "reconstructions are sharp but prior samples look less like digits; at large β both "
            "blur towards an average digit. Where the rate reaches 0 the code would say nothing "
            "(posterior collapse); the shipped curve stops short of it: at β = 8 the rate is "
            "still 4.0 nats, with 7 of 8 dimensions active."
        ),
        views=(
            View("The plane", RATE_DISTORTION, {"model": SWEEP[1.0]}),
            View("β = 0.25: reconstructions", COMPARE, {"model": SWEEP[0.25]}),
            View("β = 8: reconstructions", COMPARE, {"model": SWEEP[8.0]}),
            View("β = 0.25: samples", SAMPLE, {"model": SWEEP[0.25]}),
            View("β = 8: samples", SAMPLE, {"model": SWEEP[8.0]}),
        ),
        kl_of=(SWEEP[0.25], SWEEP[1.0], SWEEP[8.0]),
        try_this="Follow the curve from β = 0.25 to β = 8: which diagonal (one value of the "
                 "ELBO) does each model sit on, and which one is lowest?",
    ),
    Lesson(
        slug="latent-diffusion",
        title="From autoencoder to latent diffusion",
        text=(
            "A plain autoencoder cannot be sampled: nothing made its codes follow N(0, I), so "
            "draws from it land in holes and decode to blur. Instead of forcing the codes towards "
            "a prior, *learn* the codes' distribution: a diffusion model (Ho et al. 2020) is "
            "trained to remove noise from noised codes, and run backwards it carries pure noise "
            "into the clusters. The autoencoder's decoder then draws the images — what Stable "
            "Diffusion does at scale (Rombach et al. 2022). On Compare generators (5,000 samples "
            "each, Fréchet distance in a classifier's features against the 1,000 test images, "
            "seed 0) the 16-D AE scores 27 with its learned prior against 77 from a Gaussian "
            "fitted to its codes, and the 16-D VAE 27 against 142 from its N(0, I) prior."
        ),
        views=(
            View("Noise flowing into the AE's codes", DIFFUSION, {"model": AE_Z2}),
            View("The AE's own samples", SAMPLE, {"model": AE_Z2}),
            View("16-D: the VAE with a learned prior", DIFFUSION, {"model": VAE_Z16}),
            View("16-D: the AE with a learned prior", DIFFUSION, {"model": AE_Z16}),
        ),
        try_this="Press **Play**, then drag t: where do the points go first, and which clusters "
                 "fill last? Click one point to follow it and watch its images turn from noise "
                 "into a digit. In 16-D, compare the grid of samples with the base's own.",
    ),
)


def lesson(slug: str) -> Lesson:
    for item in LESSONS:
        if item.slug == slug:
            return item
    raise KeyError(f"No lesson called {slug!r}.")
