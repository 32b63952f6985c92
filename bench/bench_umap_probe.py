"""How fast can a *seeded* (reproducible) UMAP be for our sizes, and what does it cost in fidelity?

Compares ``umap.UMAP(random_state=0)`` with its defaults against single changes (``n_jobs``,
``low_memory``, ``n_epochs``, ``init``, exact precomputed neighbours) and against the recipe in
:mod:`explorer.projection`, on 10 Gaussian blobs in 16-D. Each configuration is fitted twice in
the same process: both fits must give identical coordinates. Fidelity is scikit-learn's
trustworthiness (k=15) and the accuracy of a 5-NN classifier of the blob labels on the map.

Numba compilation is measured apart, each in a fresh interpreter: the import with an empty numba
cache (a fresh machine), the import with a filled one, and the first fit / transform.

Wall times swing with whatever else runs on the machine; CPU times (``time.process_time``) much
less, so both are printed. Repeats are interleaved across configurations for the same reason.

    python bench/bench_umap_probe.py                 # everything (about 15 minutes on 2 cores)
    python bench/bench_umap_probe.py --sizes 1000 --skip-jit --repeats 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def blobs(n: int, std: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_blobs

    x, y = make_blobs(n_samples=n, n_features=16, centers=10, cluster_std=std, random_state=seed)
    return x.astype(np.float32), y


def fidelity(x: np.ndarray, y: np.ndarray, coords: np.ndarray) -> tuple[float, float]:
    from sklearn.manifold import trustworthiness
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    tw = trustworthiness(x, coords, n_neighbors=15)
    acc = cross_val_score(KNeighborsClassifier(5), coords, y, cv=3).mean()
    return float(tw), float(acc)


def configs(x: np.ndarray) -> dict:
    """name -> function returning a fitted (N, 2) map; each builds its estimator afresh."""
    import umap
    from sklearn.decomposition import PCA
    from sklearn.neighbors import NearestNeighbors

    from explorer import projection

    def umap_with(**kw):
        return lambda: umap.UMAP(random_state=0, **kw).fit_transform(x)

    def exact_knn(**kw):
        def run():
            nn = NearestNeighbors(n_neighbors=15).fit(x)
            d, i = nn.kneighbors(x, 15)
            knn = (i.astype(np.int32), d.astype(np.float32), projection._ExactIndex(nn))
            return umap.UMAP(random_state=0, n_jobs=1, precomputed_knn=knn, **kw).fit_transform(x)
        return run

    def pca_init(**kw):
        def run():
            init = PCA(2, random_state=0).fit_transform(x).astype(np.float32)
            return umap.UMAP(random_state=0, init=init, **kw).fit_transform(x)
        return run

    return {
        "defaults (baseline)": umap_with(),
        "n_jobs=2": umap_with(n_jobs=2),  # umap overrides it to 1 when seeded
        "low_memory=False": umap_with(low_memory=False),
        "transform_seed=0": umap_with(transform_seed=0),
        "n_epochs=200": umap_with(n_epochs=200),
        "n_epochs=100": umap_with(n_epochs=100),
        "init='pca'": umap_with(init="pca"),
        "init=PCA array": pca_init(),
        "exact precomputed kNN": exact_knn(),
        "exact kNN + n_epochs=200 (spectral init)": exact_knn(n_epochs=200),
        "ours (fit_projection)": lambda: projection.project(x, projection.ProjectionParams("umap")),
    }


def warm_timings(sizes: list[int], stds: list[float], repeats: int, only: list[str] | None):
    import umap

    from explorer import projection

    warnings.filterwarnings("ignore")
    # Compile everything both code paths use, so the timings below exclude numba's JIT.
    projection.warm_up_umap()
    tiny, _ = blobs(60, 2.0)
    umap.UMAP(random_state=0, n_neighbors=10, force_approximation_algorithm=True).fit(tiny)
    umap.UMAP(n_neighbors=10).fit(tiny)  # the unseeded (parallel) kernels too
    rows = []
    for n in sizes:
        for std in stds:
            x, y = blobs(n, std)
            runs = configs(x)
            runs["unseeded defaults (parallel, not reproducible)"] = (
                lambda x=x: umap.UMAP().fit_transform(x))
            runs = {k: f for k, f in runs.items()
                    if not only or any(o in k for o in only) or "baseline" in k}
            walls = {k: [] for k in runs}
            cpus = {k: [] for k in runs}
            maps = {k: [] for k in runs}
            # Repeats outermost, so that a burst of load on this shared machine hits every
            # configuration alike rather than all the repeats of one.
            for _ in range(repeats):
                for name, fit in runs.items():
                    t, c = time.perf_counter(), time.process_time()
                    maps[name].append(np.asarray(fit(), dtype=np.float32))
                    walls[name].append(time.perf_counter() - t)
                    cpus[name].append(time.process_time() - c)
            for name in runs:
                same = all(np.array_equal(maps[name][0], m) for m in maps[name][1:])
                tw, acc = fidelity(x, y, maps[name][0])
                row = dict(n=n, std=std, config=name, best_wall_s=min(walls[name]),
                           median_wall_s=float(np.median(walls[name])),
                           best_cpu_s=min(cpus[name]), reproducible=same,
                           trustworthiness=tw, knn_acc=acc)
                rows.append(row)
                print(f"N={n:>6} std={std:<4} {name:48s} wall best {min(walls[name]):6.2f} s "
                      f"median {np.median(walls[name]):6.2f} s  cpu best {min(cpus[name]):6.2f} s"
                      f"  repro={same!s:5s}  trust={tw:.4f}  acc={acc:.3f}", flush=True)
            print(f"(load average now {os.getloadavg()[0]:.1f})", flush=True)
    return rows


def fresh(code: str, env: dict | None = None) -> dict:
    """Run `code` in a new interpreter; it prints one JSON line of timings."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore", **(env or {})}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


