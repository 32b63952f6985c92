"""Roofline: how close training comes to what this machine's matrix units can do at our shapes.

The 784-400-20 VAE's work is its GEMMs: per layer (in -> out) and batch B, the forward product
X (B, in) @ W^T, and in the backward pass the weight gradient G^T @ X and (for every layer but
the first, whose input needs no gradient) the input gradient G @ W, each 2 * B * in * out FLOPs.
This benchmark times exactly that set of GEMMs with ``torch.mm`` in fp32 and in bf16 (best of
many repeats: a peak, not a typical time), which gives the machine's throughput at these shapes
and, divided by the FLOPs per image, the most images per second any loop could reach ("the
roofline"). Against it, interleaved, medians of images/s at batch 128:

- bare step fp32 / bf16: forward, loss, backward, fused Adam on data already on the device, no
  shuffling, events, evaluation or checks: the floor of what a loop costs;
- ours fp32 / bf16: ``explorer.training.loop.train`` (its per-epoch test evaluation included);
- reference: the pytorch/examples loop of ``bench_training.py`` (PIL image -> tensor per sample).

Each is also given as a fraction of the roofline of its own precision (the reference and fp32
against the fp32 one). At the app's one torch thread (``--threads N``).

    python bench/bench_roofline.py [--quick] [--threads N] [--json out]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402
from bench_training import HIDDEN, LATENT, our_model, run_ours, run_reference  # noqa: E402

BATCH = 128


def gemm_shapes(model, batch: int) -> list[tuple[int, int, int]]:
    """(m, k, n) of every GEMM of one training step: forward, weight and input gradients."""
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    shapes = []
    for i, layer in enumerate(layers):
        d_in, d_out = layer.in_features, layer.out_features
        shapes += [(batch, d_in, d_out), (d_out, batch, d_in)]  # X @ W^T, G^T @ X
        if i:
            shapes.append((batch, d_out, d_in))  # G @ W: the first layer's input needs none
    return shapes


def flops_per_image(shapes, batch: int) -> float:
    return sum(2 * m * k * n for m, k, n in shapes) / batch


def gemm_peak(shapes, dtype: torch.dtype, repeats: int) -> float:
    """FLOP/s of the step's GEMMs in `dtype`: the best of `repeats` timings of the whole set."""
    pairs = [(torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype)) for m, k, n in shapes]
    flops = sum(2 * m * k * n for m, k, n in shapes)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(20):
            for a, b in pairs:
                torch.mm(a, b)
        best = min(best, (time.perf_counter() - t) / 20)
    return flops / best


def bare_step(data, steps: int, precision: str) -> float:
    """Images/s of forward + loss + backward + fused Adam on batches already cut, nothing else."""
    model = our_model(0).train()
    model.generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    batches = data.x_train[torch.randperm(len(data.x_train))].split(BATCH)
    batches = [b for b in batches if len(b) == BATCH]
    t = time.perf_counter()
    for i in range(steps):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = model.loss(batches[i % len(batches)])["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps * BATCH / (time.perf_counter() - t)


def main() -> None:
    def extra(ap):
        ap.add_argument("--threads", type=int, default=1, help="torch threads (the app uses 1)")

    args = C.main_args(__doc__.splitlines()[0], extra)
    from explorer.data.datasets import load_dataset
    from explorer.training.loop import native_bf16

    torch.set_num_threads(args.threads)
    data = load_dataset("mnist-5k")
    n = len(data.x_train)
    repeats, epochs = (3, 1) if args.quick else (7, 2)
    shapes = gemm_shapes(our_model(0), BATCH)
    per_image = flops_per_image(shapes, BATCH)
    C.log(f"{args.threads} torch thread(s), load {C.load_average():.1f}; native bf16: "
          f"{native_bf16('cpu')}; {per_image / 1e6:.2f} MFLOP per training image "
          f"({LATENT}-D latent, {HIDDEN} hidden)")

    peak = {"fp32": [], "bf16": []}
    for _ in range(repeats):  # interleaved, then the best: bursts of load only lower a peak
        for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            peak[name].append(gemm_peak(shapes, dtype, 5))
    peak = {k: max(v) for k, v in peak.items()}
    roof = {k: v / per_image for k, v in peak.items()}
    C.log(f"GEMM peak at these shapes: fp32 {peak['fp32'] / 1e9:.0f} GFLOP/s, bf16 "
          f"{peak['bf16'] / 1e9:.0f} GFLOP/s -> roofline {roof['fp32']:,.0f} / "
          f"{roof['bf16']:,.0f} img/s")

    def loop(run, **kw):
        return lambda: epochs * n / run(data, BATCH, epochs, 0, "cpu", **kw)[1]

    sides = {"bare step fp32": lambda: bare_step(data, epochs * n // BATCH, "fp32"),
             "bare step bf16": lambda: bare_step(data, epochs * n // BATCH, "bf16"),
             "ours fp32": loop(run_ours, precision="fp32"),
             "ours bf16": loop(run_ours, precision="bf16"),
             "reference": loop(run_reference)}
    for side in sides.values():  # warm-up: first-call allocations, lazy imports
        side()
    # Also per CPU-second: at one thread it hardly moves with other programs' load.
    cpu_secs: dict[str, list[float]] = {k: [] for k in sides}

    def with_cpu(name, run):
        def timed():
            c = time.process_time()
            value = run()
            cpu_secs[name].append(time.process_time() - c)
            return value
        return timed

    wall = C.interleaved({k: with_cpu(k, f) for k, f in sides.items()}, repeats)
    speed = {k: C.median(v) for k, v in wall.items()}
    images = {k: (epochs * n // BATCH) * BATCH if k.startswith("bare") else epochs * n
              for k in sides}
    per_cpu = {k: images[k] / C.median(v) for k, v in cpu_secs.items()}
    rows = [C.Row("GEMM throughput at the model's shapes, bf16 vs fp32", peak["bf16"] / 1e9,
                  peak["fp32"] / 1e9, "GFLOP/s", goal="(info)", reference_name="fp32",
                  notes=f"{per_image / 1e6:.2f} MFLOP per image")]
    for side, value in speed.items():
        precision = "bf16" if "bf16" in side else "fp32"
        C.log(f"{side:15s} {value:8,.0f} img/s = {value / roof[precision]:.0%} of the "
              f"{precision} roofline ({value * per_image / 1e9:.0f} GFLOP/s)")
        rows.append(C.Row(f"{side}: img/s vs the {precision} roofline", value, roof[precision],
                          "img/s", goal="(info)", reference_name=f"{precision} roofline"))
    bare, ours, ref = speed["bare step fp32"], speed["ours fp32"], speed["reference"]
    cpu_ours, cpu_bare = per_cpu["ours fp32"], per_cpu["bare step fp32"]
    rows += [C.Row("ours fp32 vs the bare fp32 step", ours, bare, "img/s", goal="≥ 85%",
                   met=ours >= 0.85 * bare, reference_name="bare fp32 step"),
             C.Row("ours fp32 vs the bare fp32 step, per CPU-second", cpu_ours, cpu_bare,
                   "img/s", goal="≥ 85%", met=cpu_ours >= 0.85 * cpu_bare,
                   reference_name="bare fp32 step"),
             C.Row("ours bf16 vs the reference", speed["ours bf16"], ref, "img/s",
                   goal="(info)", reference_name="pytorch/examples loop")]
    C.finish("roofline", rows, args, {"peak_flops": peak, "roofline": roof, "speed": speed,
                                      "per_cpu_second": per_cpu, "flops_per_image": per_image, "threads": args.threads})


if __name__ == "__main__":
    main()
