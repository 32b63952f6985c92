"""The worker side of a job: run one spec, report events, obey a stop flag.

:func:`run_job` knows nothing of processes or clusters: the local engine calls it in a child
process (:func:`process_main`), the Ray engine inside an actor. It never raises: every ending,
including an unexpected error, becomes one final ``("done", ...)`` event.
"""

from __future__ import annotations

import contextlib
import logging
import os
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from explorer import families
from explorer.analysis.replay import ReplayRecorder
from explorer.data.datasets import load_dataset, mixed_indices
from explorer.errors import ExplorerError
from explorer.jobs.run import run_training
from explorer.jobs.spec import JobSpec
from explorer.training.loop import TrainEvent

PREVIEW_IMAGES = 8  # test images whose reconstructions are shown each epoch

Emit = Callable[[str, dict], None]


def _reconstruct(model, x: torch.Tensor, seed: int = 0) -> np.ndarray:
    """Each epoch's preview: reconstructions of `x`, or for a model without an encoder (GAN,
    CVAE) samples from the same fixed noise (for a CVAE, of the classes 0, 1, 2, ...)."""
    from explorer.families.gan.measures import fixed_noise
    from explorer.families.models import can

    was_training = model.training
    model.eval()
    with torch.inference_mode():
        device = next(model.parameters()).device
        if can(model, "encode"):
            x_hat = model(x.to(device))["x_hat"]
        else:
            z = fixed_noise(model, len(x), seed).to(device)
            labels = torch.arange(len(x), device=device) % max(model.cfg.n_classes, 1)
            x_hat = model.decode(z, labels) if can(model, "condition") else model.decode(z)
    model.train(was_training)
    return x_hat[:, 0].float().cpu().numpy()


def run_job(spec: JobSpec, emit: Emit, should_stop: Callable[[], bool]) -> None:
    """Train, evaluate and save `spec`'s run, reporting as it goes."""
    if (kind := spec.model.get("kind")) in families.names(base_run=True):
        # A family over another run's codes (a prior over its codes) runs its own job.
        return families.get(kind).ops().run_job(spec, emit, should_stop)
    os.environ.update(spec.env)
    try:
        data = load_dataset(spec.dataset)
        x_preview = data.x_test[mixed_indices(data.y_test.numpy(), PREVIEW_IMAGES)]
        train_cfg = spec.train_config()
        holder: dict = {}
        replay = ReplayRecorder()  # test codes after every epoch, saved beside the run

        def on_event(event: TrainEvent) -> None:
            payload = {"epoch": event.epoch, "epochs": event.epochs, "step": event.step,
                       "steps_per_epoch": event.steps_per_epoch, "elapsed": event.elapsed}
            if event.kind == "step":
                if "started" not in holder:
                    holder["started"] = True
                    emit("started", {"originals": x_preview[:, 0].numpy().copy(),
                                     "epochs": event.epochs,
                                     "steps_per_epoch": event.steps_per_epoch})
                emit("step", {**payload, "parts": event.parts})
            elif event.kind == "epoch":
                emit("epoch", {**payload, "train": event.parts, "test": event.test_parts,
                               "preview": _reconstruct(holder["model"], x_preview, train_cfg.seed),
                               "replay": bool(replay.frames)})
            else:
                emit("end", payload)

        outcome = run_training(
            spec.model_config(), train_cfg, spec.dataset, Path(spec.out), callback=on_event,
            stop=should_stop, name=spec.name, on_model=lambda m: holder.__setitem__("model", m),
            replay=replay, keep_unsaved=True, room=spec.room_bytes,
        )
        result = outcome.result
        if result.epochs_done == 0 and result.status == "stopped":
            result.message = "Stopped before it finished an epoch; nothing was saved."
        emit("done", {
            "status": result.status,
            "message": outcome.save_error or result.message or
            f"Finished {result.epochs_done} epochs in {result.seconds:.1f} s.",
            "saved_path": str(outcome.path) if outcome.path else None,
            "metrics": outcome.metrics,
            "images_per_second": result.images_per_second,
            # Not saved: the model travels to the page, which offers Retry and Download.
            "unsaved": outcome.unsaved,
        })
    except ExplorerError as e:
        emit("done", _failed(str(e)))
    except Exception as e:  # noqa: BLE001 - a worker must report, not vanish
        logging.getLogger(__name__).error("training job %s failed:\n%s", spec.name,
                                          traceback.format_exc())
        emit("done", _failed(f"Training failed: {type(e).__name__}: {e}"))


def _failed(message: str) -> dict:
    return {"status": "failed", "message": message, "saved_path": None, "metrics": {}}


def process_main(spec: JobSpec, conn, stop_event) -> None:
    """Entry point of a local worker process: one torch thread, events down a pipe, and a lower
    CPU priority than the web server, so that pages and sliders stay quick while a class trains
    (a busy core still trains at full speed when nobody is clicking)."""
    with contextlib.suppress(OSError, ValueError):
        os.nice(int(os.environ.get("EXPLORER_WORKER_NICE", "10")))
    torch.set_num_threads(1)
    try:
        run_job(spec, lambda kind, payload: conn.send((kind, payload)), stop_event.is_set)
    finally:
        conn.close()
