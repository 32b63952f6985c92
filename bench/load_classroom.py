"""A classroom on one server: many browser sessions browsing the app at once, on 127.0.0.1 only.

Starts ``streamlit run app.py`` on a free loopback port (headless, no file watcher, no usage
stats, runs and caches in a temporary folder), then drives ``--sessions`` students through one
Debian Chromium with Playwright: one browser context (a separate Streamlit session) per student,
``--wave`` of them at a time. Each student opens the latent map (the root URL: it is the default
page), then clicks through Reconstructions, Interpolate (moving the t slider once) and Sample in
the sidebar, as a student would. A page counts as rendered when its heading and the main area are
visible, no script is running and the status widget ("Running…") is gone. Every wait has a
per-page timeout and the whole run a global time bound; the server's resident memory is sampled
every 0.5 s.

Prints sessions served, failures, slowest and median page time (and per page), the slider's
response, peak server memory and the load average: the machines this runs on are small and
shared, so read the times against the load.

    python bench/load_classroom.py [--sessions 30] [--wave 10] [--budget 480] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

MAIN = '[data-testid="stMain"]'
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
# (url path, heading the page shows); the first is opened by URL, the others by sidebar link.
# The latent map is the default page, so it lives at the root: /map answers "Page not found".
PAGES = [("", "Latent map"), ("compare", "Reconstructions"), ("interpolate", "Interpolate"),
         ("sample", "Sample new images")]
SLIDER = "t: from start (0) to end (1)"
CAPTION = "decoded at t"
IMAGE_SRC_JS = """caption => {
    for (const box of document.querySelectorAll('[data-testid="stImageContainer"]')) {
        const cap = box.querySelector('[data-testid="stImageCaption"]');
        if (cap && cap.innerText.trim().startsWith(caption)) {
            const img = box.querySelector('img');
            return img && img.complete && img.naturalWidth > 0 ? img.src : null;
        }
    }
    return null;
}"""


@dataclass
class Session:
    index: int
    wave: int
    pages: dict[str, float] = field(default_factory=dict)  # heading -> seconds to render
    slider: float | None = None  # seconds from the key press to the new image
    error: str | None = None

    @property
    def served(self) -> bool:
        return self.error is None and len(self.pages) == len(PAGES)


# -- server memory -------------------------------------------------------------------------------
def rss_bytes(pid: int) -> int | None:
    """Resident memory of `pid` and its children: psutil when installed, else /proc."""
    try:
        import psutil

        proc = psutil.Process(pid)
        return proc.memory_info().rss + sum(
            c.memory_info().rss for c in proc.children(recursive=True))
    except ImportError:
        pass
    except Exception:  # noqa: BLE001 - the process may be gone; a missed sample is fine
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time the process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class Sampler(threading.Thread):
    """Samples the server's RSS and the load average every `every` seconds until stopped."""

    def __init__(self, pid: int, every: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.rss: list[tuple[float, int]] = []
        self.load: list[float] = []
        self._halt = threading.Event()
        self.t0 = time.perf_counter()

    def run(self) -> None:
        while not self._halt.is_set():
            value = rss_bytes(self.pid)
            if value is not None:
                self.rss.append((time.perf_counter() - self.t0, value))
            self.load.append(C.load_average())
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)

    @property
    def peak(self) -> int | None:
        return max((v for _, v in self.rss), default=None)


# -- one student -------------------------------------------------------------------------------
async def rendered(page, heading: str, timeout_ms: float) -> None:
    """The page's heading and main area are shown, no script runs, no status widget is left."""
    from playwright.async_api import expect

    app = page.locator(C.APP)
    await expect(page.locator("h1", has_text=heading).first).to_be_visible(timeout=timeout_ms)
    await expect(page.locator(MAIN)).to_be_visible(timeout=timeout_ms)
    await expect(app).to_have_attribute("data-test-connection-state", "CONNECTED",
                                        timeout=timeout_ms)
    await expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout_ms)
    await expect(page.locator(C.STATUS)).to_have_count(0, timeout=timeout_ms)
    await expect(page.locator(C.SKELETONS)).to_have_count(0, timeout=timeout_ms)


