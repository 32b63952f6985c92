"""The latent map's views in a real browser, where plotly selections happen: two models' maps
ring each other's selection, and finding an image and selecting on the map take turns.

Run alone with ``.venv/bin/python -m pytest tests/browser/test_map_views.py -q``.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from harness.page import ERRORS, box_select, open_page, wait_idle

pytestmark = pytest.mark.browser

# Each chart's ringed test images: the customdata of its last trace when that trace is rings.
RINGED_JS = """name => [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')]
    .map(gd => { const t = gd._fullData[gd._fullData.length - 1];
                 return t.name === name ? Array.from(t.customdata).sort((a, b) => a - b) : []; })"""


def heading(page: Page, pattern: str):
    return page.locator('[data-testid="stHeading"]', has_text=re.compile(pattern))


def test_a_selection_on_one_map_is_ringed_on_both(app: Page, server):
    open_page(app, server, model="pretrained/mnist-vae-mlp-z2",
              query="map_view=Two+models&map_other=pretrained%2Fmnist-ae-mlp-z2")
    expect(app.locator('[data-testid="stPlotlyChart"] .js-plotly-plot')).to_have_count(2)
    box_select(app, (0.3, 0.2, 0.7, 0.8))  # on the left-hand map
    expect(heading(app, r"\d+ selected")).to_be_visible()
    expect(app.get_by_text("Reconstructed by mnist-ae-mlp-z2")).to_be_visible()
    wait_idle(app)
    left, right = app.evaluate(RINGED_JS, "chosen")
    assert left and left == right, "both maps ring the same test images"
    count = int(heading(app, r"\d+ selected").inner_text().split()[0])
    assert count == len(left)
    expect(app.locator(ERRORS)).to_have_count(0)


def test_finding_and_selecting_take_turns(app: Page, server):
    open_page(app, server, query="map_find=image&map_find_index=3")
    expect(heading(app, "Nearest to #3")).to_be_visible()
    box_select(app, (0.2, 0.2, 0.8, 0.8))  # a selection made after the search wins
    expect(heading(app, r"^\d{2,} selected")).to_be_visible()
    wait_idle(app)
    index = app.get_by_label("Test image #")
    index.fill("5")
    index.press("Enter")  # a new search replaces the selection
    wait_idle(app, expect_run=True)
    expect(heading(app, "Nearest to #5")).to_be_visible()
    assert app.evaluate(RINGED_JS, "found") == [[5]]
    expect(app.locator(ERRORS)).to_have_count(0)
