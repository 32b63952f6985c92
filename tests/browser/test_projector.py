"""The app on a classroom projector: 1024×768 with the sidebar open, in presenter mode, and on a
wide screen. Every page must draw without an error, keep every choice inside its column with its
whole text, break no word of a label and overlap no pictures; switching models must never leave
a widget with a value it refuses.

Run alone with ``.venv/bin/python -m pytest tests/browser/test_projector.py -q``.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from harness.page import open_page, wait_idle
from harness.pages import PAGE_PATHS
from tests.browser.helpers import assert_no_errors, layout_problems

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", PAGE_PATHS)
def test_every_page_fits_the_screen(app: Page, server, screen, path):
    open_page(app, server, path, query=screen.query)
    expect(app.locator("h1").first).to_be_visible()
    assert_no_errors(app)
    if screen.presenting:
        # Presenter mode gives the screen to the pictures: the sidebar starts folded.
        expect(app.locator('[data-testid="stExpandSidebarButton"]')).to_be_visible()
    problems = layout_problems(app)
    assert not problems, f"{path} at {screen}: {problems}"


def choose_model(page: Page, model: str) -> None:
    box = page.get_by_role("combobox", name="Model")
    box.click()
    page.get_by_role("option", name=model, exact=True).click()
    wait_idle(page, expect_run=True)


def test_switching_models_keeps_interpolate_working(app: Page, server, screen):
    """Defect 1: the traversal slider kept the last model's value, out of the new one's range."""
    open_page(app, server, "interpolate", model="pretrained/mnist-vae-mlp-z16",
              query=screen.query)
    app.get_by_role("tab", name="Along one dimension").click()
    wait_idle(app, expect_run=True)
    dimension = app.get_by_role("combobox", name="Dimension")
    dimension.click()
    app.get_by_role("option").last.click()
    wait_idle(app, expect_run=True)
    if screen.presenting:  # the sidebar is folded: open it, as a teacher would
        app.locator('[data-testid="stExpandSidebarButton"]').click()
    for model in ("pretrained/digits-vae-mlp-z2", "pretrained/mnist-vae-mlp-z2",
                  "pretrained/digits-ae-mlp-z2"):
        choose_model(app, model)
        assert_no_errors(app)
        expect(app.get_by_role("slider").first).to_be_visible()


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


@pytest.mark.parametrize("tool", [None, "Pan", "Zoom"])
def test_a_click_on_the_map_selects_the_point(app: Page, server, tool):
    """Defect 4: with the lasso (the old default) a click did nothing. Streamlit turns click
    selection off under its box and lasso tools, so those are for groups only."""
    open_page(app, server)
    chart = app.locator('[data-testid="stPlotlyChart"]').first
    expect(chart.locator(".js-plotly-plot")).to_be_visible()
    if tool:
        chart.hover()
        app.locator(f'.modebar-btn[data-title="{tool}"]').first.click()
    click_point(app, 0)
    expect(app.locator('[data-testid="stHeading"]', has_text="1 selected")).to_be_visible()
    assert_no_errors(app)
