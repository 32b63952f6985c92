"""How good is a model? Reconstruction errors, likelihood bounds, latent usage and code quality.

Every function takes a model from :mod:`explorer.families.models` and images shaped (N, C, H, W) in [0, 1],
works in batches on the model's own device under ``torch.inference_mode()``, and returns plain
floats or numpy arrays, so results can go straight into a model card (JSON) or a chart.

Anything random (the sample in the ELBO, the samples of the importance-weighted bound, a
subsample for k-NN) is drawn from a local, seeded generator: calling a metric twice gives the same
number and never moves the global RNG that training depends on.

Units: likelihood terms are nats per image (summed over pixels, averaged over images), like the
``loss`` parts the models report; ``mse`` is per pixel; ``psnr`` is in dB with peak 1.0.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from explorer import families
from explorer.analysis.knn import KNN_MAX_TRAIN, knn_accuracy, knn_train_subset
from explorer.data.datasets import Dataset
from explorer.families.models import GAUSSIAN_LOG_NORMALISER, Autoencoder, Posterior
from explorer.training.loop import evaluate_loss

PSNR_CAP_DB = 100.0  # a perfect reconstruction has infinite PSNR; report this instead
ACTIVE_THRESHOLD = 0.01  # Burda et al. (2016), section 5.2
LOG_2PI = math.log(2.0 * math.pi)
MAX_DECODES = 10_000  # latents per decoder pass in the importance-weighted bound (memory cap)
TEST_BINARIZATION_SEED = 0  # one fixed binarised copy of the test split scores a binarised model
IW_K = 50  # samples of the importance-weighted bound on a model card


# ----------------------------------------------------------------------------------------------
# helpers


def model_device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[None]:
    """Evaluate in eval mode (e.g. no denoising noise) and restore whatever mode the model had."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def as_tensor(x: torch.Tensor | np.ndarray) -> torch.Tensor:
    """float32 tensor of x; an array shared read-only (a model view's) is copied, not aliased."""
    if isinstance(x, np.ndarray) and not x.flags.writeable:
        x = np.array(x, dtype=np.float32)
    return torch.as_tensor(x, dtype=torch.float32)


def _batches(x: torch.Tensor, batch_size: int, device: torch.device) -> Iterator[torch.Tensor]:
    for i in range(0, len(x), batch_size):
        yield x[i : i + batch_size].to(device)


def _generator(seed: int) -> torch.Generator:
    # Noise is drawn on the CPU and then moved, so the numbers are the same on every device and
    # no CUDA/MPS generator is needed.
    return torch.Generator(device="cpu").manual_seed(seed)


def _require_vae(model: Autoencoder, what: str) -> None:
    if not families.of(model).posterior:
        raise ValueError(
            f"{what} needs a VAE: a plain autoencoder has no posterior or prior to score. "
            "Train a model of kind 'vae'."
        )


def _log_normaliser(model: Autoencoder) -> float:
    """The per-image constant that `recon_nll` leaves out: zero for Bernoulli, n * log(pi)/2 for the
    fixed-variance Gaussian (see `GAUSSIAN_LOG_NORMALISER`)."""
    if model.cfg.likelihood == "gaussian":
        return model.cfg.n_pixels * GAUSSIAN_LOG_NORMALISER
    return 0.0


# ----------------------------------------------------------------------------------------------
# reconstruction


def image_errors(x: torch.Tensor | np.ndarray, x_hat: torch.Tensor | np.ndarray) -> dict:
    """Per-image `mse` (mean over pixels) and `psnr` (dB, peak 1.0) between any two image stacks,
    e.g. a PCA reconstruction, so it can be compared with a model's on the same scale."""
    x, x_hat = as_tensor(x), as_tensor(x_hat)
    mse = (x_hat - x).pow(2).flatten(1).mean(1)  # (N,)
    return {"mse": mse.numpy(), "psnr": _psnr(mse).numpy()}


def _psnr(mse: torch.Tensor) -> torch.Tensor:
    # PSNR = 10 log10(peak^2 / mse) with peak 1.0; clamp so mse = 0 gives the cap, not inf.
    return (-10.0 * torch.log10(mse.clamp_min(1e-30))).clamp_max(PSNR_CAP_DB)


