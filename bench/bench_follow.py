"""Follow the teacher through the real server: N students follow while the teacher changes page
and a slider in turn; then the class sits still, following, and the server's CPU is measured; then a fresh
browser opens a shared link of the map.

One ``streamlit run app.py`` (loopback only, runs, caches and the class database in a temporary
folder, a teacher key set) and Debian's Chromium driven by async Playwright, one browser context
per person. The teacher opens a class; each student joins by the join link; the teacher turns
"Class follows me" on and makes ``--changes`` changes (a page, then a slider, in turn).

Measured, on the machine's one clock:
- ``follow_lag_*``: from the teacher's key press or click to each follower's page having rerun
  with the teacher's view (the follower's address holds it and its script run has ended);
  ``follow_url_lag_*``: to the follower's address alone;
  the reference: the teacher's own page drawing the same change (``teacher_own_p50_ms``);
- ``idle_server_cpu_pct``: the server process's CPU (all its threads, ``/proc``) over
  ``--idle-s`` seconds with every follower connected and nothing changing, in % of one core;
  the reference: the same server with the same browsers on the same page, none in a class
  (``idle_server_cpu_pct_reference``), measured after;
- ``fresh_link_first_chart_s``: a fresh browser context opening a shared link of the latent map
  (another model than the default, in the URL): seconds from the request to the first chart drawn (median of 3).

    python bench/bench_follow.py --followers 30 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402
from bench_class import KEY, join_by_link, new_page, open_class  # noqa: E402
from bench_classroom import drawn  # noqa: E402

from harness.app_server import running_app  # noqa: E402
from harness.chromium import chromium_missing, launch_chromium  # noqa: E402
from harness.page import ERRORS  # noqa: E402

# In each follower's page: when its address changed (history entries, which is how a follower
# moves) and when each script run started and ended.
RECORDER_JS = """
window.__follow = {moves: [], starts: [], ends: []};
(() => {
    const push = history.pushState.bind(history);
    history.pushState = (s, t, url) => {
        const r = push(s, t, url);
        window.__follow.moves.push([Date.now() / 1000, location.pathname + location.search]);
        return r;
    };
    let last = null;
    new MutationObserver(() => {
        const app = document.querySelector('[data-testid="stApp"]');
        const state = app && app.getAttribute('data-test-script-state');
        if (state === last) return;
        const now = Date.now() / 1000;
        if (state === 'notRunning') window.__follow.ends.push(now);
        else if (last === 'notRunning' || last === null) window.__follow.starts.push(now);
        last = state;
    }).observe(document, {subtree: true, attributes: true,
                          attributeFilter: ['data-test-script-state']});
})();
"""
SHARED_MAP = "model=pretrained/mnist-ae-mlp-z2"  # the latent map of a model not the default
CHART_JS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')]
    .some(gd => gd._fullData && gd._fullData.some(t => (t.x || []).length > 0))"""


def view_of(url: str) -> tuple[str, tuple]:
    parts = urlsplit(url)
    return parts.path, tuple(sorted((k, v) for k, v in parse_qsl(parts.query) if k != "present"))


