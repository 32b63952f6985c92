"""The latent map: time to a picture, and our UMAP recipe against umap-learn's defaults.

(a) A shipped model (``pretrained/mnist-vae-mlp-z16``): the server-side time to get the map from
    its precomputed ``projection-umap.safetensors``: ``projection_files.load_coords`` +
    ``figures.map_figure`` + ``fig.to_json()``. Goal < 0.5 s. Reference: what the page would
    do without the shipped file, a (warm) UMAP fit of the same codes + the same figure. When the
    shipped file is missing (``pretrained/`` being rebuilt), a stand-in of the same format and
    size is written to a temporary folder and timed instead (noted in the output).
(b) A freshly trained model (16-D VAE, mnist-5k): time to the first picture, PCA of its 1,000
    test codes (``fit_projection(pca)``) + figure + JSON. Goal < 1 s. Reference: the same with
    ``umap.UMAP(random_state=0)`` defaults, warm.
(c) Fresh UMAP of 1,000 codes (that model's test set) and of 10,000 (the codes of all 5,000
    images, twice, with a little seeded jitter; not with --quick): ``fit_projection(umap)`` against
    ``umap.UMAP(random_state=0).fit_transform`` (defaults), both after warm-up, interleaved;
    trustworthiness (k=10) of both maps of the 1,000. Numba's compilation is measured apart, each
    side in a fresh interpreter (numba's on-disk cache as this machine has it): import + first fit.

    python bench/bench_map.py [--quick] [--json out.json]
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

SHIPPED = "pretrained/mnist-vae-mlp-z16"

COLD_OURS = """
import json, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
codes = np.load({path!r})
t = time.perf_counter(); import umap; t_import = time.perf_counter() - t
from explorer import projection
t = time.perf_counter(); projection.warm_up_umap(); t_warm = time.perf_counter() - t
t = time.perf_counter(); projection.fit_projection(codes, projection.ProjectionParams("umap"))
t_fit = time.perf_counter() - t
t = time.perf_counter(); projection.fit_projection(codes, projection.ProjectionParams("umap"))
t_fit2 = time.perf_counter() - t
print(json.dumps(dict(import_s=t_import, warm_up_s=t_warm, first_fit_s=t_fit,
                      total_s=t_import + t_warm + t_fit, second_fit_s=t_fit2)))
"""

COLD_REF = """
import json, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
codes = np.load({path!r})
t = time.perf_counter(); import umap; t_import = time.perf_counter() - t
t = time.perf_counter(); umap.UMAP(random_state=0).fit_transform(codes)
t_fit = time.perf_counter() - t
t = time.perf_counter(); umap.UMAP(random_state=0).fit_transform(codes)
t_fit2 = time.perf_counter() - t
print(json.dumps(dict(import_s=t_import, first_fit_s=t_fit, total_s=t_import + t_fit,
                      second_fit_s=t_fit2)))
