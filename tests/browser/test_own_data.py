"""A teacher brings the class's own drawings, end to end in Chromium: a zip of three class folders
is added through the sidebar's upload, a tiny model trains on it, and the latent map of that run
shows a clicked drawing's nearest neighbours under the class's own names. Also: a file over the
upload limit is refused in the browser and nothing is stored.

The server keeps its data folder in a temporary directory (see conftest's ``server``), so nothing
lands in the user's. Run alone with ``.venv/bin/python -m pytest tests/browser/test_own_data.py``.
"""

from __future__ import annotations

import io
import re
import zipfile

import numpy as np
import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from harness.page import fill_train_form, go_to, open_page, wait_idle
from tests.browser.helpers import assert_no_errors, choose_model, click_point

pytestmark = pytest.mark.browser

CLASSES = ("circle", "cross", "square")
PER_CLASS = 30
SIDE = 28
# The first training in a fresh server waits for torch to import its compiler (Adam's first
# construction), 5-50 s on this busy machine; the 2 epochs themselves take well under a second.
TRAIN_TIMEOUT_MS = 120_000
# One step of the app (a page drawn, the upload stored: its first run imports scikit-learn, 5 s
# on this machine) is waited for at most this long; Playwright's expect() waits 5 s by default.
STEP_MS = 60_000
CAPTION = re.compile(rf"^#\d+ · ({'|'.join(CLASSES)}) · \d+\.\d\d$")


def draw(shape: str, rng: np.random.Generator) -> Image.Image:
    """One white-on-black shape of the class, its centre, size and stroke jittered."""
    image = Image.new("L", (SIDE, SIDE), 0)
    pen = ImageDraw.Draw(image)
    cx, cy = SIDE / 2 + rng.uniform(-3, 3, size=2)
    r = rng.uniform(6, 10)
    width = int(rng.integers(2, 4))
    box = (cx - r, cy - r, cx + r, cy + r)
    if shape == "circle":
        pen.ellipse(box, outline=255, width=width)
    elif shape == "square":
        pen.rectangle(box, outline=255, width=width)
    else:
        pen.line((cx - r, cy, cx + r, cy), fill=255, width=width)
        pen.line((cx, cy - r, cx, cy + r), fill=255, width=width)
    return image


def shapes_zip(seed: int = 0) -> bytes:
    """A class's zip: one folder per class of PNG drawings, as a teacher would make it."""
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for shape in CLASSES:
            for k in range(PER_CLASS):
                png = io.BytesIO()
                draw(shape, rng).save(png, format="PNG")
                zf.writestr(f"our shapes/{shape}/{shape}-{k:02d}.png", png.getvalue())
    return buffer.getvalue()


def add_dataset_box(page: Page):
    """The sidebar's "Add a dataset" expander (the sidebar has a model upload too)."""
    return page.locator('[data-testid="stSidebar"] [data-testid="stExpander"]').filter(
        has_text="Add a dataset")


def open_add_dataset(page: Page) -> None:
    add_dataset_box(page).locator("summary").click()


def upload(page: Page, files) -> None:
    add_dataset_box(page).locator('input[type="file"]').set_input_files(files)


def test_a_class_zip_trains_and_its_map_shows_neighbours_by_class(app: Page, server):
    open_page(app, server, "train")
    open_add_dataset(app)
    # A zip's own top folder ("our shapes/") is fine: the class is the folder an image is in.
    upload(app, {"name": "our shapes.zip", "mimeType": "application/zip",
                 "buffer": shapes_zip()})
    add = app.get_by_role("button", name="Add the dataset")
    expect(add).to_be_enabled(timeout=STEP_MS)  # the upload has reached the server
    add.click()
    expect(app.locator('[data-testid="stAlertContentSuccess"]')).to_contain_text(
        f"Added our-shapes: {len(CLASSES) * PER_CLASS} images in {len(CLASSES)} classes",
        timeout=STEP_MS)
    wait_idle(app)
    assert_no_errors(app)
    assert (server.log.parent / "data" / "user" / "our-shapes" / "arrays.npz").is_file()

    # The new set is picked in the form already; picking it again is what a teacher would do.
    form = fill_train_form(app, "our-shapes (yours)", {
        "Epochs": 2, "Code size": 2, "Batch size": 16, "Layer sizes": "64",
        "Run name": "browser-own-shapes"})
    form.get_by_role("button", name="Train").click()
    expect(app.locator('[data-testid="stAlertContentSuccess"]')).to_contain_text(
        "Saved run 'browser-own-shapes'", timeout=TRAIN_TIMEOUT_MS)
    wait_idle(app)

    choose_model(app, "runs/browser-own-shapes")
    go_to(app, "Latent map")
    chart = app.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    expect(chart).to_be_visible(timeout=STEP_MS)
    click_point(app, 0)

    expect(app.locator('[data-testid="stHeading"]', has_text=re.compile(r"Nearest to #\d+"))
           ).to_be_visible(timeout=STEP_MS)
    expect(app.get_by_text("By code", exact=False)).to_be_visible()
    expect(app.get_by_text("By pixels", exact=False)).to_be_visible()
    assert_no_errors(app)
    captions = app.locator('[data-testid="stImageCaption"]').all_inner_texts()
    neighbours = [c for c in captions if CAPTION.match(c.strip())]
    # Two rows of 8 (by code, by pixels), each captioned with the class's own names.
    assert len(neighbours) == 16, captions
    # and each row says how many share the clicked drawing's class, by its name.
    expect(app.get_by_text(re.compile(rf"^\d of 8 (is|are) also a ({'|'.join(CLASSES)})\.$"))
           ).to_have_count(2)


def test_a_file_over_the_upload_limit_is_refused_and_nothing_stored(app: Page, server, tmp_path):
    big = tmp_path / "class photos.zip"
    with open(big, "wb") as f:
        f.truncate(100 * 2**20)  # sparse: 100 MB that take no disk
    user = server.log.parent / "data" / "user"
    stored = sorted(user.iterdir()) if user.exists() else []
    open_page(app, server, "train")
    open_add_dataset(app)
    upload(app, str(big))
    expect(add_dataset_box(app).locator('[data-testid="stFileUploader"]')).to_contain_text(
        re.compile(r"File must be [\d.]+ ?MB or smaller"), timeout=STEP_MS)
    expect(app.get_by_role("button", name="Add the dataset")).to_be_disabled()
    assert (sorted(user.iterdir()) if user.exists() else []) == stored
