"""The training loop, one for every model family: data on the device as tensors, seeded batches,
a callback, a stop flag, a divergence guard, bf16 where the hardware has it.

The loop knows nothing about the UI (compare minGPT's trainer): it reports :class:`TrainEvent`s
through a callback and checks ``stop()`` between steps, so a page, a CLI progress bar or a test can
each watch and stop it in their own way. What a step does (the optimisers, one update or a GAN's
two) is the family's (:mod:`explorer.families`). The step path never waits for the device: losses
are summed where they are computed and read (with the divergence check) every few steps.
"""

from __future__ import annotations

import copy
import functools
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch

from explorer import families
from explorer.data.datasets import Dataset
from explorer.errors import ConfigError


def pick_device(name: str | None = None) -> torch.device:
    """CUDA when present, else Apple MPS, else CPU; `name` ("cpu", "cuda", ...) overrides."""
    if name and name != "auto":
        if name.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError("CUDA was asked for but no CUDA GPU is available here; use --device cpu.")
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def configure_threads(default: int = 1) -> int:
    """Cap torch's CPU threads for this process ($EXPLORER_TORCH_THREADS, else `default`).

    These models are small, so more threads mostly contend for the cores a classroom server's
    many sessions share (bench/README.md has the measurement). Call it once, at start-up."""
    import os

    try:
        threads = max(1, int(os.environ.get("EXPLORER_TORCH_THREADS", default)))
    except ValueError:
        threads = default
    torch.set_num_threads(threads)
    return threads


PRECISIONS = ("auto", "fp32", "bf16")


@functools.cache
def native_bf16(device_type: str) -> bool:
    """Whether this machine's `device_type` ("cpu", "cuda", ...) computes bf16 in hardware.

    Emulated bf16 is slower than fp32, so only native units count: on a CPU, AVX-512 BF16 or AMX
    (read from the CPU's feature flags, the same answer in every process, so a seed still means
    the same weights in a worker as in the CLI); on CUDA, compute capability 8.0 or newer."""
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    if device_type == "cpu":
        get = getattr(torch.cpu, "get_capabilities", None)
        caps = get() if get is not None else {}
        return bool(caps.get("avx512_bf16") or caps.get("amx_bf16"))
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """"fp32" or "bf16": what `precision` means on `device` ("auto" follows the hardware)."""
    if precision == "auto":
        return "bf16" if native_bf16(device.type) else "fp32"
    return precision


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    weight_decay: float = 0.0
    device: str = "auto"
    # "auto": bf16 autocast where the device has native bf16 units, else fp32. Either way the
    # weights, the optimiser state, the loss and the KL are fp32; only the layers run in bf16.
    precision: str = "auto"

    def __post_init__(self):
        if not 1 <= self.epochs <= 10_000:
            raise ConfigError(f"Epochs must be between 1 and 10000, got {self.epochs}.")
        if not 1 <= self.batch_size <= 65_536:
            raise ConfigError(f"Batch size must be between 1 and 65536, got {self.batch_size}.")
        if not (0 < self.lr <= 100 and math.isfinite(self.lr)):
            raise ConfigError(f"Learning rate must be above 0 and at most 100, got {self.lr}.")
        if not (0 <= self.weight_decay <= 1):
            raise ConfigError(f"Weight decay must be between 0 and 1, got {self.weight_decay}.")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"Precision must be one of {', '.join(PRECISIONS)}, "
                              f"got {self.precision!r}.")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainEvent:
    """What the loop reports. `kind` is "step", "epoch" or "end"."""

    kind: str
    epoch: int  # 1-based epoch in progress (or just finished)
    epochs: int
    step: int  # global step count so far
    steps_per_epoch: int
    parts: dict[str, float]  # latest training loss parts (step) or epoch means (epoch)
    test_parts: dict[str, float] | None = None  # epoch end: loss parts on the test split
    elapsed: float = 0.0


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)  # one row per finished epoch
    status: str = "finished"  # "finished", "stopped" or "diverged"
    message: str = ""
    epochs_done: int = 0
    seconds: float = 0.0
    images_per_second: float = 0.0
    precision: str = "fp32"  # what the run used: "fp32" or "bf16"


@torch.no_grad()
def evaluate_loss(model, x: torch.Tensor, batch_size: int = 1000, seed: int = 0,
                  y: torch.Tensor | None = None) -> dict[str, float]:
    """Mean loss parts over `x` with the model in eval mode; seeded so it is reproducible.

    The noise comes from a generator of its own, so evaluating neither reads nor moves the
    training run's generator (or torch's global one)."""
    was_training, run_generator = model.training, model.generator
    loss = families.of(model).ops().loss
    model.eval()
    device = next(model.parameters()).device
    model.generator = torch.Generator(device=device).manual_seed(seed)
    sums: dict[str, float] = {}
    try:
        for i in range(0, len(x), batch_size):
            xb = x[i : i + batch_size].to(device)
            yb = None if y is None else y[i : i + batch_size].to(device)
            parts = loss(model, xb, yb)
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + float(v) * len(xb)
    finally:
        model.generator = run_generator
        model.train(was_training)
    return {k: v / len(x) for k, v in sums.items()}


