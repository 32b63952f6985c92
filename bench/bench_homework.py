"""The homework page: bundle size, time to interactive from disk, and decode time in Chromium.

Exports the lesson "no-holes" (two 2-D models: the AE and the VAE) and opens its ``index.html``
from ``file://`` in Debian's Chromium with every network request refused. Measured:

- bundle size: the folder and its zip (goal < 15 MB);
- time to interactive: from navigation to the first decoded picture on screen
  (``window.homework.readyMs``; goal < 2 s), against a reference opened in the same run,
  alternating: a bare page of the same bytes (the same scripts, none of them run), so the
  ratio says what starting the runtime and decoding cost beyond reading the files;
- decode time: one code through the ONNX decoder in the page (``session.run``; goal < 20 ms),
  against PyTorch decoding the same code in this process.

    python bench/bench_homework.py [--quick] [--json out.json]
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

from harness.chromium import chromium_missing, launch_chromium  # noqa: E402

LESSON = "no-holes"
LOCAL = ("file:", "blob:", "data:")
BARE = "bare.html"  # the reference page: the same files, loaded as text, nothing run


def offline_page(browser):
    page = browser.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(LOCAL) else r.abort())
    return page


STAGES: list[dict] = []  # the page's own marks (ms): data read, runtime inflated, first session


def time_to_interactive(browser, index: Path) -> float:
    page = offline_page(browser)
    try:
        page.goto(index.as_uri())
        page.wait_for_selector("body:not([data-state=loading])", timeout=120_000)
        if page.get_attribute("body", "data-state") != "ready":
            raise RuntimeError(page.text_content("#status"))
        STAGES.append(page.evaluate("() => window.homework.marks"))
        return page.evaluate("() => window.homework.readyMs") / 1e3
    finally:
        page.close()


def bare_time(browser, bare: Path) -> float:
    page = offline_page(browser)
    try:
        page.goto(bare.as_uri(), wait_until="load")
        return page.evaluate("() => performance.now()") / 1e3
    finally:
        page.close()


def write_bare(folder: Path) -> Path:
    """index.html with its scripts' type set to text/plain: every byte is read, nothing runs."""
    html = (folder / "index.html").read_text(encoding="utf-8")
    for name in ("ort/ort.wasm.min.js", "ort/ort-loader.js", "ort/ort-binary.js", "app.js"):
        html = html.replace(f'<script src="{name}">', f'<script type="text/plain" src="{name}">')
    (folder / BARE).write_text(html, encoding="utf-8")
    return folder / BARE


def decode_times(browser, index: Path, batches: int, per_batch: int = 20) -> list[float]:
    """Milliseconds per decode of one code, each the mean over `per_batch` decodes in a row (a
    page that is not cross-origin isolated reads its clock only to 0.1 ms)."""
    page = offline_page(browser)
    try:
        page.goto(index.as_uri())
        page.wait_for_selector("body[data-state=ready]", timeout=120_000)
        return page.evaluate("""async ([batches, k]) => {
            const out = [];
            for (let b = 0; b < batches; b++) {
              const t = performance.now();
              for (let i = 0; i < k; i++) {
                await window.homework.decode(1, [Math.sin(b * k + i), Math.cos(b * k + i)], 1);
              }
              out.push((performance.now() - t) / k);
            }
            return out; }""", [batches, per_batch])
    finally:
        page.close()


def torch_decode_times(n: int) -> list[float]:
    import numpy as np

    from explorer.analysis.latent import decode
    from explorer.runs.checkpoints import load_model

    model, _ = load_model("pretrained/mnist-vae-mlp-z2")
    out = []
    for i in range(n):
        z = np.array([np.sin(i), np.cos(i)], np.float32)
        t = time.perf_counter()
        decode(model, z)
        out.append((time.perf_counter() - t) * 1e3)
    return out


def main() -> None:
    args = C.main_args(__doc__.splitlines()[0])
    if why := chromium_missing():
        sys.exit(why)
    from playwright.sync_api import sync_playwright

    from explorer.lessons.homework import bundle_files

    rounds, batches = (3, 10) if args.quick else (10, 40)
    files = bundle_files(LESSON)
    folder = Path(tempfile.mkdtemp(prefix="bench-homework-"))
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    folder_mb, zip_mb = sum(map(len, files.values())) / 2**20, len(buffer.getvalue()) / 2**20
    bare = write_bare(folder)
    index = folder / "index.html"
    with sync_playwright() as p:
        browser = launch_chromium(p)
        time_to_interactive(browser, index)  # warm-up: the OS file cache, Chromium's processes
        times = C.interleaved({"page": lambda: time_to_interactive(browser, index),
                               "bare": lambda: bare_time(browser, bare)}, rounds)
        in_page = decode_times(browser, index, batches + 1)[1:]  # the first warms the runtime
        browser.close()
    in_torch = torch_decode_times(20 * batches + 10)[10:]
    tti, ref = C.median(times["page"]), C.median(times["bare"])
    stages = {k: C.median([s[k] for s in STAGES if k in s]) for k in STAGES[-1]}
    map_s = stages.get("map", float("nan")) / 1e3
    C.log("stages (median ms from navigation): "
          + ", ".join(f"{k} {v:.0f}" for k, v in stages.items()))
    decode_ms = C.median(in_page)
    rows = [
        C.Row(f"homework bundle ({LESSON}, two 2-D models), folder", folder_mb, None, "MB",
              "< 15 MB", folder_mb < 15),
        C.Row(f"homework bundle ({LESSON}), zip", zip_mb, None, "MB", "< 15 MB", zip_mb < 15),
        C.Row("homework time to first decoded picture, file://", tti, ref, "s", "< 2 s", tti < 2,
              "the same page's bytes, nothing run", f"load average {C.load_average():.1f}"),
        C.Row("homework time to the map and text on screen, file://", map_s, ref, "s", "", None,
              "the same page's bytes, nothing run"),
        C.Row("homework decode of one code in Chromium (WebAssembly)", decode_ms,
              C.median(in_torch), "ms", "< 20 ms", decode_ms < 20, "PyTorch, this process",
              f"p90 {C.percentile(in_page, 90):.2f} ms"),
    ]
    C.finish("homework", rows, args, {"tti_s": times, "decode_ms": in_page,
                                      "torch_decode_ms": in_torch, "stages_ms": stages,
                                      "load": C.load_average()})


if __name__ == "__main__":
    main()
