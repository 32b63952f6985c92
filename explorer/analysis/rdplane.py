"""The rate–distortion plane (Alemi et al. 2018, "Fixing a Broken ELBO"): every model of a dataset
placed at (rate, distortion), the numbers behind the Rate & distortion page.

A VAE's -ELBO is rate + distortion, so every point on a diagonal R + D = c has the same ELBO; β
only chooses where along the frontier training lands (the frontier's slope there is -β). A plain
AE has a deterministic code, so its rate is unbounded: it has a distortion but no place on the
rate axis, and the page draws it at the edge.

Numbers come from a model's card when it has them (written by :func:`explorer.analysis.metrics.evaluate`);
models saved before the card carried them are measured here on their test split, seeded the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from explorer import families
from explorer.analysis import metrics
from explorer.families.models import Autoencoder

RD_KEYS = ("rate", "distortion", "neg_elbo", "recon_floor")


@dataclass(frozen=True)
class RDPoint:
    id: str  # the model's id in the store, e.g. "pretrained/mnist-vae-z8-beta2"
    name: str
    kind: str  # "vae" or "ae"
    beta: float
    likelihood: str
    body: str  # the config without β: models that differ only in β share it (one curve)
    rate: float | None  # nats per image; None for an AE (unbounded)
    distortion: float  # nats per image, with the likelihood's constant
    floor: float  # the least distortion any decoder can reach (metrics.recon_floor)

    @property
    def neg_elbo(self) -> float | None:
        return None if self.rate is None else self.rate + self.distortion


def ae_distortion(model: Autoencoder, x: torch.Tensor) -> float:
    """An AE's reconstruction NLL of its (deterministic) code, nats per image, on the same scale as
    a VAE's distortion: the likelihood it was trained with, with its constant."""
    x = metrics.scoring_images(model, x)
    total = 0.0
    with metrics.eval_mode(model), torch.inference_mode():
        for i in range(0, len(x), 500):
            xb = x[i : i + 500].to(metrics.model_device(model))
            total += float(model.recon_nll(model.decode_logits(model.embed(xb)), xb).sum())
    return total / len(x) + metrics.recon_floor(model, x) * (model.cfg.likelihood == "gaussian")


def measure(model: Autoencoder, card: dict, x_test: torch.Tensor) -> dict[str, float]:
    """Rate, distortion, -ELBO and floor of a model, from its card or measured on `x_test`."""
    known = card.get("metrics", {})
    if not families.of(model).posterior:
        return {"distortion": ae_distortion(model, x_test),
                "recon_floor": metrics.recon_floor(model, x_test)}
    if all(isinstance(known.get(k), int | float) for k in RD_KEYS):
        return {k: float(known[k]) for k in RD_KEYS}
    numbers = metrics.rate_distortion(model, x_test, seed=int(card.get("seed", 0)))
    return {**numbers, "recon_floor": metrics.recon_floor(model, x_test)}


def point_from_card(entry_id: str, name: str, cfg, card_metrics: dict) -> RDPoint | None:
    """A VAE's point from the numbers its card carries (every shipped VAE's): no model loaded,
    nothing measured, so a fresh tab draws the plane at once. None where the card lacks them (an
    autoencoder's distortion is measured, see :func:`measure`)."""
    if not families.of(cfg).posterior or not all(isinstance(card_metrics.get(k), int | float)
                                                   for k in RD_KEYS):
        return None
    return rd_point(entry_id, name, cfg, {k: float(card_metrics[k]) for k in RD_KEYS})


def rd_point(entry_id: str, name: str, model, numbers: dict[str, float]) -> RDPoint:
    """The point of `model` (a model, or its ModelConfig) with its measured `numbers`."""
    cfg = getattr(model, "cfg", model)
    body = cfg.describe().replace(f" · β={cfg.beta:g}", "")
    return RDPoint(entry_id, name, cfg.kind, cfg.beta, cfg.likelihood, body,
                   numbers.get("rate"), numbers["distortion"], numbers["recon_floor"])


def sweeps(points: list[RDPoint]) -> dict[str, list[RDPoint]]:
    """The shipped β sweeps: the shipped VAEs that share a body (everything but β) and between
    them have more than one β, in order of β — one curve each. Models of one body and one β are
    no sweep, and a run trained here is never a point of one (a student's β = 1 run is not the
    sweep's β = 1 model, even with the same settings)."""
    out = {}
    points = [p for p in points if p.rate is not None and p.id.startswith("pretrained/")]
    for body in dict.fromkeys(p.body for p in points):
        curve = sorted((p for p in points if p.body == body),
                       key=lambda p: (p.beta, p.rate))
        if len({p.beta for p in curve}) > 1:
            out[body] = curve
    return out
