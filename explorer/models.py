"""Autoencoders (AE) and variational autoencoders (VAE) with MLP or convolutional bodies.

Every model speaks one contract:

- ``encode(x) -> Posterior(mu, logvar)``: ``logvar`` is ``None`` for a plain AE;
- ``embed(x) -> z``: the deterministic code a map shows (the posterior mean for a VAE);
- ``decode(z) -> x_hat``: pixel means in [0, 1];
- ``forward(x) -> dict`` with ``x_hat``, ``z``, ``mu``, ``logvar``;
- ``loss(x) -> dict`` with ``loss`` and its named parts (``recon``, ``kl``, ``sparsity``), each a
  mean over the batch of a per-image sum over pixels, i.e. nats per image.

Models are built from a frozen :class:`ModelConfig`; every layer shape derives from it.
"""

from __future__ import annotations

import functools
import importlib
import math
from dataclasses import asdict, dataclass, fields
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from explorer.bodies import BODIES, conv_sizes
from explorer.errors import ConfigError

KINDS = ("ae", "vae")  # the autoencoders, defined here
# Families beyond the autoencoders live in modules of their own, imported when first built.
FAMILY_MODULES = {"cvae": "explorer.cvae", "gan": "explorer.gan"}
FAMILIES = (*KINDS, *FAMILY_MODULES)
# What a model can do; pages ask for one and say so, naming a family that can, where it lacks it.
CAPABILITIES = ("encode", "decode", "sample", "condition")
ARCHS = ("mlp", "conv")
LIKELIHOODS = ("bernoulli", "gaussian", "binarized")
DEFAULT_HIDDEN = {"mlp": (400,), "conv": (32, 64)}  # a body's layer widths / channels when unset

# The Gaussian likelihood uses a fixed variance of 1/2, so its negative log-likelihood per pixel is
# (x - x_hat)^2 + log(pi)/2: the squared error plus a constant we add back when reporting nats.
GAUSSIAN_LOG_NORMALISER = 0.5 * math.log(math.pi)

