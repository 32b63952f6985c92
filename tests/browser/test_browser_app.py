"""End-to-end tests: the real app in Debian's Chromium, driven through the UI only, as a student
would use it. Every wait is an expectation with a timeout, never a sleep.

Run alone with ``.venv/bin/python -m pytest tests/browser -q -x``; add ``-s`` to see the measured
slider-to-image time.
"""

from __future__ import annotations

import json
import re
import statistics
import time

import pytest
from playwright.sync_api import Page, expect

from harness.chromium import VIEWPORT
from harness.page import (
    APP,
    ERRORS,
    KEY_TO_IMAGE_TIMER_JS,
    RUN_TIMEOUT_MS,
    TRAIN_FORM,
    box_select,
    fill_train_form,
    go_to,
    nav_titles,
    open_page,
    wait_idle,
    wait_image_loaded,
)
from tests.browser.helpers import (
    PROGRESS_MOVED_JS,
    assert_no_errors,
    image_captioned,
    progress_moved,
    progress_seen,
    record_progress,
    select_model_options,
)

pytestmark = pytest.mark.browser

# A tiny run on a busy 2-core machine, with margin: the first run in a fresh server also waits
# for torch to import its compiler (Adam's first construction), which alone took 5-50 s here.
TRAIN_TIMEOUT_MS = 180_000
# Pages that must show images on the default model, and their headings.
IMAGE_PAGES = {"Reconstructions": "Reconstructions", "Interpolate": "Interpolate",
               "Sample": "Sample new images"}


def test_every_page_renders_on_the_default_model(app: Page, server):
    open_page(app, server)  # the latent map is the default page, at the root URL
    expect(app.locator("h1", has_text="Latent map")).to_be_visible()
    expect(app.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first).to_be_visible()
    expect(app.get_by_role("combobox", name="Model")).to_have_value(
        re.compile(r"^pretrained/mnist-vae-mlp-z2$"))
    assert_no_errors(app)

    titles = nav_titles(app)
    assert set(IMAGE_PAGES) | {"Latent map", "Train"} <= set(titles), titles
    for title in titles:  # every page in the sidebar, as a student would click through them
        go_to(app, title)
        expect(app.locator("h1").first).to_be_visible()
        if title in IMAGE_PAGES:
            expect(app.locator("h1", has_text=IMAGE_PAGES[title])).to_be_visible()
            expect(app.locator('[data-testid="stImageContainer"] img').first).to_be_visible()
        if title == "Train":
            expect(app.locator(TRAIN_FORM)).to_be_visible()
        assert_no_errors(app)


def test_train_a_tiny_model_and_find_it_in_the_picker(app: Page, server):
    open_page(app, server, "train")
    record_progress(app)
    # 40 epochs at batch 32: 1,800 steps, a few seconds. Fewer finish between two polls of the
    # live view (0.5 s apart) on an idle machine, and then no bar is ever seen moving.
    form = fill_train_form(app, "Digits 8×8", {"Epochs": 40, "Code size": 2,
                                               "Batch size": 32, "Run name": "browser-tiny"})
    form.get_by_role("button", name="Train").click()

    expect(app.locator('[data-testid="stProgress"]')).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
    success = app.locator('[data-testid="stAlertContentSuccess"]')
    expect(success).to_contain_text("Saved run 'browser-tiny'", timeout=TRAIN_TIMEOUT_MS)
    assert progress_moved(app), f"the progress bar never moved: {progress_seen(app)}"
    expect(app.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first).to_be_visible()
    wait_idle(app)
    assert_no_errors(app)

    # Outside a class the new run is under "Trained here", the picker's group for it.
    app.locator('[data-testid="stSidebar"] [data-testid="stButtonGroup"] button',
                has_text="Trained here").click()
    wait_idle(app)
    options = select_model_options(app)
    assert "runs/browser-tiny" in options, options


def test_stop_ends_a_long_training_cleanly(app: Page, server):
    open_page(app, server, "train")
    record_progress(app)
    form = fill_train_form(app, "MNIST, 5,000-image sample",
                           {"Epochs": 200, "Run name": "browser-stopped"})
    form.get_by_role("button", name="Train").click()

    # Wait until it really learns (the bar moved), then stop it.
    app.wait_for_function(PROGRESS_MOVED_JS, timeout=TRAIN_TIMEOUT_MS)
    stop = app.get_by_role("button", name="Stop")
    expect(stop).to_be_enabled()
    stop.click()

    expect(app.locator('[data-testid="stAlertContentInfo"]')).to_contain_text(
        "Stopped", timeout=TRAIN_TIMEOUT_MS)
    expect(app.get_by_role("button", name="Stop")).to_have_count(0)
    wait_idle(app)
    assert_no_errors(app)
    seen = progress_seen(app)
    assert max(p["value"] for p in seen) < 100, f"it ran to the end instead of stopping: {seen}"
    expect(app.locator('[data-testid="stAlertContentSuccess"]')).to_have_count(0)


