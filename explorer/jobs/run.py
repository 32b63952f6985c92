"""One training run, start to end: build the model, train, evaluate, save the run folder.

Both the CLI (directly) and the job engine's workers (in their own process) call
:func:`run_training`, so a model trained anywhere has the same card and files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from explorer import families
from explorer.analysis.replay import ReplayRecorder
from explorer.data.datasets import SPLIT_SEED, load_dataset
from explorer.errors import ExplorerError, ModelFileError
from explorer.families.models import ModelConfig, build_model, can
from explorer.runs.checkpoints import model_bytes, save_model
from explorer.training.loop import TrainConfig, TrainEvent, TrainResult, pick_device, train


@dataclass
class RunOutcome:
    model: torch.nn.Module
    result: TrainResult
    card: dict | None  # None when nothing was saved
    path: Path | None
    metrics: dict
    # When the save failed (disk full, read-only folder) and the caller asked to keep the model:
    # why, and what would have been written (safetensors bytes, card), to save again or download.
    save_error: str = ""
    unsaved: tuple[bytes, dict] | None = None


def build_card(train_cfg, dataset, result, metrics, name, device) -> dict:
    return {
        "name": name,
        "dataset": {"name": dataset.name, "split_seed": SPLIT_SEED,
                    "n_train": len(dataset.x_train), "n_test": len(dataset.x_test)},
        "train": {**train_cfg.to_dict(), "device_used": str(device),
                  "precision_used": result.precision,
                  "status": result.status, "message": result.message,
                  "epochs_done": result.epochs_done, "seconds": round(result.seconds, 2),
                  "images_per_second": round(result.images_per_second, 1)},
        "seed": train_cfg.seed,
        "history": result.history,
        "metrics": metrics,
    }


def run_training(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    dataset_name: str,
    out: Path | None,
    callback: Callable[[TrainEvent], None] | None = None,
    stop: Callable[[], bool] | None = None,
    overwrite: bool = False,
    name: str | None = None,
    on_model: Callable[[torch.nn.Module], None] | None = None,
    replay: ReplayRecorder | None = None,
    keep_unsaved: bool = False,
    room: int | None = None,
) -> RunOutcome:
    """Train a new model, evaluate it on the test split and save it to `out` (if given).

    A run that did not finish a single epoch (diverged, or stopped at once: a queued job whose
    tab was closed) is not saved: there is nothing learned to keep. A stopped run is saved with
    what it learned so far. Before saving, the class's quota and the owner's `room` (bytes it
    may still save; None: no cap of its own) are checked again. With a `replay` recorder, the
    codes of a sample of test images are kept before training and after every epoch, and saved
    beside the run (``replay.safetensors``) for the Inside page's training replay. A save that
    fails raises ModelFileError, or with `keep_unsaved` returns the model's bytes and card in
    ``outcome.unsaved``: a finished training is not thrown away because the disk was full.
    """
    data = load_dataset(dataset_name)
    if tuple(model_cfg.image_shape) != tuple(data.image_shape):
        model_cfg = ModelConfig.from_dict({**model_cfg.to_dict(), "image_shape": list(data.image_shape)})
    # The initial weights are part of what the seed fixes; they come from a generator of the
    # run's own, never from torch's global state, which other code in the process may move.
    model = build_model(model_cfg, torch.Generator().manual_seed(train_cfg.seed))
    if on_model is not None:
        on_model(model)  # lets a watcher (the job's per-epoch preview) use the model in training
    if not can(model, "encode"):
        replay = None  # a replay shows the codes of test images: it needs an encoder
    if replay is not None:
        replay.start(model, data.x_test, data.y_test)  # frame 0: the untrained model's codes
        callback = replay.watch(model, callback)  # and one frame at the end of every epoch
    result = train(model, data, train_cfg, callback=callback, stop=stop)  # one loop, any family
    model.to("cpu").eval()
    nothing_learned = result.epochs_done == 0
    # The card's metrics: each family says how it is judged (reconstruction, or its samples).
    metrics = {} if nothing_learned else families.of(model_cfg).ops().evaluate(
        model, data, seed=train_cfg.seed)
    card = path = None
    if out is not None and not nothing_learned:
        card = build_card(train_cfg, data, result, metrics, name or Path(out).name,
                          pick_device(train_cfg.device))
        try:
            from explorer.runs.store import check_room

            need = sum(t.numel() * t.element_size() for t in model.state_dict().values())
            check_room(Path(out).parent, need, room)
            card = save_model(model, out, card, overwrite=overwrite)
        except ModelFileError as e:
            if not keep_unsaved:
                raise
            return RunOutcome(model, result, None, None, metrics, save_error=str(e),
                              unsaved=model_bytes(model, card))
        path = Path(out) if overwrite else Path(out).with_name(card["name"])  # the name it got
        if replay is not None:
            try:
                replay.save(path, card["content_hash"])  # beside the run: replay.safetensors
            except (OSError, ExplorerError) as e:  # the model is saved; the replay is a bonus
                logging.getLogger(__name__).warning("training replay not saved: %s", e)
    return RunOutcome(model, result, card, path, metrics)
