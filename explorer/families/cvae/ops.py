"""The torch side of the conditional VAE: the autoencoders' step with each image's label, and
the generators' scores with the test split's loss parts on its card."""

from __future__ import annotations

from explorer.families.ae_vae.ops import Step, loss  # noqa: F401 - the same step, labels beside


def build(cfg):
    from explorer.families.cvae.model import CVAE

    return CVAE(cfg)


def evaluate(model, data, seed: int = 0) -> dict:
    from explorer.analysis.scores import evaluate_generator

    return evaluate_generator(model, data, seed=seed)
