"""Training: our ``train()`` against the pytorch/examples VAE loop, same network, same start.

The reference is pytorch/examples' ``vae/main.py`` written out here: its ``VAE`` (fc1 784->400,
fc21/fc22 400->20, fc3 20->400, fc4 400->784, sigmoid), a ``DataLoader`` (``shuffle=True``, no
workers) over a dataset that serves each image as torchvision's ``MNIST`` with ``ToTensor`` does
(a uint8 array -> ``PIL.Image`` -> float tensor, one image at a time), Adam at 1e-3, and its loop
(zero_grad, forward, BCE(sum) + KLD, backward, ``loss.item()``, step). Ours is
``explorer.training.loop.train`` on ``ModelConfig("vae", "mlp", (1, 28, 28), 20, (400,))``, the same
network (our encoder's 400->40 head is fc21 and fc22 side by side), at its default precision
("auto") and at fp32; the reference starts from a copy of our initial weights. Both train on
mnist-5k's 4,000 training images, on as many torch threads as the app uses (1).

Measured, interleaved, medians: images per second of wall clock and per CPU-second at batch 128
(and 32 ... 512 in a full run); ours is timed around all of ``train()``, its per-epoch test
evaluation included. The whole process: ``python -m explorer train`` against the reference as a
script of its own (``--reference-run N``: imports, data, N epochs), each launched and timed
from outside, 100 epochs (10 with --quick). Quality: test -ELBO (``explorer.analysis.metrics.neg_elbo``,
seeded) after 10 epochs, the reference scored through our class by the very same code; median
over seeds 0-2.

    python bench/bench_training.py [--quick] [--device cpu|cuda|auto] [--threads N] [--json out]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

from explorer.families.models import ModelConfig, build_model  # noqa: E402
from explorer.training.loop import TrainConfig, pick_device, train  # noqa: E402

LATENT, HIDDEN = 20, 400


class ExamplesVAE(nn.Module):
    """pytorch/examples' VAE (vae/main.py)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, HIDDEN)
        self.fc21 = nn.Linear(HIDDEN, LATENT)
        self.fc22 = nn.Linear(HIDDEN, LATENT)
        self.fc3 = nn.Linear(LATENT, HIDDEN)
        self.fc4 = nn.Linear(HIDDEN, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        return mu + torch.randn_like(std) * std

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


def examples_loss(recon_x, x, mu, logvar):
    """pytorch/examples' loss_function: BCE + KL, summed over the batch (Kingma & Welling 2014,
    appendix B)."""
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    return bce - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def our_model(seed: int):
    torch.manual_seed(seed)
    return build_model(ModelConfig("vae", "mlp", (1, 28, 28), LATENT, (HIDDEN,)))


# Our MLP VAE: encoder = [Flatten, Linear 784->400, ReLU, Linear 400->2*20 (mu | logvar)],
# decoder = [Linear 20->400, ReLU, Linear 400->784, Unflatten]. (ours key, ref keys) pairs:
LAYERS = [("encoder.1", ("fc1",)), ("encoder.3", ("fc21", "fc22")), ("decoder.0", ("fc3",)),
          ("decoder.2", ("fc4",))]


def copy_weights(ours, ref, to_reference: bool) -> None:
    """Copy one network's weights into the other (fc21 and fc22 are our head's two halves)."""
    o, r = ours.state_dict(), ref.state_dict()
    with torch.no_grad():
        for mine, theirs in LAYERS:
            for p in ("weight", "bias"):
                if to_reference:
                    for part, name in zip(o[f"{mine}.{p}"].chunk(len(theirs)), theirs,
                                          strict=True):
                        r[f"{name}.{p}"].copy_(part)
                else:
                    o[f"{mine}.{p}"].copy_(torch.cat([r[f"{name}.{p}"] for name in theirs]))


def run_ours(data, batch: int, epochs: int, seed: int, device: str, precision: str = "auto"):
    """explorer.training.loop.train; returns (model, wall seconds)."""
    model = our_model(seed)
    t = time.perf_counter()
    train(model, data, TrainConfig(epochs=epochs, batch_size=batch, lr=1e-3, seed=seed,
                                   device=device, precision=precision))
    return model, time.perf_counter() - t


class PILDigits(torch.utils.data.Dataset):
    """Serves images the way torchvision's ``MNIST`` + ``ToTensor`` does: each one a uint8
    array made a ``PIL.Image`` (mode "L"), then a (1, H, W) float tensor in [0, 1]."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        self.pixels = (x[:, 0] * 255).round().to(torch.uint8).numpy()  # (N, H, W), as stored
        self.targets = y.tolist()

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, i):
        import numpy as np
        from PIL import Image

        img = Image.fromarray(self.pixels[i], mode="L")
        pic = torch.from_numpy(np.array(img, np.uint8, copy=True))  # torchvision's to_tensor
        return pic.view(1, *pic.shape).float().div(255), self.targets[i]


def run_reference(data, batch: int, epochs: int, seed: int, device: str, after_epoch=None):
    """The pytorch/examples loop; returns (model, wall seconds of the loop). `after_epoch(model)`
    runs after each epoch, as the example's test pass does."""
    from torch.utils.data import DataLoader

    dev = pick_device(device)
    ref = ExamplesVAE()
    copy_weights(our_model(seed), ref, to_reference=True)  # the very same starting weights
    ref.to(dev).train()
    torch.manual_seed(seed)
    loader = DataLoader(PILDigits(data.x_train, data.y_train), batch_size=batch, shuffle=True,
                        pin_memory=dev.type == "cuda")
    optimizer = torch.optim.Adam(ref.parameters(), lr=1e-3)
    t = time.perf_counter()
    for _ in range(epochs):
        train_loss = 0.0
        for x, _ in loader:
            x = x.to(dev)
            optimizer.zero_grad()
            recon, mu, logvar = ref(x)
            loss = examples_loss(recon, x, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        if after_epoch is not None:
            after_epoch(ref)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return ref, time.perf_counter() - t


def test_neg_elbo(model, data) -> float:
    from explorer.analysis.metrics import neg_elbo

    if isinstance(model, ExamplesVAE):  # score the reference through our class: same code
        ours = our_model(0)
        copy_weights(ours, model.cpu(), to_reference=False)
        model = ours
    return neg_elbo(model.cpu(), data.x_test, seed=0)


def reference_process(epochs: int, device: str) -> None:
    """The reference as a script of its own (``--reference-run N``): imports, data, N epochs of
    the loop, each followed by pytorch/examples' test pass over the test split."""
    from torch.utils.data import DataLoader

    from explorer.data.datasets import load_dataset

    data = load_dataset("mnist-5k")
    dev = pick_device(device)
    tests = DataLoader(PILDigits(data.x_test, data.y_test), batch_size=128)
    test_loss = 0.0

    def test_pass(ref) -> None:
        nonlocal test_loss
        ref.eval()
        test_loss = 0.0
        with torch.no_grad():
            for x, _ in tests:
                x = x.to(dev)
                recon, mu, logvar = ref(x)
                test_loss += examples_loss(recon, x, mu, logvar).item()
        ref.train()

    run_reference(data, 128, epochs, 0, device, after_epoch=test_pass)
    print(f"reference: {epochs} epochs, last test loss {test_loss / len(data.x_test):.2f}")


def time_processes(epochs: int, repeats: int, threads: int, device: str) -> dict[str, float]:
    """Median wall seconds of each whole process, launched alternately from here."""
    import os
    import subprocess
    import tempfile

    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    out = Path(tempfile.mkdtemp(prefix="bench-train-")) / "run"
    cmds = {
        "ours": [sys.executable, "-m", "explorer", "train", "--dataset", "mnist-5k",
                 "--latent-dim", str(LATENT), "--hidden", str(HIDDEN), "--epochs", str(epochs),
                 "--device", device, "--out", str(out), "--overwrite"],
        "reference": [sys.executable, __file__, "--reference-run", str(epochs),
                      "--device", device],
    }

    def launch(side):
        def run():
            t = time.perf_counter()
            subprocess.run(cmds[side], cwd=C.ROOT, env=env, check=True, capture_output=True)
            return time.perf_counter() - t
        return run

    secs = C.interleaved({side: launch(side) for side in cmds}, repeats)
    return {side: C.median(v) for side, v in secs.items()}


def main() -> None:
    def extra(ap):
        ap.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
        ap.add_argument("--threads", type=int, default=1, help="torch threads (the app uses 1)")
        ap.add_argument("--reference-run", type=int, metavar="EPOCHS",
                        help="run only the reference, as a process of its own, and exit")

    args = C.main_args(__doc__.splitlines()[0], extra)
    torch.set_num_threads(args.threads)
    if args.reference_run:
        return reference_process(args.reference_run, args.device)
    from explorer.data.datasets import load_dataset
    from explorer.training.loop import native_bf16

    data = load_dataset("mnist-5k")
    n, dev = len(data.x_train), str(pick_device(args.device))
    epochs, repeats = (1, 3) if args.quick else (2, 5)
    batches = (128,) if args.quick else (32, 64, 128, 256, 512)
    process_epochs = 10 if args.quick else 100
    seeds = (0, 1, 2)
    C.log(f"device {dev} (native bf16: {native_bf16(pick_device(dev).type)}), {args.threads} "
          f"torch thread(s), load {C.load_average():.1f}; {epochs} epoch(s) x {repeats} repeats")
    sides = {"ours": lambda d, b, e, s, v: run_ours(d, b, e, s, v, "auto"),
             "ours fp32": lambda d, b, e, s, v: run_ours(d, b, e, s, v, "fp32"),
             "reference": run_reference}
    for run in sides.values():  # warm every path up: first-call allocations, lazy imports
        run(data, 128, 1, 0, dev)

    speed, cpu = {}, {}
    for batch in batches:
        cpu_runs: dict[str, list[float]] = {side: [] for side in sides}

        def timed(side, batch=batch, cpu_runs=cpu_runs):
            def run():
                c = time.process_time()
                secs = sides[side](data, batch, epochs, 0, dev)[1]
                cpu_runs[side].append(epochs * n / (time.process_time() - c))
                return epochs * n / secs
            return run

        wall = C.interleaved({s: timed(s) for s in sides}, repeats)
        speed[batch] = {s: C.median(v) for s, v in wall.items()}
        cpu[batch] = {s: C.median(v) for s, v in cpu_runs.items()}
        C.log(f"batch {batch:3d}: " + ", ".join(f"{s} {v:7,.0f}" for s, v in speed[batch].items())
              + " img/s")

    process = time_processes(process_epochs, 1 if args.quick else 2, args.threads, dev)
    C.log(f"whole process, {process_epochs} epochs: ours {process['ours']:.1f} s, reference "
          f"{process['reference']:.1f} s")

    elbo: dict[str, list[float]] = {"ours": [], "reference": []}
    for seed in seeds:
        for side in ("ours", "reference") if seed % 2 == 0 else ("reference", "ours"):
            model, _ = sides[side](data, 128, 10, seed, dev)
            elbo[side].append(test_neg_elbo(model, data))
        C.log(f"seed {seed}: test -ELBO after 10 epochs: ours {elbo['ours'][-1]:.2f}, "
              f"reference {elbo['reference'][-1]:.2f} nats")
    med = {s: C.median(v) for s, v in elbo.items()}
    gap = (med["ours"] - med["reference"]) / med["reference"]

    ref_name = "pytorch/examples VAE loop (DataLoader, PIL image -> ToTensor per sample)"
    s128 = speed[128]
    rows = [C.Row(f"training img/s, batch 128, {args.threads} thread(s), {dev}", s128["ours"],
                  s128["reference"], "img/s", goal="≥ 2.5×",
                  met=s128["ours"] >= 2.5 * s128["reference"], reference_name=ref_name,
                  notes="ours timed around train(), its eval included; default precision"),
            C.Row("training img/s, batch 128, ours at fp32", s128["ours fp32"], s128["reference"],
                  "img/s", goal="(info)", reference_name=ref_name),
            C.Row(f"whole process img/s, {process_epochs} epochs (`python -m explorer train`)",
                  process_epochs * n / process["ours"], process_epochs * n / process["reference"],
                  "img/s", goal="≥ 2.0×",
                  met=process["reference"] >= 2.0 * process["ours"], reference_name=ref_name,
                  notes=f"{process['ours']:.1f} s vs {process['reference']:.1f} s, launch to exit")]
    for batch in batches:
        rows.append(C.Row(f"training img per CPU-s, batch {batch}", cpu[batch]["ours"],
                          cpu[batch]["reference"], "img/s", goal="(info)",
                          reference_name=ref_name))
    rows.append(C.Row("test −ELBO after 10 epochs, median of seeds 0–2", med["ours"],
                      med["reference"], "nats", goal="within 1%", met=abs(gap) <= 0.01,
                      notes=f"ours − ref = {100 * gap:+.2f}%"))
    C.finish("training", rows, args, {"device": dev, "threads": args.threads, "wall": speed,
                                      "cpu": cpu, "process_s": process, "elbo": elbo})


if __name__ == "__main__":
    main()
