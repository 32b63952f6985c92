"""A student's connection drops while their model trains (a room's Wi-Fi, a laptop lid): the page
reconnects by itself and the run is still theirs. The server treats a dropped connection like a
closed tab and stops its job after a grace period unless the session comes back; this checks
that coming back counts, through a relay on 127.0.0.1 that cuts the page's connections."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from playwright.sync_api import Page, expect

from harness.app_server import running_app
from harness.chromium import VIEWPORT
from harness.page import RUN_TIMEOUT_MS, fill_train_form, open_page, wait_idle
from harness.proxy import drop_proxy
from tests.browser.helpers import PROGRESS_MOVED_JS, assert_no_errors, record_progress

pytestmark = pytest.mark.browser

GRACE_S = 8  # this server stops a gone session's job 8 s after its connection dropped
DROP_S = 3  # the connection is cut, and new ones refused, for this long
TRAIN_TIMEOUT_MS = 180_000

# The last "step k of n" the progress bar showed, as a number (0 before any).
LAST_STEP_JS = """() => {
    const seen = window.__progressSeen || [];
    for (let i = seen.length - 1; i >= 0; i--) {
        const m = seen[i].text.match(/step ([\\d,]+)/);
        if (m) return Number(m[1].replace(/,/g, ''));
    }
    return 0;
}"""


@pytest.fixture(scope="module")
def relayed(tmp_path_factory):
    """A server with a grace of GRACE_S, and a relay in front of it whose connections drop."""
    work = tmp_path_factory.mktemp("reconnect")
    with running_app(work, env={"EXPLORER_RELEASE_GRACE_S": str(GRACE_S),
                                "EXPLORER_DATA_DIR": str(work / "data")}) as server, \
            drop_proxy(server.port) as proxy:
        yield server, proxy


def test_a_dropped_connection_that_comes_back_keeps_its_training(browser, relayed):
    server, proxy = relayed
    context = browser.new_context(viewport=VIEWPORT)
    page: Page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    # The page's code, which it fetches in pieces as it first needs them (the image list, the
    # charts): a piece whose fetch the drop cuts is lost to the page until it is reloaded.
    scripts = set()
    page.on("request", lambda r: r.url.endswith(".js") and scripts.add(r.url))
    for ended in ("requestfinished", "requestfailed"):
        page.on(ended, lambda r: scripts.discard(r.url))
    try:
        open_page(page, dataclasses.replace(server, port=proxy.port), "train")
        record_progress(page)
        form = fill_train_form(page, "Digits 8×8", {"Epochs": 500, "Batch size": 8,
                                                    "Run name": "browser-reconnect"})
        form.get_by_role("button", name="Train").click()
        page.wait_for_function(PROGRESS_MOVED_JS, timeout=TRAIN_TIMEOUT_MS)
        # Cut the connection once the live view is drawn whole (an epoch's reconstructions and
        # curves) and has its code: a real drop can cut a piece of code on its way, and then the
        # page shows "Failed to fetch dynamically imported module" until it is reloaded, which is
        # the browser's module cache and Streamlit's, not what this test is about.
        expect(page.get_by_text("after epoch")).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
        expect(page.locator(".js-plotly-plot").first).to_be_visible()
        deadline = time.monotonic() + 30
        while scripts:
            assert time.monotonic() < deadline, f"the page's code never loaded: {scripts}"
            page.wait_for_timeout(100)

        proxy.drop(DROP_S)
        dropped_at = time.monotonic()
        assert proxy.dropped >= 2, "the relay had no connection to cut"
        # The page reconnects by itself (a second WebSocket) and its progress moves on.
        deadline = time.monotonic() + 60
        while len(sockets) < 2:
            assert time.monotonic() < deadline, "the page never opened a new connection"
            page.wait_for_timeout(200)
        # Past the grace period, counted from the drop: a session that did not come back would
        # have had its job stopped by now.
        page.wait_for_timeout(max(0.0, dropped_at + GRACE_S + 6 - time.monotonic()) * 1000)
        card = server.log.parent / "runs" / "browser-reconnect" / "card.json"
        before, deadline = page.evaluate(LAST_STEP_JS), time.monotonic() + 60
        while page.evaluate(LAST_STEP_JS) <= before:
            assert not card.exists(), f"the run ended though its tab came back: {card.read_text()}"
            assert time.monotonic() < deadline, f"no step after the reconnect (last {before})"
            page.wait_for_timeout(250)
        assert not card.exists(), f"the run ended though its tab came back: {card.read_text()}"

        # The student is still in charge of it: Stop works and says so.
        page.get_by_role("button", name="Stop").click()
        expect(page.locator('[data-testid="stAlertContentInfo"]')).to_contain_text(
            "Stopped", timeout=TRAIN_TIMEOUT_MS)
        wait_idle(page)
        assert_no_errors(page)
        saved = json.loads(card.read_text())
        assert saved["train"]["status"] == "stopped", saved["train"]
        assert "did not come back" not in server.log.read_text(errors="replace")
    finally:
        context.close()
