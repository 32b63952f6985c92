"""What a job is (a plain, picklable spec), what it reports (events) and what a page sees (state).

A spec holds only JSON-like values, so the same job runs in a local worker process or on a Ray
cluster. A worker reports through events ``(kind, payload)``:

- ``("started", {"originals": (K, H, W) array, "epochs", "steps_per_epoch"})``
- ``("step", {"epoch", "epochs", "step", "steps_per_epoch", "elapsed", "parts"})``
- ``("epoch", {... , "train", "test", "preview": (K, H, W) array, "replay": bool})``
- ``("end", {...})``: training is over; the test metrics are computed and the run is saved
- ``("done", {"status", "message", "saved_path", "metrics", "images_per_second", "unsaved"})``:
  ``unsaved`` is ``(safetensors bytes, card)`` when the save failed, else None
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from explorer.families.config import ModelConfig
from explorer.training.loop import TrainConfig

MAX_STEP_POINTS = 2000  # live loss-curve points kept; older ones are thinned
ACTIVE = ("queued", "starting", "running", "saving")
DONE = ("finished", "stopped", "diverged", "failed", "cancelled")


@dataclass(frozen=True)
class JobSpec:
    model: dict  # ModelConfig.to_dict()
    train: dict  # TrainConfig.to_dict()
    dataset: str
    out: str  # the run folder, reserved when the job was accepted
    name: str
    n_train: int = 0  # training images per epoch: for the queue's time estimate
    # The submitter's EXPLORER_* settings (data and cache folders): a worker forked long ago,
    # or on another machine, applies them before it loads anything.
    env: dict = field(default_factory=dict)
    # Bytes the job's owner may still save (their quota less their saved runs), set by the
    # engine when the job starts; None: no per-student quota.
    room_bytes: int | None = None

    @classmethod
    def build(cls, model_cfg: ModelConfig, train_cfg: TrainConfig, dataset: str, out,
              n_train: int = 0) -> JobSpec:
        out = Path(out)
        env = {k: v for k, v in os.environ.items() if k.startswith("EXPLORER_")}
        return cls(model_cfg.to_dict(), train_cfg.to_dict(), dataset, str(out), out.name,
                   n_train, env)

    @classmethod
    def over_run(cls, model: dict, train: dict, out, n_items: int = 0) -> JobSpec:
        """The job of a family over another run's codes (explorer.families.base): `model` is
        its config with ``kind`` and ``base`` (the base run's label); no dataset of its own."""
        out = Path(out)
        env = {k: v for k, v in os.environ.items() if k.startswith("EXPLORER_")}
        return cls(dict(model), dict(train), "", str(out), out.name, n_items, env)

    def model_config(self) -> ModelConfig:
        return ModelConfig.from_dict(self.model)

    def train_config(self) -> TrainConfig:
        return TrainConfig(**self.train)

    @property
    def images(self) -> int:
        return int(self.train["epochs"]) * self.n_train


@dataclass
class JobState:
    status: str = "queued"  # queued, starting, running, saving, then one of DONE
    position: int = 0  # 1-based place in the queue while queued
    wait: float | None = None  # estimated seconds until it starts, while queued
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
    replay: bool = False  # a training replay is being recorded (and saved beside the run)
    images_per_second: float = 0.0
    unsaved: tuple[bytes, dict] | None = None  # a trained model the save had no room for

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def copy(self) -> JobState:
        """A consistent copy: lists copied shallowly; arrays are never mutated."""
        return JobState(**{**self.__dict__, "steps": list(self.steps),
                           "history": list(self.history), "previews": list(self.previews),
                           "metrics": dict(self.metrics)})

    def apply(self, kind: str, payload: dict) -> None:
        """Fold one worker event into the state."""
        if kind == "started":
            self.status = "running"
            self.originals = payload["originals"]
            self.epochs, self.steps_per_epoch = payload["epochs"], payload["steps_per_epoch"]
            return
        if kind == "done":
            self.status, self.message = payload["status"], payload["message"]
            self.saved_path, self.metrics = payload["saved_path"], payload["metrics"]
            self.images_per_second = payload.get("images_per_second", 0.0)
            self.unsaved = payload.get("unsaved")
            self.eta = 0.0
            return
        self.status = "saving" if kind == "end" else "running"
        self.epoch, self.epochs, self.step = payload["epoch"], payload["epochs"], payload["step"]
        self.steps_per_epoch, self.elapsed = payload["steps_per_epoch"], payload["elapsed"]
        total = self.epochs * self.steps_per_epoch
        if self.step:
            self.eta = self.elapsed / self.step * (total - self.step)
        if kind == "step":
            from explorer.analysis.replay import thin

            self.steps.append({"step": self.step, "epoch": self.epoch, **payload["parts"]})
            self.steps = thin(self.steps, MAX_STEP_POINTS)  # the curve's shape, bounded memory
        elif kind == "epoch":
            self.history.append({"epoch": self.epoch, "train": payload["train"],
                                 "test": payload["test"]})
            self.previews.append(payload["preview"])
            self.replay = self.replay or payload.get("replay", False)