def cpu_seconds(pid: int) -> float:
    """The process's user + system CPU time (all threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def idle_cpu(pid: int, seconds: float) -> float:
    t0, c0 = time.perf_counter(), cpu_seconds(pid)
    await asyncio.sleep(seconds)
    return 100 * (cpu_seconds(pid) - c0) / (time.perf_counter() - t0)


async def join(browser, url: str, code: str, name: str, timeout: float):
    page = await new_page(browser, timeout)
    await page.add_init_script(RECORDER_JS)
    try:
        await join_by_link(page, url, code, name, timeout)
        return page
    except Exception as e:  # noqa: BLE001 - counted as not joined
        C.log(f"{name}: {type(e).__name__}: {str(e).splitlines()[0][:120]}")
        await page.context.close()
        return None


PAGES = (("Sample", "/sample", "Temperature"), ("Interpolate", "/interpolate", "t: from start"))


async def teacher_change(teacher, step: int, timeout: float) -> str:
    """Change `step`: even steps open a page (Sample, Interpolate in turn), odd ones move that
    page's slider one notch (Interpolate's is inside a fragment: the page does not rerun).
    Returns the teacher's address once the change is in it and the run has ended."""
    from playwright.async_api import expect

    title, path, label = PAGES[(step // 2) % 2]
    before = teacher.url
    if step % 2 == 0:
        await teacher.locator('[data-testid="stSidebarNav"]').get_by_role(
            "link", name=title, exact=True).click()
        arrived = lambda: urlsplit(teacher.url).path == path  # noqa: E731
    else:
        slider = teacher.locator('[data-testid="stSlider"]', has_text=label).get_by_role("slider")
        await slider.focus()
        await slider.press("ArrowRight")
        arrived = lambda: teacher.url != before  # noqa: E731
    deadline = time.monotonic() + timeout / 1000
    while not arrived() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await expect(teacher.locator('[data-testid="stApp"]')).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=timeout)
    return teacher.url


def lags(record: dict, t0: float, want: tuple, origin: str) -> tuple[float | None, float | None]:
    """(to the address, to the end of the run that drew it) for one follower and one change."""
    moved = next((t for t, where in record["moves"] if t >= t0 - 0.05
                  and view_of(origin + where) == want), None)
    if moved is None:
        return None, None
    start = next((t for t in record["starts"] if t >= moved - 0.05), None)
    end = next((t for t in record["ends"] if start is not None and t >= start), None)
    return moved - t0, (end - t0) if end is not None else None


async def fresh_link(browser, url: str, timeout: float) -> float:
    page = await new_page(browser, timeout)
    t0 = time.perf_counter()
    await page.goto(f"{url}/?{SHARED_MAP}", wait_until="commit")
    await page.wait_for_function(CHART_JS, timeout=timeout)
    seconds = time.perf_counter() - t0
    await page.context.close()
    return seconds


async def scenario(url: str, pid: int, args) -> dict:
    from playwright.async_api import async_playwright

    timeout = args.page_timeout * 1000
    out: dict = {"errors": [], "url_lags": [], "lags": [], "missed": 0, "teacher_s": []}
    async with async_playwright() as pw:
        browser = await launch_chromium(pw)
        teacher, code = await open_class(browser, url, timeout)
        names = [f"Student {i + 1:02d}" for i in range(args.followers)]
        pages = [p for p in await asyncio.gather(*(join(browser, url, code, n, timeout)
                                                   for n in names)) if p is not None]
        out["joined"] = len(pages)
        C.log(f"{len(pages)} of {args.followers} joined; load {C.load_average():.1f}")
        await teacher.locator('[data-testid="stSidebar"]').get_by_text("Class follows me").click()
        await teacher.get_by_text("The class stays on the last view").wait_for()
        for step in range(args.changes):
            t0 = time.time()
            want = view_of(await teacher_change(teacher, step, timeout))
            out["teacher_s"].append(time.time() - t0)
            # Until every follower has drawn it, or --wait-s passed (then it counts as missed).
            deadline = time.monotonic() + args.wait_s
            while True:
                records = await asyncio.gather(*(p.evaluate("window.__follow") for p in pages))
                found = [lags(record, t0, want, url) for record in records]
                if all(lag is not None for _, lag in found) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            for url_lag, lag in found:
                if lag is None:
                    out["missed"] += 1
                else:
                    out["url_lags"].append(url_lag)
                    out["lags"].append(lag)
            await asyncio.sleep(args.gap_s)
            C.log(f"change {step + 1}: {want[0]} {dict(want[1])}; "
                  f"p50 {C.median(out['lags'][-len(pages):]):.2f} s, missed {out['missed']}")
        await asyncio.sleep(args.settle_s)
        out["idle_cpu"] = await idle_cpu(pid, args.idle_s)
        for page in [teacher, *pages]:
            out["errors"] += await page.locator(ERRORS).all_inner_texts()
        for page in [teacher, *pages]:
            await page.context.close()
        # The reference: as many browsers on the Sample page, outside any class, on the same
        # server, now warm.
        visitors = []
        for _ in range(args.followers):
            page = await new_page(browser, timeout)
            await page.goto(f"{url}/sample", wait_until="domcontentloaded")
            visitors.append(page)
        for page in visitors:
            await drawn(page, "Sample", timeout)
        await asyncio.sleep(args.settle_s)
        out["idle_cpu_reference"] = await idle_cpu(pid, args.idle_s)
        for page in visitors:
            await page.context.close()

        out["fresh_link"] = [await fresh_link(browser, url, timeout) for _ in range(3)]
        await browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--followers", type=int, default=30)
    ap.add_argument("--changes", type=int, default=6, help="teacher changes (page, slider, ...)")
    ap.add_argument("--gap-s", type=float, default=1.0,
                    help="seconds between every follower having drawn a change and the next")
    ap.add_argument("--wait-s", type=float, default=30.0,
                    help="a follower that has not drawn a change by then counts as missed")
    ap.add_argument("--idle-s", type=float, default=60.0, help="seconds of CPU measured idle")
    ap.add_argument("--settle-s", type=float, default=10.0,
                    help="seconds of quiet before each CPU measurement")
    ap.add_argument("--page-timeout", type=float, default=120.0, help="seconds per wait")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    if why := chromium_missing():
        sys.exit(why)
    work = Path(tempfile.mkdtemp(prefix="bench-follow-"))
    load_start = C.load_average()
    with running_app(work, timeout=120, env={"EXPLORER_TEACHER_KEY": KEY}) as server:
        out = asyncio.run(scenario(server.url, server.process.pid, args))
        log = server.log_tail(10**8)
    url_lags, lagged = sorted(out["url_lags"]), sorted(out["lags"])
    ms = lambda xs, q: round(C.percentile(xs, q) * 1000) if xs else None  # noqa: E731
    result = {
        "followers": args.followers, "joined": out["joined"], "changes": args.changes,
        "follow_lag_p50_ms": ms(lagged, 50), "follow_lag_p95_ms": ms(lagged, 95),
        "follow_url_lag_p50_ms": ms(url_lags, 50), "follow_url_lag_p95_ms": ms(url_lags, 95),
        "follows_missed": out["missed"],
        "teacher_own_p50_ms": ms(sorted(out["teacher_s"]), 50),
        "idle_server_cpu_pct": round(out["idle_cpu"], 1),
        "idle_server_cpu_pct_reference": round(out["idle_cpu_reference"], 1),
        "idle_s": args.idle_s,
        "fresh_link_first_chart_s": round(C.median(out["fresh_link"]), 2),
        "fresh_link_tries_s": [round(x, 2) for x in out["fresh_link"]],
        "errors": len(out["errors"]) + (KEY in log), "error_texts": out["errors"][:5],
        "goals_met": {"p50<=1000ms": bool(lagged) and ms(lagged, 50) <= 1000,
                      "p95<=2000ms": bool(lagged) and ms(lagged, 95) <= 2000},
        "load_average_start": load_start, "load_average_end": C.load_average(),
    }
    print(json.dumps(result, indent=None if args.json else 1))


if __name__ == "__main__":
    main()
