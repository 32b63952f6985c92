"""A classroom on one server: many students browsing ``app.py`` at once, against one student
alone on the same server in the same run.

One ``streamlit run app.py`` (loopback only, runs and caches in a temporary folder) and one
Debian Chromium driven by async Playwright: one browser context, so one Streamlit session, per
student. A student opens the latent map (the root URL), then follows the sidebar's links to
Reconstructions, Interpolate (pressing → once on the t slider) and Sample. A page counts as
drawn when its heading and the main area show, no script runs and the status widget is gone.
First the teacher's session warms the server up (imports, models, data: not timed), then one
student browses alone (the reference), then ``--sessions`` students in waves of ``--wave`` at
once. Reported: sessions served, page times (median and slowest) and the slider's key -> new
image under load against alone, the server's peak memory. Every wait has a per-page timeout and
the whole run a time bound.

    python bench/bench_classroom.py [--quick] [--sessions 30] [--wave 10] [--json out.json]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

from harness.app_server import running_app  # noqa: E402
from harness.chromium import VIEWPORT, chromium_missing, launch_chromium  # noqa: E402
from harness.page import APP, ERRORS, FIND_IMAGE_JS, SKELETONS, STATUS  # noqa: E402

# (url path, heading); the first is opened by URL, the others through the sidebar's links.
PAGES = [("", "Latent map"), ("compare", "Reconstructions"), ("interpolate", "Interpolate"),
         ("sample", "Sample new images")]
SLIDER, CAPTION = "t: from start (0) to end (1)", "decoded at t"
LOADED_SRC_JS = f"c => {{ const i = ({FIND_IMAGE_JS})(c); " \
                "return i && i.complete && i.naturalWidth > 0 ? i.src : null; }"


@dataclass
class Session:
    name: str
    pages: dict[str, float] = field(default_factory=dict)  # heading -> seconds to draw
    slider: float | None = None  # seconds from the key press to the new image
    error: str | None = None

    @property
    def served(self) -> bool:
        return self.error is None and len(self.pages) == len(PAGES)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


class PeakMemory(threading.Thread):
    """The server's resident memory, sampled every 0.5 s until stopped."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.halt = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.5):
            self.peak = max(self.peak, rss_mb(self.pid) or 0.0)


async def drawn(page, heading: str, timeout: float) -> None:
    from playwright.async_api import expect

    app = page.locator(APP)
    await expect(page.locator("h1", has_text=heading).first).to_be_visible(timeout=timeout)
    await expect(page.locator('[data-testid="stMain"]')).to_be_visible(timeout=timeout)
    await expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout)
    await expect(page.locator(STATUS)).to_have_count(0, timeout=timeout)
    await expect(page.locator(SKELETONS)).to_have_count(0, timeout=timeout)


async def move_slider(page, timeout: float, key: str = "ArrowRight") -> float:
    """Press `key` on the t slider once; seconds until the decoded image shows the new picture."""
    before = await (await page.wait_for_function(LOADED_SRC_JS, arg=CAPTION)).json_value()
    slider = page.get_by_role("slider", name=SLIDER)
    await slider.focus()
    t0 = time.perf_counter()
    await slider.press(key)
    await page.wait_for_function(f"([c, before]) => {{ const s = ({LOADED_SRC_JS})(c); "
                                 "return s !== null && s !== before; }", arg=[CAPTION, before],
                                 timeout=timeout)
    return time.perf_counter() - t0


async def student(browser, url: str, s: Session, timeout: float) -> Session:
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    page.set_default_timeout(timeout)
    heading = "?"
    try:
        for step, (path, heading) in enumerate(PAGES):
            t0 = time.perf_counter()
            if step == 0:
                await page.goto(f"{url}/{path}", wait_until="domcontentloaded")
            else:  # the sidebar's link, as a student clicks it: the same Streamlit session
                await page.locator(f'[data-testid="stSidebarNav"] a[href$="/{path}"]').click()
            await drawn(page, heading, timeout)
            s.pages[heading] = time.perf_counter() - t0
            if errors := await page.locator(ERRORS).all_inner_texts():
                raise RuntimeError(f"error box: {errors[0][:200]}")
            if heading == "Interpolate":
                s.slider = await move_slider(page, timeout)
    except Exception as e:  # noqa: BLE001 - every failure is counted and reported
        s.error = f"{heading}: {type(e).__name__}: {str(e).splitlines()[0][:200]}"
    finally:
        await context.close()
    return s


