"""A latent diffusion model's settings: the noise predictor's shape, the schedule's length and
which codes of the base run it learns (posterior means, or draws from each posterior).

Free of torch, like :mod:`explorer.families.config`: a card is read without importing it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from explorer.errors import ConfigError

FAMILY = "latent-diffusion"
CARD = "diffusion.json"  # a prior's card: its folder holds this, not card.json
CODES = ("mean", "draw")  # the base's posterior means, or a fresh draw z ~ q(z|x) every epoch
SAMPLERS = ("ddpm", "ddim")  # ancestral (Ho et al. 2020) or deterministic (Song et al. 2021)
MAX_T = 4000
MAX_WIDTH = 2048


@dataclass(frozen=True)
class DiffusionConfig:
    """Everything needed to rebuild the noise predictor; stored as JSON beside its weights."""

    latent_dim: int = 16  # the base run's code size D
    hidden: int = 256  # width of the noise predictor's residual blocks
    blocks: int = 3  # residual blocks
    time_dim: int = 64  # size of the sinusoidal embedding of t
    timesteps: int = 1000  # T of the forward process
    codes: str = "mean"  # "mean" or "draw" (a VAE base only: an AE has no posterior to draw from)

    def __post_init__(self):
        for name in ("latent_dim", "hidden", "blocks", "time_dim", "timesteps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
                raise ConfigError(f"{name} must be a whole number, got {value!r}.")
            object.__setattr__(self, name, int(value))
        if not 1 <= self.latent_dim <= 1024:
            raise ConfigError(f"latent_dim must be 1 to 1024, got {self.latent_dim}.")
        if not 8 <= self.hidden <= MAX_WIDTH or not 1 <= self.blocks <= 8:
            raise ConfigError(f"hidden must be 8 to {MAX_WIDTH} and blocks 1 to 8.")
        if self.time_dim < 2 or self.time_dim % 2 or self.time_dim > 512:
            raise ConfigError("time_dim must be an even number from 2 to 512.")
        if not 10 <= self.timesteps <= MAX_T:
            raise ConfigError(f"timesteps must be 10 to {MAX_T}, got {self.timesteps}.")
        if self.codes not in CODES:
            raise ConfigError(f"codes must be one of {', '.join(CODES)}, got {self.codes!r}.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> DiffusionConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def describe(self) -> str:
        return (f"latent diffusion over {self.latent_dim}-D codes ({self.codes}s), "
                f"{self.blocks}×{self.hidden} MLP, T = {self.timesteps}")


@dataclass(frozen=True)
class DiffusionTrainConfig:
    epochs: int = 200
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0

    def __post_init__(self):
        if int(self.epochs) < 1 or int(self.batch_size) < 1 or not 0 < float(self.lr) < 1:
            raise ConfigError("epochs and batch size must be at least 1 and lr in (0, 1).")
        object.__setattr__(self, "epochs", int(self.epochs))
        object.__setattr__(self, "batch_size", int(self.batch_size))
        object.__setattr__(self, "lr", float(self.lr))
        object.__setattr__(self, "seed", int(self.seed))

    def to_dict(self) -> dict:
        return asdict(self)
