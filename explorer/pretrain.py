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

from explorer.analysis.projection_files import write_projections
from explorer.analysis.replay import ReplayRecorder
from explorer.families.models import ModelConfig, can
from explorer.jobs import run_training
from explorer.runs.store import DEFAULT_MODEL, PRETRAINED_DIR
from explorer.training.loop import TrainConfig

MNIST = (1, 28, 28)
DIGITS = (1, 8, 8)


@dataclass(frozen=True)
class Spec:
    name: str
    dataset: str
    model: ModelConfig
    train: TrainConfig
    lesson: str  # what a teacher shows with it


def fp32_cpu(epochs: int, batch_size: int = 128, lr: float = 1e-3) -> TrainConfig:
    """Every shipped model's training: seed 0, on the CPU, in fp32, so that the shipped weights do
    not depend on the rebuilding CPU (bf16 runs only where a CPU has it)."""
    return TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=0, device="cpu",
                       precision="fp32")


SPECS: list[Spec] = [
    Spec(DEFAULT_MODEL, "mnist-5k",
         ModelConfig("vae", "mlp", MNIST, latent_dim=2, hidden=(400,)),
         fp32_cpu(60),
         "A 2-D VAE: its latent space is the map itself; decode any point of it."),
    Spec("mnist-ae-mlp-z2", "mnist-5k",
         ModelConfig("ae", "mlp", MNIST, latent_dim=2, hidden=(400,)),
         fp32_cpu(60),
         "The same network without the KL term: compare its map's holes with the VAE's."),
    Spec("mnist-vae-mlp-z16", "mnist-5k",
         ModelConfig("vae", "mlp", MNIST, latent_dim=16, hidden=(400,)),
         fp32_cpu(100),
         "A 16-D VAE: sharper reconstructions, a map through UMAP."),
    Spec("mnist-ae-mlp-z16", "mnist-5k",
         ModelConfig("ae", "mlp", MNIST, latent_dim=16, hidden=(400,)),
         fp32_cpu(70),
         "A 16-D autoencoder: compare with PCA of 16 components."),
    Spec("mnist-vae-conv-z16", "mnist-5k",
         ModelConfig("vae", "conv", MNIST, latent_dim=16, hidden=(32, 64)),
         fp32_cpu(60),
         "A convolutional VAE: fewer weights, images built from local strokes."),
    Spec("mnist-betavae-mlp-z16", "mnist-5k",
         ModelConfig("vae", "mlp", MNIST, latent_dim=16, hidden=(400,), beta=4.0),
         fp32_cpu(100),
         "β = 4: 14 active dimensions of 16 (β = 1 uses all 16) and blurrier images; whether "
         "each dimension holds one factor is not measured here (and not guaranteed: Locatello "
         "et al. 2019)."),
    Spec("digits-vae-mlp-z2", "digits",
         ModelConfig("vae", "mlp", DIGITS, latent_dim=2, hidden=(128,)),
         fp32_cpu(150, batch_size=64),
         "The 8×8 digits in a 2-D VAE: trains in seconds."),
    Spec("digits-ae-mlp-z2", "digits",
         ModelConfig("ae", "mlp", DIGITS, latent_dim=2, hidden=(128,)),
         fp32_cpu(150, batch_size=64),
         "The 8×8 digits in a 2-D autoencoder."),
    Spec("mnist-cvae-mlp-z4", "mnist-5k",
         ModelConfig("cvae", "mlp", MNIST, latent_dim=4, hidden=(400,), n_classes=10),
         fp32_cpu(60),
         "A conditional VAE: ask for a digit; keep z (4-D: style only), change the label."),
    Spec("mnist-gan-conv-z32", "mnist-5k",
         # (64, 128) channels and 120 epochs: on 4,000 images the (32, 64) body's samples after 80
         # epochs were mostly scribbles (FID 134, precision 0.54); these read as digits (FID 116,
         # precision 0.60, recall 0.71 on 2,000 samples).
         ModelConfig("gan", "conv", MNIST, latent_dim=32, hidden=(64, 128)),
         fp32_cpu(120, batch_size=64, lr=2e-4),
         "A GAN: sharp samples from noise, no encoder; compare its scores with the VAEs'."),
]

