"""The training replay: the codes of a fixed set of test images before training and after every
epoch, recorded while a run trains and saved beside it (``replay.safetensors``).

Below the jobs and the training loop and free of plotting: :class:`ReplayRecorder` wraps the
loop's callback; :func:`load_replay` reads the file back for the Inside page, and
:func:`replay_coords` puts every frame on one shared map (the figure is
:func:`explorer.figures.plots.replay_figure`). :func:`thin` is the one helper that bounds a growing
series (replay frames, loss-curve points) while keeping its shape.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from explorer.analysis import latent
from explorer.atomic import write_atomic
from explorer.errors import ExplorerError
from explorer.families.models import Autoencoder

REPLAY_FILE = "replay.safetensors"
REPLAY_FORMAT = "latent-explorer-replay/1"
REPLAY_IMAGES = 500  # test images followed through training: enough to see the shape, cheap
REPLAY_SEED = 0  # which test images: a seeded sample, since a test split may be sorted by class
REPLAY_MAX_FRAMES = 61  # epochs kept; a longer run keeps every other one (first and last stay)
REPLAY_MAX_BYTES = 256 * 1024 * 1024

T = TypeVar("T")


class ReplayError(ExplorerError):
    """A replay that cannot be saved (nothing recorded, frames of mismatched shapes)."""


def thin(items: Sequence[T], limit: int) -> list[T]:
    """At most `limit` items spread evenly over `items`, always keeping the first and the last.

    Called again on a list it thinned before (as a recorder does each epoch), it drops every
    other item, so the items it keeps stay the same ones.
    """
    items = list(items)
    if len(items) <= limit:
        return items
    if limit < 2:
        return items[-1:] if limit == 1 else []
    stride = -(-(len(items) - 1) // (limit - 1))  # ceil: the last item is added back below
    return items[:-1:stride] + [items[-1]]


def replay_file(folder: str | Path) -> Path:
    return Path(folder) / REPLAY_FILE


@dataclass(frozen=True)
class Replay:
    epochs: np.ndarray  # (F,) int, ascending; 0 is the untrained model
    codes: np.ndarray  # (F, N, D) float32, the same N test images in every frame
    labels: np.ndarray  # (N,) int
    model_hash: str
    indices: np.ndarray | None = None  # (N,) which test images, ascending


class ReplayRecorder:
    """Keeps the codes of `n_images` test images before training and after each epoch.

    Used from the training thread (:meth:`watch` wraps the loop's callback); :attr:`frames` may
    be read from any thread.
    """

    def __init__(self, n_images: int = REPLAY_IMAGES, max_frames: int = REPLAY_MAX_FRAMES):
        self.n_images, self.max_frames = n_images, max_frames
        self._lock = threading.Lock()
        self._frames: list[tuple[int, np.ndarray]] = []
        self._x: torch.Tensor | None = None
        self.labels: np.ndarray | None = None
        self.indices: np.ndarray | None = None

    def start(self, model: Autoencoder, x_test: torch.Tensor, y_test) -> None:
        """Choose the images and record the untrained codes. All of a small test split, else a
        seeded sample: the first n would do if splits were shuffled, but some are sorted by
        class (mnist-5k's first 500 test images are all 0s to 4s)."""
        n = len(x_test)
        if n > self.n_images:
            chosen = np.random.default_rng(REPLAY_SEED).choice(n, self.n_images, replace=False)
            self.indices = np.sort(chosen)
        else:
            self.indices = np.arange(n)
        self._x = torch.as_tensor(x_test[self.indices], dtype=torch.float32)
        self.labels = np.asarray(y_test, dtype=np.int64)[self.indices]
        self.capture(model, 0)

    def capture(self, model: Autoencoder, epoch: int) -> np.ndarray:
        if self._x is None:
            raise RuntimeError("ReplayRecorder.start must be called before capture.")
        codes = latent.encode_dataset(model, self._x)  # (N, D); eval mode, restored after
        with self._lock:
            self._frames = thin([*self._frames, (int(epoch), codes)], self.max_frames)
        return codes

    def watch(self, model: Autoencoder, callback: Callable | None) -> Callable:
        """A training callback that records a frame at each epoch's end, then calls `callback`."""
        def on_event(event) -> None:
            if event.kind == "epoch":
                self.capture(model, event.epoch)
            if callback is not None:
                callback(event)
        return on_event

    @property
    def frames(self) -> list[tuple[int, np.ndarray]]:
        with self._lock:
            return list(self._frames)

    def save(self, folder: str | Path, model_hash: str) -> Path:
        frames = self.frames
        if not frames or self.labels is None:
            raise ReplayError("Nothing was recorded, so there is no replay to save.")
        epochs = [e for e, _ in frames]
        codes = np.stack([c for _, c in frames])
        return save_replay(folder, epochs, codes, self.labels, model_hash, self.indices)


def save_replay(folder: str | Path, epochs: Sequence[int], codes: np.ndarray,
                labels: np.ndarray, model_hash: str, indices: np.ndarray | None = None) -> Path:
    """Write frames beside a run as ``replay.safetensors``, atomically (temp file + rename).

    Tensors ``epoch_000``, ``epoch_001``, ... (N, D) codes, ``labels`` (N,) and optionally
    ``indices`` (N,) of the test images; the metadata ties the file to the model's content hash.
    """
    from safetensors.numpy import save

    codes = np.asarray(codes, dtype=np.float32)
    if codes.ndim != 3 or len(codes) != len(epochs) or codes.shape[1] != len(labels):
        raise ReplayError(f"Replay frames of shape {codes.shape} do not match "
                          f"{len(epochs)} epochs and {len(labels)} labels.")
    tensors = {f"epoch_{int(e):03d}": np.ascontiguousarray(c) for e, c in zip(epochs, codes,
                                                                            strict=True)}
    tensors["labels"] = np.ascontiguousarray(np.asarray(labels, dtype=np.int64))
    if indices is not None:
        tensors["indices"] = np.ascontiguousarray(np.asarray(indices, dtype=np.int64))
    data = save(tensors, metadata={"format": REPLAY_FORMAT, "model_hash": str(model_hash)})
    path = replay_file(folder)
    write_atomic(path, data)
    return path


def load_replay(folder: str | Path, expected_model_hash: str | None = None) -> Replay | None:
    """The replay saved beside a run, or None when there is none, it is not ours, or it belongs
    to other weights than `expected_model_hash`. Never raises for a bad file."""
    from safetensors import SafetensorError, safe_open

    path = replay_file(folder)
    try:
        if not path.is_file() or path.stat().st_size > REPLAY_MAX_BYTES:
            return None
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            keys = sorted(k for k in f.keys() if k.startswith("epoch_"))
            if meta.get("format") != REPLAY_FORMAT or not keys or "labels" not in f.keys():
                return None
            codes = np.stack([f.get_tensor(k) for k in keys]).astype(np.float32)
            labels = f.get_tensor("labels").astype(np.int64)
            indices = f.get_tensor("indices").astype(np.int64) if "indices" in f.keys() else None
        epochs = np.array([int(k.removeprefix("epoch_")) for k in keys])
    except (SafetensorError, OSError, ValueError, TypeError):
        return None
    if expected_model_hash is not None and meta.get("model_hash") != expected_model_hash:
        return None
    if codes.ndim != 3 or codes.shape[1] != len(labels) or not np.isfinite(codes).all():
        return None
    order = np.argsort(epochs)
    if indices is not None and indices.shape != labels.shape:
        indices = None
    return Replay(epochs[order], codes[order], labels, meta.get("model_hash", ""), indices)


def replay_coords(replay: Replay, method: str = "pca") -> np.ndarray:
    """Every frame on one map, (F, N, 2) float32: the codes themselves for a 2-D latent, else a
    projection fitted once on the final frame (the organised space) that places every earlier
    frame with ``transform``, so all frames share axes and motion means motion."""
    from explorer.analysis.projection import ProjectionParams, fit_projection

    frames, n, d = replay.codes.shape
    if d <= 2:
        return fit_projection(replay.codes[-1]).transform(replay.codes.reshape(-1, d)) \
            .reshape(frames, n, 2)
    proj = fit_projection(replay.codes[-1], ProjectionParams(method=method))
    coords = np.empty((frames, n, 2), dtype=np.float32)
    coords[-1] = proj.coords
    if frames > 1:  # one transform call for all the earlier frames rather than one per frame
        coords[:-1] = proj.transform(replay.codes[:-1].reshape(-1, d)).reshape(frames - 1, n, 2)
    return coords
