"""The shipped lessons: each a few sentences to read, then steps a teacher takes with the class,
each step's prompt saying what the room will see on that page. Plain data, no UI; what a lesson
and a step are is :mod:`explorer.lessons.steps`.

Numbers in a prompt are the shipped models' own (their cards, ``pretrained/*/diffusion.json``);
``tests/analysis/test_numbers.py`` and ``tests/lessons/test_lessons.py`` hold them to it.
"""

from __future__ import annotations

from explorer.lessons.steps import (  # noqa: F401 - the page constants are this module's API too
    COMPARE,
    DIFFUSION,
    GENERATORS,
    INSIDE,
    INTERPOLATE,
    MAP,
    RATE_DISTORTION,
    SAMPLE,
    TRAIN,
    VIEW_KEYS,
    Lesson,
    Question,
    Step,
    keys_to_reset,
    query_params,
)

AE_Z2, VAE_Z2 = "pretrained/mnist-ae-mlp-z2", "pretrained/mnist-vae-mlp-z2"
AE_Z16, VAE_Z16 = "pretrained/mnist-ae-mlp-z16", "pretrained/mnist-vae-mlp-z16"
BETA_VAE_Z16 = "pretrained/mnist-betavae-mlp-z16"
SWEEP = {beta: f"pretrained/mnist-vae-z8-beta{beta:g}" for beta in (0.25, 1.0, 8.0)}

# The interpolate page's tabs, by label (the URL names a tab by its label).
PAIR_TAB, DIM_TAB, GRID_TAB = "Between two images", "Along one dimension", "Over a 2-D grid"
ARITH_TAB = "Arithmetic"
INTERPOLATE_TABS = (PAIR_TAB, DIM_TAB, GRID_TAB, ARITH_TAB)

