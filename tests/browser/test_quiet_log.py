"""The server's terminal during a class: training jobs and the pickers' "random" leave no
warnings there. A teacher watching it saw 640 lines of "missing ScriptRunContext!" in bursts
whenever jobs started (each training worker re-ran the whole app, without a browser), and a
widget warning when "random" was pressed for the End image on Interpolate.

Run alone with ``.venv/bin/python -m pytest tests/browser/test_quiet_log.py -q``.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from harness.page import RUN_TIMEOUT_MS, fill_train_form, open_page, wait_idle
from tests.browser.helpers import assert_no_errors

pytestmark = pytest.mark.browser

NOISE = ("missing ScriptRunContext", "was created with a default value but also had its value")


def test_three_jobs_and_a_random_pick_leave_the_log_quiet(app: Page, server):
    open_page(app, server, "train")
    form = fill_train_form(app, "Digits 8×8", {"Epochs": 2})
    saved = app.locator('[data-testid="stAlertContentSuccess"]')
    names = []
    for _ in range(3):
        form.get_by_role("button", name="Train").click()
        # each run ends saved, under a name of its own (the same settings get the next free one)
        if names:
            expect(saved).not_to_contain_text(f"'{names[-1]}'", timeout=RUN_TIMEOUT_MS)
        expect(saved).to_contain_text("Saved run", timeout=RUN_TIMEOUT_MS)
        names.append(re.search(r"Saved run '([^']+)'", saved.inner_text()).group(1))
    assert len(set(names)) == 3, names
    open_page(app, server, "interpolate", model="pretrained/digits-vae-mlp-z2")
    end_random = app.locator('[data-testid="stButtonGroup"] button', has_text="random").nth(1)
    end_random.click()
    wait_idle(app, expect_run=True)
    expect(app.get_by_role("button", name="Another")).to_be_visible()
    assert_no_errors(app)
    log = server.log.read_text(errors="replace")
    noisy = [line for line in log.splitlines() if any(n in line for n in NOISE)]
    assert not noisy, f"{len(noisy)} warning lines, the first: {noisy[0]}"
