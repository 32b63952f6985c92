"""Slider response on the Interpolate page, from three sides, each against the bare app
(``bench/bare_slider_app.py``: a fragment with a slider and a 28x28 picture upscaled to 196 px).

(i)   Pure compute, in-process: what the page's fragment does for one move, i.e.
      ``latent.lerp`` + ``latent.decode`` + ``common.pixels`` (196 px) + Streamlit's own image
      encoding (``image_utils._np_array_to_bytes``, "auto" format, then the re-open Streamlit does
      to check the size). 200 moves per model (50 with --quick), interleaved with the bare app's
      compute (random 28x28 -> upscale -> the same encoding). p50/p95; goal p95 <= 20 ms on the
      default model.
(ii)  AppTest: ``at.slider(key="interp_t").set_value(v).run()`` on app.py's Interpolate page,
      against the same on the bare app. AppTest reruns the whole script (it does not run
      fragments alone), so this is an upper bound on the server's work per move.
(iii) Browser: Playwright + Debian's Chromium against ``streamlit run`` servers of both apps, run
      side by side: focus the t slider's thumb, press an arrow key, and time in the page (from
      the keydown to the decoded image's ``src`` changing, and to that image having loaded),
      waiting for the run to finish before the next press. N presses each (20, or 40 without
      --quick), in interleaved rounds of 5. Goal: median <= 150 ms.

    python bench/bench_slider.py [--quick] [--skip-browser] [--skip-apptest] [--json out.json]
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

BIG = 196  # the Interpolate page's image size for the t slider
MODELS = ("pretrained/mnist-vae-mlp-z2", "pretrained/mnist-vae-mlp-z16",
          "pretrained/mnist-vae-conv-z16")
DEFAULT_MODEL = MODELS[0]
CAPTION = "decoded at t"
SLIDER_NAME = "t: from start (0) to end (1)"


def quiet_streamlit() -> None:
    """Outside `streamlit run`, st.cache_* warn that no runtime exists; that is expected here."""
    for name in ("streamlit", "streamlit.runtime.caching.cache_data_api",
                 "streamlit.runtime.scriptrunner_utils.script_run_context"):
        logging.getLogger(name).setLevel(logging.ERROR)


def encode_like_st_image(pixels):
    """Streamlit's path for a numpy image in st.image: array -> PIL -> bytes ("auto": JPEG for
    a greyscale array, at quality 100), then re-opened to check its size and format."""
    import io

    from PIL import Image
    from streamlit.elements.lib import image_utils

    data = image_utils._np_array_to_bytes(pixels, output_format="auto")
    with Image.open(io.BytesIO(data)) as im:
        im.size  # noqa: B018 - Streamlit reads the size to decide on resizing
    return data


# -- (i) pure compute --------------------------------------------------------------------------
def compute_bench(moves: int) -> dict:
    import numpy as np
    import torch

    from explorer import checkpoints, latent
    from explorer.datasets import load_dataset
    from explorer.ui import common

    default_threads = torch.get_num_threads()
    data = load_dataset("mnist-5k")
    rng = np.random.default_rng(0)
    ts = np.clip(0.5 + np.cumsum(rng.choice([-0.01, 0.01], moves)), 0.0, 1.0)
    out = {}
    for name in MODELS:
        folder = C.ROOT / name
        if not (folder / "model.safetensors").exists():
            C.log(f"(i) {name}: missing, skipped")
            continue
        model, _ = checkpoints.load_model(folder)
        codes = latent.encode_dataset(model, data.x_test[:2])
        za, zb = codes[0], codes[1]

        def ours(t, model=model, za=za, zb=zb):
            image = latent.decode(model, latent.lerp(za, zb, t))[0]
            return encode_like_st_image(common.pixels(image, size=BIG))

        def bare(t):
            img = (np.random.default_rng(int(round(t * 100))).random((28, 28)) * 255
                   ).astype(np.uint8)
            return encode_like_st_image(np.repeat(np.repeat(img, 7, axis=0), 7, axis=1))

        for t in ts[:10]:  # warm up both paths
            ours(t), bare(t)
        # "ours" runs at torch's default thread count (what the app does today), "ours_1t" with
        # torch.set_num_threads(1) (the suggested setting); all three sides interleaved.
        times = {"ours": [], "ours_1t": [], "bare": [], "decode_only": []}
        size = 0
        sides = ["ours", "ours_1t", "bare"]
        for i, t in enumerate(ts):
            for side in sides[i % 3:] + sides[:i % 3]:
                torch.set_num_threads(1 if side == "ours_1t" else default_threads)
                t0 = time.perf_counter()
                b = (bare if side == "bare" else ours)(t)
                times[side].append(1e3 * (time.perf_counter() - t0))
                if side == "ours":
                    size = len(b)
            torch.set_num_threads(default_threads)
            t0 = time.perf_counter()
            latent.decode(model, latent.lerp(za, zb, t))
            times["decode_only"].append(1e3 * (time.perf_counter() - t0))
        out[name] = {k: {"p50": C.percentile(v, 50), "p95": C.percentile(v, 95)}
                     for k, v in times.items()} | {"jpeg_bytes": size}
        o, b = out[name]["ours"], out[name]["bare"]
        o1 = out[name]["ours_1t"]
        C.log(f"(i) {name:32s} ours p50 {o['p50']:6.2f} ms p95 {o['p95']:6.2f} ms | 1 thread "
              f"p50 {o1['p50']:6.2f} p95 {o1['p95']:6.2f} | bare p50 {b['p50']:6.2f} p95 "
              f"{b['p95']:6.2f} | decode alone p50 {out[name]['decode_only']['p50']:.2f} ms | "
              f"image {size} bytes")
    return out


# -- (ii) AppTest --------------------------------------------------------------------------------
def apptest_bench(moves: int) -> dict:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(C.ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("explorer/ui/interpolate.py").run()
    if at.exception:
        raise RuntimeError(f"app.py raised: {[e.message for e in at.exception]}")
    bare = AppTest.from_file(str(C.ROOT / "bench" / "bare_slider_app.py"), default_timeout=60)
    bare.run()
    values = [round(0.5 + 0.01 * (i + 1), 2) for i in range(moves)]
    for v in values[:2]:  # warm-up moves, untimed
        at.slider(key="interp_t").set_value(v).run()
        bare.slider(key="t").set_value(v).run()
    times = {"ours": [], "bare": []}
    for i, v in enumerate(values[::-1]):
        for side in (("ours", "bare") if i % 2 == 0 else ("bare", "ours")):
            app, key = (at, "interp_t") if side == "ours" else (bare, "t")
            t0 = time.perf_counter()
            app.slider(key=key).set_value(v).run()
            times[side].append(1e3 * (time.perf_counter() - t0))
    if at.exception:
        raise RuntimeError(f"app.py raised: {[e.message for e in at.exception]}")
    res = {k: {"p50": C.percentile(v, 50), "p95": C.percentile(v, 95)} for k, v in times.items()}
    C.log(f"(ii) AppTest rerun per move: ours p50 {res['ours']['p50']:.0f} ms p95 "
          f"{res['ours']['p95']:.0f} ms | bare p50 {res['bare']['p50']:.0f} ms p95 "
          f"{res['bare']['p95']:.0f} ms ({len(times['ours'])} moves; whole-script reruns)")
    return res


# -- (iii) the browser -------------------------------------------------------------------------
FIND_IMAGE_JS = C.FIND_IMAGE_JS  # the <img> of the st.image captioned with a given text

# In the page: on keydown note the image's src and the time; a MutationObserver records when the
# src changes, and a capturing 'load' listener when the new picture has loaded.
TIMER_JS = f"""caption => {{
    const find = {FIND_IMAGE_JS};
    const timer = window.__k2i = {{t0: null, before: null, src: [], loaded: [], pendingSrc: null}};
    document.addEventListener('keydown', () => {{
        const img = find(caption);
        timer.before = img ? img.src : null;
        timer.t0 = performance.now();
        timer.pendingSrc = null;
    }}, true);
    new MutationObserver(() => {{
        if (timer.t0 === null || timer.pendingSrc !== null) return;
        const img = find(caption);
        if (img && img.src !== timer.before) {{
            timer.src.push(performance.now() - timer.t0);
            timer.pendingSrc = img.src;
            const t0 = timer.t0;
            const done = () => {{ timer.loaded.push(performance.now() - t0); }};
            if (img.complete && img.naturalWidth > 0) done();
            else img.addEventListener('load', done, {{once: true}});
        }}
    }}).observe(document.body, {{subtree: true, childList: true, attributes: true,
                                  attributeFilter: ['src']}});
}}"""


def _prepare(page, url: str):
    from playwright.sync_api import expect

    page.goto(url, wait_until="domcontentloaded")
    C.wait_idle(page)
    page.wait_for_function(f"c => {{ const i = ({FIND_IMAGE_JS})(c); "
                           "return i !== null && i.complete && i.naturalWidth > 0; }",
                           arg=CAPTION, timeout=90_000)
    slider = page.get_by_role("slider", name=SLIDER_NAME)
    expect(slider).to_be_visible(timeout=30_000)
    page.evaluate(TIMER_JS, CAPTION)
    slider.focus()
    return slider


def _press(page, slider, key: str, n_before: int) -> None:
    slider.press(key)
    page.wait_for_function("n => window.__k2i.loaded.length > n", arg=n_before, timeout=30_000)
    C.wait_idle(page, 30_000)  # let the fragment run finish before the next press


NO_GC = ("--runner.postScriptGC", "false")  # the suggested setting, measured side by side


def browser_bench(presses: int) -> dict:
    """Three servers side by side: the app as it is, the app with Streamlit's post-run
    gc.collect(2) turned off (the suggested fix), and the bare app."""
    work = Path(tempfile.mkdtemp(prefix="bench-slider-"))
    with C.running("app.py", work / "app") as ours_srv, \
            C.running("app.py", work / "app-nogc", streamlit_flags=NO_GC) as nogc_srv, \
            C.running("bench/bare_slider_app.py", work / "bare") as bare_srv, C.browser() as b:
        pages = {}
        for side, url in (("ours", f"{ours_srv.url}/interpolate"),
                          ("ours_nogc", f"{nogc_srv.url}/interpolate"), ("bare", bare_srv.url)):
            ctx = b.new_context(viewport=C.VIEWPORT)
            page = ctx.new_page()
            page.set_default_timeout(90_000)
            pages[side] = (page, _prepare(page, url))
        counts = dict.fromkeys(pages, 0)
        for side, (page, slider) in pages.items():  # two warm-up presses each, then reset
            for _ in range(2):
                _press(page, slider, "ArrowRight", counts[side])
                counts[side] += 1
        rounds = presses // 5
        order = list(pages)
        for r in range(rounds):
            key = "ArrowRight" if r < rounds / 2 else "ArrowLeft"
            for side in order[r % 3:] + order[:r % 3]:
                page, slider = pages[side]
                for _ in range(5):
                    _press(page, slider, key, counts[side])
                    counts[side] += 1
        res = {}
        for side, (page, _) in pages.items():
            timer = page.evaluate("window.__k2i")
            src, loaded = timer["src"][2:], timer["loaded"][2:]  # drop the warm-up presses
            res[side] = {"src_p50": C.median(src), "src_p95": C.percentile(src, 95),
                         "loaded_p50": C.median(loaded), "loaded_p95": C.percentile(loaded, 95),
                         "n": len(src), "src_all": src, "loaded_all": loaded}
    for side, v in res.items():
        C.log(f"(iii) browser key->new src, {side:9s}: median {v['src_p50']:5.0f} ms (p95 "
              f"{v['src_p95']:5.0f}), loaded {v['loaded_p50']:5.0f} ms; {v['n']} presses")
    return res


def gc_bench() -> dict:
    """How long Streamlit's post-run gc.collect(2) takes in a process holding what this one holds
    by now (torch, streamlit, the dataset, three models: less than the app, which also has
    plotly, pandas and scikit-learn), and after gc.freeze()."""
    import gc

    def timed(n=5):
        ts = []
        for _ in range(n):
            t = time.perf_counter()
            gc.collect(2)
            ts.append(1e3 * (time.perf_counter() - t))
        return C.median(ts)

    import pandas  # noqa: F401 - the app has these loaded too
    import plotly.graph_objects  # noqa: F401
    import sklearn.model_selection  # noqa: F401

    res = {"objects": len(gc.get_objects()), "collect_ms": timed()}
    gc.freeze()
    res["collect_after_freeze_ms"] = timed()
    gc.unfreeze()
    # The reference: the same collection in a process holding what the bare app holds.
    bare = C.run_python(
        "import gc, json, time, numpy, PIL.Image, streamlit\n"
        "from streamlit.testing.v1 import AppTest\n"
        "ts = []\n"
        "for _ in range(5):\n"
        "    t = time.perf_counter(); gc.collect(2); ts.append(1e3 * (time.perf_counter() - t))\n"
        "print(json.dumps(dict(objects=len(gc.get_objects()), collect_ms=sorted(ts)[2])))")
    res["bare_objects"], res["bare_collect_ms"] = bare["objects"], bare["collect_ms"]
    C.log(f"gc.collect(2) with {res['objects']:,} tracked objects: {res['collect_ms']:.0f} ms; "
          f"after gc.freeze(): {res['collect_after_freeze_ms']:.1f} ms; bare app's process "
          f"({res['bare_objects']:,} objects): {res['bare_collect_ms']:.0f} ms")
    return res


def main() -> None:
    def extra(ap):
        ap.add_argument("--skip-browser", action="store_true")
        ap.add_argument("--skip-apptest", action="store_true")

    args = C.main_args(__doc__.splitlines()[0], extra)
    quiet_streamlit()
    work = Path(tempfile.mkdtemp(prefix="bench-slider-env-"))
    os.environ.setdefault("EXPLORER_RUNS_DIR", str(work / "runs"))
    os.environ.setdefault("EXPLORER_CACHE_DIR", str(work / "cache"))
    moves = 50 if args.quick else 200
    C.log(f"load {C.load_average():.1f}")
    details: dict = {"compute": compute_bench(moves)}
    rows = []
    comp = details["compute"].get(DEFAULT_MODEL)
    if comp:
        rows.append(C.Row("slider compute p95, default model (z=2)", comp["ours"]["p95"],
                          comp["bare"]["p95"], "ms", goal="≤ 20 ms",
                          met=comp["ours"]["p95"] <= 20, reference_name="bare app's compute",
                          notes=f"p50 {comp['ours']['p50']:.2f} ms; {moves} moves"))
    for name in MODELS[1:]:
        c = details["compute"].get(name)
        if c:
            rows.append(C.Row(f"slider compute p95, {name.split('/')[-1]}", c["ours"]["p95"],
                              c["bare"]["p95"], "ms", goal="≤ 20 ms", met=c["ours"]["p95"] <= 20,
                              reference_name="bare app's compute"))
    for name in MODELS:
        c = details["compute"].get(name)
        if c:
            rows.append(C.Row(f"slider compute p95, {name.split('/')[-1]}, 1 torch thread",
                              c["ours_1t"]["p95"], c["ours"]["p95"], "ms", goal="(info)",
                              reference_name="ours at torch's default threads",
                              notes="the suggested torch.set_num_threads(1)"))
    details["gc"] = gc_bench()
    g = details["gc"]
    rows.append(C.Row("gc.collect(2) after each script run (server)", g["collect_ms"],
                      g["bare_collect_ms"], "ms", goal="(info)",
                      reference_name="the same in a bare-app process",
                      notes=f"{g['objects']:,} vs {g['bare_objects']:,} objects; after "
                            f"gc.freeze(): {g['collect_after_freeze_ms']:.1f} ms"))
    if not args.skip_apptest:
        try:
            at = apptest_bench(10 if args.quick else 30)
            details["apptest"] = at
            rows.append(C.Row("slider AppTest rerun p50 (whole script)", at["ours"]["p50"],
                              at["bare"]["p50"], "ms", goal="(upper bound)",
                              reference_name="bare app under AppTest",
                              notes=f"p95 {at['ours']['p95']:.0f} vs {at['bare']['p95']:.0f} ms"))
        except Exception as e:  # noqa: BLE001 - report, keep the other measurements
            C.log(f"(ii) AppTest failed: {type(e).__name__}: {e}")
            details["apptest_error"] = str(e)
    if not args.skip_browser:
        if not C.chromium_available():
            C.log(f"(iii) skipped: no Chromium at {C.CHROMIUM} or no playwright")
            details["browser_error"] = "chromium or playwright missing"
        else:
            try:
                br = browser_bench(20 if args.quick else 40)
                details["browser"] = br
                rows.append(C.Row("slider key→image in browser (median)", br["ours"]["src_p50"],
                                  br["bare"]["src_p50"], "ms", goal="≤ 150 ms",
                                  met=br["ours"]["src_p50"] <= 150,
                                  reference_name="bare slider app, same browser run",
                                  notes=f"to loaded: {br['ours']['loaded_p50']:.0f} vs "
                                        f"{br['bare']['loaded_p50']:.0f} ms"))
                rows.append(C.Row("slider key→image, runner.postScriptGC=false (suggested)",
                                  br["ours_nogc"]["src_p50"], br["bare"]["src_p50"], "ms",
                                  goal="≤ 150 ms", met=br["ours_nogc"]["src_p50"] <= 150,
                                  reference_name="bare slider app, same browser run",
                                  notes=f"to loaded: {br['ours_nogc']['loaded_p50']:.0f} ms"))
            except Exception as e:  # noqa: BLE001
                C.log(f"(iii) browser measurement failed: {type(e).__name__}: {e}")
                details["browser_error"] = str(e)
    C.finish("slider", rows, args, details)


if __name__ == "__main__":
    main()
