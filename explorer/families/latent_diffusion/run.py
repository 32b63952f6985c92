"""One latent diffusion run, start to end: load the base run, encode its training split, train,
evaluate, save. The CLI calls it directly and a job worker in its own process, so a prior trained
anywhere has the same card and files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from explorer import families
from explorer.errors import ConfigError
from explorer.families.latent_diffusion.config import DiffusionConfig, DiffusionTrainConfig
from explorer.families.latent_diffusion.files import save_prior
from explorer.families.latent_diffusion.model import NoisePredictor
from explorer.families.latent_diffusion.train import base_codes, fit, test_loss
from explorer.training.loop import TrainEvent, TrainResult


@dataclass
class Base:
    """The autoencoder a prior is trained on: its model, card, and how users see it."""

    model: object
    card: dict
    label: str  # "pretrained/<name>" or "runs/<name>"
    path: Path

    @property
    def dataset(self) -> str:
        return self.card.get("dataset", {}).get("name", "mnist-5k")

    def reference(self) -> dict:
        return {"label": self.label, "name": self.path.name,
                "content_hash": self.card["content_hash"], "kind": self.card["config"]["kind"],
                "latent_dim": self.card["config"]["latent_dim"], "dataset": self.dataset}


def resolve_base(text: str) -> Base:
    """A base run from "pretrained/NAME", "runs/NAME", a plain NAME (shipped first) or a folder;
    ConfigError unless it is an AE or VAE that encodes."""
    from explorer.families.models import can
    from explorer.runs.checkpoints import label, load_model
    from explorer.runs.store import PRETRAINED_DIR, runs_dir

    text = str(text)
    head, _, tail = text.partition("/")
    if head == "pretrained" and tail:
        candidates = [PRETRAINED_DIR / tail]
    elif head == "runs" and tail:
        candidates = [runs_dir() / tail]
    else:
        candidates = [PRETRAINED_DIR / text, runs_dir() / text, Path(text)]
    folder = next((c for c in candidates if (c / "card.json").is_file()), None)
    if folder is None:
        raise ConfigError(f"No base run named {text!r}: give pretrained/NAME or runs/NAME of an "
                          "autoencoder or VAE.")
    model, card = load_model(folder)
    if not can(model, "encode"):
        raise ConfigError("Latent diffusion learns the codes of an autoencoder or a VAE; "
                          f"{label(folder)} is a {card['config']['kind']}.")
    return Base(model, card, label(folder), folder)


@dataclass
class DiffusionOutcome:
    model: NoisePredictor
    result: TrainResult
    card: dict | None
    path: Path | None
    metrics: dict


def run_diffusion(base: Base, cfg: DiffusionConfig, train_cfg: DiffusionTrainConfig,
                  out: Path | None, callback: Callable[[TrainEvent], None] | None = None,
                  stop: Callable[[], bool] | None = None) -> DiffusionOutcome:
    """Train a prior over `base`'s training-split codes and save it to `out` (if given)."""
    from explorer.data.datasets import SPLIT_SEED, load_dataset

    if cfg.latent_dim != base.card["config"]["latent_dim"]:
        raise ConfigError("The prior's code size must be its base run's.")
    if cfg.codes == "draw" and not families.get(base.card["config"]["kind"]).posterior:
        raise ConfigError("Only a VAE has a posterior to draw codes from; an autoencoder's "
                          "prior learns its codes (codes = mean).")
    data = load_dataset(base.dataset)
    train = base_codes(base.model, data.x_train)
    test = base_codes(base.model, data.x_test)
    model, result = fit(cfg, train_cfg, train, test, callback, stop)
    from explorer.families.latent_diffusion.schedule import alpha_bar

    metrics = {"test_loss": test_loss(model, test.mu, alpha_bar(cfg.timesteps))}
    card = path = None
    if out is not None and result.epochs_done > 0:
        card = save_prior(model, out, {
            "name": Path(out).name,
            "base": base.reference(),
            "dataset": {"name": data.name, "split_seed": SPLIT_SEED,
                        "n_train": len(data.x_train), "n_test": len(data.x_test)},
            "train": {**train_cfg.to_dict(), "status": result.status, "message": result.message,
                      "epochs_done": result.epochs_done, "seconds": round(result.seconds, 2)},
            "seed": train_cfg.seed, "history": result.history, "metrics": metrics,
        })
        path = Path(out)
    return DiffusionOutcome(model, result, card, path, metrics)