# A β sweep of one small body: the rate–distortion curve a teacher walks in the "Rate, distortion
# and β" lesson; a larger β buys a lower rate with more distortion.
SWEEP_BETAS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
SWEEP = [
    Spec(f"mnist-vae-z8-beta{beta:g}", "mnist-5k",
         ModelConfig("vae", "mlp", MNIST, latent_dim=8, hidden=(256,), beta=beta),
         fp32_cpu(40),
         f"The β sweep at β = {beta:g}: one point of the rate–distortion curve.")
    for beta in SWEEP_BETAS
]
SPECS += SWEEP
SPECS.append(
    Spec("mnist-vae-binarized-z16", "mnist-5k",
         ModelConfig("vae", "mlp", MNIST, latent_dim=16, hidden=(256,), likelihood="binarized"),
         fp32_cpu(80),
         "Binarised pixels (a fresh draw each epoch): its −ELBO and IW bound are true bounds on "
         "−log p(x), in the units of published MNIST numbers but on a 4k/1k subset with one "
         "binarisation of the test images, so not comparable with them."))


# Latent diffusion priors over four shipped bases (explorer.families.latent_diffusion): name -> (base,
# config, training); a minute or two of CPU each.
DIFFUSION = {
    f"{base}-diffusion": (base, {"latent_dim": dim, "hidden": hidden, "blocks": 2},
                          {"epochs": epochs, "batch_size": 256, "lr": 1e-3, "seed": 0})
    for base, dim, hidden, epochs in (
        ("mnist-ae-mlp-z2", 2, 128, 300), ("mnist-vae-mlp-z2", 2, 128, 300),
        ("mnist-ae-mlp-z16", 16, 256, 400), ("mnist-vae-mlp-z16", 16, 256, 400))
}

# The scoring classifiers (explorer.analysis.scores): name -> (dataset, epochs).
CLASSIFIERS = {"classifier-digits": ("digits", 20), "classifier-mnist-5k": ("mnist-5k", 10)}
SCORES = "scores"  # `--only scores`: rescore the shipped models, training nothing


def build_classifiers(out: Path, names, log=print) -> None:
    from explorer.analysis.scores import save_classifier, train_classifier
    from explorer.data.datasets import load_dataset

    for name in names:
        dataset, epochs = CLASSIFIERS[name]
        model, acc = train_classifier(load_dataset(dataset), epochs=epochs, seed=0)
        save_classifier(model, dataset, acc, root=out / "classifiers")
        log(f"{name}: test accuracy {acc:.4f}")


def pretrain(out: Path | None = None, only: list[str] | None = None, epochs: int | None = None,
             projections: bool = True, log=print) -> list[dict]:
    """Train every spec (or those named in `only`) into `out`, replacing what is there."""
    out = Path(out or PRETRAINED_DIR)
    specs = [s for s in SPECS if not only or s.name in only]
    classifiers = [c for c in CLASSIFIERS if not only or c in only]
    priors = [p for p in DIFFUSION if not only or p in only]
    unknown = (set(only or []) - {s.name for s in SPECS} - set(CLASSIFIERS) - {SCORES}
               - set(DIFFUSION))
    if unknown:
        from explorer.errors import ConfigError

        raise ConfigError(f"Unknown pretrained model(s): {', '.join(sorted(unknown))}; known: "
                          f"{', '.join([*CLASSIFIERS, *(s.name for s in SPECS), SCORES])}.")
    # One thread: the same weights bit for bit whatever the machine's core count (the order of
    # floating-point sums depends on how work is split), and these models are too small to gain
    # much from more threads.
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        # First: the scores of the generators below are measured with them.
        build_classifiers(out, classifiers, log)
        cards = _pretrain(out, specs, epochs, projections, log) if specs else []
        build_priors(out, priors, epochs, log)  # after their bases: they learn the bases' codes
        if specs or SCORES in (only or []):
            build_scores(out, log)  # last: they are measured with the classifiers and models
        if SCORES in (only or []):  # the priors' scores too (those trained above have theirs)
            score_priors(out, [p for p in DIFFUSION if p not in priors], log)
        return cards
    finally:
        torch.set_num_threads(threads)


