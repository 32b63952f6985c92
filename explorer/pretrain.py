"""Rebuild the shipped models in ``pretrained/``: ``python -m explorer pretrain``.

Deterministic (seeded) and offline: every model trains on a dataset that ships with an installed
package, on the CPU, and the whole set takes a few minutes on two cores. Beside each model go the
2-D coordinates of its test set (UMAP and PCA), tied to the model's content hash, so the latent
map of a shipped model appears at once, and its training replay (the test codes after every
epoch), so the Inside page's replay works before anyone trains.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from explorer.jobs import run_training
from explorer.models import ModelConfig
from explorer.projection_files import write_projections
from explorer.replay import ReplayRecorder
from explorer.store import DEFAULT_MODEL, PRETRAINED_DIR
from explorer.training import TrainConfig

MNIST = (1, 28, 28)
DIGITS = (1, 8, 8)


@dataclass(frozen=True)
class Spec:
    name: str
    dataset: str
    model: ModelConfig
    train: TrainConfig
    lesson: str  # what a teacher shows with it


SPECS: list[Spec] = [
    Spec(DEFAULT_MODEL, "mnist-5k",
         ModelConfig("vae", "mlp", MNIST, latent_dim=2, hidden=(400,)),
         TrainConfig(epochs=60, batch_size=128, lr=1e-3, seed=0, device="cpu"),
         "A 2-D VAE: its latent space is the map itself; decode any point of it."),
    Spec("mnist-ae-mlp-z2", "mnist-5k",
         ModelConfig("ae", "mlp", MNIST, latent_dim=2, hidden=(400,)),
         TrainConfig(epochs=60, batch_size=128, lr=1e-3, seed=0, device="cpu"),
         "The same network without the KL term: compare its map's holes with the VAE's."),
    Spec("mnist-vae-mlp-z16", "mnist-5k",
         ModelConfig("vae", "mlp", MNIST, latent_dim=16, hidden=(400,)),
         TrainConfig(epochs=100, batch_size=128, lr=1e-3, seed=0, device="cpu"),
         "A 16-D VAE: sharper reconstructions, a map through UMAP."),
    Spec("mnist-ae-mlp-z16", "mnist-5k",
         ModelConfig("ae", "mlp", MNIST, latent_dim=16, hidden=(400,)),
         TrainConfig(epochs=70, batch_size=128, lr=1e-3, seed=0, device="cpu"),
         "A 16-D autoencoder: compare with PCA of 16 components."),
    Spec("mnist-vae-conv-z16", "mnist-5k",
         ModelConfig("vae", "conv", MNIST, latent_dim=16, hidden=(32, 64)),
         TrainConfig(epochs=60, batch_size=128, lr=1e-3, seed=0, device="cpu"),
         "A convolutional VAE: fewer weights, images built from local strokes."),
    Spec("mnist-betavae-mlp-z16", "mnist-5k",
         ModelConfig("vae", "mlp", MNIST, latent_dim=16, hidden=(400,), beta=4.0),
         TrainConfig(epochs=100, batch_size=128, lr=1e-3, seed=0, device="cpu"),
         "β = 4: fewer active dimensions, each doing more of one thing; blurrier images."),
    Spec("digits-vae-mlp-z2", "digits",
         ModelConfig("vae", "mlp", DIGITS, latent_dim=2, hidden=(128,)),
         TrainConfig(epochs=150, batch_size=64, lr=1e-3, seed=0, device="cpu"),
         "The 8×8 digits in a 2-D VAE: trains in seconds."),
    Spec("digits-ae-mlp-z2", "digits",
         ModelConfig("ae", "mlp", DIGITS, latent_dim=2, hidden=(128,)),
         TrainConfig(epochs=150, batch_size=64, lr=1e-3, seed=0, device="cpu"),
         "The 8×8 digits in a 2-D autoencoder."),
]


def pretrain(out: Path | None = None, only: list[str] | None = None, epochs: int | None = None,
             projections: bool = True, log=print) -> list[dict]:
    """Train every spec (or those named in `only`) into `out`, replacing what is there."""
    out = Path(out or PRETRAINED_DIR)
    specs = [s for s in SPECS if not only or s.name in only]
    unknown = set(only or []) - {s.name for s in SPECS}
    if unknown:
        from explorer.errors import ConfigError

        raise ConfigError(f"Unknown pretrained model(s): {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(s.name for s in SPECS)}.")
    # One thread: the same weights bit for bit whatever the machine's core count (the order of
    # floating-point sums depends on how work is split), and these models are too small to gain
    # much from more threads.
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _pretrain(out, specs, epochs, projections, log)
    finally:
        torch.set_num_threads(threads)


def _pretrain(out, specs, epochs, projections, log) -> list[dict]:
    from explorer.datasets import load_dataset
    from explorer.latent import encode_dataset

    cards = []
    start = time.perf_counter()
    for spec in specs:
        train_cfg = replace(spec.train, epochs=epochs) if epochs else spec.train
        log(f"{spec.name}: {spec.model.describe()} on {spec.dataset}, {train_cfg.epochs} epochs")
        t = time.perf_counter()
        # The recorder only encodes (posterior means): it draws no random numbers, so the
        # weights are the same with or without it.
        outcome = run_training(spec.model, train_cfg, spec.dataset, out / spec.name,
                               overwrite=True, name=spec.name, replay=ReplayRecorder())
        card = outcome.card
        card_line = ", ".join(f"{k} {v:.4g}" for k, v in outcome.metrics.items()
                              if isinstance(v, float))
        log(f"    trained in {time.perf_counter() - t:.1f} s: {card_line}")
        if projections:
            codes = encode_dataset(outcome.model, load_dataset(spec.dataset).x_test)
            write_projections(out / spec.name, card, codes, log=log)
        cards.append(card)
    (out / "index.txt").write_text("".join(f"{s.name}\n" for s in SPECS))
    (out / "README.md").write_text(_readme())
    log(f"Built {len(cards)} model(s) in {time.perf_counter() - start:.0f} s into {out}")
    sys.stdout.flush()
    return cards


def _readme() -> str:
    lines = ["# Shipped models", "",
             "Rebuilt by `python -m explorer pretrain` (seeded, offline, CPU). Each folder holds",
             "`model.safetensors`, `card.json` (config, dataset, split, seed, training curve, test",
             "metrics), the test set's precomputed 2-D maps and `replay.safetensors` (a sample of",
             "test codes after every epoch), both tied to the weights' content hash.",
             "", "| model | what it shows |", "| --- | --- |"]
    lines += [f"| `{s.name}` | {s.lesson} |" for s in SPECS]
    return "\n".join(lines) + "\n"
