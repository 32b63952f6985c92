"""Slider response in the browser: the Interpolate page's t slider against a bare Streamlit app.

Both apps run as ``streamlit run`` servers side by side (``app.py`` and
``bench/bare_slider_app.py``: a fragment with the same slider and a 28x28 picture upscaled to
196 px, no model, no torch) and are driven by one Debian Chromium through Playwright. Focus the
slider's thumb, press an arrow key, and time in the page, from the keydown to the decoded image's
``src`` changing and to that picture having loaded; each press waits for the run to finish before
the next. Presses alternate between the apps in rounds of 5 (20 each, 60 in a full run). Goal:
median key -> new image <= 150 ms.

    python bench/bench_slider.py [--quick] [--json out.json]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

from harness.app_server import running_app  # noqa: E402
from harness.chromium import VIEWPORT, chromium_missing, launch_chromium  # noqa: E402
from harness.page import KEY_TO_IMAGE_TIMER_JS, wait_idle, wait_image_loaded  # noqa: E402

CAPTION = "decoded at t"
SLIDER = "t: from start (0) to end (1)"
WARM_UP = 2  # presses per app before timing: the first runs load the model and fill caches


def prepare(browser, url: str):
    from playwright.sync_api import expect

    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.set_default_timeout(90_000)
    page.goto(url, wait_until="domcontentloaded")
    wait_idle(page)
    wait_image_loaded(page, CAPTION)
    slider = page.get_by_role("slider", name=SLIDER)
    expect(slider).to_be_visible()
    page.evaluate(KEY_TO_IMAGE_TIMER_JS, CAPTION)
    slider.focus()
    return page, slider


def press(page, slider, key: str, done_before: int) -> None:
    slider.press(key)
    page.wait_for_function("n => window.__keyToImage.loaded.length > n", arg=done_before,
                           timeout=30_000)
    wait_idle(page, 30_000)  # let the fragment's run finish before the next press


def measure(presses: int) -> dict:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="bench-slider-"))
    with running_app(work / "app", timeout=120) as app, \
            running_app(work / "bare", "bench/bare_slider_app.py", timeout=120) as bare, \
            sync_playwright() as pw:
        browser = launch_chromium(pw)
        pages = {"ours": prepare(browser, f"{app.url}/interpolate"),
                 "bare": prepare(browser, bare.url)}
        done = dict.fromkeys(pages, 0)
        rounds = [(side, "ArrowRight") for side in pages for _ in range(WARM_UP)]
        for r in range(presses // 5):  # rounds of 5, alternating the app that goes first
            key = "ArrowRight" if r < presses // 10 else "ArrowLeft"
            order = list(pages) if r % 2 == 0 else list(pages)[::-1]
            rounds += [(side, key) for side in order for _ in range(5)]
        for side, key in rounds:
            press(*pages[side], key, done[side])
            done[side] += 1
        res = {}
        for side, (page, _) in pages.items():
            timer = page.evaluate("window.__keyToImage")
            src, loaded = timer["times"][WARM_UP:], timer["loaded"][WARM_UP:]
            res[side] = {"src_p50": C.median(src), "src_p95": C.percentile(src, 95),
                         "loaded_p50": C.median(loaded), "n": len(src), "src": src}
            C.log(f"{side}: key -> new src median {res[side]['src_p50']:.0f} ms (p95 "
                  f"{res[side]['src_p95']:.0f}), -> loaded {res[side]['loaded_p50']:.0f} ms; "
                  f"{len(src)} presses")
        browser.close()
    return res


def main() -> None:
    args = C.main_args(__doc__.splitlines()[0])
    if why := chromium_missing():
        sys.exit(why)
    C.log(f"load {C.load_average():.1f}")
    res = measure(20 if args.quick else 60)
    o, b = res["ours"], res["bare"]
    rows = [C.Row("slider key→new image in the browser (median)", o["src_p50"], b["src_p50"],
                  "ms", goal="≤ 150 ms", met=o["src_p50"] <= 150,
                  reference_name="bare slider fragment, same browser run",
                  notes=f"p95 {o['src_p95']:.0f} vs {b['src_p95']:.0f} ms; to loaded "
                        f"{o['loaded_p50']:.0f} vs {b['loaded_p50']:.0f} ms")]
    C.finish("slider", rows, args, res)


if __name__ == "__main__":
    main()
