"""Hostile files for the tests: pickles that would leave a marker file if anything ever
unpickled them, and small model folders, cards and zips to spoil."""

import io
import json
import pickle
import zipfile
from pathlib import Path

import torch
from safetensors.torch import save as st_save_bytes

from explorer.families.models import ModelConfig, build_model
from explorer.runs.checkpoints import CARD, WEIGHTS, save_model


class _Plant:
    """Unpickling this calls open(marker, "w"): the marker file appears if anything unpickles."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def evil_pickle(marker: Path) -> bytes:
    return pickle.dumps({"state_dict": _Plant(marker)}, protocol=4)


def evil_torch_save(marker: Path) -> bytes:
    """The same payload in torch.save's zip format, as a real `.pt` checkpoint would be."""
    buffer = io.BytesIO()
    torch.save({"state_dict": _Plant(marker)}, buffer)
    return buffer.getvalue()


TINY = ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=2, hidden=(16,))


def _card(cfg: ModelConfig = TINY, dataset: str = "digits", **extra) -> dict:
    return {"name": "evil", "config": cfg.to_dict(), "dataset": {"name": dataset}, **extra}


def _model_folder(folder: Path, weights: bytes, card: dict | None = None,
                  weights_name: str = WEIGHTS) -> Path:
    folder.mkdir(parents=True)
    (folder / weights_name).write_bytes(weights)
    (folder / CARD).write_text(json.dumps(card or _card()))
    return folder


def _saved(folder: Path, cfg: ModelConfig = TINY) -> Path:
    torch.manual_seed(0)
    save_model(build_model(cfg), folder, _card(cfg))
    return folder


def _set_config(folder: Path, **changes) -> None:
    card = json.loads((folder / CARD).read_text())
    card["config"].update(changes)
    (folder / CARD).write_text(json.dumps(card))


def _nan_weights(folder: Path) -> None:
    tensors = {k: torch.full_like(v, float("nan")) for k, v in build_model(TINY).state_dict().items()}
    (folder / WEIGHTS).write_bytes(st_save_bytes(tensors))


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _good_members() -> dict[str, bytes]:
    model = build_model(TINY)
    data = st_save_bytes({k: v.contiguous() for k, v in model.state_dict().items()})
    return {CARD: json.dumps(_card()).encode(), WEIGHTS: data}


def in_step(monkeypatch, n: int = 2):
    """Holds every save at the moment its card is written until `n` saves have got there, so
    they all finish together (as two trainings or uploads can on a shared server)."""
    import threading

    from explorer.runs import checkpoints

    barrier, waited = threading.Barrier(n, timeout=20), threading.local()
    real = checkpoints._fsync_write

    def write(path, data):
        real(path, data)
        if path.name == checkpoints.CARD and not getattr(waited, "done", False):
            waited.done = True
            barrier.wait()

    monkeypatch.setattr(checkpoints, "_fsync_write", write)
