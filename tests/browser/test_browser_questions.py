"""Predict, then reveal, in a real browser at 1024×768: the teacher asks a ready question (its
true answer computed from the shipped models), three students (separate browser contexts) see it
on their own screens and answer, one changes their mind; the teacher reveals: the projector shows
the class's answers as bars beside the true answer, the students see the reveal too; the teacher
exports the answers (CSV with names, never a token). Then a click question: students click on
the 2-D VAE's map and the reveal shows their dots and how many landed among the 7s."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from explorer.figures.questions import CLICK_NAME
from harness.app_server import running_app
from harness.page import open_page
from tests.browser.helpers import join_class, open_class, person

pytestmark = pytest.mark.browser

KEY = "browser-test-teacher-key"
AE, VAE = "The autoencoder (AE)", "The VAE"
ANSWERS = {"Ada": AE, "=Bo": VAE, "Cy": AE}  # "=Bo": a name a spreadsheet would run
SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "questions"
SEEN_MS = 30_000  # a question or a reveal reaches a student's screen (polled every 2.5 s)


@pytest.fixture(scope="module")
def class_server(tmp_path_factory):
    work = tmp_path_factory.mktemp("questions-app")
    with running_app(work, env={"EXPLORER_TEACHER_KEY": KEY,
                                "EXPLORER_DATA_DIR": str(work / "data")}) as running:
        yield running


def bar_counts(page: Page) -> dict[str, int]:
    """The answers chart's bars as {option: count}, read from plotly's data in the page."""
    return page.evaluate("""() => {
        for (const gd of document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')) {
            const bar = (gd.data || []).find(t => t.type === 'bar');
            if (bar) return Object.fromEntries(bar.x.map((x, i) => [x, bar.y[i]]));
        }
        return {};
    }""")


def answer(page: Page, option: str) -> None:
    box = page.locator('[class*="st-key-class_question"]')
    box.locator('[data-testid="stRadio"]').get_by_text(option, exact=True).click()
    box.get_by_role("button", name="Send my answer").click()
    expect(box.get_by_text(f"Answer received: {option}")).to_be_visible(timeout=SEEN_MS)


# The question's map to click on: the plot whose first trace is the grid of clickable places.
# Until the student's screen polls the new question, the box still holds the last question's
# revealed answers (another plot, soon removed): that one is never the one clicked.
CLICK_MAP_JS = f"""() => [...document.querySelectorAll(
    '[class*="st-key-class_question"] .js-plotly-plot')].find(gd => gd.data && gd.data.length
    && gd.data[0].name === {json.dumps(CLICK_NAME)} && gd._fullLayout && gd._fullLayout.xaxis
    && gd._fullLayout.xaxis._length > 0)"""
# The page position of data point (x, y) on that map.
DATA_TO_PAGE_JS = f"""([x, y]) => {{
    const gd = ({CLICK_MAP_JS})();
    const L = gd._fullLayout, box = gd.getBoundingClientRect();
    // _offset: where each axis starts (a map with equal scales narrows one axis's domain)
    return [box.left + L.xaxis._offset + L.xaxis.d2p(x), box.top + L.yaxis._offset + L.yaxis.d2p(y)];
}}"""


def click_at(page: Page, point) -> None:
    box = page.locator('[class*="st-key-class_question"]')
    expect(box.get_by_text("Click where you think the answer lies")).to_be_visible(
        timeout=SEEN_MS)
    box.scroll_into_view_if_needed()
    page.wait_for_function(f"() => !!({CLICK_MAP_JS})()")  # plotly lays out after it shows
    x, y = page.evaluate(DATA_TO_PAGE_JS, [float(point[0]), float(point[1])])
    page.mouse.click(x, y)
    expect(box.get_by_text("Answer received: (")).to_be_visible(timeout=SEEN_MS)


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_question_asked_answered_revealed_and_exported(browser, class_server):
    teacher = person(browser)
    code = open_class(teacher, class_server, KEY, "Autoencoders, week 3")

    students = {}
    for name in ANSWERS:
        page = person(browser)
        join_class(page, class_server, code, name)
        expect(page.get_by_text(f"You are {name} in")).to_be_visible()
        students[name] = page
    # Cy explores another page: the question reaches them there too.
    open_page(students["Cy"], class_server, "sample")

    # A ready question: which 2-D model leaves more holes.
    teacher.locator(".st-key-question_ask_holes_ae_vs_vae button").click()
    expect(teacher.get_by_text("0 of 3")).to_be_visible(timeout=120_000)

    for name, page in students.items():
        expect(page.get_by_text("Question from your teacher")).to_be_visible(timeout=SEEN_MS)
        expect(page.get_by_text("leaves more holes")).to_be_visible()
        answer(page, VAE if name == "Ada" else ANSWERS[name])
    shot(students["Cy"], "student-answered")
    answer(students["Ada"], AE)  # Ada changes her mind before the reveal: one answer, the last
    expect(teacher.get_by_text("3 of 3")).to_be_visible(timeout=SEEN_MS)

    teacher.get_by_role("button", name="Reveal the answers").click()
    expect(teacher.get_by_text(f"True answer: {AE}")).to_be_visible(timeout=SEEN_MS)
    expect(teacher.get_by_text("2 of 3 chose the true answer")).to_be_visible()
    expect(teacher.get_by_text(re.compile(r"\d+% of the prior's draws fall in a hole"))).to_be_visible()
    teacher.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length > 0")
    assert bar_counts(teacher) == {AE: 2, VAE: 1, "About the same": 0}
    shot(teacher, "teacher-reveal")

    for name, page in students.items():  # every student sees the reveal, and their answer
        expect(page.get_by_text(f"True answer: {AE}")).to_be_visible(timeout=SEEN_MS)
        expect(page.get_by_text(f"Your answer: {ANSWERS[name]}")).to_be_visible()
        expect(page.get_by_role("button", name="Send my answer")).to_have_count(0)

    with teacher.expect_download() as download:
        teacher.get_by_role("button", name="Export the answers (CSV)").click()
    exported = download.value.path().read_text()
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert sorted((r["student"], r["answer"]) for r in rows) == sorted(
        [("Ada", AE), ("'=Bo", VAE), ("Cy", AE)])
    assert {r["true_answer"] for r in rows} == {AE}
    tokens = [c["value"] for p in students.values() for c in p.context.cookies()
              if c["name"] == "explorer_student"]
    assert len(tokens) == 3 and not any(t in exported for t in tokens)

    # A click on the map: where will a 7 decode? Ada clicks where the app says the 7s sit, Bo in
    # a corner far from every code; Cy does not answer.
    from explorer.classroom import truths

    where = truths.true_answer(truths.READY["where_7"].spec)["value"]
    _, _, (x0, _, y0, _) = truths.plane(truths.VAE_2D)
    teacher.locator(".st-key-question_ask_where_7 button").click()
    expect(teacher.get_by_text("0 of 3")).to_be_visible(timeout=120_000)
    click_at(students["Ada"], where)
    click_at(students["=Bo"], (x0 + 0.2, y0 + 0.2))
    shot(students["Ada"], "student-clicked")
    expect(teacher.get_by_text("2 of 3")).to_be_visible(timeout=SEEN_MS)
    teacher.get_by_role("button", name="Reveal the answers").click()
    expect(teacher.get_by_text("1 of 2 clicks landed among the 7s")).to_be_visible(
        timeout=SEEN_MS)
    expect(teacher.get_by_text(re.compile(r"True answer: \(-?\d"))).to_be_visible()
    expect(students["Cy"].get_by_text("1 of 2 clicks landed among the 7s")).to_be_visible(
        timeout=SEEN_MS)
    shot(teacher, "teacher-click-reveal")