def per_image_errors(
    model: Autoencoder, x: torch.Tensor, batch_size: int = 500
) -> dict[str, np.ndarray]:
    """Errors of the mean reconstruction decode(embed(x)), one value per image.

    `mse`: squared error averaged over pixels; `bce`: binary cross-entropy summed over pixels
    (nats, whatever likelihood the model was trained with); `psnr`: dB with peak 1.0, capped at
    `PSNR_CAP_DB` for a perfect reconstruction.
    """
    x = as_tensor(x)
    device = model_device(model)
    mse, bce = [], []
    with eval_mode(model), torch.inference_mode():
        for xb in _batches(x, batch_size, device):
            logits = model.decode_logits(model.embed(xb))  # (B, C, H, W)
            x_hat = torch.sigmoid(logits)
            mse.append((x_hat - xb).pow(2).flatten(1).mean(1).cpu())  # (B,)
            # From logits, not x_hat: BCE on saturated probabilities would lose precision.
            per_pixel = F.binary_cross_entropy_with_logits(logits, xb, reduction="none")
            bce.append(per_pixel.flatten(1).sum(1).cpu())  # (B,)
    mse_t, bce_t = torch.cat(mse), torch.cat(bce)
    return {"mse": mse_t.numpy(), "bce": bce_t.numpy(), "psnr": _psnr(mse_t).numpy()}


def per_image_recon_nll(model: Autoencoder, x: torch.Tensor, batch_size: int = 500) -> np.ndarray:
    """Each image's reconstruction cost under the model's own likelihood, -log p(x | z = mean
    code), (N,) nats summed over pixels: BCE, or the fixed-variance Gaussian's NLL with its
    constant; a binarised model is scored on :func:`scoring_images`. Deterministic: the mean code,
    where `rate_distortion`'s distortion draws one sample."""
    x = scoring_images(model, x)
    device = model_device(model)
    nll = []
    with eval_mode(model), torch.inference_mode():
        for xb in _batches(x, batch_size, device):
            nll.append(model.recon_nll(model.decode_logits(model.embed(xb)), xb).cpu())  # (B,)
    return torch.cat(nll).double().numpy() + _log_normaliser(model)


def pca_baseline(x_train: torch.Tensor | np.ndarray, n_components: int, seed: int = 0):
    """A scikit-learn PCA fitted on flattened training images: the linear autoencoder with the same
    code size, the baseline a learned model has to beat."""
    from sklearn.decomposition import PCA

    flat = as_tensor(x_train).flatten(1).numpy()  # (N, C*H*W)
    most = min(flat.shape)
    if not 1 <= n_components <= most:
        raise ValueError(f"PCA needs between 1 and {most} components here, got {n_components}.")
    return PCA(n_components=n_components, random_state=seed).fit(flat)


def pca_reconstruct(pca, x: torch.Tensor | np.ndarray) -> np.ndarray:
    """Project onto the principal components and back; float32 clipped to [0, 1], shaped like x."""
    x = as_tensor(x)
    flat = x.flatten(1).numpy()  # (N, C*H*W)
    x_hat = pca.inverse_transform(pca.transform(flat))
    return np.clip(x_hat, 0.0, 1.0).astype(np.float32).reshape(tuple(x.shape))


# ----------------------------------------------------------------------------------------------
# likelihood bounds (VAE)


def recon_floor(model: Autoencoder, x: torch.Tensor | np.ndarray) -> float:
    """The least reconstruction NLL any decoder can reach on x, nats per image.

    Bernoulli on grey pixels: the cross-entropy H(x, x_hat) >= H(x) = sum over pixels of
    -x log x - (1 - x) log(1 - x), because a grey pixel is not a 0/1 outcome: the likelihood is not
    a normalised density of the image, so its "-ELBO" is no bound on -log p(x). Binarised pixels:
    0. The fixed-variance Gaussian: its constant n log(pi)/2 (a perfect reconstruction).
    """
    if model.cfg.likelihood == "binarized":
        return 0.0
    if model.cfg.likelihood == "gaussian":
        return _log_normaliser(model)
    x = as_tensor(x)
    # BCE of x against itself is its entropy; torch clamps log(0) so 0 log 0 counts as 0.
    entropy = F.binary_cross_entropy(x, x, reduction="none").flatten(1).sum(1)  # (N,)
    return float(entropy.double().mean())


def scoring_images(model: Autoencoder, x: torch.Tensor | np.ndarray,
                   indices=None) -> torch.Tensor:
    """The images a model is scored on: x itself, or for a binarised model ONE fixed, seeded
    Bernoulli draw of x (the standard test protocol), the same for every metric and every call.

    The draw is a function of each image's index in its split: image i is compared with the i-th
    block of one seeded uniform stream, so a subset (x = split[indices], pass `indices`) gets the
    very pixels those images get in the whole split (x is the whole split when indices is None)."""
    x = as_tensor(x)
    if model.cfg.likelihood != "binarized":
        return x
    idx = torch.arange(len(x)) if indices is None else torch.as_tensor(indices).reshape(-1).long()
    if len(idx) != len(x):
        raise ValueError(f"{len(idx)} indices for {len(x)} images")
    n = int(idx.max()) + 1 if len(idx) else 0
    # The CPU generator's stream is sequential: the first n blocks are the same for any longer
    # draw, so block i does not depend on how many images are drawn (a test holds this).
    u = torch.rand((n, *x.shape[1:]), generator=_generator(TEST_BINARIZATION_SEED))[idx]
    return (u < x).to(x.dtype)  # a binary x comes back unchanged


