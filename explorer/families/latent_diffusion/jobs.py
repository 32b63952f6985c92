"""A latent diffusion run as a job of the shared queue (explorer.jobs): the same engine, events,
live loss and Stop as every other run. The spec carries the prior's config with
``kind = "latent-diffusion"`` and the base run's label; the worker hands such a spec here through
the family registry (the family's ``run_job``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch

from explorer.families.latent_diffusion.config import FAMILY, DiffusionConfig, DiffusionTrainConfig

PREVIEW = 8  # the base's decodes of eight noise codes: what the prior is to improve on
PREVIEW_SEED = 0


def job_model(base_label: str, cfg: DiffusionConfig) -> dict:
    """A prior's job spec's ``model``: its config, the family's name and the base run's label
    (``explorer.jobs.JobSpec.over_run`` makes the spec)."""
    return {**cfg.to_dict(), "kind": FAMILY, "base": base_label}


def job_items(n_train: int) -> int:
    """What the queue's time estimate counts: images, and a code is far cheaper, a tenth."""
    return max(1, n_train // 10)


def run_job(spec, emit, should_stop) -> None:
    """Train, evaluate and save a prior, reporting through `emit` as explorer.jobs.worker does;
    every ending, an error included, is one final ("done", ...) event."""
    from explorer.errors import ExplorerError
    from explorer.families.latent_diffusion.run import resolve_base, run_diffusion

    os.environ.update(spec.env)
    try:
        base = resolve_base(spec.model["base"])
        cfg = DiffusionConfig.from_dict(spec.model)
        train_cfg = DiffusionTrainConfig(**spec.train)
        noise = torch.randn((PREVIEW, cfg.latent_dim),
                            generator=torch.Generator().manual_seed(PREVIEW_SEED))
        with torch.inference_mode():
            originals = base.model.decode(noise)[:, 0].numpy()
        holder, start = {"started": False}, time.perf_counter()

        def on_event(event) -> None:
            payload = {"epoch": event.epoch, "epochs": event.epochs, "step": event.step,
                       "steps_per_epoch": event.steps_per_epoch, "elapsed": event.elapsed}
            if not holder["started"]:
                holder["started"] = True
                emit("started", {"originals": originals, "epochs": event.epochs,
                                 "steps_per_epoch": event.steps_per_epoch})
            if event.kind == "step":
                emit("step", {**payload, "parts": event.parts})
            elif event.kind == "epoch":
                emit("epoch", {**payload, "train": event.parts, "test": event.test_parts,
                               "preview": np.zeros((0,)), "replay": False})
            else:
                emit("end", payload)

        outcome = run_diffusion(base, cfg, train_cfg, Path(spec.out), on_event, should_stop)
        r = outcome.result
        emit("done", {"status": r.status,
                      "message": r.message or f"Finished {r.epochs_done} epochs in "
                                              f"{time.perf_counter() - start:.1f} s.",
                      "saved_path": str(outcome.path) if outcome.path else None,
                      "metrics": outcome.metrics,
                      "images_per_second": r.images_per_second, "unsaved": None})
    except ExplorerError as e:
        emit("done", {"status": "failed", "message": str(e), "saved_path": None, "metrics": {}})
    except Exception as e:  # noqa: BLE001 - a worker must report, not vanish
        emit("done", {"status": "failed", "message": f"Training failed: {type(e).__name__}: {e}",
                      "saved_path": None, "metrics": {}})
