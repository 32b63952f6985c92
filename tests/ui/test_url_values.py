"""Hostile links: every value a URL binds is checked against the widget that shows it, so no
query string crashes a page; the page opens with that widget at its default instead."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.ui.parts.train_form import FIELDS

ROOT = Path(__file__).resolve().parents[2]

# (page, query string) pairs that each crashed a page with the generic error before.
HOSTILE = [
    ("train", {"train_epochs": "100000"}),
    ("train", {"train_latent": "-5"}),
    ("train", {"train_batch": "0"}),
    ("train", {"train_kind": "foo"}),
    ("train", {"train_arch": "<b>x</b>"}),
    ("train", {"train_likelihood": "poisson"}),
    ("train", {"train_epochs": "1e400"}),
    ("train", {"train_lr": "1e400"}),
    ("train", {"train_seed": "nan"}),
    ("train", {"train_name": "x" * 500}),
    ("latent_map", {"map_find": "image", "map_find_index": "1e400"}),
    ("sample", {"sample_seed": "1e400"}),
    ("interpolate", {"interp_a": "1e400", "interp_b": "-1e400"}),
    ("generators", {"gen_seed": "1e400"}),
]
DEFAULTS = {**{f.key: f.default for f in FIELDS if f.key in (
    "train_epochs", "train_latent", "train_batch", "train_lr", "train_seed")},
    "gen_seed": 0, "sample_seed": 0}


@pytest.mark.parametrize(("page_name", "query"), HOSTILE, ids=[str(q) for _, q in HOSTILE])
def test_a_hostile_link_opens_the_page_with_the_widget_at_its_default(page_name, query, runs):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update(query)
    at.run()
    at.switch_page(f"explorer/ui/pages/{page_name}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    for key in set(query) & set(DEFAULTS):
        assert at.number_input(key=key).value == DEFAULTS[key]


def test_a_good_link_still_sets_its_widgets(runs):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update({"train_epochs": "25", "train_kind": "ae"})
    at.run()
    at.switch_page("explorer/ui/pages/train.py").run()
    assert at.number_input(key="train_epochs").value == 25
    assert at.segmented_control(key="train_kind").value == "ae"


def test_the_rules_come_from_the_train_form_itself():
    from explorer.ui.parts import train_form, url_values

    rules = url_values.rules()
    for field in train_form.FIELDS:
        assert field.key in rules, field.key
    (epochs,) = [f for f in train_form.FIELDS if f.key == "train_epochs"]
    assert not url_values.fits("train_epochs", str(epochs.hi + 1), rules)
    assert url_values.fits("anything", "some text", rules)
    assert not url_values.fits("anything", "inf", rules)
