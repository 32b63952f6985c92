"""Shared by the browser tests and ``scripts/screenshots.py``: start the app, launch Chromium,
wait for Streamlit to settle.

Chromium is always Debian's ``/usr/bin/chromium`` (or ``$EXPLORER_CHROMIUM``); Playwright's own
browser download is never used.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("EXPLORER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
LAUNCH_ARGS = {"executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}
VIEWPORT = {"width": 1400, "height": 900}
DEFAULT_MODEL = "pretrained/mnist-vae-mlp-z2"

# A script run that draws a page on this shared 2-core machine can take a while (the first
# page load imports torch and loads the dataset); every wait below is bounded by these.
RUN_TIMEOUT_MS = 90_000
START_TIMEOUT_S = 60.0

APP = '[data-testid="stApp"]'
STATUS = '[data-testid="stStatusWidget"]'
SKELETONS = '[data-testid="stSkeleton"], [data-testid="stAppSkeleton"]'
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


# -- the server --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running ``streamlit run app.py``; ``url`` is its root, ``log`` its output file."""

    process: subprocess.Popen
    port: int
    log: Path
    env: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def page_url(self, path: str = "", model: str | None = None) -> str:
        query = f"?model={model}" if model else ""
        return f"{self.url}/{path}{query}"

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


def start_server(runs_dir: Path, cache_dir: Path, log: Path,
                 timeout: float = START_TIMEOUT_S) -> Server:
    """Start the app on a free port of 127.0.0.1 and wait (bounded) until it answers health."""
    port = free_port()
    env = {
        **os.environ,
        "EXPLORER_RUNS_DIR": str(runs_dir),
        "EXPLORER_CACHE_DIR": str(cache_dir),
        "PYTHONUNBUFFERED": "1",
        # One intra-op thread: on a small shared machine, torch's spinning OpenMP threads make
        # each training step of the app's worker thread up to 10x slower (measured: 5 ms per
        # step with one thread, 30-90 ms with two, on 2 busy cores). Set it to override.
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
    ]
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    server = Server(process, port, log, env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{server.log_tail()}")
        if healthy(server.url):
            return server
        time.sleep(0.25)
    stop_server(server)
    raise RuntimeError(f"streamlit did not become healthy in {timeout:.0f} s:\n"
                       f"{server.log_tail()}")


@contextlib.contextmanager
def running_app(workdir: Path) -> Iterator[Server]:
    """A server whose runs and caches live under `workdir`; stopped on exit."""
    runs, cache = workdir / "runs", workdir / "cache"
    runs.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    server = start_server(runs, cache, workdir / "streamlit.log")
    try:
        yield server
    finally:
        stop_server(server)


# -- the browser -------------------------------------------------------------------------------
def launch_chromium(playwright):
    """Debian's Chromium, headless; never Playwright's bundled build."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} not found: install Debian's chromium "
                           "(bash scripts/setup.sh --test)")
    return playwright.chromium.launch(**LAUNCH_ARGS)


# -- waiting for Streamlit ---------------------------------------------------------------------
def wait_idle(page: Page, timeout: float = RUN_TIMEOUT_MS, expect_run: bool = False) -> None:
    """Wait until the app is drawn and no script runs: the app root exists and is connected,
    its script state is 'notRunning', the status widget ("Running…") is gone, and no skeleton
    placeholder is left.

    `expect_run`: an action was just taken; first give its rerun a moment (at most 2 s) to
    start, so that a still-idle page is not mistaken for a finished run.

    A page with a timed fragment (the Train page's live view, the map while a projection is
    computed) reruns every second or so and is never idle for long: there, wait for the
    expected element instead.
    """
    app = page.locator(APP)
    expect(app).to_be_attached(timeout=timeout)
    if expect_run:
        with contextlib.suppress(AssertionError):
            expect(page.locator(f'{APP}:not([data-test-script-state="notRunning"]), {STATUS}')
                   .first).to_be_attached(timeout=2_000)
    expect(app).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=timeout)
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout)
    expect(page.locator(STATUS)).to_have_count(0, timeout=timeout)
    expect(page.locator(SKELETONS)).to_have_count(0, timeout=timeout)


def open_page(page: Page, server: Server, path: str = "", model: str | None = None) -> None:
    page.goto(server.page_url(path, model), wait_until="domcontentloaded")
    wait_idle(page)


def assert_no_errors(page: Page) -> None:
    errors = page.locator(ERRORS)
    count = errors.count()
    texts = [errors.nth(i).inner_text() for i in range(count)]
    assert count == 0, f"error boxes on {page.url}: {texts}"
    assert "Traceback" not in page.locator(APP).inner_text()


def image_captioned(page: Page, caption_prefix: str) -> Locator:
    """The <img> of the st.image whose caption starts with `caption_prefix`."""
    container = page.locator('[data-testid="stImageContainer"]').filter(
        has=page.locator('[data-testid="stImageCaption"]', has_text=caption_prefix))
    return container.locator("img").first


def select_model_options(page: Page) -> list[str]:
    """Open the sidebar's model picker and read its options' texts (then close it)."""
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(
        has_text="Model").first
    box.locator('[role="combobox"], input').first.click()
    options = page.locator('[role="option"]')
    expect(options.first).to_be_visible(timeout=10_000)
    texts = options.all_inner_texts()
    page.keyboard.press("Escape")
    return texts


def nav_titles(page: Page) -> list[str]:
    """The titles of the pages listed in the sidebar's navigation, in order."""
    labels = page.locator('[data-testid="stSidebarNavLink"] span[label]')
    expect(labels.first).to_be_visible()
    return [labels.nth(i).get_attribute("label") or "" for i in range(labels.count())]


def go_to(page: Page, title: str) -> None:
    """Open a page the way a student does: its link in the sidebar's navigation."""
    link = page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title,
                                                                      exact=True)
    href = (link.get_attribute("href") or "").split("?")[0]
    link.click()
    if href:
        expect(page).to_have_url(re.compile("^" + re.escape(href) + r"(\?.*)?$"))
    wait_idle(page, expect_run=True)


