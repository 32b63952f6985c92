"""A class in a real browser at 1024×768: a teacher and three students (separate browser
contexts) join, train, one closes the tab; the dashboard shows the three names with the right
states and numbers and the R-D plane three named points; the teacher deletes a run; a student
sees no control for another's run; the identity survives a reload and is never in the URL."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from harness.app_server import running_app
from harness.page import fill_train_form, open_page, wait_idle
from tests.browser.helpers import join_class, open_class, person

pytestmark = pytest.mark.browser

KEY = "browser-test-teacher-key"
TRAIN_TIMEOUT_MS = 240_000
STUDENTS = ("Ada", "Bo <b>", "Cy")
# The names written beside the points of the page's plotly charts (the class's R-D plane).
LABELS_JS = """[...document.querySelectorAll('[data-testid="stPlotlyChart"] .textpoint text')]
    .map(t => t.textContent)"""


@pytest.fixture(scope="module")
def class_server(tmp_path_factory):
    work = tmp_path_factory.mktemp("class-app")
    with running_app(work, env={"EXPLORER_RELEASE_GRACE_S": "2", "EXPLORER_TEACHER_KEY": KEY,
                                "EXPLORER_DATA_DIR": str(work / "data")}) as running:
        yield running


def table_row(page: Page, name: str):
    """The dashboard's row whose first cell (the student) is exactly `name`."""
    first = page.locator("th", has_text=re.compile(f"^{re.escape(name)}$"))
    return page.locator('[data-testid="stTable"] tbody tr').filter(has=first)


def test_a_class_of_three_in_the_browser(browser, class_server):
    teacher = person(browser)
    code = open_class(teacher, class_server, KEY, "Autoencoders, week 3")
    expect(teacher.get_by_role("img", name="Scan to join").or_(
        teacher.locator('[data-testid="stImage"] img')).first).to_be_visible()
    assert KEY not in teacher.url

    students = {}
    for name in STUDENTS:
        page = person(browser)
        join_class(page, class_server, code, name)
        expect(page.get_by_text(f"You are {name} in Autoencoders, week 3")).to_be_visible()
        students[name] = page
    ada = students["Ada"]
    token = next(c["value"] for c in ada.context.cookies() if c["name"] == "explorer_student")
    ada.reload()  # a reload keeps the identity; the token is in no address
    wait_idle(ada)
    expect(ada.get_by_text("You are Ada in Autoencoders, week 3")).to_be_visible()
    assert token not in ada.url

    # A taken name gets a sentence.
    late = person(browser)
    join_class(late, class_server, code, "ada")
    expect(late.get_by_text("already called")).to_be_visible()
    late.context.close()

    for name, epochs in (("Ada", 3), ("Bo <b>", 400), ("Cy", 3)):
        page = students[name]
        open_page(page, class_server, "train")
        form = fill_train_form(page, "Digits 8×8", {"Epochs": epochs, "Code size": 2,
                                                    "Batch size": 32})
        form.get_by_role("button", name="Train").click()
        wait_idle(page, expect_run=True) if epochs == 3 else None

    # Bo's run is live on the dashboard, then Bo closes the tab.
    expect(table_row(teacher, "Bo <b>")).to_contain_text(re.compile(r"running, epoch [1-9]"),
                                                          timeout=TRAIN_TIMEOUT_MS)
    students["Bo <b>"].context.close()
    for name, state in (("Ada", "finished (3 epochs)"), ("Cy", "finished (3 epochs)"),
                        ("Bo <b>", "stopped because the tab closed")):
        expect(table_row(teacher, name)).to_contain_text(state, timeout=TRAIN_TIMEOUT_MS)
        expect(table_row(teacher, name)).to_contain_text(re.compile(r"\d+\.\d"))  # numbers
    # The three names on the R-D plane, read at one instant (the charts refresh every 3 s, and
    # a count then a read could straddle a redraw).
    try:
        teacher.wait_for_function(f"(want) => JSON.stringify(({LABELS_JS}).sort()) "
                                  "=== JSON.stringify(want)", arg=sorted(STUDENTS),
                                  timeout=60_000)
    except PlaywrightTimeout:  # say what the plane showed instead, and any error on the page
        shown = teacher.evaluate(f"() => {LABELS_JS}")
        errors = teacher.locator('[data-testid="stException"], [data-testid="stAlert"]')
        pytest.fail(f"the R-D plane shows {shown}, not {sorted(STUDENTS)}; the page says "
                    f"{errors.all_inner_texts()}; the server's log ends "
                    f"{class_server.log_tail(2000)!r}")

    # Cy sees a Delete for their own run only; the backend's refusal of a forged request is
    # tested in tests/classroom/test_classroom.py.
    cy = students["Cy"]
    open_page(cy, class_server, "join")
    expect(cy.get_by_role("button", name="Delete")).to_have_count(1)
    expect(cy.get_by_text("Ada")).to_have_count(0)

    # The teacher deletes Ada's run: the row says she is not training.
    teacher.reload()  # a new session: the key is asked again (it is kept in no cookie)
    wait_idle(teacher)
    teacher.get_by_label("Teacher key").fill(KEY)
    teacher.get_by_role("button", name="Open the teacher's page").click()
    picker = teacher.get_by_role("combobox", name="Student")
    picker.scroll_into_view_if_needed()
    picker.click()
    teacher.get_by_role("option", name=re.compile(r"^Ada · 1 run$")).click()
    ada_box = teacher.locator('[class*="st-key-roster_"]', has_text="Ada")
    ada_box.get_by_role("button", name="Delete").first.click()
    expect(table_row(teacher, "Ada")).to_contain_text("not training yet", timeout=30_000)
    # The table's CSV, clicked three times while the dashboard refreshes twice a second: a
    # file every time, one row per student, no token in it.
    for _ in range(3):
        with teacher.expect_download(timeout=30_000) as download:
            teacher.get_by_role("button", name="Export the table (CSV)").click()
        exported = download.value.path().read_text()
        rows = list(csv.DictReader(io.StringIO(exported)))
        assert sorted(r["student"] for r in rows) == sorted(STUDENTS) and token not in exported
        teacher.wait_for_timeout(700)
    # Neither the teacher key nor a student's token reached the server's log.
    log = class_server.log_tail(10**8)
    assert KEY not in log and token not in log
