"""Waiting for Streamlit to settle, and moving through the app the way a student does: open a
page, follow a sidebar link, fill the Train form, box-select on the map, time a slider's image.
Sync Playwright; every wait is bounded."""

from __future__ import annotations

import contextlib
import re

from playwright.sync_api import Locator, Page, expect

from harness.app_server import Server

# A script run that draws a page on a small shared machine can take a while (the first page load
# imports torch and loads the dataset).
RUN_TIMEOUT_MS = 90_000

APP = '[data-testid="stApp"]'
STATUS = '[data-testid="stStatusWidget"]'
SKELETONS = '[data-testid="stSkeleton"], [data-testid="stAppSkeleton"]'
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
TRAIN_FORM = ".st-key-train_form"  # the Train page's settings (a keyed container, not an st.form)


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


def open_page(page: Page, server: Server, path: str = "", model: str | None = None,
              query: str = "") -> None:
    page.goto(server.page_url(path, model, query), wait_until="domcontentloaded")
    wait_idle(page)


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


# The <img> of the st.image whose caption starts with a given text, found in the page's JS.
FIND_IMAGE_JS = """caption => {
    for (const box of document.querySelectorAll('[data-testid="stImageContainer"]')) {
        const cap = box.querySelector('[data-testid="stImageCaption"]');
        if (cap && cap.innerText.trim().startsWith(caption)) return box.querySelector('img');
    }
    return null;
}"""

# Records, in the page, the time from each key press to the captioned image's src changing
# (`times`) and to that new picture having loaded (`loaded`), in ms.
KEY_TO_IMAGE_TIMER_JS = f"""caption => {{
    const find = {FIND_IMAGE_JS};
    const timer = window.__keyToImage = {{t0: null, before: null, times: [], loaded: []}};
    document.addEventListener('keydown', () => {{
        const img = find(caption);
        timer.before = img ? img.src : null;
        timer.t0 = performance.now();
    }}, true);
    new MutationObserver(() => {{
        if (timer.t0 === null) return;
        const img = find(caption);
        if (img && img.src !== timer.before) {{
            const t0 = timer.t0;
            timer.times.push(performance.now() - t0);
            timer.t0 = null;
            const done = () => timer.loaded.push(performance.now() - t0);
            if (img.complete && img.naturalWidth > 0) done();
            else img.addEventListener('load', done, {{once: true}});
        }}
    }}).observe(document.body, {{subtree: true, childList: true, attributes: true,
                                 attributeFilter: ['src']}});
}}"""


def wait_image_loaded(page: Page, caption_prefix: str, timeout: float = RUN_TIMEOUT_MS) -> None:
    """Wait until the image captioned `caption_prefix` has decoded its current src."""
    page.wait_for_function(f"""caption => {{
        const img = ({FIND_IMAGE_JS})(caption);
        return img !== null && img.complete && img.naturalWidth > 0;
    }}""", arg=caption_prefix, timeout=timeout)


def fill_train_form(page: Page, dataset: str | None = None,
                    fields: dict[str, object] | None = None) -> Locator:
    """Fill the Train page's form: `dataset` is the option's label (e.g. "Digits 8×8");
    `fields` maps field labels ("Epochs", "Code size", "Run name", ...) to what to type; a field
    under "Advanced" is typed once that expander is open. Returns the form."""
    form = page.locator(TRAIN_FORM)
    if dataset is not None:
        form.get_by_role("combobox", name="Dataset").click()
        page.get_by_role("option", name=dataset, exact=True).click()
        expect(form.get_by_role("combobox", name="Dataset")).to_have_value(dataset)
    for label, text in (fields or {}).items():
        field_ = form.get_by_label(label, exact=True)
        if not field_.is_visible():
            form.locator("summary", has_text="Advanced").click()
            expect(field_).to_be_visible()
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