"""


def figure_json(coords, labels, names, method: str) -> int:
    from explorer.figures import map_figure

    return len(map_figure(coords, labels, names, method).to_json())


def fresh_model(data, epochs: int):
    import torch

    from explorer.models import ModelConfig, build_model
    from explorer.training import TrainConfig, train

    torch.manual_seed(0)
    model = build_model(ModelConfig("vae", "mlp", (1, 28, 28), 16, (400,)))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # set-up, not measured: one thread is fastest on a shared machine
    try:
        train(model, data, TrainConfig(epochs=epochs, batch_size=128, seed=0, device="cpu"))
    finally:
        torch.set_num_threads(threads)
    return model


def main() -> None:
    args = C.main_args(__doc__.splitlines()[0])
    warnings.filterwarnings("ignore")
    import numpy as np
    import torch

    from explorer import checkpoints, latent, projection
    from explorer.datasets import load_dataset
    from explorer.projection_files import load_coords, projection_file, save_coords

    quick = args.quick
    reps_fast = 5 if quick else 15
    reps_1k = 2 if quick else 5
    reps_10k = 3  # full runs only: --quick skips the 10,000-point fits
    data = load_dataset("mnist-5k")
    labels, names = data.y_test.numpy(), list(data.class_names)
    C.log(f"load {C.load_average():.1f}; torch threads {torch.get_num_threads()}")
    details: dict = {}
    rows: list[C.Row] = []
    work = Path(tempfile.mkdtemp(prefix="bench-map-"))

    # -- a fresh model and its codes ------------------------------------------------------------
    t = time.perf_counter()
    model = fresh_model(data, 3 if quick else 10)
    details["train_s"] = time.perf_counter() - t
    t = time.perf_counter()
    codes_1k = latent.encode_dataset(model, data.x_test)
    details["encode_1k_s"] = time.perf_counter() - t
    train_codes = latent.encode_dataset(model, data.x_train)
    all_codes = np.concatenate([train_codes, codes_1k])  # 5,000
    rng = np.random.default_rng(0)
    jitter = 0.05 * all_codes.std(0)
    codes_10k = np.concatenate([all_codes + rng.normal(size=all_codes.shape) * jitter,
                                all_codes + rng.normal(size=all_codes.shape) * jitter]
                               ).astype(np.float32)
    np.save(work / "codes_1k.npy", codes_1k)
    np.save(work / "codes_10k.npy", codes_10k)
    C.log(f"fresh 16-D VAE trained in {details['train_s']:.1f} s; codes 1k {codes_1k.shape}, "
          f"10k {codes_10k.shape}")

    # -- cold: numba compilation, each side in a fresh interpreter --------------------------------
    cold = {}
    for n, path in ((1000, work / "codes_1k.npy"), (10_000, work / "codes_10k.npy")):
        if n == 10_000 and quick:
            continue
        for side, code in (("ours", COLD_OURS), ("reference", COLD_REF)):
            try:
                cold[f"{side}_{n}"] = C.run_python(code.format(path=str(path)), timeout=900)
            except Exception as e:  # noqa: BLE001
                cold[f"{side}_{n}"] = {"error": str(e)[-500:]}
            C.log(f"cold {side:9s} N={n}: {cold[f'{side}_{n}']}")
    details["cold"] = cold

    # -- warm-up, in this process, of both code paths ---------------------------------------------
    import umap

    t = time.perf_counter()
    projection.warm_up_umap()
    tiny = codes_1k[:60]
    umap.UMAP(random_state=0).fit_transform(tiny)
    if not quick:  # pynndescent, which umap's defaults use from 4,096 points: minutes to compile
        umap.UMAP(random_state=0, n_neighbors=10, force_approximation_algorithm=True).fit(tiny)
    details["warm_up_s"] = time.perf_counter() - t
    C.log(f"warm-up of both UMAP paths in this process: {details['warm_up_s']:.1f} s")

    def ours_umap(x):
        return projection.fit_projection(x, projection.ProjectionParams("umap")).coords

    def ref_umap(x):
        return np.asarray(umap.UMAP(random_state=0).fit_transform(x), dtype=np.float32)

    # -- (c) warm UMAP, 1,000 and 10,000 --------------------------------------------------------------
    maps, warm = {}, {}
    sizes = ((1000, codes_1k, reps_1k),) if quick else ((1000, codes_1k, reps_1k),
                                                        (10_000, codes_10k, reps_10k))
    for n, x, reps in sizes:
        def run(fn, key, x=x):
            def go():
                t = time.perf_counter()
                maps[key] = fn(x)
                return time.perf_counter() - t
            return go
        times = C.interleaved({"ours": run(ours_umap, f"ours_{n}"),
                               "reference": run(ref_umap, f"reference_{n}")}, reps)
        warm[n] = {k: C.median(v) for k, v in times.items()} | {"runs": times}
        C.log(f"warm UMAP N={n}: ours {warm[n]['ours']:.2f} s, umap defaults "
              f"{warm[n]['reference']:.2f} s ({reps} each)")
    details["warm"] = warm

    from sklearn.manifold import trustworthiness

    tw = {side: float(trustworthiness(codes_1k, maps[f"{side}_1000"], n_neighbors=10))
          for side in ("ours", "reference")}
    details["trustworthiness_1k"] = tw
    C.log(f"trustworthiness (k=10), N=1000: ours {tw['ours']:.4f}, defaults {tw['reference']:.4f}")

    # -- figure + JSON alone (shared by (a) and (b)) -------------------------------------------------
    def draw_only():
        figure_json(maps["ours_1000"], labels, names, "umap")

    fig_s = C.median(C.interleaved({"fig": draw_only}, reps_fast)["fig"])
    details["figure_json_s"] = fig_s

    # -- (a) shipped model -------------------------------------------------------------------------
    folder = C.ROOT / SHIPPED
    shipped_note = ""
    if (folder / "model.safetensors").exists():
        smodel, card = checkpoints.load_model(folder)
        content_hash = card.get("content_hash", "")
        path = projection_file(folder, "umap")
        if not path.exists() or load_coords(path, content_hash) is None:
            scodes = latent.encode_dataset(smodel, data.x_test)
            stand_in = projection.fit_projection(scodes, projection.ProjectionParams("pca")).coords
            path = work / "projection-umap.safetensors"
            save_coords(path, stand_in, content_hash, "test", projection.ProjectionParams("umap"))
            shipped_note = "shipped file missing: a stand-in of the same format and size timed"
            C.log(f"(a) {SHIPPED}: no valid projection-umap.safetensors; {shipped_note}")

        def load_and_draw():
            coords = load_coords(path, content_hash)
            figure_json(coords, labels, names, "umap")

        load_and_draw()
        t_a = C.median(C.interleaved({"a": load_and_draw}, reps_fast)["a"])
        ref_a = warm[1000]["ours"] + fig_s
        details["shipped"] = {"seconds": t_a, "path": str(path), "note": shipped_note}
        C.log(f"(a) shipped map: load + figure + JSON {1e3 * t_a:.1f} ms")
        rows.append(C.Row("map (a): shipped model, load+figure+JSON", t_a, ref_a, "s",
                          goal="< 0.5 s", met=t_a < 0.5,
                          reference_name="fresh UMAP (ours, warm) + figure",
                          notes=shipped_note or "pretrained/mnist-vae-mlp-z16"))
    else:
        C.log(f"(a) {SHIPPED} is missing (pretrained/ being rebuilt?): skipped")
        details["shipped"] = {"error": "model missing"}
        rows.append(C.Row("map (a): shipped model, load+figure+JSON", None, None, "s",
                          goal="< 0.5 s", notes="model missing"))

    # -- (b) a fresh model: PCA first ---------------------------------------------------------------
    def pca_first():
        coords = projection.fit_projection(codes_1k, projection.ProjectionParams("pca")).coords
        figure_json(coords, labels, names, "pca")

    pca_first()
    t_b = C.median(C.interleaved({"b": pca_first}, reps_fast)["b"])
    ref_b = warm[1000]["reference"] + fig_s
    details["pca_first_s"] = t_b
    C.log(f"(b) fresh model, PCA + figure + JSON: {1e3 * t_b:.1f} ms (+ encoding the 1,000 test "
          f"images: {1e3 * details['encode_1k_s']:.0f} ms)")
    rows.append(C.Row("map (b): fresh model, PCA+figure+JSON", t_b, ref_b, "s", goal="< 1 s",
                      met=t_b < 1.0, reference_name="umap.UMAP defaults (warm) + figure",
                      notes=f"encoding the test set: {details['encode_1k_s']:.2f} s more"))

    for n in warm:
        w = warm[n]
        rows.append(C.Row(f"UMAP {n:,} codes, warm", w["ours"], w["reference"], "s",
                          goal="faster than defaults", met=w["ours"] < w["reference"],
                          reference_name="umap.UMAP(random_state=0) defaults"))
    rows.append(C.Row("UMAP 1,000 trustworthiness (k=10)", tw["ours"], tw["reference"], "",
                      goal="≥ ref − 0.01", met=tw["ours"] >= tw["reference"] - 0.01))
    for n in (1000, 10_000):
        o, r = cold.get(f"ours_{n}"), cold.get(f"reference_{n}")
        if o and r and "error" not in o and "error" not in r:
            rows.append(C.Row(f"UMAP {n:,} cold: import+JIT+first fit", o["total_s"],
                              r["total_s"], "s", goal="(info)",
                              reference_name="umap defaults, fresh process",
                              notes=f"ours: import {o['import_s']:.1f} + warm-up "
                                    f"{o['warm_up_s']:.1f} + fit {o['first_fit_s']:.1f} s"))
    C.finish("map", rows, args, details)


if __name__ == "__main__":
    main()
