"""Teaching features: a link reopens the view it describes, every lesson opens its view, presenter
mode hides the advanced settings, and every export reloads (CSV, PNG, GIF, a shared model).
"""

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from explorer.errors import ModelFileError
from explorer.families.models import ModelConfig, build_model
from explorer.lessons import catalogue as lessons
from explorer.runs import checkpoints, exports

ROOT = Path(__file__).resolve().parents[2]
TITLES = {lessons.MAP: "Latent map", lessons.COMPARE: "Reconstructions",
          lessons.INTERPOLATE: "Interpolate", lessons.SAMPLE: "Sample new images",
          lessons.TRAIN: "Train a model", lessons.INSIDE: "Inside the latent space",
          lessons.RATE_DISTORTION: "Rate and distortion", lessons.DIFFUSION: "Latent diffusion",
          lessons.GENERATORS: "Compare generators"}


def open_app(query: dict | None = None) -> AppTest:
    """The app as a fresh browser tab would open it, with `query` in its URL."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.fixture
def tiny_model(tmp_path):
    """A small digits VAE saved as a model folder (untrained: a round trip needs no learning)."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=4,
                                    hidden=(32,))).eval()
    path = tmp_path / "tiny-vae"
    card = checkpoints.save_model(model, path, {"name": "tiny-vae", "dataset": {"name": "digits"}})
    return model, card, path


def widget_value(at: AppTest, key: str) -> str:
    """A widget's value as the URL writes it, e.g. 0.3 -> "0.3", 5 -> "5", True -> "true"."""
    value = at.session_state[key]
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


