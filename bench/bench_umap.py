"""UMAP of a model's codes: our recipe (``explorer.analysis.projection.fit_projection``) against
``umap.UMAP(random_state=seed)`` with umap-learn's defaults, timed and scored in the same run.

The codes: a 16-D VAE trained for 5 epochs on mnist-5k (seed 0), its 1,000 test images; in a
full run also 10,000 codes (the codes of all 5,000 images, twice, each copy with a little seeded
jitter). Both sides are warmed up first (numba's compilation, and for the defaults at 10,000
points pynndescent's), then fitted once per seed, alternating which goes first. Reported: the
median time of a fit, and trustworthiness (k=10, scikit-learn) of the 1,000-point maps as a mean
(and spread) over seeds 0-2 (0-4 in a full run). Goals: faster than the defaults, and
trustworthiness no more than 0.01 below theirs.

    python bench/bench_umap.py [--quick] [--json out.json]
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402


def codes_of_a_fresh_model():
    """(1,000 test codes, 10,000 jittered codes) of a 16-D VAE trained briefly on mnist-5k."""
    import torch

    from explorer.analysis import latent
    from explorer.data.datasets import load_dataset
    from explorer.families.models import ModelConfig, build_model
    from explorer.training.loop import TrainConfig, train

    data = load_dataset("mnist-5k")
    torch.manual_seed(0)
    model = build_model(ModelConfig("vae", "mlp", (1, 28, 28), 16, (400,)))
    train(model, data, TrainConfig(epochs=5, batch_size=128, seed=0, device="cpu"))
    test = latent.encode_dataset(model, data.x_test)
    every = np.concatenate([latent.encode_dataset(model, data.x_train), test])
    rng = np.random.default_rng(0)
    jitter = 0.05 * every.std(0)
    big = np.concatenate([every + rng.normal(size=every.shape) * jitter for _ in range(2)])
    return test.astype(np.float32), big.astype(np.float32)


def main() -> None:
    args = C.main_args(__doc__.splitlines()[0])
    warnings.filterwarnings("ignore")  # umap's notes on random_state and n_jobs
    import torch
    import umap
    from sklearn.manifold import trustworthiness

    from explorer.analysis import projection

    torch.set_num_threads(1)  # as in the app; numba's threads are umap's own business
    t = time.perf_counter()
    codes_1k, codes_10k = codes_of_a_fresh_model()
    C.log(f"load {C.load_average():.1f}; codes ready in {time.perf_counter() - t:.1f} s")

    def ours(x, seed):
        return projection.fit_projection(x, projection.ProjectionParams("umap", seed=seed)).coords

    def defaults(x, seed):
        return umap.UMAP(random_state=seed).fit_transform(x)

    t = time.perf_counter()
    projection.warm_up_umap()
    defaults(codes_1k[:60], 0)
    if not args.quick:  # the defaults switch to pynndescent from 4,096 points: compile it too
        umap.UMAP(random_state=0, n_neighbors=10, force_approximation_algorithm=True).fit(
            codes_1k[:60])
    C.log(f"warm-up of both sides: {time.perf_counter() - t:.1f} s")

    sizes = {1000: (codes_1k, 3 if args.quick else 5)}
    if not args.quick:
        sizes[10_000] = (codes_10k, 3)
    times, trust = {}, {}
    for n, (x, n_seeds) in sizes.items():
        times[n] = {"ours": [], "defaults": []}
        trust[n] = {"ours": [], "defaults": []}
        for seed in range(n_seeds):
            order = ("ours", "defaults") if seed % 2 == 0 else ("defaults", "ours")
            for side in order:
                t = time.perf_counter()
                coords = (ours if side == "ours" else defaults)(x, seed)
                times[n][side].append(time.perf_counter() - t)
                if n == 1000:  # trustworthiness is quadratic in N: the small map only
                    trust[n][side].append(float(trustworthiness(x, coords, n_neighbors=10)))
        C.log(f"N={n:,}: ours {C.median(times[n]['ours']):.2f} s, defaults "
              f"{C.median(times[n]['defaults']):.2f} s (median of {n_seeds} seeds)"
              + "".join(f"; trustworthiness {s} {statistics.mean(v):.4f}"
                        for s, v in trust[n].items() if v))

    rows = []
    for n in sizes:
        o, d = C.median(times[n]["ours"]), C.median(times[n]["defaults"])
        rows.append(C.Row(f"UMAP of {n:,} codes, warm (median over seeds)", o, d, "s",
                          goal="faster than defaults", met=o < d,
                          reference_name="umap.UMAP(random_state=seed) defaults"))
    tw = {s: (statistics.mean(v), statistics.stdev(v)) for s, v in trust[1000].items()}
    rows.append(C.Row(f"UMAP 1,000 trustworthiness (k=10), mean of {len(trust[1000]['ours'])} "
                      "seeds", tw["ours"][0], tw["defaults"][0], "", goal="≥ ref − 0.01",
                      met=tw["ours"][0] >= tw["defaults"][0] - 0.01,
                      reference_name="umap.UMAP(random_state=seed) defaults",
                      notes=f"sd {tw['ours'][1]:.4f} vs {tw['defaults'][1]:.4f}"))
    C.finish("umap", rows, args, {"seconds": times, "trustworthiness": trust})


if __name__ == "__main__":
    main()
