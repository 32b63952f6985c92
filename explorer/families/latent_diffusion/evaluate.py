"""A prior's scores beside its base model's own ways of sampling, all measured one way.

Every row decodes codes with the base run's decoder and scores the images with the shipped
classifier of the dataset (explorer.analysis.scores): the Fréchet distance in its features (FID recipe,
Heusel et al. 2017), precision and recall (Kynkäänniemi et al. 2019), each against the features
of the test split. The rows:

- ``diffusion-ddpm`` / ``diffusion-ddim``: codes from the learned prior (`steps` steps);
- ``prior``: z ~ N(0, I), the base's prior (an AE never trained for it);
- ``fitted``: z from a Gaussian fitted to the base's training codes (explorer.families.generate);
- ``reconstructions``: the decoded codes of the test images themselves — the decoder's ceiling,
  what a perfect prior over the codes would at best reach (n is the test split's size).

Each score is the mean over SCORE_SEEDS sampling seeds with its standard deviation (``fid_sd``...),
as every other sample score (explorer.analysis.scores.score_spread): a seed draws the samples and
the subsets precision and recall compare.
"""

from __future__ import annotations

import numpy as np
import torch

from explorer.families.latent_diffusion.model import NoisePredictor
from explorer.families.latent_diffusion.sampling import sample_codes

N_SAMPLES = 5000  # as explorer.analysis.scores.N_SAMPLES: the shipped scores' sample count
STEPS = 100  # sampler steps used for the shipped scores


@torch.inference_mode()
def _decode(base, z: torch.Tensor) -> torch.Tensor:
    return torch.cat([base.decode(z[i : i + 1000]) for i in range(0, len(z), 1000)])


def reference_codes(base, data, which: str, n: int, seed: int) -> torch.Tensor:
    """The base's own codes of one kind: "prior" (N(0, I)), "fitted" or "reconstructions"."""
    from explorer.families.generate import fitted_gaussian
    from explorer.families.latent_diffusion.train import base_codes

    if which == "reconstructions":
        return base_codes(base, data.x_test).mu
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn((n, base.cfg.latent_dim), generator=generator)
    if which == "fitted":
        mu, chol = fitted_gaussian(base, data.x_train)
        z = (mu + z.double() @ chol.T).float()
    return z


def score_codes(base, data, z: torch.Tensor, seed: int = 0) -> dict[str, float]:
    """fid, precision, recall of the images the base decodes from codes z, against the test
    split (precision and recall on `seed`'s subsets), and n (how many images were scored)."""
    from explorer.analysis.scores import _test_features, compare_features, features, load_classifier

    clf, _ = load_classifier(data.name)
    fake = features(clf, _decode(base, z))
    return {**compare_features(_test_features(data), fake, seed=seed), "n": len(z)}


def evaluate(prior: NoisePredictor, base, data, n: int = N_SAMPLES, seed: int = 0,
             steps: int = STEPS, samplers=("ddpm", "ddim"),
             references=("prior", "fitted", "reconstructions"),
             seeds: int | None = None) -> dict[str, dict]:
    """{row: {fid, precision, recall, their *_sd, seeds, n}} for the prior's samplers and the
    base's references, each the mean over `seeds` sampling seeds (seed, seed + 1, ...; SCORE_SEEDS
    unless given), and ``gap_closed``: the share of the mean FD gap between N(0, I) samples and
    reconstructions that the first sampler's prior closes (1 = as good as reconstructions, 0 = no
    better than N(0, I)), named in ``gap_sampler``."""
    from explorer.analysis.scores import SCORE_SEEDS, spread

    at = range(seed, seed + (seeds or SCORE_SEEDS))
    rows = {}
    for sampler in samplers:
        rows[f"diffusion-{sampler}"] = {**spread([score_codes(
            base, data, sample_codes(prior, n, seed=s, sampler=sampler, steps=steps)[0], s)
            for s in at]), "n": n}
    for which in references:
        runs = [score_codes(base, data, reference_codes(base, data, which, n, s), s) for s in at]
        rows[which] = {**spread(runs), "n": runs[0]["n"]}
    out: dict = {"rows": rows, "steps": steps, "seed": seed, "seeds": len(at),
                 "dataset": data.name,
                 "measured_against": f"{len(data.x_test)} test images of {data.name}"}
    if {"prior", "reconstructions", f"diffusion-{samplers[0]}"} <= set(rows):
        top, bottom = rows["prior"]["fid"], rows["reconstructions"]["fid"]
        mine = rows[f"diffusion-{samplers[0]}"]["fid"]
        out["gap_closed"] = float((top - mine) / (top - bottom)) if top != bottom else float("nan")
        out["gap_sampler"] = samplers[0]
    return out


def mmd(a: np.ndarray, b: np.ndarray, bandwidth: float | None = None) -> float:
    """The squared maximum mean discrepancy between samples a (n, D) and b (m, D) with a Gaussian
    kernel (Gretton et al. 2012, the unbiased estimate of eq. 3); bandwidth: the median distance
    between the pooled points unless given."""
    a_t, b_t = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    if bandwidth is None:
        pooled = torch.cat([a_t, b_t])
        bandwidth = float(torch.cdist(pooled, pooled).median())

    def k(x, y):
        return torch.exp(-torch.cdist(x, y) ** 2 / (2 * bandwidth**2))

    n, m = len(a_t), len(b_t)
    kaa, kbb = k(a_t, a_t), k(b_t, b_t)
    term_a = (kaa.sum() - kaa.diagonal().sum()) / (n * (n - 1))
    term_b = (kbb.sum() - kbb.diagonal().sum()) / (m * (m - 1))
    return float(term_a + term_b - 2 * k(a_t, b_t).mean())
