"""A training run as a job: train, evaluate, save — in a worker thread, watched through a snapshot.

The UI starts a :class:`TrainingJob`, polls :meth:`TrainingJob.snapshot` from a fragment and calls
:meth:`TrainingJob.stop`; the CLI calls :func:`run_training` directly. Both end with the same saved
run folder and card, so a model trained anywhere looks the same everywhere.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from explorer.checkpoints import save_model
from explorer.datasets import SPLIT_SEED, load_dataset
from explorer.errors import ExplorerError
from explorer.inspect_latent import ReplayRecorder
from explorer.models import Autoencoder, ModelConfig, build_model
from explorer.training import TrainConfig, TrainEvent, TrainResult, pick_device, train

PREVIEW_IMAGES = 8  # test images whose reconstructions are shown each epoch
MAX_STEP_POINTS = 2000  # live loss-curve points kept; older ones are thinned


@dataclass
class RunOutcome:
    model: Autoencoder
    result: TrainResult
    card: dict | None  # None when nothing was saved
    path: Path | None
    metrics: dict


def build_card(model_cfg, train_cfg, dataset, result, metrics, name, device, replay=None) -> dict:
    return {
        "name": name,
        "dataset": {"name": dataset.name, "split_seed": SPLIT_SEED,
                    "n_train": len(dataset.x_train), "n_test": len(dataset.x_test)},
        "train": {**train_cfg.to_dict(), "device_used": str(device),
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
    on_model: Callable[[Autoencoder], None] | None = None,
    replay: ReplayRecorder | None = None,
) -> RunOutcome:
    """Train a new model, evaluate it on the test split and save it to `out` (if given).

    A run that diverged before finishing a single epoch is not saved: there is nothing learned
    to keep. A stopped run is saved with what it learned so far. With a `replay` recorder, the
    codes of a sample of test images are kept before training and after every epoch, and saved
    beside the run (``replay.safetensors``) for the Inside page's training replay.
    """
    from explorer.metrics import evaluate

    data = load_dataset(dataset_name)
    if tuple(model_cfg.image_shape) != tuple(data.image_shape):
        model_cfg = ModelConfig.from_dict({**model_cfg.to_dict(), "image_shape": list(data.image_shape)})
    torch.manual_seed(train_cfg.seed)  # the initial weights are part of what the seed fixes
    model = build_model(model_cfg)
    if on_model is not None:
        on_model(model)  # lets a watcher (the job's per-epoch preview) use the model in training
    if replay is not None:
        replay.start(model, data.x_test, data.y_test)  # frame 0: the untrained model's codes
        callback = replay.watch(model, callback)  # and one frame at the end of every epoch
    result = train(model, data, train_cfg, callback=callback, stop=stop)
    model.to("cpu").eval()
    nothing_learned = result.status == "diverged" and result.epochs_done == 0
    metrics = {} if nothing_learned else evaluate(model, data, seed=train_cfg.seed)
    card = path = None
    if out is not None and not nothing_learned:
        card = build_card(model_cfg, train_cfg, data, result, metrics, name or Path(out).name,
                          pick_device(train_cfg.device))
        card = save_model(model, out, card, overwrite=overwrite)
        path = Path(out) if overwrite else Path(out).with_name(card["name"])  # the name it got
        if replay is not None:
            try:
                replay.save(path, card["content_hash"])  # beside the run: replay.safetensors
            except (OSError, ExplorerError) as e:  # the model is saved; the replay is a bonus
                logging.getLogger(__name__).warning("training replay not saved: %s", e)
    return RunOutcome(model, result, card, path, metrics)


@dataclass
class JobState:
    status: str = "queued"  # queued, running, saving, finished, stopped, diverged, failed
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    steps_per_epoch: int = 0
    elapsed: float = 0.0
    eta: float | None = None
    steps: list[dict] = field(default_factory=list)  # {"step", "epoch", parts...}
    history: list[dict] = field(default_factory=list)  # per epoch: train / test parts
    previews: list[np.ndarray] = field(default_factory=list)  # per epoch (K, H, W) reconstructions
    originals: np.ndarray | None = None  # (K, H, W) the test images previewed
    message: str = ""
    saved_path: str | None = None
    metrics: dict = field(default_factory=dict)
    replay: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (epoch, (N, D) codes)


class TrainingJob:
    """Runs :func:`run_training` in a daemon thread; safe to poll from another thread."""

    def __init__(self, model_cfg: ModelConfig, train_cfg: TrainConfig, dataset_name: str,
                 out: Path, name: str | None = None):
        self.model_cfg, self.train_cfg = model_cfg, train_cfg
        self.dataset_name, self.out, self.name = dataset_name, Path(out), name
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._state = JobState(epochs=train_cfg.epochs)
        self._thread: threading.Thread | None = None
        self._preview_x: torch.Tensor | None = None
        self._model_ref: Autoencoder | None = None
        self._replay = ReplayRecorder()  # test codes after every epoch, saved beside the run

    # -- control --------------------------------------------------------------------------
    def start(self) -> TrainingJob:
        data = load_dataset(self.dataset_name)
        self._preview_x = data.x_test[:PREVIEW_IMAGES]
        with self._lock:
            self._state.originals = self._preview_x[:, 0].numpy().copy()
        self._thread = threading.Thread(target=self._run, name=f"train-{self.out.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def snapshot(self) -> JobState:
        """A consistent copy of the state (lists copied shallowly; arrays are never mutated)."""
        with self._lock:
            s = self._state
            return JobState(**{**s.__dict__, "steps": list(s.steps), "history": list(s.history),
                               "previews": list(s.previews), "metrics": dict(s.metrics),
                               "replay": list(s.replay)})

    # -- worker ---------------------------------------------------------------------------
    def _on_event(self, event: TrainEvent) -> None:
        with self._lock:
            s = self._state
            s.status = "running"
            s.epoch, s.epochs, s.step = event.epoch, event.epochs, event.step
            s.steps_per_epoch, s.elapsed = event.steps_per_epoch, event.elapsed
            total = event.epochs * event.steps_per_epoch
            if event.step:
                s.eta = event.elapsed / event.step * (total - event.step)
            if event.kind == "step":
                s.steps.append({"step": event.step, "epoch": event.epoch, **event.parts})
                if len(s.steps) > MAX_STEP_POINTS:
                    s.steps = s.steps[::2]  # keep the curve's shape, bound the memory
            elif event.kind == "end":
                s.status = "saving"  # evaluating on the test split and writing the run folder
            elif event.kind == "epoch":
                s.history.append({"epoch": event.epoch, "train": event.parts, "test": event.test_parts})
        if event.kind == "epoch":
            preview = self._preview()
            frames = self._replay.frames  # the recorder captured this epoch just before
            with self._lock:
                self._state.previews.append(preview)
                self._state.replay = frames

    def _preview(self) -> np.ndarray:
        # The model object is being trained in this very thread, so reading it here is safe.
        model = self._model_ref
        if model is None:
            return np.zeros(0)
        was_training = model.training
        model.eval()
        with torch.inference_mode():
            device = next(model.parameters()).device
            x_hat = model(self._preview_x.to(device))["x_hat"]
        model.train(was_training)
        return x_hat[:, 0].float().cpu().numpy()

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            outcome = run_training(
                self.model_cfg, self.train_cfg, self.dataset_name, self.out,
                callback=self._on_event, stop=self._stop.is_set, name=self.name,
                on_model=lambda m: setattr(self, "_model_ref", m), replay=self._replay,
            )
            with self._lock:
                s = self._state
                s.elapsed = time.perf_counter() - started
                s.eta = 0.0
                s.metrics = outcome.metrics
                s.saved_path = str(outcome.path) if outcome.path else None
                s.status = outcome.result.status
                s.message = outcome.result.message or (
                    f"Finished {outcome.result.epochs_done} epochs in {outcome.result.seconds:.1f} s."
                )
        except ExplorerError as e:
            with self._lock:
                self._state.status, self._state.message = "failed", str(e)
        except Exception as e:  # noqa: BLE001 - a worker thread must report, not vanish
            traceback.print_exc()
            with self._lock:
                self._state.status = "failed"
                self._state.message = f"Training failed: {type(e).__name__}: {e}"

