"""Start ``streamlit run app.py`` (or another script) on a free port of 127.0.0.1, with runs and
caches in a folder of the caller's, and wait (bounded) until ``/_stcore/health`` answers."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The first run of a page imports torch and loads a dataset, which on a small shared machine can
# take a while; every wait is still bounded.
START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running ``streamlit run``; ``url`` is its root, ``log`` its output file."""

    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def page_url(self, path: str = "", model: str | None = None, query: str = "") -> str:
        """`path`'s address, with ``model=`` and any further `query` ("present=true&a=1")."""
        parts = [f"model={model}"] if model else []
        parts += [query] if query else []
        return f"{self.url}/{path}" + (f"?{'&'.join(parts)}" if parts else "")

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


def stop_server(server: Server) -> None:
    """Terminate the server's whole process group (streamlit and any worker it started)."""
    process = server.process
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def start_server(workdir: Path, script: str = "app.py",
                 timeout: float = START_TIMEOUT_S, root: Path = ROOT,
                 env: dict[str, str] | None = None) -> Server:
    """`streamlit run <script>` (relative to `root`, this checkout unless another is given, e.g.
    an older commit to compare with), headless, on a free port; runs, caches and the log under
    `workdir`. Returns once the server answers its health check."""
    runs, cache = workdir / "runs", workdir / "cache"
    runs.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        "EXPLORER_RUNS_DIR": str(runs),
        "EXPLORER_CACHE_DIR": str(cache),
        "PYTHONUNBUFFERED": "1",
        # torch's spinning OpenMP threads make every step of a training worker several times
        # slower on a small busy machine; set OMP_NUM_THREADS to override.
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
        **(env or {}),
    }
    # .streamlit/config.toml turns the file watcher off too; the flag keeps it off if that
    # file is edited (the watcher would walk .venv).
    cmd = [sys.executable, "-m", "streamlit", "run", script,
           "--server.headless", "true",
           "--server.port", str(port),
           "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    log = workdir / "streamlit.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    server = Server(process, port, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{server.log_tail()}")
        if healthy(server.url):
            return server
        time.sleep(0.05)
    stop_server(server)
    raise RuntimeError(f"streamlit did not become healthy in {timeout:.0f} s:\n"
                       f"{server.log_tail()}")


@contextlib.contextmanager
def running_app(workdir: Path, script: str = "app.py",
                timeout: float = START_TIMEOUT_S, root: Path = ROOT,
                env: dict[str, str] | None = None) -> Iterator[Server]:
    """A server (see :func:`start_server`), stopped on exit."""
    server = start_server(workdir, script, timeout, root, env)
    try:
        yield server
    finally:
        stop_server(server)