def rate_distortion(
    model: Autoencoder, x: torch.Tensor, seed: int = 0, batch_size: int = 500
) -> dict[str, float]:
    """The VAE's two costs, nats per image averaged over x (Alemi et al. 2018, "Fixing a Broken
    ELBO"): `rate`, the mean KL(q(z|x) || p(z)) (analytic), an upper bound on the information
    I(x; z) the code carries; `distortion`, the mean reconstruction NLL E_q[-log p(x|z)] (one
    seeded sample, with the Gaussian's constant); `neg_elbo` = rate + distortion.

    -ELBO is the bound itself, with KL weight 1 whatever the model's beta (Kingma & Welling 2014,
    eq. 3): with beta != 1 the training loss is not a bound on -log p(x). It bounds -log p(x) only
    for a normalised likelihood (binarised or Gaussian); see `recon_floor` for grey Bernoulli.
    """
    _require_vae(model, "The ELBO")
    x = scoring_images(model, x)
    device = model_device(model)
    generator = _generator(seed)
    rate = distortion = 0.0
    with eval_mode(model), torch.inference_mode():
        for xb in _batches(x, batch_size, device):
            post = model.encode(xb)
            eps = torch.randn(post.mu.shape, generator=generator).to(device)  # (B, D)
            z = post.mu + torch.exp(0.5 * post.logvar) * eps  # reparameterised sample
            distortion += float(model.recon_nll(model.decode_logits(z), xb).sum())
            rate += float(model.kl(post).sum())
    rate, distortion = rate / len(x), distortion / len(x) + _log_normaliser(model)
    return {"rate": rate, "distortion": distortion, "neg_elbo": rate + distortion}


def neg_elbo(model: Autoencoder, x: torch.Tensor, seed: int = 0, batch_size: int = 500) -> float:
    """-ELBO in nats per image: rate + distortion of :func:`rate_distortion`."""
    return rate_distortion(model, x, seed, batch_size)["neg_elbo"]


