"""Shared by the benchmarks: timing statistics, result rows, JSON output, a Streamlit server and
Debian's Chromium.

Every benchmark measures ours against a reference in the same run, interleaving the two, and
reports medians: the machines this runs on are small and shared, so a single timing means little.
Nothing here asserts on time; a benchmark only reports whether a goal was met.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The browser tests' own server and browser plumbing, shared rather than copied: Chromium's path
# and flags, the health check, stopping a server's process group, waiting for a page to settle.
from tests.browser.helpers import (  # noqa: E402, F401 (re-exported for the benchmarks)
    APP,
    CHROMIUM,
    CHROMIUM_ARGS,
    FIND_IMAGE_JS,
    SKELETONS,
    STATUS,
    VIEWPORT,
    free_port,
    healthy,
    stop_server,
)
from tests.browser.helpers import wait_idle as _wait_idle  # noqa: E402


# -- statistics ----------------------------------------------------------------------------------
def median(xs) -> float:
    xs = [float(x) for x in xs]
    return statistics.median(xs) if xs else float("nan")


def percentile(xs, q: float) -> float:
    """The q-th percentile (0..100), linear interpolation between order statistics."""
    xs = sorted(float(x) for x in xs)
    if not xs:
        return float("nan")
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def interleaved(fns: dict[str, Callable[[], float | None]], repeats: int) -> dict[str, list[float]]:
    """Call each function `repeats` times, alternating the order every round (A B, B A, ...), so a
    burst of background load hits both sides alike. Each call returns its own measurement (or
    None to let this helper time the call)."""
    out: dict[str, list[float]] = {k: [] for k in fns}
    names = list(fns)
    for r in range(repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            t = time.perf_counter()
            value = fns[name]()
            out[name].append(time.perf_counter() - t if value is None else float(value))
    return out


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


# -- result rows ---------------------------------------------------------------------------------
@dataclass
class Row:
    """One line of the summary table. `met` is None when there is no goal or no measurement."""

    benchmark: str
    ours: float | None
    reference: float | None
    unit: str
    goal: str = ""
    met: bool | None = None
    ratio: float | None = None
    reference_name: str = ""
    notes: str = ""
    details: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.ratio is None and self.ours is not None and self.reference:
            self.ratio = self.ours / self.reference


def fmt(x: float | None, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "n/a"
    ax = abs(x)
    s = f"{x:,.0f}" if ax >= 1000 else f"{x:.3g}" if ax < 10 else f"{x:.1f}"
    return f"{s} {unit}".strip()


def table(rows: list[Row]) -> str:
    head = ["benchmark", "ours", "reference", "ratio", "goal", "met?"]
    body = []
    for r in rows:
        met = "—" if r.met is None else ("yes" if r.met else "NO")
        ratio = "n/a" if r.ratio is None else f"{r.ratio:.2f}×"
        body.append([r.benchmark, fmt(r.ours, r.unit), fmt(r.reference, r.unit), ratio,
                     r.goal or "—", met])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |",
             "| " + " | ".join("-" * w for w in widths) + " |"]
    lines += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
              for row in body]
    return "\n".join(lines)


def main_args(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--quick", action="store_true", help="fewer repeats: a smoke-sized run")
    ap.add_argument("--json", type=Path, help="write the rows (and details) here")
    if extra:
        extra(ap)
    return ap.parse_args()


def finish(name: str, rows: list[Row], args, details: dict | None = None) -> None:
    """Print this benchmark's table and write its JSON (for run_all.py)."""
    print(f"\n== {name} ==")
    print(table(rows), flush=True)
    if args.json:
        payload = {"name": name, "rows": [asdict(r) for r in rows], "details": details or {},
                   "load_average_end": load_average()}
        args.json.write_text(json.dumps(payload, indent=1, default=_json_default))


def _json_default(o):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    return str(o)


def log(*a) -> None:
    print(*a, flush=True)


# -- a Streamlit server --------------------------------------------------------------------------
@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path
    started: float  # time.perf_counter() just before Popen
    healthy_after: float | None = None  # seconds from launch to /_stcore/health answering

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def start_server(script: str, workdir: Path, python_flags: tuple[str, ...] = (),
                 timeout: float = 90.0, extra_env: dict | None = None,
                 streamlit_flags: tuple[str, ...] = ()) -> Server:
    """`streamlit run <script>` on a free port, headless, no file watcher, no usage stats; its
    runs and caches in `workdir`. Returns once /_stcore/health answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "runs").mkdir(exist_ok=True)
    (workdir / "cache").mkdir(exist_ok=True)
    port = free_port()
    env = {**os.environ, "EXPLORER_RUNS_DIR": str(workdir / "runs"),
           "EXPLORER_CACHE_DIR": str(workdir / "cache"), "PYTHONUNBUFFERED": "1",
           **(extra_env or {})}
    cmd = [sys.executable, *python_flags, "-m", "streamlit", "run", script,
           "--server.headless", "true", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--server.runOnSave", "false",
           *streamlit_flags]
    logfile = workdir / "streamlit.log"
    t0 = time.perf_counter()
    with open(logfile, "wb") as out:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    server = Server(process, port, logfile, t0)
    deadline = t0 + timeout
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{server.log_tail()}")
        if healthy(server.url):
            server.healthy_after = time.perf_counter() - t0
            return server
        time.sleep(0.02)
    stop_server(server)
    raise RuntimeError(f"streamlit did not answer in {timeout:.0f} s:\n{server.log_tail()}")


@contextlib.contextmanager
def running(script: str, workdir: Path, **kw) -> Iterator[Server]:
    server = start_server(script, workdir, **kw)
    try:
        yield server
    finally:
        stop_server(server)


# -- the browser ---------------------------------------------------------------------------------
def chromium_available() -> bool:
    if not Path(CHROMIUM).exists():
        return False
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def browser() -> Iterator:
    """Debian's Chromium, headless, through Playwright (never Playwright's own download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def wait_idle(page, timeout_ms: float = 90_000) -> None:
    """The app is drawn, connected, no script running, no status widget, no skeleton."""
    _wait_idle(page, timeout=timeout_ms)


def run_python(code: str, env: dict | None = None, timeout: float = 600) -> dict:
    """Run `code` in a fresh interpreter (cwd = repo root); it must print one JSON line last."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore", **(env or {})}
    out = subprocess.run([sys.executable, "-c", code], env=full_env, cwd=ROOT,
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"subprocess failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
