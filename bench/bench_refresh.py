"""What a page's own refreshes cost its browser: the main thread's busy time per second (Chrome
DevTools' ``Performance.getMetrics`` TaskDuration) and the reruns the page asks for per second
(WebSocket messages it sends), for the pages a class leaves open, against the least a Streamlit
page can do for a live bar (``bench/bare_fragment_app.py``: one fragment, one bar, every second).

One ``streamlit run app.py`` (loopback only, a teacher key set, runs in a temporary folder) and
one bare app, Debian's Chromium driven by async Playwright, one browser context per person. The
teacher opens a class and keeps the Teacher page (its dashboard) open; four students join by the
join link; three open Train and one opens Sample. Measured over ``--window`` seconds: first with
nobody training, then after three students press Train (150 epochs: two train on the two
workers, the third waits in line). In a classroom these browsers are the students' laptops; on
a shared two-core server (and in the other class benchmarks) they are the server's own cores.
``--root`` serves another checkout (e.g. an older commit, for a before/after).

    python bench/bench_refresh.py [--quick] [--window 20] [--root DIR] [--json out.json]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402
from bench_class import KEY, join_by_link, open_class  # noqa: E402
from bench_classroom import drawn  # noqa: E402

from harness.app_server import ROOT, running_app  # noqa: E402
from harness.chromium import VIEWPORT, chromium_missing, launch_chromium  # noqa: E402
from harness.page import TRAIN_FORM  # noqa: E402

BARE = "bench/bare_fragment_app.py"  # served from this checkout, whatever --root is
EPOCHS = 150  # long enough to outlast both windows on two workers


class Watched:
    """One page: its DevTools session and a count of the messages it sent."""

    def __init__(self, name: str, page) -> None:
        self.name, self.page, self.sent = name, page, 0
        page.on("websocket", lambda ws: ws.on("framesent", self._count))
        self.cdp = None

    def _count(self, _frame) -> None:
        self.sent += 1

    async def attach(self) -> None:
        self.cdp = await self.page.context.new_cdp_session(self.page)
        await self.cdp.send("Performance.enable")

    async def busy_s(self) -> float:
        metrics = (await self.cdp.send("Performance.getMetrics"))["metrics"]
        return next(m["value"] for m in metrics if m["name"] == "TaskDuration")


async def measure(watched: list[Watched], window: float) -> dict[str, tuple[float, float]]:
    """{name: (main-thread ms per second, messages sent per second)} over `window` seconds."""
    before = [(await w.busy_s(), w.sent) for w in watched]
    t0 = time.perf_counter()
    await asyncio.sleep(window)
    dt = time.perf_counter() - t0
    after = [(await w.busy_s(), w.sent) for w in watched]
    return {w.name: (1000 * (a[0] - b[0]) / dt, (a[1] - b[1]) / dt)
            for w, b, a in zip(watched, before, after, strict=True)}


async def new_page(browser, timeout: float):
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    page.set_default_timeout(timeout)
    return page


async def bare(browser, url: str, window: float, timeout: float) -> tuple[float, float]:
    page = await new_page(browser, timeout)
    watched = Watched("bare", page)
    await page.goto(url, wait_until="domcontentloaded")
    await page.get_by_text("Epoch").first.wait_for()
    await watched.attach()
    await asyncio.sleep(2)
    result = (await measure([watched], window))["bare"]
    await page.context.close()
    return result


async def scenario(url: str, bare_url: str, args) -> dict:
    from playwright.async_api import async_playwright

    timeout = args.page_timeout * 1000
    async with async_playwright() as pw:
        browser = await launch_chromium(pw)
        reference = [await bare(browser, bare_url, args.window, timeout)]
        teacher_page, code = await open_class(browser, url, timeout)
        teacher = Watched("teacher", teacher_page)  # (its socket opened already: no count)
        students = []
        for i, where in enumerate(["train", "train", "train", "sample"]):
            page = await new_page(browser, timeout)
            students.append(Watched(f"student {i + 1}", page))
            await join_by_link(page, url, code, f"Student {i + 1}", timeout)
            await page.goto(f"{url}/{where}", wait_until="domcontentloaded")
            await drawn(page, "Train a model" if where == "train" else "Sample", timeout)
            if where == "train":
                field = page.locator(TRAIN_FORM).get_by_label("Epochs", exact=True)
                await field.fill(str(EPOCHS))
                await field.press("Tab")
        for w in (teacher, *students):
            await w.attach()
        await asyncio.sleep(2)
        quiet = await measure([teacher, *students], args.window)
        for w in students[:3]:  # one after another: the third takes the place in line
            await w.page.locator(TRAIN_FORM).get_by_role("button", name="Train").click()
            await w.page.locator('[data-testid="stProgress"]').first.wait_for()
            await asyncio.sleep(0.5)
        await students[2].page.get_by_text("in line").first.wait_for()
        await asyncio.sleep(3)
        busy = await measure([teacher, *students], args.window)
        texts = [(await w.page.locator('[data-testid="stProgress"]').first.inner_text())[:60]
                 for w in students[:3]]
        reference.append(await bare(browser, bare_url, args.window, timeout))
        await browser.close()
    return {"reference": reference, "quiet": quiet, "busy": busy, "progress_texts": texts}


def main() -> None:
    def extra(ap):
        ap.add_argument("--window", type=float, default=20.0, help="seconds per measurement")
        ap.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve")
        ap.add_argument("--page-timeout", type=float, default=90.0, help="seconds per wait")

    args = C.main_args(__doc__.splitlines()[0], extra)
    if args.quick:
        args.window = 10.0
    if why := chromium_missing():
        sys.exit(why)
    work = Path(tempfile.mkdtemp(prefix="bench-refresh-"))
    with running_app(work / "bare", script=BARE) as bare_server, \
            running_app(work / "app", timeout=120, root=args.root,
                        env={"EXPLORER_TEACHER_KEY": KEY}) as server:
        out = asyncio.run(scenario(server.url, bare_server.url, args))
    ref_ms = C.median([r[0] for r in out["reference"]])
    ref_sent = C.median([r[1] for r in out["reference"]])
    quiet, busy = out["quiet"], out["busy"]
    cases = [
        ("a student on Train, nobody training", quiet["student 1"]),
        ("a student on Sample, nothing to follow", quiet["student 4"]),
        ("the Teacher page (dashboard), nobody training", quiet["teacher"]),
        ("a student on Train, their run waiting in line", busy["student 3"]),
        ("a student on Train, their run training", busy["student 1"]),
        ("a student on Sample while the class trains", busy["student 4"]),
        ("the Teacher page (dashboard) while the class trains", busy["teacher"]),
    ]
    rows = []
    for what, (ms, sent) in cases:
        rows.append(C.Row(f"{what}: browser main thread", ms, ref_ms, "ms/s", goal="(info)",
                          reference_name="the bare live bar, 1 s",
                          notes=f"{sent:.2f} messages sent/s (bare: {ref_sent:.2f})"
                          if "Teacher" not in what else "the teacher's socket is not counted"))
    pages_ms = sum(ms for _, (ms, _) in cases[3:])
    rows.append(C.Row("the five pages together while the class trains", pages_ms, ref_ms * 5,
                      "ms/s", goal="(info)", reference_name="five bare live bars"))
    C.finish("what a page's refreshes cost its browser", rows, args,
             {**out, "root": str(args.root), "window_s": args.window})


if __name__ == "__main__":
    main()
