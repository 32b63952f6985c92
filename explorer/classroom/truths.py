"""The ready questions for the class, and their true answers computed from the shipped models
(through the ModelView front door: the classroom reads analysis, never the other way).

Each ready question (:data:`READY`) is a question spec (:mod:`explorer.classroom.question_spec`)
whose ``truth`` names a function here; :func:`true_answer` computes it through the ModelView front
door (the same numbers the Inside page and the map draw) and says in a sentence how:

* ``holes_ae_vs_vae`` — which 2-D model leaves more holes: the share of prior draws N(0, I) where
  the density of the model's test codes is below 0.1 x the prior's
  (:func:`inspect_latent.holes_fraction`, as on the Inside page's Holes tab);
* ``active_beta4`` — how many of the 16 dimensions of the shipped β = 4 VAE stay active:
  Var_x(E_q[z_d]) > 0.01 over the test set (Burda et al. 2016, sec. 5.2; the Inside page's usage);
* ``where_7`` — where the 7s sit on the 2-D VAE's map: the test 7 whose nearest codes are most
  often 7s; a click counts as "among the 7s" when most of its 15 nearest test codes are 7s (:func:`click_hits`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.classroom.question_spec import QuestionError, QuestionSpec, parse_question
from explorer.runs.store import PRETRAINED_DIR

AE_2D, VAE_2D, BETA4_16D = "mnist-ae-mlp-z2", "mnist-vae-mlp-z2", "mnist-betavae-mlp-z16"
SAME_WITHIN = 0.02  # hole shares closer than this are "about the same"
NEIGHBOURS = 15  # a click's nearest test codes that decide which digit it lands among
SEVEN = 7


@dataclass(frozen=True)
class Ready:
    """A ready question: its spec and the page (and model) to have on the projector."""

    spec: QuestionSpec
    page: str
    title: str  # how the teacher's list names it


HOLES_OPTIONS = ("The autoencoder (AE)", "The VAE", "About the same")

READY: dict[str, Ready] = {r.spec.truth: r for r in (
    Ready(parse_question({"kind": "choice", "truth": "holes_ae_vs_vae", "options":
                         list(HOLES_OPTIONS), "prompt": "Which 2-D model leaves more holes in "
                         "its latent space: the AE or the VAE?"}),
          "inside", "Holes: AE or VAE? (multiple choice, Inside › Holes)"),
    Ready(parse_question({"kind": "number", "truth": "active_beta4", "prompt":
                          "How many of the 16 dimensions will stay active at β = 4?"}),
          "inside", "Active dimensions at β = 4 (a number, Inside › Usage)"),
    Ready(parse_question({"kind": "click", "truth": "where_7", "model": VAE_2D, "prompt":
                          "Where will a 7 decode? Click the spot on the map."}),
          "map", "Where will a 7 decode? (a click on the 2-D VAE's map)"),
)}


def _view(name: str):
    from explorer.analysis.view import ModelView

    return ModelView.of(PRETRAINED_DIR / name)


def holes_share(name: str) -> float:
    """The share of N(0, I) draws in a hole of the model's test codes (ratio 0.1)."""
    from explorer.analysis.inspect_latent import HOLE_RATIOS, holes_fraction

    codes = _view(name).codes()  # (N, 2) posterior means of the test images
    ratio = HOLE_RATIOS[0]
    return holes_fraction(np.asarray(codes[:, :2], np.float64), ratios=(ratio,))[ratio]


def _holes() -> dict:
    ae, vae = holes_share(AE_2D), holes_share(VAE_2D)
    value = (HOLES_OPTIONS[2] if abs(ae - vae) < SAME_WITHIN
             else HOLES_OPTIONS[0] if ae > vae else HOLES_OPTIONS[1])
    return {"value": value, "text": (
        f"{value}: {ae:.0%} of the prior's draws fall in a hole of the AE's codes, {vae:.0%} of "
        f"the VAE's ({AE_2D} vs {VAE_2D}; a hole is where the codes' density is below 0.1 × "
        "the prior's, over the 1,000 test codes — the Inside page's Holes tab).")}


def _active() -> dict:
    view = _view(BETA4_16D)
    usage = view.usage()
    return {"value": int(usage.active), "text": (
        f"{usage.active} of {view.latent_dim} dimensions stay active in {BETA4_16D} (β = 4): "
        "those whose code mean varies over the test images, Var_x(E_q[z_d]) > 0.01 "
        "(Burda et al. 2016, sec. 5.2; the Inside page's Usage tab).")}


def _where_7() -> dict:
    codes, labels, _ = plane(VAE_2D)
    sevens = codes[labels == SEVEN]  # (n, 2)
    # The heart of the 7s' region: the 7 whose nearest codes are most often 7s (their mean may
    # lie between the 7s and the 9s), the one nearest the 7s' median among equals.
    d2 = ((sevens[:, None, :] - codes[None, :, :]) ** 2).sum(-1)  # (n, N)
    share = (labels[np.argsort(d2, axis=1)[:, :NEIGHBOURS]] == SEVEN).mean(axis=1)  # (n,)
    off = ((sevens - np.median(sevens, axis=0)) ** 2).sum(1)
    x, y = (float(v) for v in sevens[np.lexsort((off, -share))[0]])
    hits = float(np.mean(click_hits(VAE_2D, SEVEN, sevens.tolist())))
    return {"value": [x, y], "label": SEVEN, "text": (
        f"The 7s sit around ({x:.2f}, {y:.2f}) on {VAE_2D}'s map: the test 7 whose "
        f"{NEIGHBOURS} nearest codes are most often 7s, among {len(sevens)} test 7s (posterior "
        f"means; {hits:.0%} of them lie among the 7s). A click counts as among the 7s when most "
        f"of its {NEIGHBOURS} nearest test codes are 7s.")}


TRUTHS = {"holes_ae_vs_vae": _holes, "active_beta4": _active, "where_7": _where_7}


def true_answer(spec: QuestionSpec) -> dict | None:
    """{"value", "text"} for a question whose truth the app computes, else None."""
    if spec.truth is None:
        return None
    if spec.truth not in TRUTHS:
        raise QuestionError(f"The app knows no truth called {spec.truth!r}; it computes "
                            f"{', '.join(TRUTHS)}.")
    return TRUTHS[spec.truth]()


def plane(name: str) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """A 2-D model's test codes (N, 2), their labels (N,) and the map's extent (x0, x1, y0, y1),
    the Decode anywhere plane's."""
    from explorer.analysis.inspect_latent import map_extent

    view = _view(name)
    if view.latent_dim != 2:
        raise QuestionError(f"A click question needs a model with a 2-D code; {name} has "
                            f"{view.latent_dim}.")
    codes = np.asarray(view.codes(), np.float64)
    return codes, view.labels(), map_extent(codes)


def click_hits(name: str, label: int, points: list) -> list[bool]:
    """For each clicked point (x, y): do most of its NEIGHBOURS nearest test codes have
    `label`?"""
    codes, labels, _ = plane(name)
    out = []
    for p in points:
        d2 = ((codes - np.asarray(p, np.float64)[None, :]) ** 2).sum(1)  # (N,)
        nearest = labels[np.argsort(d2)[:NEIGHBOURS]]
        out.append(bool((nearest == label).sum() * 2 > NEIGHBOURS))
    return out