def train(
    model,
    data: Dataset,
    cfg: TrainConfig,
    callback: Callable[[TrainEvent], None] | None = None,
    stop: Callable[[], bool] | None = None,
    report_every: int = 10,
    explode_factor: float = 1000.0,
) -> TrainResult:
    """Train `model` in place on `data`'s train split, testing after each epoch.

    On a NaN or infinite loss, or one that explodes past `explode_factor` times the first step's
    (stable losses such as BCE-with-logits can grow without ever becoming NaN), the weights are
    rolled back to the end of the last good epoch (or the start) and the result says "diverged"
    with a message a learner can act on. The check runs every `report_every` steps and at the end
    of each epoch on the worst loss seen since the last one, so the step path never waits for the
    device; a bad step is caught at most `report_every - 1` steps late, and rolled back all the same.
    """
    if tuple(data.image_shape) != tuple(model.cfg.image_shape):
        raise ConfigError(
            f"The model expects {model.cfg.image_shape} images but {data.name} has {data.image_shape}."
        )
    device = pick_device(cfg.device)
    precision = resolve_precision(cfg.precision, device)
    # The run owns its random draws: batch order from one generator, the model's noise
    # (reparameterisation, denoising, a GAN's z) from another, both on the training device, so an
    # epoch's indices are made where they are used.
    generator = torch.Generator(device=device).manual_seed(cfg.seed)
    model.to(device).train()
    model.generator = torch.Generator(device=device).manual_seed(cfg.seed)
    x_train = data.x_train.to(device)  # the whole split lives on the device: no loader overhead
    x_test = data.x_test.to(device)
    # A conditional model (CVAE) learns from each image's label as well.
    family = families.of(model)
    y_train, y_test = (data.y_train.to(device), data.y_test) if family.conditional else (None, None)
    n = len(x_train)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    stepper = family.ops().Step(model, cfg, device)  # the family's optimisers and update
    autocast = functools.partial(torch.autocast, device.type, dtype=torch.bfloat16,
                                 enabled=precision == "bf16")

    result = TrainResult(precision=precision)
    good_state = copy.deepcopy(model.state_dict())
    start = time.perf_counter()
    step = 0
    seen = 0
    first_loss: float | None = None
    names: list[str] = []  # the loss parts' names, in the order of `sums`
    shown: list[str] = []  # those the family reports
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        batches = torch.randperm(n, generator=generator, device=device).split(cfg.batch_size)
        sums = torch.zeros((), device=device)  # (K,) once the first step names the parts
        worst = torch.zeros((), device=device)  # largest |loss| since the last check (NaN sticks)
        count = 0
        for b, index in enumerate(batches):
            if stop is not None and stop():
                result.status, result.message = "stopped", f"Stopped during epoch {epoch}."
                break
            xb = x_train[index]  # (B, C, H, W)
            parts = stepper.step(xb, None if y_train is None else y_train[index], autocast)
            step += 1
            count += len(xb)
            values = torch.stack([v.detach().float() for v in parts.values()])  # (K,) loss first
            sums = sums + values * len(xb)
            worst = torch.maximum(worst, values[0].abs())
            last = b == steps_per_epoch - 1
            if first_loss is not None and step % report_every and not last:
                continue
            # One read from the device for the check and the report together.
            latest, seen_worst = values.tolist(), float(worst)
            names = names or list(parts)
            shown = [k for k in names if k not in stepper.unreported]
            if first_loss is None:
                first_loss = abs(seen_worst) + 1e-8
            if not math.isfinite(seen_worst) or seen_worst > explode_factor * first_loss:
                model.load_state_dict(good_state)
                result.status = "diverged"
                what = "became NaN" if math.isnan(seen_worst) else f"exploded to {seen_worst:.3g}"
                kept = ("the weights from the last good epoch are kept" if result.epochs_done
                        else "nothing was learned before it went wrong, so nothing is kept")
                result.message = (
                    f"Training diverged at epoch {epoch}, by step {b + 1}: the loss {what}. "
                    f"Try a smaller learning rate than {cfg.lr:g} (1e-3 is a safe start); {kept}."
                )
                break
            worst = torch.zeros((), device=device)
            if callback is not None:
                callback(
                    TrainEvent("step", epoch, cfg.epochs, step, steps_per_epoch,
                               _named(names, latest, shown),
                               elapsed=time.perf_counter() - start)
                )
        seen += count
        if result.status != "finished":
            break
        train_parts = _named(names, (v / max(count, 1) for v in sums.tolist()), shown)
        train_parts.update(stepper.end_epoch(data))
        test_parts = stepper.test(x_test, y_test, cfg.seed)
        if not all(math.isfinite(v) for v in (*train_parts.values(), *test_parts.values())):
            model.load_state_dict(good_state)
            result.status = "diverged"
            result.message = (
                f"Training diverged in epoch {epoch}. Try a smaller learning rate than {cfg.lr:g}; "
                "the weights from the last good epoch are kept."
            )
            break
        good_state = copy.deepcopy(model.state_dict())
        row = {"epoch": epoch, "train": train_parts, "test": test_parts,
               "seconds": time.perf_counter() - start}
        result.history.append(row)
        result.epochs_done = epoch
        if callback is not None:
            callback(
                TrainEvent("epoch", epoch, cfg.epochs, step, steps_per_epoch, train_parts,
                           test_parts, elapsed=row["seconds"])
            )
    # On "stopped" the weights stay as they are: updates made before the stop are still learning.
    model.eval()
    if result.status == "finished":
        result.message = stepper.message(result.history)
    result.seconds = time.perf_counter() - start
    result.images_per_second = seen / result.seconds if result.seconds > 0 else 0.0
    if callback is not None:
        callback(
            TrainEvent("end", result.epochs_done, cfg.epochs, step, steps_per_epoch,
                       result.history[-1]["train"] if result.history else {},
                       result.history[-1]["test"] if result.history else None,
                       elapsed=result.seconds)
        )
    return result


def _named(names: list[str], values, shown: list[str]) -> dict[str, float]:
    """The loss parts by name, those the family reports only."""
    return {k: v for k, v in zip(names, values, strict=True) if k in shown}
