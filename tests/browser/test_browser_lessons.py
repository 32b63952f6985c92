"""A lesson presented on a 1024×768 projector: the teacher searches for it, starts it, and Next /
Back move the room from page to page, each with its model and view, the step's prompt readable
under the title and the page's first chart still on the screen.

Run alone with ``.venv/bin/python -m pytest tests/browser/test_lessons.py -q``.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from explorer.lessons import catalogue
from harness.page import open_page, wait_idle
from harness.pages import PRESENTER
from tests.browser.helpers import assert_no_errors

pytestmark = pytest.mark.browser

BAR = ".st-key-lesson_bar"
# A page's first chart: a plotly chart or a picture (the grid of decoded images)
FIRST_CHART = ('[data-testid="stMain"] [data-testid="stPlotlyChart"], '
               '[data-testid="stMain"] [data-testid="stImage"]')
BAR_MAX_PX = 120  # the bar's height: a line of buttons and a two-line prompt


def press(app: Page, key: str) -> None:
    app.locator(f".st-key-{key} button").click()
    wait_idle(app, expect_run=True)


def shows_step(app: Page, title: str, k: int, n: int, step) -> None:
    """The page `title` is open with the bar at step `k` of `n`, its prompt and first chart on
    the screen, its model in the sidebar's picker and its view in the URL."""
    expect(app.locator("h1").first).to_have_text(title)
    bar = app.locator(BAR)
    expect(bar).to_contain_text(f"step {k} of {n}")
    prompt = app.locator(".st-key-lesson_prompt")
    expect(prompt).to_contain_text(" ".join(step.prompt.split())[:40])
    expect(prompt).to_be_in_viewport(ratio=1)
    chart = app.locator(f"{FIRST_CHART} >> visible=true").first  # not one in a hidden tab
    expect(chart).to_be_visible()
    expect(chart).to_be_in_viewport()  # the bar did not push it off the screen
    assert bar.bounding_box()["height"] <= BAR_MAX_PX, (title, bar.bounding_box())
    expect(app.locator(".st-key-model input")).to_have_value(step.model)
    query = parse_qs(urlparse(app.url).query)
    for key, value in step.view.items():
        if key != "model":
            assert query.get(key) == [value], (title, key, app.url)
    assert_no_errors(app)


def test_a_lesson_found_started_and_stepped_through_on_a_projector(app: Page, server):
    app.set_viewport_size(PRESENTER.viewport)
    open_page(app, server, "lessons", query=PRESENTER.query)
    search = app.get_by_label("Search", exact=True)
    search.fill("AE vs VAE latent space")
    search.press("Enter")
    wait_idle(app, expect_run=True)
    starts = app.locator('[class*="st-key-lesson_start_"]')
    expect(starts.first).to_have_class(re.compile(r"st-key-lesson_start_no-holes\b"))
    press(app, "lesson_start_no-holes")
    lesson = catalogue.lesson("no-holes")
    n = len(lesson.steps)
    shows_step(app, "Inside the latent space", 1, n, lesson.steps[0])
    app.locator(".st-key-lesson_question button").first.click()  # the step's question
    expect(app.get_by_text("Which model leaves more holes")).to_be_visible()
    app.keyboard.press("Escape")
    expect(app.locator(".st-key-lesson_back button")).to_be_disabled()

    press(app, "lesson_next")
    shows_step(app, "Latent map", 2, n, lesson.steps[1])
    press(app, "lesson_next")
    shows_step(app, "Interpolate", 3, n, lesson.steps[2])
    expect(app.get_by_role("tab", name=catalogue.GRID_TAB)).to_have_attribute("aria-selected",
                                                                              "true")
    press(app, "lesson_back")
    shows_step(app, "Latent map", 2, n, lesson.steps[1])
    # the bar is dark text on a pale ground: projector contrast whatever the theme
    colour = app.locator(".st-key-lesson_prompt p").first.evaluate(
        "e => getComputedStyle(e).color")
    assert colour in ("rgb(17, 17, 17)", "rgb(0, 0, 0)"), colour