def test_closing_the_tab_stops_its_training(browser, server):
    """A student who closes the tab mid-training frees the worker: the job stops, and what it
    learned is saved as a complete run."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    open_page(page, server, "train")
    record_progress(page)
    form = fill_train_form(page, "Digits 8×8", {"Epochs": 500, "Batch size": 8,
                                                "Run name": "browser-closed"})
    form.get_by_role("button", name="Train").click()
    page.wait_for_function(PROGRESS_MOVED_JS, timeout=TRAIN_TIMEOUT_MS)
    context.close()

    card = server.log.parent / "runs" / "browser-closed" / "card.json"
    deadline = time.monotonic() + 90
    while not card.is_file():
        assert time.monotonic() < deadline, "the job went on after its tab was closed"
        time.sleep(0.5)
    saved = json.loads(card.read_text())
    assert saved["train"]["status"] == "stopped" and saved["train"]["epochs_done"] < 500
    # The server's terminal says why, by job number (a run's name may be a student's).
    said = [line for line in server.log.read_text(errors="replace").splitlines()
            if "did not come back" in line]
    assert said and "browser-closed" not in said[-1], said


def test_interpolation_slider_changes_the_decoded_image(app: Page, server):
    open_page(app, server, "interpolate")
    caption = "decoded at t"
    slider = app.get_by_role("slider", name="t: from start (0) to end (1)")
    image = image_captioned(app, caption)
    wait_image_loaded(app, caption)
    shots = {"0.50": image.screenshot()}

    app.evaluate(KEY_TO_IMAGE_TIMER_JS, caption)
    slider.focus()
    moves = ["ArrowRight"] * 8 + ["End", "Home"]
    for n, key in enumerate(moves):
        app.keyboard.press(key)
        app.wait_for_function(f"() => window.__keyToImage.times.length > {n}", timeout=30_000)
        if key in ("End", "Home"):
            value = "1.00" if key == "End" else "0.00"
            expect(slider).to_have_attribute("aria-valuetext", value)
            expect(app.get_by_text(f"decoded at t = {value}")).to_be_visible()
            wait_image_loaded(app, caption)
            shots[value] = image.screenshot()
    times = app.evaluate("window.__keyToImage.times")
    print(f"\nslider-to-image (key press to new src, in the browser), {len(times)} moves: "
          f"median {statistics.median(times):.0f} ms, min {min(times):.0f}, "
          f"max {max(times):.0f}")

    assert shots["1.00"] != shots["0.50"], "moving t to 1 did not change the decoded image"
    assert shots["0.00"] != shots["1.00"], "moving t to 0 did not change the decoded image"
    assert shots["0.00"] != shots["0.50"]
    wait_idle(app)
    assert_no_errors(app)


def test_new_samples_changes_the_grid(app: Page, server):
    open_page(app, server, "sample")
    grid = image_captioned(app, "36 samples")
    expect(app.get_by_text("36 samples · T = 1 · seed 0")).to_be_visible()
    before = grid.get_attribute("src")

    app.get_by_role("button", name="New samples").click()
    expect(app.get_by_text("36 samples · T = 1 · seed 1")).to_be_visible()
    expect(grid).not_to_have_attribute("src", before)
    wait_idle(app)
    assert_no_errors(app)


def test_a_bad_learning_rate_gets_a_readable_message(app: Page, server):
    open_page(app, server, "train")
    form = fill_train_form(app, "Digits 8×8", {"Learning rate": 10, "Epochs": 3,
                                               "Run name": "browser-bad-lr"})
    form.get_by_role("button", name="Train").click()

    error = app.locator('[data-testid="stAlertContentError"]')
    expect(error).to_contain_text(re.compile("learning rate", re.IGNORECASE),
                                  timeout=TRAIN_TIMEOUT_MS)
    wait_idle(app)
    expect(app.locator('[data-testid="stException"]')).to_have_count(0)
    assert "Traceback" not in app.locator(APP).inner_text()


def test_box_selection_on_the_map_shows_the_images(app: Page, server):
    open_page(app, server)
    expect(app.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first).to_be_visible()
    assert app.locator('[data-testid="stImageContainer"] img').count() == 0

    box_select(app)
    expect(app.get_by_text("Originals", exact=True),
           "a box selection on the map showed no images. (If the figure changes with the "
           "selection, e.g. a highlight trace, Streamlit gives the chart a new identity and "
           "drops the selection.)").to_be_visible()
    expect(app.locator('[data-testid="stHeading"]', has_text=re.compile(r"\d+ selected"))
           ).to_be_visible()
    images = app.locator('[data-testid="stImageContainer"] img')
    expect(images.first).to_be_visible()
    assert images.count() >= 2  # originals and their reconstructions
    wait_idle(app)
    expect(app.locator(ERRORS)).to_have_count(0)


# Counts the page's script runs (full or fragment) from now on, as the app's state attribute
# going to "running".
COUNT_RUNS_JS = """() => {
    window.__runs = 0;
    const app = document.querySelector('[data-testid="stApp"]');
    new MutationObserver(() => {
        if (app.getAttribute('data-test-script-state') === 'running') window.__runs += 1;
    }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""


def test_a_page_left_alone_asks_the_server_for_nothing(app: Page, server):
    """Thirty students sitting on a page cost the server nothing while nothing changes: no page
    polls without a job or a background map in flight (the Latent diffusion page reran its
    progress fragment every second, for every open tab, with no prior training)."""
    from explorer.ui.pages import PAGES

    polling = {}
    for key, spec in PAGES.items():
        open_page(app, server, spec.url_path or "")
        app.evaluate(COUNT_RUNS_JS)
        app.wait_for_timeout(3_500)
        if runs := app.evaluate("window.__runs"):
            polling[key] = runs
    assert not polling, f"pages that reran with nothing changing, runs in 3.5 s: {polling}"