LESSONS: tuple[Lesson, ...] = (
    Lesson(
        slug="ae-vs-pca",
        title="An autoencoder versus PCA",
        tags=("AE", "PCA", "reconstruction"),
        text=(
            "PCA is the best *flat* squeeze: it keeps the directions along which the images vary "
            "most and rebuilds each image from them. An autoencoder can learn a *curved* code, so "
            "it should do better with the same number of values — but it has to learn that from "
            "4,000 training images, and PCA is a strong baseline. Read the table, then look at "
            "which digits each one gets wrong."
        ),
        steps=(
            Step(COMPARE, {"model": AE_Z16}, label="A 16-number code", minutes=4,
                 prompt="The top row is test images; under it the 16-value autoencoder's "
                        "reconstructions first and PCA's with 16 components last. Which row is "
                        "sharper, and which has the lower MSE under Average over the test set?"),
            Step(COMPARE, {"model": AE_Z16, "compare_worst": "true"}, label="Worst first",
                 minutes=3,
                 prompt="Now the worst reconstructions come first, at the left. Are they odd "
                        "digits, badly written ones, or a class the model finds hard?"),
            Step(COMPARE, {"model": AE_Z2}, label="The same with a 2-number code", minutes=4,
                 prompt="The same comparison with a code of only 2 numbers. How much blurrier "
                        "are both rows, and does the gap between the network and PCA grow?"),
        ),
    ),
    Lesson(
        slug="no-holes",
        title="Where the prior's draws land: VAE and AE",
        tags=("AE vs VAE", "latent space", "prior"),
        text=(
            "A plain autoencoder only has to put each image *somewhere* in its latent space; "
            "nothing says where, and a code where none of its training images landed decodes to a "
            "smudge. A VAE pays a KL "
            "penalty for every code that strays from N(0, I), so its codes sit where its prior "
            "puts mass; the AE's sit wherever training left them. The page measures both: the "
            "share of prior draws that land where no code is (for the 2-D VAE a few percent, for "
            "the AE about half — mostly because its codes sit off-centre and four to five times "
            "wider than N(0, I)), and the share of draws from a Gaussian fitted to the model's "
            "own codes that land in a gap (a few percent at most for both)."
        ),
        steps=(
            Step(INSIDE, {"model": AE_Z2, "inside_tab": "Holes", "holes_compare": "true"},
                 label="The holes, AE and VAE", minutes=5,
                 prompt="The AE's latent space beside the VAE's: dots are test codes, shading "
                        "where N(0, I) puts its draws. Read the share of prior draws that land "
                        "in a hole for each model: about half for the AE, a few percent for the "
                        "VAE.",
                 question=Question("choice", "Which model leaves more holes where its prior "
                                             "draws land?", ("The AE", "The VAE", "The same"))),
            Step(MAP, {"model": AE_Z2}, label="The AE's map", minutes=3,
                 prompt="The AE's 2-D latent space is its own map: every dot is a test image's "
                        "code, coloured by digit. Where is the empty space between the "
                        "clusters, and how far from (0, 0) do the codes reach?"),
            Step(INTERPOLATE, {"model": AE_Z2, "interp_tab": GRID_TAB}, label="The AE's grid",
                 minutes=3,
                 prompt="A grid of codes around 0, each decoded. Which tiles are clean digits, "
                        "and which are smudges from codes where no image landed?"),
            Step(INTERPOLATE, {"model": VAE_Z2, "interp_tab": GRID_TAB}, label="The VAE's grid",
                 minutes=3,
                 prompt="The same grid for the VAE: its codes fill the area around 0, so nearly "
                        "every tile is a digit, and neighbouring tiles morph into each other."),
        ),
    ),
    Lesson(
        slug="beta",
        title="What β does",
        tags=("β", "VAE", "latent space"),
        text=(
            "β weighs the KL term (the *rate*) of the VAE's loss against reconstruction. A larger "
            "β makes every nat of rate expensive, so the model keeps only what matters most: the "
            "β = 4 model keeps 14 active dimensions of 16 where β = 1 uses all 16, and the images "
            "get blurrier. A larger β is often said to give each dimension one factor (slant, "
            "width, thickness); that is not guaranteed (Locatello et al. 2019) and not measured "
            "here, so look and judge. "
            "Walk along the top dimensions of the β-VAE (β = 4), then of the plain VAE (β = 1)."
        ),
        steps=(
            Step(INTERPOLATE, {"model": BETA_VAE_Z16, "interp_tab": DIM_TAB, "trav_image": "300"},
                 label="The β-VAE", minutes=4,
                 prompt="Test image #300's code, walked along one dimension of the β = 4 VAE and "
                        "decoded. Drag the z slider of the first dimension, then pick the "
                        "second: what changes in the digit — slant, width, thickness?"),
            Step(INTERPOLATE, {"model": VAE_Z16, "interp_tab": DIM_TAB, "trav_image": "300"},
                 label="The plain VAE", minutes=4,
                 prompt="The same walk for the plain VAE (β = 1), which uses all 16 dimensions "
                        "where the β-VAE keeps 14. Is one change per dimension easier to name "
                        "here or there?",
                 question=Question("number", "How many of the 16 dimensions stay active at "
                                             "β = 4?")),
        ),
    ),
    Lesson(
        slug="posterior-collapse",
        title="Posterior collapse",
        tags=("β", "VAE", "KL"),
        text=(
            "When the KL term wins, the encoder gives up: for some dimensions, or all of them, "
            "q(z|x) is the prior N(0, 1) whatever the image, so they carry no information (0 nats) "
            "and the decoder learns to ignore them. The β-VAE is partway there: compare its total "
            "KL with the plain VAE's below, and look at how little each of its dimensions carries."
        ),
        steps=(
            Step(INSIDE, {"model": BETA_VAE_Z16, "inside_tab": "KL per dimension"},
                 label="The β-VAE's KL per dimension", minutes=4,
                 prompt="One bar per latent dimension: the nats it carries about the image. The "
                        "β = 4 VAE carries 9.3 nats in all, against 23.4 for the plain VAE; 2 of "
                        "its 16 bars are almost 0 — those dimensions have collapsed to the "
                        "prior."),
            Step(INTERPOLATE, {"model": BETA_VAE_Z16, "interp_tab": DIM_TAB},
                 label="Walk its dimensions", minutes=3,
                 prompt="Pick a dimension from the end of the list and drag its slider: a "
                        "collapsed dimension changes nothing in the digit, because the decoder "
                        "ignores it."),
            Step(TRAIN, {"train_dataset": "digits", "train_kind": "vae", "train_beta": "20"},
                 label="Train a VAE with β = 20", minutes=5,
                 prompt="The form is set to a VAE on Digits with β = 20. Press Train and watch "
                        "the KL curve fall towards 0: the code then says almost nothing, and its "
                        "samples all look alike."),
        ),
        kl_of=(BETA_VAE_Z16, VAE_Z16),
    ),
    Lesson(
        slug="lerp-vs-slerp",
        title="Interpolation: linear versus spherical",
        tags=("interpolation", "VAE", "latent space"),
        text=(
            "In 16 dimensions N(0, I)'s draws lie at radius 2.8 to 5.1 nine times in ten (around "
            "√16 = 4) and almost never near 0, so the straight line between two codes far apart "
            "in angle cuts inside that band, through shorter codes than the decoder usually sees. "
            "Spherical interpolation (slerp) turns "
            "the angle instead; it keeps the length only when both ends share it (here #2 and "
            "#105 differ, and the page shows the length along both paths). In a 2-D latent there "
            "is no thin shell, so the argument does not apply there."
        ),
        steps=(
            Step(INTERPOLATE, {"model": VAE_Z16, "interp_a": "2", "interp_b": "105",
                               "interp_t": "0.5"}, label="Linear", minutes=3,
                 prompt="Test images #2 and #105 at the ends, the straight line between their "
                        "codes decoded in between; the slider sits half-way. Look at the middle "
                        "of the strip and at the code's length along the path."),
            Step(INTERPOLATE, {"model": VAE_Z16, "interp_a": "2", "interp_b": "105",
                               "interp_t": "0.5", "interp_method": "spherical"},
                 label="Spherical", minutes=3,
                 prompt="The same two images, now along the spherical path. Which strip keeps "
                        "the strokes as bold in the middle as at the ends?",
                 question=Question("choice", "Which path keeps the middle images bolder?",
                                   ("Linear", "Spherical", "No difference"))),
        ),
    ),
    Lesson(
        slug="rate-distortion",
        title="Rate, distortion and β",
        tags=("β", "rate-distortion", "VAE"),
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
        steps=(
            Step(RATE_DISTORTION, {"model": SWEEP[1.0]}, label="The plane", minutes=4,
                 prompt="Each point is one model: rate (nats the code carries) across, "
                        "distortion up. Follow the curve from β = 0.25 (rate 25.4 nats) to "
                        "β = 8 (rate 4.0 nats): which diagonal, one value of the ELBO, is "
                        "lowest?"),
            Step(COMPARE, {"model": SWEEP[0.25]}, label="β = 0.25: reconstructions", minutes=2,
                 prompt="β = 0.25 keeps 25.4 nats about each image: its reconstructions keep "
                        "most of the strokes."),
            Step(COMPARE, {"model": SWEEP[8.0]}, label="β = 8: reconstructions", minutes=2,
                 prompt="β = 8 keeps 4.0 nats: the same test images come back blurred towards "
                        "an average digit."),
            Step(SAMPLE, {"model": SWEEP[0.25]}, label="β = 0.25: samples", minutes=2,
                 prompt="Codes drawn from N(0, I) and decoded by the β = 0.25 model: sharp "
                        "strokes, but how many look like digits?"),
            Step(SAMPLE, {"model": SWEEP[8.0]}, label="β = 8: samples", minutes=2,
                 prompt="The same for β = 8: blurrier, but do more of them look like digits?"),
        ),
        kl_of=(SWEEP[0.25], SWEEP[1.0], SWEEP[8.0]),
    ),
    Lesson(
        slug="latent-diffusion",
        title="From autoencoder to latent diffusion",
        tags=("diffusion", "AE", "generators"),
        text=(
            "A plain autoencoder cannot be sampled: nothing made its codes follow N(0, I), so "
            "draws from it land in holes and decode to blur. Instead of forcing the codes towards "
            "a prior, *learn* the codes' distribution: a diffusion model (Ho et al. 2020) is "
            "trained to remove noise from noised codes, and run backwards it carries pure noise "
            "into the clusters. The autoencoder's decoder then draws the images — what Stable "
            "Diffusion does at scale (Rombach et al. 2022). On Compare generators (5,000 samples "
            "each, Fréchet distance in a classifier's features against the 1,000 test images, "
            "the mean over 3 seeds) the 16-D AE scores 28 with its learned prior against 79 from "
            "a Gaussian fitted to its codes, and the 16-D VAE 25 against 142 from its N(0, I) "
            "prior."
        ),
        steps=(
            Step(SAMPLE, {"model": AE_Z2}, label="The AE's own samples", minutes=3,
                 prompt="The 2-D autoencoder, sampled the naive way: codes drawn from N(0, I), "
                        "decoded. Nothing made its codes follow N(0, I), so many draws land "
                        "between its clusters and decode to blur.",
                 question=Question("choice", "Why do most of these samples look wrong?",
                                   ("The decoder is bad", "The draws land where no code is",
                                    "Too few training images"))),
            Step(MAP, {"model": AE_Z2}, label="Where its codes are", minutes=2,
                 prompt="Its codes on the map: clusters with empty space between them, far "
                        "wider than N(0, I). A sampler must learn where the clusters are."),
            Step(DIFFUSION, {"model": AE_Z2}, label="Noise flowing into the codes", minutes=5,
                 prompt="A diffusion model learned the AE's codes. Press Play: a few thousand "
                        "points start as pure noise and flow into the digit clusters as t goes "
                        "from T to 0. Drag t, and click one point to follow it and watch its "
                        "image turn from noise into a digit."),
            Step(DIFFUSION, {"model": AE_Z16}, label="16-D: the AE with a learned prior",
                 minutes=4,
                 prompt="The same in 16 dimensions: the grid of samples beside the base's own. "
                        "With the learned prior the 16-D AE scores a Fréchet distance of 28, "
                        "against 79 from a Gaussian fitted to its codes (lower is better)."),
            Step(DIFFUSION, {"model": VAE_Z16}, label="16-D: the VAE with a learned prior",
                 minutes=3,
                 prompt="The 16-D VAE: its own N(0, I) prior scores 142, the learned prior 25 — "
                        "the step Stable Diffusion takes, in an autoencoder's latent space."),
            Step(GENERATORS, {}, label="Every generator, scored the same way", minutes=3,
                 prompt="Compare generators: every shipped generator's samples, each scored by "
                        "the same Fréchet distance against the test images. Where do the "
                        "learned priors rank against the GAN and the VAEs' own priors?"),
        ),
    ),
)


def lesson(slug: str) -> Lesson:
    for item in LESSONS:
        if item.slug == slug:
            return item
    raise KeyError(f"No lesson called {slug!r}.")