async def move_slider(page, timeout_ms: float) -> float:
    """Press → on the t slider once; seconds until the decoded image shows the new picture."""
    before = await page.wait_for_function(IMAGE_SRC_JS, arg=CAPTION, timeout=timeout_ms)
    before = await before.json_value()
    slider = page.get_by_role("slider", name=SLIDER)
    await slider.focus(timeout=timeout_ms)
    t0 = time.perf_counter()
    await slider.press("ArrowRight")
    await page.wait_for_function(f"([caption, before]) => {{ const src = ({IMAGE_SRC_JS})(caption);"
                                 " return src !== null && src !== before; }",
                                 arg=[CAPTION, before], timeout=timeout_ms)
    return time.perf_counter() - t0


async def student(browser, url: str, s: Session, timeout_ms: float) -> Session:
    context = await browser.new_context(viewport=C.VIEWPORT)
    page = await context.new_page()
    page.set_default_timeout(timeout_ms)
    heading = "?"
    try:
        for step, (where, heading) in enumerate(PAGES):
            t0 = time.perf_counter()
            if step == 0:
                await page.goto(f"{url}/{where}", wait_until="domcontentloaded",
                                timeout=timeout_ms)
            else:  # the sidebar's link, as a student clicks it: the same Streamlit session
                await page.locator(f'[data-testid="stSidebarNav"] a[href$="/{where}"]').click(
                    timeout=timeout_ms)
            await rendered(page, heading, timeout_ms)
            s.pages[heading] = time.perf_counter() - t0
            if errors := await page.locator(ERRORS).all_inner_texts():
                raise RuntimeError(f"error on the page: {errors[0][:200]}")
            if heading == "Interpolate":
                s.slider = await move_slider(page, timeout_ms)
    except Exception as e:  # noqa: BLE001 - every failure is counted and reported, none stops the run
        s.error = f"{heading}: {type(e).__name__}: {str(e).splitlines()[0][:200]}"
    finally:
        await context.close()
    return s


async def classroom(url: str, pid: int, sessions: int, wave: int, budget_s: float,
                    timeout_ms: float, warm_up: bool) -> tuple[list[Session], Session | None]:
    from playwright.async_api import async_playwright

    deadline = time.perf_counter() + budget_s
    results: list[Session] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=C.CHROMIUM, headless=True,
                                           args=C.CHROMIUM_ARGS)
        try:
            warm = None
            if warm_up:  # the teacher opens the app first: imports, models and data load once
                warm = await student(browser, url, Session(-1, 0), timeout_ms)
                C.log(f"warm-up session: {_fmt_pages(warm)}"
                      + (f" · FAILED {warm.error}" if warm.error else ""))
            for w, first in enumerate(range(0, sessions, wave), start=1):
                group = [Session(i, w) for i in range(first, min(first + wave, sessions))]
                left = deadline - time.perf_counter()
                if left <= 0:
                    for s in group:
                        s.error = "not started: the global time bound was reached"
                    results += group
                    continue
                t0 = time.perf_counter()
                tasks = [asyncio.create_task(student(browser, url, s, timeout_ms)) for s in group]
                done, pending = await asyncio.wait(tasks, timeout=left)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)  # contexts closed
                for s in group:
                    if s.error is None and len(s.pages) < len(PAGES):
                        s.error = "cut off by the global time bound"
                results += group
                served = sum(s.served for s in group)
                C.log(f"wave {w}: {len(group)} sessions, {served} served, "
                      f"{time.perf_counter() - t0:.1f} s, server RSS "
                      f"{(rss_bytes(pid) or 0) / 2**20:.0f} MB, load {C.load_average():.1f}")
        finally:
            await browser.close()
    return results, warm


def _fmt_pages(s: Session) -> str:
    return ", ".join(f"{k} {v:.1f} s" for k, v in s.pages.items())