def iw_bound(
    model: Autoencoder, x: torch.Tensor, k: int = 50, seed: int = 0, batch_size: int = 100
) -> float:
    """Importance-weighted bound on -log p(x), nats per image (Burda et al. 2016, eq. 8):

        -log p(x) <= -E[ log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x) ],  z_i ~ q(z|x).

    In expectation it is never looser than the ELBO and tightens as k grows; one seeded estimate
    can land above it (k = 1 is the ELBO with a sampled KL, noisier than the analytic one).
    Images go through in batches of at most `batch_size`, fewer when k is large, so one decoder
    pass sees at most `MAX_DECODES` latents.
    """
    _require_vae(model, "The importance-weighted bound")
    if k < 1:
        raise ValueError(f"The importance-weighted bound needs k >= 1 samples, got {k}.")
    x = scoring_images(model, x)
    device = model_device(model)
    generator = _generator(seed)
    batch_size = max(1, min(batch_size, MAX_DECODES // k))
    total = 0.0
    with eval_mode(model), torch.inference_mode():
        for xb in _batches(x, batch_size, device):
            b = len(xb)
            post = model.encode(xb)
            mu, logvar = post.mu, post.logvar  # (B, D)
            eps = torch.randn((k, *mu.shape), generator=generator).to(device)  # (K, B, D)
            z = mu + torch.exp(0.5 * logvar) * eps  # (K, B, D)
            # One decoder pass for all k samples: the K copies of the batch are stacked.
            logits = model.decode_logits(z.reshape(k * b, -1))  # (K*B, C, H, W)
            x_rep = xb.expand(k, *xb.shape).reshape(k * b, *xb.shape[1:])  # (K*B, C, H, W)
            log_px_z = -model.recon_nll(logits, x_rep).reshape(k, b)  # (K, B)
            log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)  # (K, B) standard normal prior
            # log q(z|x) with z = mu + sigma * eps: the density only needs eps and log sigma.
            log_qz = -0.5 * (eps.pow(2) + logvar + LOG_2PI).sum(-1)  # (K, B)
            log_w = log_px_z + log_pz - log_qz  # (K, B) log importance weights
            log_px = torch.logsumexp(log_w, dim=0) - math.log(k)  # (B,)
            total += float(-log_px.sum())
    return total / len(x) + _log_normaliser(model)


# ----------------------------------------------------------------------------------------------
# latent usage


def posteriors(model: Autoencoder, x: torch.Tensor, batch_size: int = 1000) -> Posterior:
    """The posterior of every image, on the CPU: mu (N, D) and logvar (N, D) or None."""
    x = as_tensor(x)
    device = model_device(model)
    mus, logvars = [], []
    with eval_mode(model), torch.inference_mode():
        for xb in _batches(x, batch_size, device):
            post = model.encode(xb)
            mus.append(post.mu.cpu())
            if post.logvar is not None:
                logvars.append(post.logvar.cpu())
    return Posterior(torch.cat(mus), torch.cat(logvars) if logvars else None)


def kl_per_dimension(model: Autoencoder, x: torch.Tensor, batch_size: int = 1000) -> np.ndarray:
    """Mean KL(q(z_d|x) || N(0, 1)) per latent dimension over x, (D,) nats; analytic, no sampling.

    Its sum is the mean total KL. Dimensions near zero carry no information about x: the
    posterior collapsed onto the prior there.
    """
    _require_vae(model, "KL per dimension")
    post = posteriors(model, x, batch_size)
    return model.kl_per_dim(post).mean(0).double().numpy()  # (D,)


def kl_per_image(model: Autoencoder, x: torch.Tensor, batch_size: int = 1000) -> np.ndarray:
    """KL(q(z|x) || N(0, I)) of each image, (N,) nats: its rate. The mean over x is the rate of
    :func:`rate_distortion`; analytic, no sampling."""
    _require_vae(model, "KL per image")
    post = posteriors(model, scoring_images(model, x), batch_size)
    return model.kl_per_dim(post).sum(1).double().numpy()  # (N,)


def code_variance(model: Autoencoder, x: torch.Tensor, batch_size: int = 1000) -> np.ndarray:
    """Var over x of each code dimension's posterior mean, Var_x(E_q[z_d]), (D,)."""
    mu = posteriors(model, x, batch_size).mu.double()  # (N, D)
    return mu.var(0, unbiased=False).numpy()


def active_units(model: Autoencoder, x: torch.Tensor, threshold: float = ACTIVE_THRESHOLD) -> int:
    """How many latent dimensions the model uses (Burda et al. 2016, section 5.2): a dimension is
    active when its posterior mean moves with the input, Var_x(E_q[z_d]) > threshold.

    Also defined for a plain AE (its code is the mean), though an AE rarely leaves one unused.
    """
    return int((code_variance(model, x) > threshold).sum())


def _codes(model: Autoencoder, x: torch.Tensor, batch_size: int = 1000) -> np.ndarray:
    return posteriors(model, x, batch_size).mu.numpy()  # (N, D)


# ----------------------------------------------------------------------------------------------
# the model card's test metrics


def evaluate(
    model: Autoencoder, data: Dataset, seed: int = 0, iw_k: int = IW_K, knn_k: int = 5
) -> dict[str, float]:
    """The standard test-split metrics written on a model card, as plain JSON-ready numbers.

    Always: `mse`, `bce`, `psnr` (means of `per_image_errors`), `loss` (the training objective,
    seeded), `knn_acc` (k-NN on codes). For a VAE also `rate`, `distortion`, `neg_elbo` (their
    sum), `recon_floor`, `kl` (the rate, analytic), `active_units`, and `iw_bound` with its `iw_k`
    samples when iw_k > 0. A binarised model is scored on one fixed binarisation of the test split.
    Everything random is seeded from `seed`, so two calls return identical numbers.
    """
    x_test = data.x_test
    errors = per_image_errors(model, x_test)
    metrics: dict[str, float] = {name: float(np.mean(v)) for name, v in errors.items()}
    x_scored = scoring_images(model, x_test)
    # evaluate_loss puts the model in eval mode and seeds inside fork_rng: global RNG untouched.
    metrics["loss"] = float(evaluate_loss(model, x_scored, seed=seed)["loss"])
    if families.of(model).posterior:
        metrics.update(rate_distortion(model, x_scored, seed=seed))
        metrics["recon_floor"] = recon_floor(model, x_scored)
        metrics["kl"] = float(kl_per_dimension(model, x_scored).sum())
        metrics["active_units"] = active_units(model, x_scored)
        if iw_k > 0:
            metrics["iw_bound"] = iw_bound(model, x_scored, k=iw_k, seed=seed)
            metrics["iw_k"] = iw_k
    idx = knn_train_subset(len(data.x_train), KNN_MAX_TRAIN, seed)
    metrics["knn_acc"] = knn_accuracy(
        _codes(model, data.x_train[idx]),
        data.y_train.numpy()[idx],
        _codes(model, x_test),
        data.y_test.numpy(),
        knn_k,
    )
    return metrics
