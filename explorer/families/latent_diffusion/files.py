"""A latent diffusion model's files: ``diffusion.safetensors`` (weights) and ``diffusion.json``
(its card: config, training, history, metrics, and the base run it belongs to — the base's
label and content hash). Never pickled; written atomically.

The files have names of their own, not ``model.safetensors``/``card.json``, so the model list
(explorer.runs.store) never mistakes a prior for an autoencoder; a prior lives in a folder of its own
under ``runs/`` or ``pretrained/`` and is found by :func:`list_priors`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from explorer.atomic import write_atomic
from explorer.errors import ConfigError, ModelFileError, plain
from explorer.families.latent_diffusion.config import CARD, FAMILY, DiffusionConfig
from explorer.families.latent_diffusion.model import NoisePredictor, build
from explorer.runs.checkpoints import label, versions, weights_hash

WEIGHTS = "diffusion.safetensors"
FORMAT = "latent-explorer-diffusion/1"
MAX_CARD_BYTES = 2 * 1024 * 1024
MAX_WEIGHTS_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class PriorEntry:
    id: str  # "pretrained/<name>" or "runs/<name>"
    path: Path
    card: dict

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def base(self) -> dict:
        return self.card.get("base", {})

    @property
    def summary(self) -> str:
        cfg = self.card.get("config", {})
        return (f"{self.id}: diffusion prior of {self.base.get('label', '?')} "
                f"({cfg.get('latent_dim', '?')}-D codes, {cfg.get('codes', '?')}s)")


def save_prior(model: NoisePredictor, folder: str | Path, card: dict) -> dict:
    """Write the weights, then the card (with the weights' content hash) into `folder`."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    data = st_save(state, metadata={"format": FORMAT})
    card = {**card, "format": FORMAT, "family": FAMILY, "config": model.cfg.to_dict(),
            "content_hash": weights_hash(data), "versions": versions(),
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    folder = Path(folder)
    try:
        write_atomic(folder / WEIGHTS, data)
        write_atomic(folder / CARD, json.dumps(card, indent=1).encode())
    except OSError as e:
        raise ModelFileError(f"The prior could not be saved to {label(folder)}: "
                             f"{e.strerror or type(e).__name__}.") from None
    return card


def add_scores(folder: str | Path, scores: dict) -> dict:
    """Keep a prior's scores (explorer.families.latent_diffusion.evaluate) in its card."""
    card = {**read_card(folder), "scores": scores}
    write_atomic(Path(folder) / CARD, json.dumps(card, indent=1).encode())
    return card


def read_card(folder: str | Path) -> dict:
    path = Path(folder) / CARD
    try:
        if path.stat().st_size > MAX_CARD_BYTES:
            raise ModelFileError(f"{label(folder)}: {CARD} is too large to be a card.")
        card = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        raise ModelFileError(f"{label(folder)} has no readable {CARD}.") from None
    if not isinstance(card, dict) or card.get("family") != FAMILY:
        raise ModelFileError(f"{label(folder)} is not a latent diffusion prior.")
    return card


def load_prior(folder: str | Path) -> tuple[NoisePredictor, dict]:
    """(noise predictor in eval mode, card); the weights are checked against the card's config
    (names, shapes, float dtypes, finite values) before they are used."""
    folder = Path(folder)
    source = label(folder)
    card = read_card(folder)
    try:
        cfg = DiffusionConfig.from_dict(card["config"])
    except (ConfigError, KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{source}: bad diffusion config ({plain(e)}).") from None
    path = folder / WEIGHTS
    if not path.is_file() or path.stat().st_size > MAX_WEIGHTS_BYTES:
        raise ModelFileError(f"{source} has no {WEIGHTS} of a size this app reads.")
    data = path.read_bytes()
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError, OSError) as e:
        raise ModelFileError(f"{source}: the weights are not valid safetensors ({plain(e)}).") from None
    model = build(cfg)
    expected = model.state_dict()
    for name, t in expected.items():
        got = tensors.get(name)
        if got is None or tuple(got.shape) != tuple(t.shape) or not got.is_floating_point():
            raise ModelFileError(f"{source}: tensor {plain(name, 80)} is missing or the wrong "
                                 "shape for the card's config.")
        if not torch.isfinite(got).all():
            raise ModelFileError(f"{source}: tensor {plain(name, 80)} holds NaN or infinities.")
    if set(tensors) - set(expected):
        raise ModelFileError(f"{source}: the weights hold tensors the card's model does not have.")
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    card["content_hash"] = weights_hash(data)
    return model.eval(), card


def list_priors(roots: dict[str, Path] | None = None) -> list[PriorEntry]:
    """Every prior under the shipped folder and the runs folder, shipped first."""
    if roots is None:
        from explorer.runs.store import PRETRAINED_DIR, runs_dir

        roots = {"pretrained": PRETRAINED_DIR, "runs": runs_dir()}
    found = []
    for prefix, root in roots.items():
        for card_path in sorted(Path(root).glob(f"*/{CARD}")):
            try:
                card = read_card(card_path.parent)
            except ModelFileError:
                continue
            found.append(PriorEntry(f"{prefix}/{card_path.parent.name}", card_path.parent, card))
    return found


def priors_of(base_hash: str, roots: dict[str, Path] | None = None) -> list[PriorEntry]:
    """The priors trained on the base model with this content hash."""
    return [p for p in list_priors(roots) if p.base.get("content_hash") == base_hash]
