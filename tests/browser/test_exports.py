"""Exports for slides on a 1024×768 projector in presenter mode: the map's chart downloads as a
PNG twice its on-screen size and an SVG titled with the model, and the interpolation strip as
an animated GIF; the export row is one line under the chart.

Run alone with ``.venv/bin/python -m pytest tests/browser/test_exports.py -q``.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from explorer.figures import export
from harness.page import open_page
from harness.pages import PRESENTER
from tests.browser.helpers import assert_no_errors

pytestmark = pytest.mark.browser

MODEL = "pretrained/mnist-vae-mlp-z2"
DOWNLOAD_MS = 120_000  # the first chart export starts the server's own headless browser


def download(app: Page, row: str, label: str) -> tuple[str, bytes]:
    """Press `label` in the export row `row` (e.g. "map_chart"); the file's name and bytes."""
    button = app.locator(f".st-key-{row}_export").get_by_role("button", name=label)
    expect(button).to_be_visible()
    with app.expect_download(timeout=DOWNLOAD_MS) as event:
        button.click()
    file = event.value
    return file.suggested_filename, Path(file.path()).read_bytes()


def test_presenter_exports_a_chart_as_png_and_svg_and_a_strip_as_gif(app: Page, server):
    app.set_viewport_size(PRESENTER.viewport)
    open_page(app, server, "", MODEL, query=PRESENTER.query)
    assert_no_errors(app)
    chart = app.locator(".st-key-map_chart .js-plotly-plot").first
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    row = app.locator(".st-key-map_chart_export")
    # One line of buttons right under the chart: it never pushes the chart down.
    buttons = row.get_by_role("button")
    assert buttons.all_inner_texts() and all(
        t.strip().endswith(("PNG", "SVG")) for t in buttons.all_inner_texts())
    tops = {round(buttons.nth(i).bounding_box()["y"]) for i in range(buttons.count())}
    assert len(tops) == 1, tops
    assert row.bounding_box()["y"] >= box["y"] + box["height"] - 1
    assert row.bounding_box()["height"] < 60

    name, png = download(app, "map_chart", "PNG")
    assert name == "mnist-vae-mlp-z2-latent-axes-colour-class.png"
    picture = Image.open(io.BytesIO(png))
    assert picture.format == "PNG"
    assert picture.height == 2 * round(box["height"])  # twice the chart's height on screen
    # The server cannot measure the browser's column: a chart exports CHART_WIDTH wide, or the
    # share of it its column has (presenting, the map sits beside its selection's details),
    # about its width on this screen, at twice that.
    assert picture.width % 2 == 0 and abs(picture.width / 2 - box["width"]) < 100, (
        picture.width, box["width"], export.CHART_WIDTH)

    name, svg = download(app, "map_chart", "SVG")
    assert name.endswith(".svg")
    root = ET.fromstring(svg)  # well-formed XML
    texts = " ".join("".join(el.itertext()) for el in root.iter() if el.tag.endswith("text"))
    assert "mnist-vae-mlp-z2 · latent axes · colour = class" in texts

    open_page(app, server, "interpolate", MODEL, query=PRESENTER.query)
    assert_no_errors(app)
    name, gif = download(app, "interp_strip", "GIF")
    assert name.startswith("mnist-vae-mlp-z2-linear-interpolation") and name.endswith(".gif")
    movie = Image.open(io.BytesIO(gif))
    assert movie.format == "GIF" and movie.n_frames == 2 * 10 - 2  # 10 steps, there and back
    assert movie.width >= 2 * 28 and movie.info.get("loop") == 0