# -- shareable views --------------------------------------------------------------------------
def test_a_link_opens_the_view_it_describes(runs):
    # A link names the model by id. PCA keeps the first stop, the default map page, instant (a
    # UMAP would start a background job); the map page's own settings are in the link too.
    at = open_app({"model": "pretrained/mnist-vae-mlp-z16", "map_method": "PCA",
                   "interp_a": "5", "interp_b": "9", "interp_t": "0.3",
                   "interp_method": "spherical", "interp_tab": "Along one dimension",
                   "trav_dim": "z[3]", "trav_value": "1"})
    assert at.segmented_control(key="map_method").value == "pca"
    at.switch_page("explorer/ui/pages/interpolate.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="model").value == "pretrained/mnist-vae-mlp-z16"
    assert at.number_input(key="interp_a").value == 5
    assert at.number_input(key="interp_b").value == 9
    assert at.slider(key="interp_t").value == pytest.approx(0.3)
    assert at.radio(key="interp_method").value == "spherical"
    assert at.session_state["interp_tab"] == "Along one dimension"
    assert at.selectbox(key="trav_dim").value == 3
    assert at.slider(key="trav_value").value == pytest.approx(1.0)
    # The address bar keeps the model's id, so the link reloads the same view.
    assert at.query_params["model"] == "pretrained/mnist-vae-mlp-z16"


def test_a_link_keeps_the_inside_pages_settings(runs):
    """The Inside page's settings (grid size, contours, dimensions) are in its link."""
    at = open_app({"model": "pretrained/mnist-vae-mlp-z16", "inside_tab": "Holes",
                   "holes_n": "12", "holes_prior": "false", "holes_i": "z[5]"})
    at.switch_page("explorer/ui/pages/inside.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.slider(key="holes_n").value == 12
    assert at.checkbox(key="holes_prior").value is False
    assert at.selectbox(key="holes_i").value == 5


def test_every_lesson_step_opens_its_view(runs):
    """Start each lesson, then Next through its steps: each opens its page, model and settings."""
    at = open_app()
    at.switch_page("explorer/ui/pages/lessons.py").run()
    assert at.title[0].value == "Lessons"
    for item in lessons.LESSONS:
        at.button(key=f"lesson_start_{item.slug}").click().run()
        for i, step in enumerate(item.steps):
            if i:
                at.button(key="lesson_next").click().run()
            where = f"{item.slug}, step {i}"
            assert not at.exception, (where, [e.message for e in at.exception])
            assert not at.error, (where, [e.value for e in at.error])
            assert at.title[0].value == TITLES[step.page], where
            if step.model:
                assert at.selectbox(key="model").value == step.model, where
            for key, value in step.view.items():
                if key != "model":
                    assert widget_value(at, key) == value, (where, key)
        at.button(key="lesson_end").click().run()
        at.switch_page("explorer/ui/pages/lessons.py").run()
    # The slerp lesson opened its spherical view; Back to its first step must say linear again,
    # although "linear" is the default and so never written in a URL.
    at.button(key="lesson_start_lerp-vs-slerp").click().run()
    at.button(key="lesson_next").click().run()
    assert at.radio(key="interp_method").value == "spherical"
    at.button(key="lesson_back").click().run()
    assert at.radio(key="interp_method").value == "linear"


def test_the_aes_grid_lesson_does_not_claim_the_grid_covers_its_codes(runs):
    """The AE's codes reach far beyond the grid's extent: the caption must not say the grid
    covers the latent space, and must say the codes may lie outside it."""
    from explorer.analysis import latent
    from explorer.data import datasets

    (view,) = [v for lesson in lessons.LESSONS for v in lesson.steps if v.label == "The AE's grid"]
    at = open_app(view.view)
    at.switch_page("explorer/ui/pages/interpolate.py").run()
    assert not at.exception, [e.message for e in at.exception]
    model, card = checkpoints.load_model(ROOT / view.model)
    codes = latent.encode_dataset(model, datasets.load_dataset(card["dataset"]["name"]).x_test)
    extent = at.slider(key="grid_extent").value
    assert (np.abs(codes) > extent).any(axis=1).mean() > 0.1, "the AE's codes leave the grid"
    captions = [c.value for c in at.caption]
    assert not any("covers all" in c for c in captions), captions
    assert any(f"±{extent:g} around 0" in c and "outside" in c for c in captions), captions


# -- presenter mode ---------------------------------------------------------------------------
def test_presenter_mode_hides_the_advanced_settings(runs):
    advanced = {"explorer/ui/pages/interpolate.py": ("grid_extent", "trav_span", "interp_steps"),
                "explorer/ui/pages/sample.py": ("sample_seed",)}
    for present in (False, True):
        at = open_app({"present": "true"} if present else {})
        assert at.toggle(key="present").value is present
        for page, keys in advanced.items():
            at.switch_page(page).run()
            assert not at.exception, [e.message for e in at.exception]
            assert at.image, "the essentials (the pictures) stay"
            shown = {w.key for w in at.slider} | {w.key for w in at.number_input}
            for key in keys:
                assert (key in shown) is not present, (page, key, present)
    assert at.session_state["sample_seed"] == 0  # a hidden setting still has its value


@pytest.mark.parametrize("page_name, model, key, default, extra", [
    ("latent_map", "pretrained/mnist-vae-mlp-z16", "map_min_dist", "0.1", {"map_method": "UMAP"}),
    ("interpolate", "pretrained/mnist-vae-mlp-z2", "trav_span", "3.0",
     {"interp_tab": "Along one dimension"}),
    ("interpolate", "pretrained/mnist-vae-mlp-z2", "grid_extent", "3.0", {"interp_tab": "Grid"}),
])
def test_a_non_finite_value_in_a_presenter_link_falls_back_to_the_default(
        runs, page_name, model, key, default, extra):
    def view(value):
        at = open_app({"present": "true", "model": model, key: value, **extra})
        at.switch_page(f"explorer/ui/pages/{page_name}.py").run()
        assert not at.exception, [e.message for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        return [url for image in at.image for url in image.value], [c.value for c in at.caption]

    expected = view(default)
    for value in ("nan", "inf", "-inf"):
        assert view(value) == expected, value  # the same pictures as with the default


# -- exports ----------------------------------------------------------------------------------
def test_coordinates_csv_has_a_row_per_image_and_the_full_code():
    codes = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    coords, labels = codes[:, :2] * 3, np.arange(50) % 10
    table = pd.read_csv(io.BytesIO(exports.coords_csv(codes, coords, labels, list("0123456789"))))
    assert list(table.columns) == ["index", "label", "class_name", "x", "y",
                                   "z_0", "z_1", "z_2", "z_3"]
    assert len(table) == 50
    assert (table["label"] == labels).all() and table["class_name"].astype(str).tolist()[:3] == [
        "0", "1", "2"]
    np.testing.assert_allclose(table[["z_0", "z_1", "z_2", "z_3"]].to_numpy(), codes, rtol=1e-6)


def test_a_shared_model_round_trips_through_its_zip(tiny_model, runs):
    model, card, path = tiny_model
    data = exports.model_zip(path)
    assert sorted(zipfile.ZipFile(io.BytesIO(data)).namelist()) == ["card.json",
                                                                     "model.safetensors"]
    folder = exports.import_model_zip(data, runs, "../my friend's VAE")
    assert folder.parent == runs and folder.name == "my-friend-s-VAE"
    again = exports.import_model_zip(data, runs, "../my friend's VAE")
    assert again.name == "my-friend-s-VAE-2"  # never overwrites
    loaded, loaded_card = checkpoints.load_model(folder)
    x = torch.rand(5, 1, 8, 8)
    with torch.inference_mode():
        assert torch.equal(loaded.decode(loaded.embed(x)), model.decode(model.embed(x)))
    assert loaded_card["dataset"] == card["dataset"]


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_a_bad_shared_model_is_refused_with_a_sentence_and_nothing_written(tiny_model, runs,
                                                                          monkeypatch):
    _, _, path = tiny_model
    card, weights = (path / "card.json").read_bytes(), (path / "model.safetensors").read_bytes()
    pickled = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, pickled)
    bad_card = json.dumps({"config": {"kind": "vae"}, "dataset": {"name": "digits"}}).encode()
    cases = {
        "not a .zip": b"just some bytes",
        "unexpected files": zip_of({"card.json": card, "model.safetensors": weights,
                                    "notes.txt": b"hi"}),
        "a path or folder": zip_of({"../card.json": card, "model.safetensors": weights}),
        "pickled": zip_of({"card.json": card, "model.pt": pickled.getvalue()}),
        "pickled PyTorch": zip_of({"card.json": card, "model.safetensors": pickled.getvalue()}),
        "has no model.safetensors": zip_of({"card.json": card}),
        "not valid JSON": zip_of({"card.json": b"{oops", "model.safetensors": weights}),
        "shape": zip_of({"card.json": bad_card, "model.safetensors": weights}),
    }
    for expected, data in cases.items():
        with pytest.raises(ModelFileError, match=expected):
            exports.import_model_zip(data, runs, "shared")
    monkeypatch.setattr(exports, "MAX_ZIP_BYTES", 1000)
    with pytest.raises(ModelFileError, match="at most"):
        exports.import_model_zip(zip_of({"card.json": card, "model.safetensors": weights}),
                                 runs, "shared")
    assert list(runs.iterdir()) == []


def test_uploading_a_shared_model_in_the_sidebar_selects_it(tiny_model, runs):
    _, _, path = tiny_model
    at = open_app()
    at.file_uploader(key="model_upload").upload("from-a-colleague.zip", exports.model_zip(path),
                                                "application/zip").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="model").value == "runs/from-a-colleague"
    assert (runs / "from-a-colleague" / "model.safetensors").is_file()
    assert any("Added 'from-a-colleague'" in s.value for s in at.success)