def wait_image_loaded(page: Page, caption_prefix: str, timeout: float = RUN_TIMEOUT_MS) -> None:
    """Wait until the image captioned `caption_prefix` has decoded its current src."""
    page.wait_for_function(f"""caption => {{
        const img = ({FIND_IMAGE_JS})(caption);
        return img !== null && img.complete && img.naturalWidth > 0;
    }}""", arg=caption_prefix, timeout=timeout)


# The <img> of the st.image whose caption starts with a given text, found in the page's JS.
FIND_IMAGE_JS = """caption => {
    for (const box of document.querySelectorAll('[data-testid="stImageContainer"]')) {
        const cap = box.querySelector('[data-testid="stImageCaption"]');
        if (cap && cap.innerText.trim().startsWith(caption)) return box.querySelector('img');
    }
    return null;
}"""

# Records, in the page, the time from each key press to the captioned image's src changing.
KEY_TO_IMAGE_TIMER_JS = f"""caption => {{
    const find = {FIND_IMAGE_JS};
    const timer = window.__keyToImage = {{t0: null, before: null, times: []}};
    document.addEventListener('keydown', () => {{
        const img = find(caption);
        timer.before = img ? img.src : null;
        timer.t0 = performance.now();
    }}, true);
    new MutationObserver(() => {{
        if (timer.t0 === null) return;
        const img = find(caption);
        if (img && img.src !== timer.before) {{
            timer.times.push(performance.now() - timer.t0);
            timer.t0 = null;
        }}
    }}).observe(document.body, {{subtree: true, childList: true, attributes: true,
                                 attributeFilter: ['src']}});
}}"""

# Records every state the progress bar shows, as {value, text}: it may change between two
# polls from Python. The value is a whole percent, so on a long run the text (which counts
# steps) is what moves first.
PROGRESS_RECORDER_JS = """() => {
    const seen = window.__progressSeen = [];
    new MutationObserver(() => {
        const box = document.querySelector('[data-testid="stProgress"]');
        const bar = box && box.querySelector('[role="progressbar"]');
        if (!bar) return;
        const entry = {value: Number(bar.getAttribute('aria-valuenow')), text: box.innerText};
        const last = seen[seen.length - 1];
        if (!last || last.value !== entry.value || last.text !== entry.text) seen.push(entry);
    }).observe(document.body, {subtree: true, childList: true, attributes: true,
                               characterData: true});
}"""
PROGRESS_MOVED_JS = """() => (window.__progressSeen || []).some(
    p => p.value > 0 || /step [1-9]/.test(p.text) || /saving/.test(p.text))"""


def record_progress(page: Page) -> None:
    """Start recording the progress bar's states (see `progress_seen`)."""
    page.evaluate(PROGRESS_RECORDER_JS)


def progress_seen(page: Page) -> list[dict]:
    return page.evaluate("window.__progressSeen || []")


def progress_moved(page: Page) -> bool:
    """Did the bar show any progress: a step counted, a value above 0, or the saving stage?"""
    return page.evaluate(PROGRESS_MOVED_JS)


def fill_train_form(page: Page, dataset: str | None = None,
                    fields: dict[str, object] | None = None) -> Locator:
    """Fill the Train page's form: `dataset` is the option's label (e.g. "Digits 8×8");
    `fields` maps field labels ("Epochs", "Latent size", "Run name", ...) to what to type.
    Returns the form."""
    form = page.locator('[data-testid="stForm"]')
    if dataset is not None:
        form.get_by_role("combobox", name="Dataset").click()
        page.get_by_role("option", name=dataset, exact=True).click()
        expect(form.get_by_role("combobox", name="Dataset")).to_have_value(dataset)
    for label, text in (fields or {}).items():
        field_ = form.get_by_label(label, exact=True)
        field_.fill(str(text))
        field_.press("Tab")  # commit the value, as leaving the field does
    return form


def box_select(page: Page, box: tuple[float, float, float, float] = (0.45, 0.3, 0.6, 0.6)) -> None:
    """Box-select on the page's first plotly chart: pick the modebar's "Box Select" tool, then
    drag over `box` (fractions of the plot area: left, top, right, bottom)."""
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.hover()
    page.locator('.modebar-btn[data-title="Box Select"]').first.click()
    area = chart.locator(".nsewdrag").first
    bounds = area.bounding_box()
    assert bounds is not None, "the plot area is not on screen"
    left, top, right, bottom = box
    x0, y0 = bounds["x"] + left * bounds["width"], bounds["y"] + top * bounds["height"]
    x1, y1 = bounds["x"] + right * bounds["width"], bounds["y"] + bottom * bounds["height"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=5)
    page.mouse.move(x1, y1, steps=5)
    page.mouse.up()
