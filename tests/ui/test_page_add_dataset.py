"""The Train page's "Add a dataset" expander, driven through AppTest: a class's zip of drawings is
uploaded, appears (picked) in the Dataset list, and a model trains on it."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.data import datasets
from tests.apptest_helpers import ROOT, run_until_done, submit
from tests.drawings import class_zip


def open_train_page(tmp_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path / "data"))
    datasets.refresh_user_datasets()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("explorer/ui/pages/train.py").run()
    assert not at.exception
    return at


@pytest.mark.slow
def test_an_uploaded_zip_is_picked_in_the_list_and_trains(runs, tmp_path, monkeypatch):
    at = open_train_page(tmp_path, monkeypatch)
    try:
        at.file_uploader(key="dataset_upload").upload(
            "Class 4B shapes.zip", class_zip({"circle": 8, "square": 8}, side=16),
            "application/zip").run()
        at.button(key="dataset_add").click().run()
        assert not at.exception, [e.message for e in at.exception]
        assert any("Added **class-4b-shapes**: 16 images in 2 classes" in s.value
                   for s in at.success)
        picker = at.selectbox(key="train_dataset")
        assert "class-4b-shapes (yours)" in picker.options and picker.value == "class-4b-shapes"
        assert (tmp_path / "data" / "user" / "class-4b-shapes" / "arrays.npz").is_file()
        submit(at, epochs=1, latent=2, batch=8)
        state = run_until_done(at)
        assert state.status == "finished", state.message
        card = json.loads((Path(state.saved_path) / "card.json").read_text())
        assert card["dataset"]["name"] == "class-4b-shapes"
    finally:
        monkeypatch.undo()
        datasets.refresh_user_datasets()


def test_a_broken_upload_gets_its_sentence_and_adds_nothing(runs, tmp_path, monkeypatch):
    at = open_train_page(tmp_path, monkeypatch)
    try:
        at.file_uploader(key="dataset_upload").upload("few.zip", class_zip({"a": 6, "b": 3}),
                                                      "application/zip").run()
        at.button(key="dataset_add").click().run()
        assert any("'b' has 3 image(s)" in e.value for e in at.error)
        assert not any("yours" in o for o in at.selectbox(key="train_dataset").options)
        assert not (tmp_path / "data" / "user").exists() or \
            not any((tmp_path / "data" / "user").iterdir())
    finally:
        monkeypatch.undo()
        datasets.refresh_user_datasets()
