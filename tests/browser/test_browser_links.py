"""Links that hold the whole view: every page, set to a view that is not its default, shares a
link ("Share this view"); that link opened in a fresh browser context (no cookie, no session)
shows the same view: the same link, the same widget values, the same chart data and the same
pictures (Streamlit serves a picture at an address made from its content).

Run alone with ``.venv/bin/python -m pytest tests/browser/test_links.py -q``.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page

from harness.chromium import VIEWPORT
from harness.page import ERRORS, RUN_TIMEOUT_MS, box_select, open_page, wait_idle

pytestmark = pytest.mark.browser

Z2, AE_Z2 = "pretrained/mnist-vae-mlp-z2", "pretrained/mnist-ae-mlp-z2"
# (page's path, its non-default view as a query); the map's view is made by selecting on it.
# A bound widget's URL value is its option's label, as the address bar shows it ("Example").
VIEWS = [
    ("compare", f"model={Z2}&compare_n=4&compare_worst=true"),
    ("interpolate", f"model={Z2}&interp_a=3&interp_b=103&interp_t=0.3&interp_method=spherical"),
    ("sample", f"model={Z2}&temperature=1.5&n_samples=16&sample_seed=7"),
    ("draw", f"model={Z2}&draw_source=Example&draw_example=4"),
    ("inside", f"model={Z2}&inside_tab=Holes&holes_n=12"),
    ("rate-distortion", "model=pretrained/mnist-betavae-mlp-z16"),
    ("generators", f"model={Z2}&gen_seed=3"),
    ("latent-diffusion", f"model={AE_Z2}&ld_seed=5&ld_steps=20"),
    ("train", f"model={Z2}&train_epochs=7&train_kind=ae"),
    ("lessons", f"model={AE_Z2}"),
]

# What the page shows, read from the DOM: widget values, chosen options, every chart's data
# (plotly's own arrays) and every picture's address (a hash of its pixels).
VIEW_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const inputs = [...main.querySelectorAll('input, textarea')]
    .map(i => i.type === 'checkbox' ? String(i.checked) : i.value);
  const chosen = [...main.querySelectorAll('[aria-selected="true"], [aria-checked="true"],'
    + ' [data-testid$="Active"]')].map(e => e.innerText.trim());
  const charts = [...main.querySelectorAll('.js-plotly-plot')].map(gd => JSON.stringify(
    (gd._fullData || []).map(t => ['x', 'y', 'z', 'customdata'].map(
      k => t[k] ? Array.from(t[k]).slice(0, 300) : null))));
  const pictures = [...main.querySelectorAll('[data-testid="stImage"] img')]
    .map(i => new URL(i.src, location.href).pathname);
  return {inputs, chosen, charts, pictures};
}"""


def shared_link(page: Page) -> str:
    """The link in "Share this view" (then the popover is closed again)."""
    page.get_by_role("button", name="Share this view").click()
    code = page.locator('[data-testid="stPopoverBody"] [data-testid="stCode"] code').first
    link = code.inner_text().strip()
    page.keyboard.press("Escape")
    return link


def view(page: Page) -> dict:
    wait_idle(page)
    return page.evaluate(VIEW_JS)


def opened_fresh(browser: Browser, link: str):
    """`link` in a new browser context: no cookie, no session, nothing remembered."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    page.goto(link, wait_until="domcontentloaded")
    wait_idle(page)
    return context, page


def same_view(browser: Browser, page: Page) -> tuple[str, dict, dict, str]:
    """The page's link, what it shows, and what the link shows in a fresh context (and the link
    the fresh page shares)."""
    link = shared_link(page)
    shown = view(page)
    context, fresh = opened_fresh(browser, link)
    try:
        again = view(fresh)
        for _ in range(10):  # a chart drawn a moment after the run ends: bounded retries
            if again == shown:
                break
            fresh.wait_for_timeout(500)
            again = view(fresh)
        assert fresh.locator(ERRORS).count() == 0
        return link, shown, again, shared_link(fresh)
    finally:
        context.close()


def test_the_map_s_selection_is_the_same_in_a_fresh_browser(app: Page, server, browser):
    open_page(app, server, query=f"model={Z2}")
    box_select(app, (0.3, 0.3, 0.6, 0.6))
    wait_idle(app, expect_run=True)
    link, shown, again, link_again = same_view(browser, app)
    query = parse_qs(urlsplit(link).query)
    assert query["model"] == [Z2] and query["map_sel"][0]  # a box: many images, as bits
    assert "present" not in query
    assert again == shown and link_again == link
    assert any("selected" in h for h in app.locator('[data-testid="stHeading"]').all_inner_texts())


def test_interpolate_from_the_map_shares_the_pair(app: Page, server, browser):
    open_page(app, server, query=f"model={Z2}&map_sel=3,103")
    app.get_by_role("button", name="Interpolate between #3 and #103").click()
    wait_idle(app, expect_run=True)
    app.wait_for_url("**/interpolate?*")
    wait_idle(app)
    link, shown, again, link_again = same_view(browser, app)
    query = parse_qs(urlsplit(link).query)
    assert (query["interp_a"], query["interp_b"], query["model"]) == (["3"], ["103"], [Z2])
    assert again == shown and link_again == link


@pytest.mark.parametrize(("path", "query"), VIEWS, ids=[p for p, _ in VIEWS])
def test_every_page_s_link_shows_the_same_view_in_a_fresh_browser(app: Page, server, browser,
                                                                  path, query):
    open_page(app, server, path, query=query)
    link, shown, again, link_again = same_view(browser, app)
    asked = parse_qs(query)
    assert parse_qs(urlsplit(link).query) == asked, "the link holds exactly the view set"
    assert urlsplit(link).path == f"/{path}"
    assert again == shown
    assert link_again == link


def test_a_presenter_s_link_carries_neither_presenter_mode_nor_the_class(app: Page, server):
    open_page(app, server, "sample", query=f"model={Z2}&present=true&code=K7Q2PX&temperature=1.5")
    link = shared_link(app)  # at the top of the page in presenter mode, with its QR code
    assert parse_qs(urlsplit(link).query) == {"model": [Z2], "temperature": ["1.5"]}
    app.get_by_role("button", name="Share this view").click()
    qr = app.locator('[data-testid="stPopoverBody"] [data-testid="stImage"] img')
    assert qr.first.evaluate("i => i.complete && i.naturalWidth") > 100
