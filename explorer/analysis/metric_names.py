"""What each number on a model card is, said in full with its unit, for the model it belongs to.

A card's metrics are keyed by short names (``psnr``, ``iw_bound``...); shown as they are, "test
psnr" hides its unit and "test iw_bound" claims a bound the model may not have. These names say
what was computed, on which images, in which unit — and, for a model whose likelihood is not a
density of its images (Bernoulli on grey pixels), that the ELBO and the IW estimate bound nothing.
"""

from __future__ import annotations

from explorer.families.config import GAUSSIAN_LOG_NORMALISER, ModelConfig

NATS = "nats per image"
# Each sample score's name, said in full (a table's "fid" reads as Inception's FID); here, free of
# torch, so that the sidebar names them without loading the scoring code.
SCORE_NAMES = {"fid": "Fréchet distance (classifier features)", "precision": "precision",
               "recall": "recall", "class_accuracy": "class accuracy"}


def floor_about(cfg: ModelConfig) -> str:
    """What the reconstruction floor (metrics.recon_floor) is for this model's likelihood."""
    if cfg.likelihood == "gaussian":
        return (f"the Gaussian's constant, n·log(π)/2 = {cfg.n_pixels * GAUSSIAN_LOG_NORMALISER:.1f} "
                "nats for these images: what even a perfect reconstruction costs under a fixed "
                "variance of ½")
    if cfg.likelihood == "binarized":
        return "0: black-and-white pixels can be reconstructed exactly"
    return ("the images' own entropy Σ H(x): grey pixels are not 0/1 outcomes, so Bernoulli's "
            "reconstruction cost cannot go below it")


def metric_name(key: str, cfg: ModelConfig) -> str:
    """A card metric's name with its unit, for a model of config `cfg`; the key itself, prefixed
    with "test", for one it does not know."""
    grey_bernoulli = cfg.likelihood == "bernoulli"
    scored_on = "on one binarisation of the test images, " if cfg.likelihood == "binarized" else ""
    not_bound = " (not a bound: grey pixels, Bernoulli)" if grey_bernoulli else ""
    names = {
        "mse": "test mean squared error per pixel",
        "psnr": "test PSNR, dB (peak 1)",
        "bce": ("test cross-entropy against the grey test images, " + NATS
                + ("" if grey_bernoulli else " (not this model's cost)")),
        "rate": f"test rate KL(q(z|x) ‖ p(z)), {scored_on}{NATS}",
        "kl": f"test KL(q(z|x) ‖ p(z)) (the rate), {scored_on}{NATS}",
        "distortion": f"test distortion E_q[−log p(x|z)], {scored_on}{NATS}",
        "neg_elbo": f"test −ELBO, {scored_on}{NATS}{not_bound}",
        "recon_floor": f"reconstruction floor, {NATS}",
        "active_units": "active units (dimensions whose code varies, Var > 0.01)",
        "iw_k": "samples of the importance-weighted estimate (k)",
        "iw_bound": ("test importance-weighted " + ("estimate" if grey_bernoulli else "bound")
                     + f" (Burda et al. 2016), {scored_on}{NATS}{not_bound}"),
        "knn_acc": "test k-NN accuracy on the codes (5 neighbours)",
        "recon": "test reconstruction cost, " + (
            "squared error per image" if cfg.likelihood == "gaussian" else f"{scored_on}{NATS}"),
        **{k: f"{v} of samples" for k, v in SCORE_NAMES.items()},
    }
    return names.get(key, f"test {key}")
