"""Fixtures for the browser tests: one Streamlit server per session, Debian's Chromium.

pytest-playwright's own fixtures (``page``, ``context``, ``browser``) are used, with the launch
arguments overridden so that it drives ``/usr/bin/chromium`` and never a bundled browser.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.app_server import running_app
from harness.chromium import LAUNCH_ARGS, VIEWPORT, chromium_missing
from harness.page import RUN_TIMEOUT_MS
from harness.pages import SCREENS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, headless, quiet; overrides pytest-playwright's defaults."""
    if why := chromium_missing():
        pytest.fail(why)
    args = {**browser_type_launch_args, **LAUNCH_ARGS}
    args.pop("channel", None)  # a channel would make Playwright look for its own build
    return args


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": VIEWPORT}


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """`streamlit run app.py` on a free port, with runs, caches and the data folder (where an
    uploaded dataset is stored) in a temporary folder."""
    work = tmp_path_factory.mktemp("app")
    # A closed tab's job stops 2 s after the disconnect here (30 s by default), so a test can
    # watch it happen. Every dataset the pages use ships with the packages: an empty data folder
    # needs no download.
    with running_app(work, env={"EXPLORER_RELEASE_GRACE_S": "2",
                                "EXPLORER_DATA_DIR": str(work / "data")}) as running:
        yield running


@pytest.fixture
def app(page, server):
    """A fresh browser session (new context, so a new Streamlit session) with long timeouts."""
    page.set_default_timeout(RUN_TIMEOUT_MS)
    page.set_default_navigation_timeout(RUN_TIMEOUT_MS)
    return page


@pytest.fixture(params=SCREENS, ids=[s.name for s in SCREENS])
def screen(request, app):
    """Each screen the app must fit (wide, a 1024×768 projector, the projector in presenter
    mode): the page is resized to it; open pages with ``query=screen.query``."""
    app.set_viewport_size(request.param.viewport)
    return request.param


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, attach the end of the server's log (a Python error shows up there) and
    save a screenshot of the page under test-results/browser/."""
    report = yield
    funcargs = getattr(item, "funcargs", {})
    if report.failed and report.when == "call":
        server = funcargs.get("server")
        if server is not None:
            report.sections.append(("streamlit log (tail)", server.log_tail()))
        page = funcargs.get("page")
        if page is not None:
            shot = ROOT / "test-results" / "browser" / f"{item.name}.png"
            try:
                shot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shot), full_page=True, timeout=10_000)
                report.sections.append(("screenshot", str(shot)))
            except Exception as e:  # noqa: BLE001 - a failed screenshot must not hide the failure
                report.sections.append(("screenshot", f"not taken: {e}"))
    return report