def _pretrain(out, specs, epochs, projections, log) -> list[dict]:
    from explorer.analysis.latent import encode_dataset
    from explorer.data.datasets import load_dataset

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
        if projections and can(outcome.model, "encode"):
            codes = encode_dataset(outcome.model, load_dataset(spec.dataset).x_test)
            write_projections(out / spec.name, card, codes, log=log)
        cards.append(card)
    (out / "index.txt").write_text("".join(f"{s.name}\n" for s in SPECS))
    (out / "README.md").write_text(_readme())
    log(f"Built {len(cards)} model(s) in {time.perf_counter() - start:.0f} s into {out}")
    sys.stdout.flush()
    return cards


def build_priors(out: Path, names, epochs: int | None = None, log=print) -> None:
    """Train the latent diffusion priors `names` over their shipped bases in `out`."""
    from explorer.families.latent_diffusion import DiffusionConfig, DiffusionTrainConfig
    from explorer.families.latent_diffusion.run import resolve_base, run_diffusion

    for name in names:
        base_name, cfg, train = DIFFUSION[name]
        train = {**train, "epochs": epochs or train["epochs"]}
        t = time.perf_counter()
        outcome = run_diffusion(resolve_base(str(out / base_name)), DiffusionConfig(**cfg),
                                DiffusionTrainConfig(**train), out / name)
        log(f"{name}: trained in {time.perf_counter() - t:.1f} s, test denoising loss "
            f"{outcome.metrics['test_loss']:.4f}")
    score_priors(out, names, log)


def score_priors(out: Path, names, log=print) -> None:
    """Score the priors `names` beside their bases' own samples; the scores go in their cards."""
    from explorer.data.datasets import load_dataset
    from explorer.families.latent_diffusion.evaluate import evaluate
    from explorer.families.latent_diffusion.files import add_scores, load_prior
    from explorer.families.latent_diffusion.run import resolve_base

    for name in names:
        t = time.perf_counter()
        prior, card = load_prior(out / name)
        base = resolve_base(str(out / card["base"]["name"]))
        scores = evaluate(prior, base.model, load_dataset(base.dataset))
        add_scores(out / name, scores)
        log(f"    scores of {name} in {time.perf_counter() - t:.1f} s: " + ", ".join(
            f"{row} FD {s['fid']:.1f}" for row, s in scores["rows"].items())
            + f"; FD gap closed {scores['gap_closed']:.2f}")


def build_scores(out: Path, log=print) -> None:
    """Score every shipped model that samples (on a dataset with a classifier) into
    `out/scores/`, replacing what is there, so a fresh server shows them at once."""
    import json

    from explorer import families
    from explorer.analysis import scores
    from explorer.atomic import write_atomic
    from explorer.data.datasets import load_dataset
    from explorer.errors import ModelFileError
    from explorer.runs import store
    from explorer.runs.checkpoints import load_model

    folder = out / "scores"
    entries, _ = store.list_models(pretrained_dir=out, runs=out / "no-runs")
    kept = set()
    for e in entries:
        if not families.of(e).can("sample"):
            continue
        model, card = load_model(e.path)
        t = time.perf_counter()
        try:
            # Mean and spread over the sampling seeds; computed afresh (the cache may hold an
            # earlier recipe's numbers for the same weights).
            result = scores.score_spread(model, load_dataset(e.dataset))
        except ModelFileError:
            continue  # no classifier for this dataset
        name = scores.spread_file(card["content_hash"], e.dataset)
        write_atomic(folder / name, json.dumps(result).encode())
        kept.add(name)
        log(f"    scores of {e.name} in {time.perf_counter() - t:.1f} s: "
            + ", ".join(f"{k} {v:.3g}" for k, v in result.items()))
    for stale in folder.glob("*.json"):
        if stale.name not in kept:
            stale.unlink()


def _readme() -> str:
    lines = ["# Shipped models", "",
             "Rebuilt by `python -m explorer pretrain` (seeded, offline, CPU). Each folder holds",
             "`model.safetensors`, `card.json` (config, dataset, split, seed, training curve, test",
             "metrics), the test set's precomputed 2-D maps and `replay.safetensors` (a sample of",
             "test codes after every epoch), both tied to the weights' content hash.",
             "", "| model | what it shows |", "| --- | --- |"]
    lines += [f"| `{s.name}` | {s.lesson} |" for s in SPECS]
    lines += [f"| `{name}` | A latent diffusion prior over `{base}`'s codes "
              "(`diffusion.safetensors`, `diffusion.json`). |"
              for name, (base, _, _) in DIFFUSION.items()]
    return "\n".join(lines) + "\n"