# -- the run -----------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--wave", type=int, default=10, help="sessions browsing at the same time")
    ap.add_argument("--budget", type=float, default=480.0, help="global time bound, seconds")
    ap.add_argument("--page-timeout", type=float, default=120.0, help="per page, seconds")
    ap.add_argument("--no-warm-up", action="store_true", help="time the cold first session too")
    ap.add_argument("--json", type=Path, help="write every session's numbers here")
    args = ap.parse_args()
    if not 1 <= args.wave <= args.sessions <= 200:
        ap.error("need 1 <= --wave <= --sessions <= 200")
    if not C.chromium_available():
        print(f"needs Playwright and {C.CHROMIUM}", file=sys.stderr)
        return 2

    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="load-classroom-"))
    t_start = time.perf_counter()
    with C.running("app.py", work, timeout=120.0) as server:
        C.log(f"server on {server.url} (pid {server.process.pid}), healthy after "
              f"{server.healthy_after:.1f} s; runs in {work / 'runs'}")
        sampler = Sampler(server.process.pid)
        sampler.start()
        rss_idle = rss_bytes(server.process.pid)
        cpu_start = cpu_seconds(server.process.pid)
        try:
            results, warm = asyncio.run(classroom(
                server.url, server.process.pid, args.sessions, args.wave, args.budget,
                args.page_timeout * 1000, warm_up=not args.no_warm_up))
        finally:
            sampler.stop()
        rss_end = rss_bytes(server.process.pid)
        cpu_end = cpu_seconds(server.process.pid)
        server_alive = server.process.poll() is None
        log_tail = server.log_tail(2000)
    elapsed = time.perf_counter() - t_start
    load_after = os.getloadavg()

    times = [t for s in results for t in s.pages.values()]
    per_page = {h: [s.pages[h] for s in results if h in s.pages] for _, h in PAGES}
    sliders = [s.slider for s in results if s.slider is not None]
    failures = [s for s in results if not s.served]
    mb = 2**20
    summary = {
        "sessions": len(results),
        "wave": args.wave,
        "served": len(results) - len(failures),
        "failures": len(failures),
        "pages_rendered": len(times),
        "slowest_page_s": max(times, default=float("nan")),
        "median_page_s": statistics.median(times) if times else float("nan"),
        "p90_page_s": C.percentile(times, 90),
        "median_per_page_s": {h: statistics.median(v) for h, v in per_page.items() if v},
        "slowest_per_page_s": {h: max(v) for h, v in per_page.items() if v},
        "slider_median_s": statistics.median(sliders) if sliders else None,
        "slider_max_s": max(sliders, default=None),
        "peak_server_rss_mb": (sampler.peak or 0) / mb,
        "idle_server_rss_mb": (rss_idle or 0) / mb,
        "end_server_rss_mb": (rss_end or 0) / mb,
        "rss_samples": len(sampler.rss),
        "server_cpu_s": (cpu_end - cpu_start) if cpu_start is not None and cpu_end else None,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "load_average_max_1min": max(sampler.load, default=float("nan")),
        "cpus": os.cpu_count(),
        "elapsed_s": elapsed,
        "server_alive_at_end": server_alive,
        "warm_up": asdict(warm) if warm else None,
    }

    print("\n== classroom ==")
    print(f"sessions {summary['sessions']} (waves of {args.wave}) · served {summary['served']} · "
          f"failures {summary['failures']}")
    print(f"page time: median {summary['median_page_s']:.2f} s · p90 {summary['p90_page_s']:.2f} s"
          f" · slowest {summary['slowest_page_s']:.2f} s ({len(times)} pages)")
    for h in per_page:
        if per_page[h]:
            print(f"  {h:<18} median {summary['median_per_page_s'][h]:6.2f} s · "
                  f"slowest {summary['slowest_per_page_s'][h]:6.2f} s")
    if sliders:
        print(f"slider → new image: median {summary['slider_median_s']:.2f} s · "
              f"slowest {summary['slider_max_s']:.2f} s")
    print(f"server memory: idle {summary['idle_server_rss_mb']:.0f} MB · peak "
          f"{summary['peak_server_rss_mb']:.0f} MB · end {summary['end_server_rss_mb']:.0f} MB "
          f"({summary['rss_samples']} samples)")
    if summary["server_cpu_s"] is not None:
        print(f"server CPU time: {summary['server_cpu_s']:.0f} s in all, "
              f"{summary['server_cpu_s'] / max(1, len(results) + bool(warm)):.1f} s per session")
    print(f"load average (1/5/15 min): before {'/'.join(f'{x:.1f}' for x in load_before)} · "
          f"after {'/'.join(f'{x:.1f}' for x in load_after)} · max 1-min "
          f"{summary['load_average_max_1min']:.1f} on {os.cpu_count()} CPUs")
    print(f"elapsed {elapsed:.0f} s; server still up: {server_alive}")
    for s in failures:
        print(f"  session {s.index} (wave {s.wave}) failed: {s.error}")
    if failures and not server_alive:
        print(log_tail)
    if args.json:
        payload = {"summary": summary, "sessions": [asdict(s) for s in results]}
        args.json.write_text(json.dumps(payload, indent=1, default=str))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
