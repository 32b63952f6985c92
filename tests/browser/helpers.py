"""Browser-test helpers that only the tests need: error checks, the model picker's options, the
training progress bar's recorder. Starting the app, Chromium and waiting for Streamlit live in
``harness/`` (shared with the benchmarks and the screenshot script)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from harness.page import APP, ERRORS


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
