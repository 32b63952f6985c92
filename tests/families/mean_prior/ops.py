"""The mean prior's side of the contract: train (the base's mean training code, saved as JSON),
evaluate, and run as a job."""

import json
from pathlib import Path

import torch

from explorer.data.datasets import load_dataset
from explorer.errors import ExplorerError
from explorer.runs.checkpoints import load_model

CARD = "mean_prior.json"


def fit(base: str, out: Path) -> dict:
    model, card = load_model(base)
    data = load_dataset(card["dataset"]["name"])
    with torch.inference_mode():
        mean = model.encode(data.x_train)
        mean = (mean[0] if isinstance(mean, tuple) else mean).mean(0)
    prior = {"base": base, "mean": [round(float(v), 6) for v in mean]}
    out.mkdir(parents=True, exist_ok=True)
    (out / CARD).write_text(json.dumps(prior))
    return prior


def train_cli(args, progress) -> int:
    if not args.base:
        raise ExplorerError("--model mean-prior needs --base RUN.")
    fit(args.base, Path(args.out))
    print(f"Saved {args.out}")
    return 0


def eval_cli(args) -> int:
    prior = json.loads((Path(args.path) / CARD).read_text())
    print(json.dumps({"base": prior["base"], "dims": len(prior["mean"])}))
    return 0


def run_job(spec, emit, should_stop) -> None:
    prior = fit(spec.model["base"], Path(spec.out))
    emit("done", {"status": "finished", "message": f"{len(prior['mean'])} means.",
                  "saved_path": spec.out, "metrics": {}})
