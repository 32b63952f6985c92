"""A model's configuration: the frozen dataclass stored as JSON beside its weights, the families
and what each can do, and the server's size limits.

Free of torch, so that listing the models and drawing a first page never wait for it to import;
the networks themselves are built in :mod:`explorer.families.models`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, fields
from typing import NamedTuple

from explorer.errors import ConfigError, plain

KINDS = ("ae", "vae")  # the autoencoders
# What a model can do; pages ask for one and say so, naming a family that can, where it lacks it.
# Each family declares its own (explorer.families), known from its card alone.
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


def conv_sizes(size: int, n_layers: int) -> list[int]:
    """Spatial sizes after each stride-2, kernel-3, padding-1 convolution, starting with `size`."""
    sizes = [size]
    for _ in range(n_layers):
        sizes.append((sizes[-1] - 1) // 2 + 1)
    return sizes


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
        from explorer import families

        family = families.get(self.kind)  # a sentence naming the known ones if it is not one
        if self.arch not in ARCHS:
            raise ConfigError(f"Unknown body '{plain(self.arch, 40)}': choose one of {', '.join(ARCHS)}.")
        if self.likelihood not in LIKELIHOODS:
            raise ConfigError(
                f"Unknown likelihood '{plain(self.likelihood, 40)}': choose one of {', '.join(LIKELIHOODS)}."
            )
        if not family.reconstructs and self.likelihood != "bernoulli":
            # It would train the same either way, and its card would name a cost it never
            # computed: refused, not ignored.
            raise ConfigError(f"A {family.label} has no likelihood: it does not learn from a "
                              "reconstruction cost. Leave Likelihood at Bernoulli.")
        if len(self.image_shape) != 3 or min(self.image_shape) < 1:
            raise ConfigError(f"Image shape must be (channels, height, width), got {plain(self.image_shape, 60)}.")
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
        if family.conditional != (self.n_classes >= 2) or not 0 <= self.n_classes <= 1000:
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
            raise ConfigError(f"Unknown model setting(s): {plain(', '.join(sorted(unknown)))}.")
        try:
            return cls(**d)
        except (TypeError, ValueError) as e:  # e.g. a list where a number belongs
            raise ConfigError(f"Bad model settings: {plain(e)}.") from None

    def describe(self) -> str:
        """A one-line summary such as 'VAE · MLP 400 · z=16 · β=4'."""
        body = f"{self.arch.upper()} {','.join(map(str, self.hidden))}"
        from explorer import families

        family = families.get(self.kind)
        parts = [family.label, body, f"z={self.latent_dim}"]
        if family.kl_weight and self.beta != 1.0:
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


def parameter_count(cfg: ModelConfig) -> int:
    """How many parameters the model of `cfg` has, counted from the config alone (no torch): the
    bodies of :mod:`explorer.families.bodies` (a CVAE's label joins the encoder's first layer and the
    decoder's input; a GAN's discriminator ends in one logit and its generator has batch norm,
    scale and shift, after each hidden layer). A test holds it equal to the built model's count."""
    def linear(a: int, b: int) -> int:
        return a * b + b

    def conv(a: int, b: int) -> int:  # 3×3 kernels, as ConvBody's (transposed) convolutions
        return 9 * a * b + b

    from explorer import families

    family = families.get(cfg.kind)
    if (own := family.parameter_count(cfg)) is not None:
        return own  # a family with a body of its own counts it
    k, d = cfg.n_classes, cfg.latent_dim
    head = family.code_features(d)
    c, h, w = cfg.image_shape
    hidden = list(cfg.hidden)
    if cfg.arch == "mlp":
        widths = [cfg.n_pixels, *hidden]
        count = linear(widths[0] + k, widths[1])
        count += sum(linear(a, b) for a, b in zip(widths[1:-1], widths[2:], strict=True))
        count += linear(widths[-1], head)  # encoder
        back = [d, *reversed(hidden)]
        count += linear(back[0] + k, back[1])
        count += sum(linear(a, b) for a, b in zip(back[1:-1], back[2:], strict=True))
        count += linear(back[-1], cfg.n_pixels)  # decoder
        norms = sum(hidden)  # a GAN generator's batch norm after each hidden layer
    else:
        channels = [c, *hidden]
        hs, ws = conv_sizes(h, len(hidden)), conv_sizes(w, len(hidden))
        flat = channels[-1] * hs[-1] * ws[-1]
        count = conv(channels[0] + k, channels[1])
        count += sum(conv(a, b) for a, b in zip(channels[1:-1], channels[2:], strict=True))
        count += linear(flat, head)  # encoder
        count += linear(d + k, flat)
        count += sum(conv(b, a) for a, b in zip(channels[:-1], channels[1:], strict=True))
        norms = flat + sum(hidden[:-1])  # after the first linear layer and each hidden conv
    return count + (2 * norms if family.batch_norm else 0)


@functools.lru_cache(maxsize=256)
def check_size(cfg: ModelConfig) -> ModelSize:
    """The model's size, refused with a sentence above the server's limits. Both numbers follow
    from the config alone, so a card is checked before anything is built or read."""
    if cfg.n_pixels > MAX_PIXELS:
        raise ConfigError(
            f"Images of shape {cfg.image_shape} are too large; this app works with at most "
            f"{MAX_PIXELS:,} values per image."
        )
    parameters = parameter_count(cfg)
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