JIT_OURS = """
    import json, time
    t = time.perf_counter(); import umap; t_import = time.perf_counter() - t
    from explorer import projection
    t = time.perf_counter(); projection.warm_up_umap(); t_warm = time.perf_counter() - t
    cpu_to_warm = time.process_time()
    from bench.bench_umap_probe import blobs
    x, _ = blobs({n}, 4.0)
    t = time.perf_counter(); p = projection.fit_projection(x); t_fit = time.perf_counter() - t
    t = time.perf_counter(); p.transform(x[:50] + 0.1); t_tr = time.perf_counter() - t
    print(json.dumps(dict(import_s=t_import, warm_up_s=t_warm, fit_s=t_fit, transform_s=t_tr,
                          cpu_import_and_warm_s=cpu_to_warm, cpu_total_s=time.process_time())))
"""

JIT_OURS_NO_WARMUP = """
    import json, time
    t = time.perf_counter(); import umap; t_import = time.perf_counter() - t
    from explorer import projection
    from bench.bench_umap_probe import blobs
    x, _ = blobs({n}, 4.0)
    t = time.perf_counter(); p = projection.fit_projection(x); t_fit = time.perf_counter() - t
    t = time.perf_counter(); p.transform(x[:50] + 0.1); t_tr = time.perf_counter() - t
    print(json.dumps(dict(import_s=t_import, fit_s=t_fit, transform_s=t_tr,
                          cpu_total_s=time.process_time())))
"""

JIT_DEFAULT = """
    import json, time
    t = time.perf_counter(); import umap; t_import = time.perf_counter() - t
    from bench.bench_umap_probe import blobs
    x, _ = blobs({n}, 4.0)
    t = time.perf_counter(); r = umap.UMAP(random_state=0).fit(x); t_fit = time.perf_counter() - t
    t = time.perf_counter(); r.transform(x[:50] + 0.1); t_tr = time.perf_counter() - t
    cpu_first = time.process_time()
    t = time.perf_counter(); r = umap.UMAP(random_state=0).fit(x); t_fit2 = time.perf_counter() - t
    print(json.dumps(dict(import_s=t_import, fit_s=t_fit, transform_s=t_tr, second_fit_s=t_fit2,
                          cpu_to_first_transform_s=cpu_first)))
"""

RESPONSIVENESS = """
    import json, threading, time
    from explorer import projection, projection_jobs
    from bench.bench_umap_probe import blobs
    x, _ = blobs({n}, 4.0)
    job = projection_jobs.ProjectionJob(x, projection.ProjectionParams("umap"))
    gaps = []
    t0 = time.perf_counter(); job.start()
    last = time.perf_counter()
    while not job.done:            # the "UI thread": wakes every 10 ms, records how late it is
        time.sleep(0.01)
        now = time.perf_counter(); gaps.append(now - last - 0.01); last = now
    print(json.dumps(dict(total_s=time.perf_counter() - t0, max_late_ms=1000 * max(gaps),
                          p99_late_ms=1000 * float(sorted(gaps)[int(0.99 * len(gaps))]),
                          error=job.error)))
"""


def jit_timings(sizes: list[int]) -> dict:
    res = {}
    with tempfile.TemporaryDirectory() as cache:
        # An empty NUMBA_CACHE_DIR stands in for a fresh machine: every cached kernel recompiles.
        code = "import json,time; t=time.perf_counter(); import umap; " \
               "print(json.dumps(dict(import_s=time.perf_counter()-t, cpu_s=time.process_time())))"
        res["import, empty numba cache"] = fresh(code, {"NUMBA_CACHE_DIR": cache})
        res["import, filled numba cache"] = fresh(code, {"NUMBA_CACHE_DIR": cache})
    for n in sizes:
        res[f"ours N={n}: import + warm_up_umap, then fit"] = fresh(JIT_OURS.format(n=n))
        res[f"ours N={n}: first fit with no warm-up"] = fresh(JIT_OURS_NO_WARMUP.format(n=n))
        res[f"umap defaults N={n}: first fit"] = fresh(JIT_DEFAULT.format(n=n))
        res[f"job N={n} from a cold process: main-thread lateness"] = fresh(
            RESPONSIVENESS.format(n=n))
    for k, v in res.items():
        print(f"{k:58s} " + "  ".join(f"{a}={b:.2f}" if isinstance(b, float) else f"{a}={b}"
                                       for a, b in v.items()), flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--stds", type=float, nargs="+", default=[2.0, 6.0],
                    help="blob spread: 2 gives separated blobs, 6 overlapping ones")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", nargs="*", help="substrings of configurations to run")
    ap.add_argument("--skip-warm", action="store_true")
    ap.add_argument("--skip-jit", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    out = {}
    if not args.skip_jit:
        out["jit"] = jit_timings(args.sizes)
    if not args.skip_warm:
        out["warm"] = warm_timings(args.sizes, args.stds, args.repeats, args.only)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