# A shared classroom server trains many models at once: each must fit beside thirty others.
MAX_PARAMETERS = 20_000_000
MAX_ACTIVATIONS = 2_000_000  # values per image kept for the backward pass
MAX_PIXELS = 3 * 256 * 256


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model; stored as JSON beside its weights."""

    kind: str = "vae"  # "ae" or "vae"
    arch: str = "mlp"  # "mlp" or "conv"
    image_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W)
    latent_dim: int = 16
    hidden: tuple[int, ...] = (400,)  # MLP: layer widths; conv: channels per stride-2 layer
    # "bernoulli" (BCE on grey levels), "gaussian" (squared error, fixed variance 1/2) or
    # "binarized" (BCE on a Bernoulli draw of each pixel: a normalised density, true bounds)
    likelihood: str = "bernoulli"
    beta: float = 1.0  # weight on the KL term (beta-VAE); ignored by the AE
    sparsity: float = 0.0  # weight of an L1 penalty on the code (sparse autoencoder)
    denoise: float = 0.0  # std of Gaussian noise added to inputs while training (denoising AE)
    n_classes: int = 0  # a conditional model's number of classes (CVAE); 0 for the others

    def __post_init__(self):
        # JSON gives lists; the config must stay hashable and comparable, and whole numbers must
        # be whole (a card saying latent_dim 2.5 is wrong, not "2").
        try:
            object.__setattr__(self, "image_shape", tuple(_whole(v) for v in self.image_shape))
            object.__setattr__(self, "hidden", tuple(_whole(v) for v in self.hidden))
            object.__setattr__(self, "latent_dim", _whole(self.latent_dim))
            object.__setattr__(self, "n_classes", _whole(self.n_classes))
            for name in ("beta", "sparsity", "denoise"):
                object.__setattr__(self, name, float(getattr(self, name)))
        except (TypeError, ValueError):
            raise ConfigError(
                "Model settings must be numbers: whole numbers for sizes, e.g. latent_dim 16."
            ) from None
        self.validate()

    def validate(self) -> None:
        if self.kind not in FAMILIES:
            raise ConfigError(
                f"Unknown model kind {self.kind!r}: choose one of {', '.join(FAMILIES)}.")
        if self.arch not in ARCHS:
            raise ConfigError(f"Unknown body {self.arch!r}: choose one of {', '.join(ARCHS)}.")
        if self.likelihood not in LIKELIHOODS:
            raise ConfigError(
                f"Unknown likelihood {self.likelihood!r}: choose one of {', '.join(LIKELIHOODS)}."
            )
        if len(self.image_shape) != 3 or min(self.image_shape) < 1:
            raise ConfigError(f"Image shape must be (channels, height, width), got {self.image_shape}.")
        if not 2 <= self.latent_dim <= 256:
            raise ConfigError(f"Latent size must be between 2 and 256, got {self.latent_dim}.")
        if not self.hidden or len(self.hidden) > 4 or min(self.hidden) < 1 or max(self.hidden) > 4096:
            raise ConfigError(
                "Hidden sizes must be one to four numbers between 1 and 4096, e.g. 400 or 512,256."
            )
        if not (0.0 <= self.beta <= 1000.0 and math.isfinite(self.beta)):
            raise ConfigError(f"β must be between 0 and 1000, got {self.beta}.")
        if not (0.0 <= self.sparsity <= 100.0 and math.isfinite(self.sparsity)):
            raise ConfigError(f"Sparsity weight must be between 0 and 100, got {self.sparsity}.")
        if not (0.0 <= self.denoise <= 1.0 and math.isfinite(self.denoise)):
            raise ConfigError(f"Denoising noise must be between 0 and 1, got {self.denoise}.")
        if (self.kind == "cvae") != (self.n_classes >= 2) or not 0 <= self.n_classes <= 1000:
            raise ConfigError("A conditional VAE needs between 2 and 1000 classes; the other "
                              f"models none (got {self.n_classes}).")
        check_size(self)

    @property
    def n_pixels(self) -> int:
        c, h, w = self.image_shape
        return c * h * w

    def to_dict(self) -> dict:
        d = asdict(self)
        d["image_shape"] = list(self.image_shape)
        d["hidden"] = list(self.hidden)
        if not self.n_classes:
            del d["n_classes"]  # an unconditional model's card stays as it always was
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"Unknown model setting(s): {', '.join(sorted(unknown))}.")
        try:
            return cls(**d)
        except (TypeError, ValueError) as e:  # e.g. a list where a number belongs
            raise ConfigError(f"Bad model settings: {e}.") from None

    def describe(self) -> str:
        """A one-line summary such as 'VAE · MLP 400 · z=16 · β=4'."""
        body = f"{self.arch.upper()} {','.join(map(str, self.hidden))}"
        parts = [self.kind.upper(), body, f"z={self.latent_dim}"]
        if self.kind in ("vae", "cvae") and self.beta != 1.0:
            parts.append(f"β={self.beta:g}")
        if self.sparsity:
            parts.append(f"L1={self.sparsity:g}")
        if self.denoise:
            parts.append(f"noise={self.denoise:g}")
        if self.likelihood != "bernoulli":
            parts.append(self.likelihood)
        return " · ".join(parts)


def parse_hidden(text: str, arch: str) -> tuple[int, ...]:
    """'512, 256' (or '512 256') -> (512, 256); empty means the body's default. Ranges are checked
    by ModelConfig, so the form and the command line give the same sentence."""
    text = text.strip()
    if not text:
        return DEFAULT_HIDDEN.get(arch, DEFAULT_HIDDEN["mlp"])  # ModelConfig names a bad arch
    try:
        return tuple(int(part) for part in text.replace(" ", ",").split(",") if part)
    except ValueError:
        raise ConfigError(
            f"Hidden sizes must be whole numbers separated by commas, e.g. 400 or 512,256 — "
            f"not '{text}'."
        ) from None


def _whole(value) -> int:
    """An int from an int-like value (16, 16.0, "16"); refuses 2.5, True and text."""
    if isinstance(value, bool):
        raise TypeError("a flag is not a size")
    number = float(value)
    if not number.is_integer():
        raise ValueError(f"{value} is not a whole number")
    return int(number)


class ModelSize(NamedTuple):
    parameters: int
    activations: int  # per image, forward values kept for the backward pass


@functools.lru_cache(maxsize=256)
def check_size(cfg: ModelConfig) -> ModelSize:
    """The model's size, refused with a sentence above the server's limits. Parameters are
    counted on the meta device (nothing allocated); activations follow from the layer shapes."""
    if cfg.n_pixels > MAX_PIXELS:
        raise ConfigError(
            f"Images of shape {cfg.image_shape} are too large; this app works with at most "
            f"{MAX_PIXELS:,} values per image."
        )
    with torch.device("meta"):
        parameters = sum(p.numel() for p in build_model(cfg).parameters())
    if cfg.arch == "mlp":
        widths = list(cfg.hidden)
    else:
        _, h, w = cfg.image_shape
        hs, ws = conv_sizes(h, len(cfg.hidden)), conv_sizes(w, len(cfg.hidden))
        widths = [c * h * w for c, h, w in zip(cfg.hidden, hs[1:], ws[1:], strict=True)]
    # Encoder and mirrored decoder: each hidden layer's output and its ReLU, plus input and output.
    activations = 2 * (cfg.n_pixels + 2 * sum(widths) + cfg.latent_dim)
    if parameters > MAX_PARAMETERS:
        raise ConfigError(
            f"This model would have {parameters:,} parameters; the limit on this server is "
            f"{MAX_PARAMETERS:,}. Use fewer or narrower hidden layers."
        )
    if activations > MAX_ACTIVATIONS:
        raise ConfigError(
            f"This model would keep {activations:,} values per image while training; the limit on "
            f"this server is {MAX_ACTIVATIONS:,}. Use fewer channels in the first layers."
        )
    return ModelSize(parameters, activations)


class Posterior(NamedTuple):
    mu: torch.Tensor  # (B, D)
    logvar: torch.Tensor | None  # (B, D) for a VAE, None for an AE


class Autoencoder(nn.Module):
    """A deterministic autoencoder, optionally sparse (L1 on z) and denoising.

    Every random draw inside the model (denoising noise, the VAE's reparameterisation noise) comes
    from ``self.generator`` when one is set: a training run sets its own, so a seed means the same
    weights whatever else the process (or a thread beside it) draws from torch's global state.
    """

    generator: torch.Generator | None = None
    # An AE samples too, from a Gaussian fitted to its codes (explorer.generate).
    capabilities: frozenset[str] = frozenset({"encode", "decode", "sample"})

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        body = BODIES[cfg.arch](cfg, self._code_features())
        self.encoder, self.decoder = body.encoder, body.decoder

    def _code_features(self) -> int:
        return self.cfg.latent_dim

    @property
    def latent_dim(self) -> int:
        return self.cfg.latent_dim

    def encode(self, x: torch.Tensor) -> Posterior:
        return Posterior(self.encoder(x).float(), None)  # (B, D); fp32 under autocast too

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x).mu

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)  # (B, C, H, W)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z))

    def sample_z(self, post: Posterior, sample: bool) -> torch.Tensor:
        return post.mu

    def noise(self, like: torch.Tensor) -> torch.Tensor:
        """Standard-normal noise shaped like `like`, from the model's generator (if any)."""
        g = self.generator
        device = g.device if g is not None else like.device
        eps = torch.randn(like.shape, generator=g, device=device, dtype=like.dtype)
        return eps.to(like.device)

    def binarize(self, x: torch.Tensor) -> torch.Tensor:
        """Each pixel drawn as 1 with its grey level as probability, from the model's generator: a
        fresh draw every call, so training sees a new binary image each epoch ("dynamic
        binarisation", Salakhutdinov & Murray 2008). A binary image comes back unchanged."""
        g = self.generator
        device = g.device if g is not None else x.device
        u = torch.rand(x.shape, generator=g, device=device, dtype=x.dtype).to(x.device)
        return (u < x).to(x.dtype)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor | None]:
        post = self.encode(x)
        z = self.sample_z(post, sample=self.training)  # eval: show the mean reconstruction
        return {"x_hat": self.decode(z), "z": z, "mu": post.mu, "logvar": post.logvar}

    def recon_nll(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Per-image reconstruction term (B,), summed over pixels."""
        if self.cfg.likelihood != "gaussian":
            per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
        else:
            per_pixel = (torch.sigmoid(logits) - x) ** 2
        return per_pixel.flatten(1).sum(1)

    def kl(self, post: Posterior) -> torch.Tensor | None:
        return None

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.cfg.likelihood == "binarized":
            x = self.binarize(x)
        x_in = x
        if self.training and self.cfg.denoise > 0:
            # Denoising: corrupt the input, reconstruct the clean image (Vincent et al., 2008).
            x_in = (x + self.cfg.denoise * self.noise(x)).clamp(0.0, 1.0)
        post = self.encode(x_in)
        z = self.sample_z(post, sample=True)  # a one-sample estimate of the ELBO, also at test time
        # Summed over the batch in one reduction, then per image: the same value as
        # recon_nll(...).mean() without materialising a (B,) intermediate per pixel row.
        logits = self.decode_logits(z).float()  # (B, C, H, W); fp32 even under bf16 autocast
        if self.cfg.likelihood != "gaussian":
            recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        else:
            recon = (torch.sigmoid(logits) - x).pow(2).sum() / len(x)
        parts = {"recon": recon}
        total = recon
        kl = self.kl(post)
        if kl is not None:
            parts["kl"] = kl.mean()
            total = total + self.cfg.beta * parts["kl"]
        if self.cfg.sparsity > 0:
            parts["sparsity"] = z.abs().sum(1).mean()
            total = total + self.cfg.sparsity * parts["sparsity"]
        return {"loss": total, **parts}


class VAE(Autoencoder):
    """Gaussian posterior, standard-normal prior, beta-weighted KL (Kingma & Welling, 2014;
    Higgins et al., 2017)."""

    def _code_features(self) -> int:
        return 2 * self.cfg.latent_dim  # mu and logvar from one head

    def encode(self, x: torch.Tensor) -> Posterior:
        # .float(): under bf16 autocast the layers run in bf16 but the noise, KL and loss stay fp32.
        mu, logvar = self.encoder(x).float().chunk(2, dim=1)  # (B, D), (B, D)
        return Posterior(mu, logvar)

    def sample_z(self, post: Posterior, sample: bool) -> torch.Tensor:
        if not sample:
            return post.mu
        # Reparameterisation trick: z = mu + sigma * eps keeps the sample differentiable.
        return post.mu + torch.exp(0.5 * post.logvar) * self.noise(post.mu)

    def kl_per_dim(self, post: Posterior) -> torch.Tensor:
        """KL(q(z|x) || N(0, I)) per latent dimension, (B, D). Kingma & Welling 2014, appendix B:
        -KL = 1/2 * sum(1 + log sigma^2 - mu^2 - sigma^2)."""
        return -0.5 * (1 + post.logvar - post.mu.pow(2) - post.logvar.exp())

    def kl(self, post: Posterior) -> torch.Tensor:
        return self.kl_per_dim(post).sum(1)  # (B,)


MODEL_CLASSES: dict[str, type[nn.Module]] = {"ae": Autoencoder, "vae": VAE}


def model_class(kind: str) -> type[nn.Module]:
    """The class of a model family, importing its module the first time it is asked for."""
    if kind not in MODEL_CLASSES and kind in FAMILY_MODULES:
        importlib.import_module(FAMILY_MODULES[kind])  # the module adds itself to MODEL_CLASSES
    return MODEL_CLASSES[kind]


def can(model: nn.Module, capability: str) -> bool:
    """Whether `model` can `capability` ("encode", "decode", "sample", "condition")."""
    return capability in getattr(model, "capabilities", frozenset())


def build_model(cfg: ModelConfig, generator: torch.Generator | None = None) -> Autoencoder:
    """The registry: a config in, the matching model out.

    With a `generator`, the initial weights are drawn from it alone (torch's default
    initialisation, in the order the layers were built), never from the global random state.
    """
    model = model_class(cfg.kind)(cfg)
    if generator is not None:
        init_weights(model, generator)
    return model


def init_weights(model: nn.Module, generator: torch.Generator) -> None:
    """Redraw every layer's weights as its own ``reset_parameters`` would (Kaiming-uniform weights,
    uniform biases of bound 1/sqrt(fan_in)), but from `generator`."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
                if m.bias is not None:
                    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(m.weight)
                    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                    nn.init.uniform_(m.bias, -bound, bound, generator=generator)
