"""Start-up: from launching ``streamlit run app.py`` to its first page drawn in the browser,
against the bare slider app (``bench/bare_slider_app.py``) launched and timed the same way, and
against a bare app opening on a plotly map (``bench/bare_plotly_app.py``): the part of the time
that is Chromium loading plotly.js, which no server-side work can remove.

"Drawn" means: the default page's plotly chart (for the bare app: its image, loaded) is on
screen, the status widget ("Running…") is gone and the script state is "notRunning". The moment
is noted inside the page (an init script checks every 10 ms and records ``Date.now()``), so the
driver's polling adds nothing; the clock starts just before the server's process is launched,
with Chromium already running. Launches alternate in order and keep their runs and cache
folders, as a restarted server does: the first of each fills the disk and data caches, so the
reported number is the median of the later ones (2 launches each with --quick, 4 in a full run).
Goal (issue 18): <= 3 s on a warm machine. The bare app's time, measured alongside, says what the
machine allows: on a busy one both grow, and the ratio is the comparable number.

Then a fresh tab on each page (issue 26): one more launch of the app, its first page drawn
(``first_page_s``), and once the server has run for ``--settle`` seconds (60 by default: "a server
started a minute earlier"), each page opened in a new browser context, timed to its first chart or
image drawn (``fresh_tab_first_chart_s``, per page of the page table; goal <= 2 s each). A page
that opens on no picture (NO_PICTURE: Lessons, Train, the class's pages) is timed to its heading
drawn and idle (``fresh_tab_drawn`` says which). The reference for those rows is the bare plotly
app on a warm server, opened in five fresh tabs the same way (``bare_plotly_fresh_tab_s``): a tab
with no cache spends ~1.2 s of this machine's CPU loading plotly.js and drawing one map, which no
server can remove. Each page's wait is bounded by
``--tab-timeout`` seconds (30 by default; a page past it is reported as null), so the fresh-tab
part ends within pages × that bound. Both are in the JSON's details.

    python bench/bench_startup.py [--quick] [--settle 60] [--tab-timeout 30] [--json out.json]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

from explorer.ui.pages import PAGES  # noqa: E402
from harness.app_server import start_server, stop_server  # noqa: E402
from harness.chromium import VIEWPORT, chromium_missing, launch_chromium  # noqa: E402

# Records Date.now() the first time the page shows `target` (a CSS selector) and is idle.
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

PLOT = '[data-testid="stPlotlyChart"] .main-svg'
FIRST_CHART = f'{PLOT}, [data-testid="stImageContainer"] img'  # a page's first picture
# Pages that open on no picture (a form, buttons, text): timed to their heading drawn, idle.
NO_PICTURE = {"lessons", "draw", "train", "join", "teacher"}  # Draw: a canvas to draw on
HEADING = '[data-testid="stHeading"] h1'
APPS = {"ours": ("app.py", PLOT),
        "bare": ("bench/bare_slider_app.py", '[data-testid="stImageContainer"] img'),
        "plotly": ("bench/bare_plotly_app.py", PLOT)}


def one_launch(browser, side: str, work: Path) -> dict:
    script, target = APPS[side]
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(RENDERED_JS.replace("__TARGET__", json.dumps(target)))
    page = context.new_page()
    t_launch = time.time()
    server = start_server(work, script, timeout=180)
    try:
        t_health = time.time()
        page.goto(server.url, wait_until="domcontentloaded", timeout=180_000)
        page.wait_for_function("() => window.__renderedAt", timeout=180_000, polling=50)
        drawn = page.evaluate("window.__renderedAt") / 1000.0
    finally:
        context.close()
        stop_server(server)
    return {"total_s": drawn - t_launch, "health_s": t_health - t_launch}


def time_to(browser, url: str, target: str, timeout_s: float = 30) -> float | None:
    """Seconds from opening `url` in a new context (a fresh tab, a new session) to `target`
    drawn and the page idle; None when it was not within `timeout_s`: the whole wait, load
    included, is bounded by it."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(RENDERED_JS.replace("__TARGET__", json.dumps(target)))
    page = context.new_page()
    t0 = time.time()
    left_ms = lambda: max(1.0, (t0 + timeout_s - time.time()) * 1000)  # noqa: E731
    try:
        page.goto(url, wait_until="domcontentloaded", timeout=left_ms())
        page.wait_for_function("() => window.__renderedAt", timeout=left_ms(), polling=50)
        return page.evaluate("window.__renderedAt") / 1000.0 - t0
    except Exception:  # noqa: BLE001 - a page that never draws is reported as None
        return None
    finally:
        context.close()


