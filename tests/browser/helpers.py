"""Browser-test helpers that only the tests need: error checks, the model picker's options, the
training progress bar's recorder. Starting the app, Chromium and waiting for Streamlit live in
``harness/`` (shared with the benchmarks and the screenshot script)."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from harness.page import APP, ERRORS, RUN_TIMEOUT_MS, open_page, wait_idle
from harness.pages import PROJECTOR


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


# What a cramped screen breaks, measured in the page: every choice (a segmented control's or
# radio's option, a button, a widget's label) lies inside its column and shows its whole text; no
# word of a label or a heading is broken across two lines; no two pictures overlap; a row of
# images (one st.image of several) stays on one line, so rows under it keep their columns; a
# chart's legend shows all its entries without a scrollbar and covers no axis title or tick label.
LAYOUT_PROBLEMS_JS = """() => {
    const problems = [];
    const main = document.querySelector('[data-testid="stMain"]') || document.body;
    const shown = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
    const name = e => (e.innerText || e.getAttribute('aria-label') || e.tagName).trim().slice(0, 40);
    const box = e => e.closest('[data-testid="stColumn"]')
        || e.closest('[data-testid="stMainBlockContainer"]') || main;
    const choices = main.querySelectorAll(
        '[data-testid="stButtonGroup"] button, [data-testid="stRadio"] label, ' +
        '[data-testid="stButton"] button, [data-testid="stWidgetLabel"], ' +
        '[data-testid="stCheckbox"] label, [data-testid="stTab"], iframe');
    for (const e of choices) {
        if (!shown(e) || e.closest('[data-testid="stTabs"] [hidden]')) continue;
        const r = e.getBoundingClientRect(), c = box(e).getBoundingClientRect();
        if (r.left < c.left - 2 || r.right > c.right + 2)
            problems.push(`"${name(e)}" sticks out of its column (${Math.round(r.left)}-` +
                          `${Math.round(r.right)} vs ${Math.round(c.left)}-${Math.round(c.right)})`);
        for (const t of [e, ...e.querySelectorAll('p, span, div')])
            if (t.scrollWidth > t.clientWidth + 2 && getComputedStyle(t).overflow !== 'visible'
                && t.clientWidth > 8) {
                problems.push(`"${name(e)}" is cut off (${t.scrollWidth} > ${t.clientWidth} px)`);
                break;
            }
    }
    // A word broken across lines: its text range has boxes on two lines.
    const texts = main.querySelectorAll('[data-testid="stWidgetLabel"] p, ' +
        '[data-testid="stButtonGroup"] button p, h1, h2, h3, [data-testid="stTab"] p');
    for (const e of texts) {
        if (!shown(e)) continue;
        const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const re = /\\S+/g;
            let m;
            while ((m = re.exec(node.data)) !== null) {
                const range = document.createRange();
                range.setStart(node, m.index);
                range.setEnd(node, m.index + m[0].length);
                const tops = new Set([...range.getClientRects()].filter(q => q.width > 0)
                                     .map(q => Math.round(q.top)));
                if (tops.size > 1) problems.push(`the word "${m[0]}" is broken across lines`);
            }
        }
    }
    const imgs = [...main.querySelectorAll('[data-testid="stImageContainer"] img')].filter(shown)
        .map(e => [e, e.getBoundingClientRect()]);
    for (let i = 0; i < imgs.length; i++) {
        const [e, r] = imgs[i], c = box(e).getBoundingClientRect();
        if (r.left < c.left - 2 || r.right > c.right + 2)
            problems.push(`an image (${Math.round(r.width)} px) spills out of its column`);
        for (let j = i + 1; j < imgs.length; j++) {
            const q = imgs[j][1];
            const w = Math.min(r.right, q.right) - Math.max(r.left, q.left);
            const h = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
            if (w > 2 && h > 2) problems.push(`two images overlap (${Math.round(w)}×${Math.round(h)} px)`);
        }
    }
    for (const row of main.querySelectorAll('[data-testid="stImage"]')) {
        const tiles = [...row.querySelectorAll('[data-testid="stImageContainer"]')].filter(shown);
        const tops = new Set(tiles.map(e => Math.round(e.getBoundingClientRect().top)));
        if (tops.size > 1) problems.push(`a row of ${tiles.length} images wraps onto ${tops.size} lines`);
    }
    const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 2
        && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 2;
    for (const gd of main.querySelectorAll('.js-plotly-plot')) {
        if (!shown(gd) || !gd._fullLayout) continue;
        for (const [key, legend] of Object.entries(gd._fullLayout)) {
            if (/^legend\\d*$/.test(key) && legend && legend._height > legend._effHeight + 1)
                problems.push(`a chart's legend scrolls (${Math.round(legend._effHeight)} of ` +
                              `${Math.round(legend._height)} px shown)`);
        }
        const labels = [...gd.querySelectorAll('.g-xtitle text, .g-ytitle text, .xtick text, ' +
                                               '.ytick text')].filter(shown);
        for (const legend of gd.querySelectorAll('g.legend')) {
            const r = legend.getBoundingClientRect();
            for (const label of labels)
                if (overlap(r, label.getBoundingClientRect())) {
                    problems.push(`a chart's legend covers "${label.textContent}"`);
                    break;
                }
        }
    }
    return problems;
}"""


def layout_problems(page: Page) -> list[str]:
    """What does not fit on the page as it is drawn now (see LAYOUT_PROBLEMS_JS)."""
    return page.evaluate(LAYOUT_PROBLEMS_JS)


def choose_model(page: Page, model: str) -> None:
    """Pick `model` in the sidebar's picker, first its group (Shipped / Trained here …)."""
    group = "Shipped" if model.startswith("pretrained/") else "Trained here"
    button = page.locator('[data-testid="stSidebar"] [data-testid="stButtonGroup"] button',
                          has_text=group)
    if button.count() and button.first.get_attribute("kind") != "segmented_controlActive":
        button.first.click()
        wait_idle(page, expect_run=True)
    box = page.get_by_role("combobox", name="Model")
    box.scroll_into_view_if_needed()
    option = page.get_by_role("option", name=model, exact=True)
    box.click()
    try:
        expect(option).to_be_visible(timeout=5_000)
    except AssertionError:  # a click while the sidebar still slid open may not open the list
        box.click()
    option.click()
    wait_idle(page, expect_run=True)


