"""The glossary: every label a student sees on the Train page is plain words, and its help popover
(the technical term and its meaning) comes from the one glossary file."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.lessons import glossary

ROOT = Path(__file__).resolve().parent.parent


def test_every_entry_names_a_term_and_says_what_it_means():
    assert glossary.entries()
    for label, entry in glossary.entries().items():
        assert entry.term.strip() and len(entry.means.split()) >= 3, label
    with pytest.raises(KeyError):
        glossary.help("Body")  # the old word: renamed "Architecture"


@pytest.fixture
def train(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path / "no-data"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("explorer/ui/pages/train.py").run()
    assert not at.exception
    return at


@pytest.mark.parametrize("kind", ["ae", "vae", "cvae", "gan"])
def test_every_label_on_the_train_form_has_a_glossary_entry(train, kind):
    at = next(w for w in train.segmented_control if w.key == "train_kind").set_value(kind).run()
    widgets = [w for kind_ in (at.number_input, at.selectbox, at.text_input,
                               at.segmented_control) for w in kind_
               if (w.key or "").startswith("train_") or w.key == "model"]
    assert len(widgets) >= 10  # "Advanced" included: folded, not left out
    assert "Model to explore" in {w.label for w in widgets}  # the sidebar's, not a model type
    missing = [w.label for w in widgets if w.label not in glossary.entries()]
    assert not missing, f"labels without a glossary entry: {missing}"
    for w in widgets:
        assert w.help and w.help.startswith(glossary.help(w.label)), w.label


def test_in_presenter_mode_the_grid_names_its_extent_not_the_hidden_slider(runs):
    """Presenter mode hides the Extent slider: the caption said "±Extent" all the same."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update({"present": "true", "model": "pretrained/digits-vae-mlp-z2",
                            "grid_extent": "2.5"})
    at.run()
    at.switch_page("explorer/ui/pages/interpolate.py").run()
    assert not at.exception
    captions = [c.value for c in at.caption if "grid decodes the square" in c.value]
    assert captions and "±2.5 around 0" in captions[0] and "Extent" not in captions[0]
    assert not [s for s in at.slider if s.key == "grid_extent"]  # hidden, as said