def fresh_tabs(browser, work: Path, settle_s: float, tab_timeout_s: float) -> dict:
    """A launch, its first page, then each page in a fresh tab once the server is `settle_s` old,
    each bounded by `tab_timeout_s`."""
    t_launch = time.time()
    server = start_server(work, "app.py", timeout=180)
    try:
        first = time_to(browser, server.url, PLOT, timeout_s=180)
        first_page_s = None if first is None else time.time() - t_launch
        time.sleep(max(0.0, t_launch + settle_s - time.time()))
        per_page, drawn = {}, {}
        for key, spec in PAGES.items():
            drawn[key] = "heading" if key in NO_PICTURE else "chart"
            per_page[key] = time_to(browser, server.page_url(spec.url_path or ""),
                                    HEADING if key in NO_PICTURE else FIRST_CHART, tab_timeout_s)
            C.log(f"fresh tab {key}: {per_page[key]} s (to its {drawn[key]}), "
                  f"load {C.load_average():.1f}")
    finally:
        stop_server(server)
    return {"first_page_s": first_page_s, "fresh_tab_first_chart_s": per_page,
            "fresh_tab_drawn": drawn, "tab_timeout_s": tab_timeout_s,
            "bare_plotly_fresh_tab_s": bare_fresh_tabs(browser, work / "bare-fresh",
                                                        tab_timeout_s)}


def bare_fresh_tabs(browser, work: Path, tab_timeout_s: float, tabs: int = 5) -> list:
    """The reference for a fresh tab: the bare plotly app (no model, no data: one map) on a warm
    server, opened in `tabs` new contexts one after another, each timed as a page of ours is.
    What is left is Chromium loading plotly.js into a tab with no cache, and drawing a map."""
    server = start_server(work, APPS["plotly"][0], timeout=180)
    try:
        time_to(browser, server.url, PLOT, timeout_s=180)  # the server's first run
        return [time_to(browser, server.url, PLOT, tab_timeout_s) for _ in range(tabs)]
    finally:
        stop_server(server)


def main() -> None:
    def options(ap) -> None:
        ap.add_argument("--settle", type=float, default=60.0,
                        help="seconds the server runs before the fresh tabs open (default 60)")
        ap.add_argument("--tab-timeout", type=float, default=30.0,
                        help="the most seconds each fresh tab is waited for (default 30)")

    args = C.main_args(__doc__.splitlines()[0], options)
    if why := chromium_missing():
        sys.exit(why)
    from playwright.sync_api import sync_playwright

    launches = 2 if args.quick else 4
    work = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    C.log(f"load {C.load_average():.1f}")
    res: dict[str, list[dict]] = {side: [] for side in APPS}
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        for r in range(launches):
            for side in list(APPS) if r % 2 == 0 else list(APPS)[::-1]:
                m = one_launch(browser, side, work / side)  # caches kept, as on a restart
                res[side].append(m)
                C.log(f"launch {r + 1} {side}: first page drawn {m['total_s']:.2f} s after "
                      f"launch (healthy after {m['health_s']:.2f} s)")
        tabs = fresh_tabs(browser, work / "fresh", args.settle, args.tab_timeout)
        C.log(f"fresh tabs: {tabs}")
        browser.close()
    later = {side: C.median([m["total_s"] for m in v[1:]]) for side, v in res.items()}
    rows = [C.Row("start-up: launch → first page drawn (restart, caches kept)", later["ours"],
                  later["bare"], "s", goal="≤ 3 s", met=later["ours"] <= 3.0,
                  reference_name="bare slider app, launch → first image",
                  notes=f"first launch {res['ours'][0]['total_s']:.1f} vs "
                        f"{res['bare'][0]['total_s']:.1f} s"),
            C.Row("start-up against a bare app opening on a plotly map", later["ours"],
                  later["plotly"], "s", goal="", met=None,
                  reference_name="bare plotly map app (plotly.js in Chromium included)")]
    bare_tab = C.median([t for t in tabs["bare_plotly_fresh_tab_s"] if t is not None])
    for page, seconds in tabs["fresh_tab_first_chart_s"].items():
        rows.append(C.Row(f"fresh tab, {page}: first chart (server {args.settle:.0f} s old)",
                          seconds, bare_tab, "s",
                          goal="≤ 2 s", met=seconds is not None and seconds <= 2.0,
                          reference_name="bare plotly map app, fresh tab (median of 5)"))
    C.finish("startup", rows, args, {**res, **tabs})


if __name__ == "__main__":
    main()