# The page position of the `n`-th point of the map's first trace, computed from plotly's axes.
POINT_POSITION_JS = """n => {
    const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
    const L = gd._fullLayout, box = gd.getBoundingClientRect();
    const trace = gd._fullData[0];
    return [box.left + L._size.l + L.xaxis.d2p(trace.x[n]),
            box.top + L._size.t + L.yaxis.d2p(trace.y[n])];
}"""


def click_point(page: Page, n: int, shift: bool = False) -> None:
    x, y = page.evaluate(POINT_POSITION_JS, n)
    page.mouse.move(x, y)
    if shift:
        page.keyboard.down("Shift")
    page.mouse.click(x, y)
    if shift:
        page.keyboard.up("Shift")
    wait_idle(page, expect_run=True)


# -- a class: one browser context per person, at the projector's size --------------------------
def person(browser) -> Page:
    """A new person in the room: their own browser context (cookies, session) at 1024×768."""
    page = browser.new_context(viewport=PROJECTOR.viewport).new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    page.set_default_navigation_timeout(RUN_TIMEOUT_MS)
    return page


def open_class(teacher: Page, server, key: str, name: str) -> str:
    """The teacher types the key on the Teacher page and opens class `name`; returns its code."""
    open_page(teacher, server, "teacher")
    teacher.get_by_label("Teacher key").fill(key)
    teacher.get_by_role("button", name="Open the teacher's page").click()
    teacher.get_by_label("Class name").fill(name)
    teacher.get_by_role("button", name="Open the class").click()
    heading = teacher.get_by_text(re.compile(r"Join code: [A-Z0-9]{6}"))
    return re.search(r"[A-Z0-9]{6}$", heading.inner_text().strip()).group(0)


def join_class(page: Page, server, code: str, name: str) -> None:
    """A student opens the join link of class `code` and types `name` (checked by the caller:
    a taken name is refused)."""
    open_page(page, server, "join", query=f"code={code}")
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join").click()
