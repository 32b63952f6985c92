"""A class through the real server: N students join by name and train at once while the teacher
watches the class dashboard; then K students train for longer while one more moves a slider.

One ``streamlit run app.py`` (loopback only, runs, caches and the class database in a temporary
folder, a teacher key set) and Debian's Chromium driven by async Playwright, one browser context
per person: the teacher and the slider student in one Chromium, the class in another. Where
Linux shares the CPU between sessions first (autogroup, on here), each browser gets its share:
as in a classroom, the teacher's page is not one of 31 tabs on one share of two cores.
``--one-browser`` puts all in one (how this ran before 2026-12-06); ``--students-nice 19`` gives
the class's browser the lowest priority, as if it ran on the students' own laptops.
The teacher opens a class on the Teacher page; each student opens the join link,
types a name, opens Train, sets the epochs and presses Train together with the others.

Measured: how many joined and how many runs were saved; the dashboard's lag, from the moment the
server heard of a student's epoch (its record's ``at``) to the moment that row showed it in the
teacher's browser (same machine, same clock); error boxes; the server's peak memory. Then K
students (8) train for 20 epochs while a student on Interpolate presses ← / → every 0.5 s:
the time until all K runs are saved and the slider's median key → image (the reference: the same
slider before anyone trains). Prints one JSON object with ``--json``.

    python bench/bench_class.py --students 30 --epochs 3 --json [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402
from bench_class_trains import SLIDER_KEYS, slider_student  # noqa: E402
from bench_classroom import PeakMemory, drawn, move_slider  # noqa: E402

from harness.app_server import running_app  # noqa: E402
from harness.chromium import chromium_missing, launch_chromium  # noqa: E402
from harness.page import ERRORS, TRAIN_FORM  # noqa: E402
from harness.pages import PROJECTOR  # noqa: E402

KEY = "bench-teacher-key"
# Records, in the teacher's page, when each (student, epoch) first shows in the dashboard.
WATCH_JS = """() => {
    const seen = window.__seen = {};
    const look = () => {
        for (const tr of document.querySelectorAll('[data-testid="stTable"] tbody tr')) {
            const name = (tr.querySelector('th') || {}).innerText;
            const text = tr.innerText;
            const m = text.match(/epoch (\\d+) of/) || text.match(/(\\d+) of \\d+ epochs done/)
                || text.match(/finished \\((\\d+) epochs\\)/);
            if (!name || !m) continue;
            const key = name.trim() + '|' + m[1];
            if (!(key in seen)) seen[key] = Date.now() / 1000;
        }
    };
    new MutationObserver(look).observe(document.body,
        {subtree: true, childList: true, characterData: true});
}"""


async def new_page(browser, timeout: float):
    context = await browser.new_context(viewport=PROJECTOR.viewport)
    page = await context.new_page()
    page.set_default_timeout(timeout)
    return page


async def open_class(browser, url: str, timeout: float) -> tuple[object, str]:
    page = await new_page(browser, timeout)
    await page.goto(f"{url}/teacher", wait_until="domcontentloaded")
    await drawn(page, "Teacher", timeout)
    await page.get_by_label("Teacher key").fill(KEY)
    await page.get_by_role("button", name="Open the teacher's page").click()
    await page.get_by_label("Class name").fill("Benchmark class")
    await page.get_by_role("button", name="Open the class").click()
    heading = page.get_by_text("Join code:")
    await heading.wait_for()
    code = (await heading.inner_text()).strip()[-6:]
    return page, code


async def join_by_link(page, url: str, code: str, name: str, timeout: float) -> None:
    """A student joins through the join link under display name `name` (raises if not)."""
    await page.goto(f"{url}/join?code={code}", wait_until="domcontentloaded")
    await drawn(page, "Join the class", timeout)
    await page.get_by_label("Your name").fill(name)
    await page.get_by_role("button", name="Join").click()
    await page.get_by_text(f"You are {name}").wait_for()


async def join_and_open_train(browser, url: str, code: str, name: str, epochs: int,
                              timeout: float):
    """Join through the join link, then open Train and set the epochs. None if the join failed."""
    page = await new_page(browser, timeout)
    try:
        await join_by_link(page, url, code, name, timeout)
        await page.goto(f"{url}/train", wait_until="domcontentloaded")
        await drawn(page, "Train a model", timeout)
        field = page.locator(TRAIN_FORM).get_by_label("Epochs", exact=True)
        await field.fill(str(epochs))
        await field.press("Tab")
        return page
    except Exception as e:  # noqa: BLE001 - counted as not joined
        C.log(f"{name}: {type(e).__name__}: {str(e).splitlines()[0][:120]}")
        await page.context.close()
        return None


def class_runs(runs: Path) -> list:
    from explorer.classroom import ClassStore

    store = ClassStore(f"sqlite:///{runs / 'classroom.sqlite3'}")
    return [r for klass in store.classes() for r in store.runs(klass.id, include_hidden=True)]


async def wait_saved(runs: Path, names: set[str], budget: float, t0: float) -> float | None:
    while time.perf_counter() - t0 < budget:
        done = {r.student for r in class_runs(runs) if r.student in names
                and r.status in ("finished", "stopped", "tab_closed", "failed", "cancelled")}
        if done >= names:
            return time.perf_counter() - t0
        await asyncio.sleep(0.5)
    return None


async def press_train(pages) -> None:
    await asyncio.gather(*(p.locator(TRAIN_FORM).get_by_role(
        "button", name="Train").click() for p in pages))


async def scenario(url: str, runs: Path, args) -> dict:
    from playwright.async_api import async_playwright

    timeout = args.page_timeout * 1000
    out: dict = {"errors": []}
    async with async_playwright() as pw:
        browser = await launch_chromium(pw)  # the teacher's and the slider student's pages
        # The class's pages in a browser of their own (--students-nice: at a lower priority),
        # or with --one-browser in the teacher's (all 31 in one share of the CPU).
        crowd = browser if args.one_browser else \
            await launch_chromium(pw, nice=args.students_nice)
        teacher, code = await open_class(browser, url, timeout)
        await teacher.evaluate(WATCH_JS)
        names = [f"Student {i + 1:02d}" for i in range(args.students)]
        pages = await asyncio.gather(*(join_and_open_train(crowd, url, code, n, args.epochs,
                                                           timeout) for n in names))
        joined = {n: p for n, p in zip(names, pages, strict=True) if p is not None}
        out["joined"] = len(joined)
        C.log(f"{len(joined)} of {args.students} joined; load {C.load_average():.1f}")
        t0 = time.perf_counter()
        await press_train(list(joined.values()))
        out["first_all_saved_s"] = await wait_saved(runs, set(joined), args.budget, t0)
        await asyncio.sleep(2.5)  # the dashboard's last rows
        seen = await teacher.evaluate("() => window.__seen")
        records = class_runs(runs)
        lags = []
        for r in records:
            for h in r.history:
                key = f"{r.student}|{h['epoch']}"
                if key in seen and "at" in h:
                    lags.append(max(0.0, seen[key] - h["at"]))
        out["lags"] = lags
        out["epochs_seen"] = f"{len(lags)} of {sum(len(r.history) for r in records)}"
        out["saved"] = sum(r.status == "finished" and bool(r.saved_path) for r in records)
        for page in [teacher, *joined.values()]:
            out["errors"] += await page.locator(ERRORS).all_inner_texts()
        for page in joined.values():
            await page.context.close()

        # K students, longer runs, one more on Interpolate's slider.
        watcher = await new_page(browser, timeout)
        await watcher.goto(f"{url}/interpolate", wait_until="domcontentloaded")
        await drawn(watcher, "Interpolate", timeout)
        out["slider_quiet"] = [await move_slider(watcher, timeout, key=k) for k in SLIDER_KEYS]
        k_names = [f"Long {i + 1}" for i in range(args.k_students)]
        k_pages = [p for p in await asyncio.gather(*(join_and_open_train(
            crowd, url, code, n, args.k_epochs, timeout) for n in k_names)) if p is not None]
        stop = asyncio.Event()
        slider = asyncio.create_task(slider_student(watcher, stop, timeout))
        t0 = time.perf_counter()
        await press_train(k_pages)
        out["all_saved_s"] = await wait_saved(runs, set(k_names), args.budget, t0)
        stop.set()
        out["slider_busy"] = await slider
        for page in [watcher, *k_pages]:
            out["errors"] += await page.locator(ERRORS).all_inner_texts()
        if crowd is not browser:
            await crowd.close()
        await browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--k-students", type=int, default=8)
    ap.add_argument("--k-epochs", type=int, default=20)
    ap.add_argument("--budget", type=float, default=900.0, help="seconds per phase, at most")
    ap.add_argument("--page-timeout", type=float, default=90.0, help="seconds per wait")
    ap.add_argument("--students-nice", type=int, default=0, metavar="N",
                    help="the class's browser at CPU priority nice N (in a classroom: their own "
                         "laptops); the teacher's and the slider student's keep full priority")
    ap.add_argument("--one-browser", action="store_true",
                    help="the class's pages in the teacher's browser, one share of the CPU "
                         "(how this benchmark ran before 2026-12-06)")
    ap.add_argument("--quick", action="store_true", help="4 students, then 3 for 3 epochs")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    if args.quick:
        args.students, args.epochs, args.k_students, args.k_epochs = 4, 2, 3, 3
    if why := chromium_missing():
        sys.exit(why)
    work = Path(tempfile.mkdtemp(prefix="bench-class-"))
    with running_app(work, timeout=120, env={"EXPLORER_TEACHER_KEY": KEY}) as server:
        memory = PeakMemory(server.process.pid)
        memory.start()
        try:
            out = asyncio.run(scenario(server.url, work / "runs", args))
        finally:
            memory.halt.set()
        log = server.log_tail(10**8)
    lags = sorted(out["lags"])
    result = {
        "students": args.students, "epochs": args.epochs, "one_browser": args.one_browser,
        "students_nice": 0 if args.one_browser else args.students_nice,
        "joined": out["joined"], "saved": out["saved"],
        "dashboard_lag_p50_ms": round(C.percentile(lags, 50) * 1000) if lags else None,
        "dashboard_lag_p95_ms": round(C.percentile(lags, 95) * 1000) if lags else None,
        "dashboard_epochs_seen": out["epochs_seen"],
        "errors": len(out["errors"]) + (KEY in log),
        "error_texts": out["errors"][:5],
        "server_peak_rss_mb": round(memory.peak),
        "first_all_saved_s": out["first_all_saved_s"],
        "k_students": args.k_students, "k_epochs": args.k_epochs,
        "all_saved_s": out["all_saved_s"],
        "slider_busy_p50_ms": round(C.median(out["slider_busy"]) * 1000)
        if out["slider_busy"] else None,
        "slider_quiet_p50_ms": round(C.median(out["slider_quiet"]) * 1000),
        "load_average_end": C.load_average(),
    }
    print(json.dumps(result, indent=None if args.json else 1))


if __name__ == "__main__":
    main()
