"""What the screen says must be readable as drawn: grids beside each other at one tile size, a
chart's legend clear of its axis title, the model picker's whole id. Measured in Debian's
Chromium on each screen the app is used on.

Run alone with ``.venv/bin/python -m pytest tests/browser/test_legible.py -q``.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from explorer.runs import store
from harness.page import open_page
from tests.browser.helpers import assert_no_errors

pytestmark = pytest.mark.browser


def test_compare_generators_grids_share_one_tile_size(app: Page, server):
    """A long caption ("… (from a Gaussian fitted to its codes)") once widened its grid ~3×."""
    open_page(app, server, "generators")
    grids = app.locator('[data-testid="stImage"] img')
    expect(grids.first).to_be_visible()
    widths = grids.evaluate_all("els => els.map(e => e.getBoundingClientRect().width)")
    assert len(widths) > 3 and max(widths) - min(widths) <= 1, widths
    assert_no_errors(app)


@pytest.mark.parametrize("path", ["generators", "rate-distortion"])
def test_an_empty_cell_shows_a_dash_not_none(app: Page, server, path):
    """A GAN has no class accuracy, an AE no rate: the cell says "—". (st.dataframe's grid drew
    "None" there whatever the table's formatting said.)"""
    open_page(app, server, path)
    table = app.locator('[data-testid="stMain"] [data-testid="stTable"]').first
    expect(table).to_be_visible()
    cells = table.locator("td").all_inner_texts()
    assert "—" in cells and "None" not in cells, cells


# The boxes of a chart's legend and of its x-axis title, in page pixels.
LEGEND_AND_TITLE_JS = """gd => {
    const box = el => { const r = el.getBoundingClientRect();
                        return [r.left, r.top, r.right, r.bottom]; };
    return [box(gd.querySelector('g.legend')), box(gd.querySelector('g.g-xtitle'))]; }"""


def test_rate_distortion_legend_keeps_off_the_axis_title(app: Page, server, screen):
    open_page(app, server, "rate-distortion", query=screen.query)
    plot = app.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    expect(plot).to_be_visible()
    (l0, t0, r0, b0), (l1, t1, r1, b1) = plot.evaluate(LEGEND_AND_TITLE_JS)
    overlap = min(r0, r1) > max(l0, l1) and min(b0, b1) > max(t0, t1)
    assert not overlap, ((l0, t0, r0, b0), (l1, t1, r1, b1))


def test_the_model_picker_shows_the_whole_id(app: Page, server, screen):
    longest = max((e.id for e in store.list_models()[0]), key=len)
    open_page(app, server, model=longest, query=screen.query)
    if screen.presenting:  # the sidebar is folded: open it, as a teacher would
        app.locator('[data-testid="stExpandSidebarButton"]').click()
    box = app.get_by_role("combobox", name="Model")
    box.scroll_into_view_if_needed()  # under the page list and the picker's groups
    expect(box).to_be_in_viewport()
    expect(box).to_have_value(longest)
    shown, needed = box.evaluate("e => [e.clientWidth, e.scrollWidth]")
    assert needed <= shown, f"{longest!r} needs {needed} px, the box shows {shown}"