async def classroom(url: str, args) -> dict[str, list[Session]]:
    from playwright.async_api import async_playwright

    timeout = args.page_timeout * 1000
    deadline = time.perf_counter() + args.budget
    out: dict[str, list[Session]] = {"teacher": [], "alone": [], "class": []}
    async with async_playwright() as pw:
        browser = await launch_chromium(pw)
        for role in ("teacher", "alone"):  # one after the other: warm-up, then the reference
            out[role].append(await student(browser, url, Session(role), timeout))
            C.log(f"{role}: " + ", ".join(f"{k} {v:.1f} s" for k, v in out[role][0].pages.items())
                  + (f"; FAILED {out[role][0].error}" if out[role][0].error else ""))
        for first in range(0, args.sessions, args.wave):
            wave = [Session(f"student {i}") for i in range(first, min(first + args.wave,
                                                                      args.sessions))]
            left = deadline - time.perf_counter()
            tasks = [asyncio.create_task(student(browser, url, s, timeout)) for s in wave]
            _, pending = await asyncio.wait(tasks, timeout=max(left, 0.001))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for s in wave:
                if s.error is None and not s.served:
                    s.error = "cut off by the time bound (--budget)"
            out["class"] += wave
            C.log(f"wave of {len(wave)}: {sum(s.served for s in wave)} served, load "
                  f"{C.load_average():.1f}")
        await browser.close()
    return out


def main() -> None:
    def extra(ap):
        ap.add_argument("--sessions", type=int, default=30)
        ap.add_argument("--wave", type=int, default=10, help="students browsing at once")
        ap.add_argument("--budget", type=float, default=480.0, help="time bound, seconds")
        ap.add_argument("--page-timeout", type=float, default=120.0, help="seconds per page")

    args = C.main_args(__doc__.splitlines()[0], extra)
    if args.quick:
        args.sessions, args.wave, args.budget = 4, 4, 90.0
    if not 1 <= args.wave <= args.sessions <= 200:
        sys.exit("need 1 <= --wave <= --sessions <= 200")
    if why := chromium_missing():
        sys.exit(why)
    C.log(f"load {C.load_average():.1f}; {args.sessions} students in waves of {args.wave}")
    with running_app(Path(tempfile.mkdtemp(prefix="bench-classroom-")), timeout=120) as server:
        memory = PeakMemory(server.process.pid)
        memory.start()
        idle_mb = rss_mb(server.process.pid) or 0.0
        try:
            sessions = asyncio.run(classroom(server.url, args))
        finally:
            memory.halt.set()
        alive = server.process.poll() is None
    alone, crowd = sessions["alone"][0], sessions["class"]
    times = [t for s in crowd for t in s.pages.values()]
    sliders = [s.slider for s in crowd if s.slider is not None]
    served = sum(s.served for s in crowd)
    for s in crowd:
        if s.error:
            C.log(f"{s.name} failed: {s.error}")
    rows = [C.Row(f"classroom: sessions served, {len(crowd)} in waves of {args.wave}",
                  100.0 * served / len(crowd), 100.0 * alone.served, "%", goal="all",
                  met=served == len(crowd), reference_name="one student alone",
                  notes=f"{served} served; server alive at the end: {alive}"),
            C.Row("classroom: median page time", C.median(times),
                  C.median(alone.pages.values()), "s", goal="(info)",
                  reference_name="one student alone, same server",
                  notes=f"slowest {max(times, default=float('nan')):.1f} vs "
                        f"{max(alone.pages.values(), default=float('nan')):.1f} s"),
            C.Row("classroom: slider key→new image (median)", C.median(sliders), alone.slider,
                  "s", goal="(info)", reference_name="one student alone"),
            C.Row("classroom: server peak memory", memory.peak, idle_mb, "MB", goal="(info)",
                  reference_name="the server idle, just started")]
    C.finish("classroom", rows, args, {k: [asdict(s) for s in v] for k, v in sessions.items()})


if __name__ == "__main__":
    main()
