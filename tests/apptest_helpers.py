"""Helpers for the AppTest page tests (imported by them; no tests here)."""

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
DONE = ("finished", "stopped", "diverged", "failed")  # a training job's end states


def open_page(page: str, model: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if model:
        at.session_state["model"] = model
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def submit(at: AppTest, **values) -> AppTest:
    """Fill the form by widget key (train_<name>) and press Train."""
    for key, value in values.items():
        next(w for w in widgets(at) if w.key == f"train_{key}").set_value(value)
    return train_button(at).click().run()


def train_buttons(at: AppTest) -> list:
    return [b for b in at.button if b.key == "train_go"]


def train_button(at: AppTest):
    (button,) = train_buttons(at)
    return button


def widgets(at: AppTest):
    return [*at.number_input, *at.selectbox, *at.text_input, *at.segmented_control]


def run_until_done(at: AppTest, timeout: float = 40.0):
    """Rerun the page (as the live fragment would) until the job ends; returns its last state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = at.session_state["train_job"]
        if not job.snapshot().active:
            at.run()
            return job.snapshot()
        time.sleep(0.2)
        at.run()
        assert not at.exception
    raise AssertionError(f"training did not end within {timeout} s")
