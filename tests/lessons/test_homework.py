"""Homework export: the ONNX decoder draws what PyTorch draws, and the bundle carries nothing
private (no runs-folder path, no student's name, no teacher key) and no markup from its data."""

from __future__ import annotations

import base64
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from explorer.analysis.latent import decode
from explorer.families.models import ModelConfig, build_model
from explorer.lessons import catalogue as lessons
from explorer.lessons.homework import ExportError, bundle_files, bundle_zip, decoder_onnx
from explorer.lessons.homework.bundle import json_for_html
from explorer.lessons.homework.onnx_decoder import INSTALL_HINT
from explorer.runs.checkpoints import load_model, save_model

ort = pytest.importorskip("onnxruntime")  # pinned in requirements-test.txt

ROOT = Path(__file__).resolve().parents[2]
DATA = re.compile(rb'<script type="application/json" id="lesson-data">(.*?)</script>', re.S)


def onnx_images(onnx: bytes, z: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(onnx, providers=["CPUExecutionProvider"])
    return session.run(None, {"z": z.astype(np.float32)})[0]  # (B, C, H, W)


@pytest.mark.parametrize("name", ["mnist-vae-mlp-z2", "mnist-vae-conv-z16"])
def test_onnx_decoder_draws_the_pytorch_images_within_1e4(name):
    model, _ = load_model(f"pretrained/{name}")
    z = np.random.default_rng(0).normal(0, 1.5, size=(100, model.cfg.latent_dim))
    got = onnx_images(decoder_onnx(model), z)[:, 0]  # (100, 28, 28)
    want = decode(model, z)
    assert got.shape == want.shape == (100, 28, 28)
    assert np.abs(got - want).max() < 1e-4
    assert want.std(axis=0).mean() > 0.05  # 100 different images, not one blank repeated


def test_a_model_with_no_code_alone_to_decode_is_refused_with_a_sentence():
    cvae = build_model(ModelConfig(kind="cvae", image_shape=(1, 8, 8), latent_dim=2,
                                   hidden=(16,), n_classes=10))
    with pytest.raises(ExportError, match="needs a class label"):
        decoder_onnx(cvae, "The CVAE")


def test_an_unknown_lesson_names_the_ones_there_are():
    with pytest.raises(ExportError, match="no-holes"):
        bundle_files("no-such-lesson")


def test_missing_onnx_runtime_web_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("EXPLORER_ORT_WEB", str(tmp_path))
    with pytest.raises(ExportError, match="npm install --prefix .cache/npm onnxruntime-web@"):
        bundle_files("no-holes")


def page_data(files: dict[str, bytes]) -> dict:
    return json.loads(DATA.search(files["index.html"]).group(1))


@pytest.fixture
def student_lesson(runs, digits_vae, monkeypatch):
    """A lesson that opens a student's run, named after her, its card naming her too."""
    model, card, _ = digits_vae
    card = {**card, "name": "alice-smith-vae", "owner": "Alice Smith", "student": "Alice Smith"}
    save_model(model, runs / "alice-smith-vae", card)
    monkeypatch.setenv("EXPLORER_TEACHER_KEY", "teacher-key-7f3a9c")
    lesson = lessons.Lesson(
        slug="class-own", title="</script><script>window.pwned = 1</script>",
        text="<img src=x onerror=alert(1)> *codes*",
        steps=(lessons.Step(lessons.MAP, {"model": "runs/alice-smith-vae"},
                            label="The class's run", prompt="<b>Your</b> map</script>"),))
    monkeypatch.setattr(lessons, "LESSONS", (*lessons.LESSONS, lesson))
    return model, runs


def test_the_bundle_holds_no_runs_path_no_student_name_and_no_teacher_key(student_lesson):
    model, runs = student_lesson
    files = bundle_files("class-own")
    assert {"index.html", "app.js", "style.css", "ort/ort.wasm.min.js",
            "ort/LICENSE-onnxruntime-web.txt"} <= set(files)
    for name, data in files.items():
        for secret in (b"alice", b"Alice", b"teacher-key-7f3a9c", str(runs).encode(), b"runs/"):
            assert secret not in data, f"{secret!r} in {name}"
    document = page_data(files)
    assert document["models"][0]["label"] == f"{model.cfg.describe()} on digits"


def test_markup_in_the_lesson_stays_data_inside_index_html(student_lesson):
    files = bundle_files("class-own")
    html = files["index.html"]
    assert b"<script>window.pwned" not in html and b"<img src=x" not in html
    document = page_data(files)  # the element ends where it should, and parses back unchanged
    assert document["lesson"]["title"] == "</script><script>window.pwned = 1</script>"
    assert document["lesson"]["text"].startswith("<img src=x onerror=alert(1)>")
    assert document["lesson"]["steps"][0]["prompt"] == "<b>Your</b> map</script>"
    assert "<" not in json_for_html({"a": "</script>\u2028"})


def test_the_bundle_carries_a_map_and_decoder_per_model_of_the_lesson():
    files = bundle_files("no-holes")
    document = page_data(files)
    assert [m["latent_dim"] for m in document["models"]] == [2, 2]  # the AE's and the VAE's
    assert [s["model"] for s in document["lesson"]["steps"]] == [0, 0, 0, 1]
    model, _ = load_model("pretrained/mnist-vae-mlp-z2")
    vae = document["models"][1]
    z = np.frombuffer(base64.b64decode(vae["codes"]), "<f4").reshape(-1, 2)[:100].copy()
    assert np.abs(onnx_images(base64.b64decode(vae["onnx"]), z)[:, 0] - decode(model, z)).max() < 1e-4
    from explorer.analysis.latent import encode_dataset
    from explorer.data.datasets import load_dataset

    x = load_dataset("mnist-5k").x_test[:100]
    assert np.allclose(z, encode_dataset(model, x), atol=1e-6)  # the codes of the test images
    assert sum(len(v) for v in files.values()) < 15 * 2**20
    assert len(bundle_zip("no-holes")) < 15 * 2**20


def test_the_export_command_writes_a_folder_that_opens_as_index_html(tmp_path):
    from explorer.cli import main

    assert main(["export-lesson", "beta", "--out", str(tmp_path / "beta")]) == 0
    assert (tmp_path / "beta" / "index.html").is_file()
    assert main(["export-lesson", "beta", "--out", str(tmp_path / "beta")]) == 2  # not empty


def lessons_page(monkeypatch, ort_web=None):
    from streamlit.testing.v1 import AppTest

    if ort_web is not None:
        monkeypatch.setenv("EXPLORER_ORT_WEB", str(ort_web))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("explorer/ui/pages/lessons.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def homework_buttons(at):
    return [b for b in at.get("download_button") if str(b.key).startswith("homework_")]


def test_each_lesson_offers_its_homework_page_and_says_what_is_missing(runs, monkeypatch,
                                                                       tmp_path):
    at = lessons_page(monkeypatch)
    buttons = homework_buttons(at)
    assert sorted(b.key for b in buttons) == sorted(f"homework_{x.slug}" for x in lessons.LESSONS)
    assert not any(b.proto.disabled for b in buttons)  # every lesson opens a model
    assert not any("npm install" in c.value for c in at.caption)

    at = lessons_page(monkeypatch, tmp_path)  # no onnxruntime-web there
    hints = [c.value for c in at.caption if "npm install --prefix .cache/npm" in c.value]
    assert len(hints) == len(lessons.LESSONS)
    assert all(b.proto.disabled for b in homework_buttons(at))

    monkeypatch.delenv("EXPLORER_ORT_WEB")
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if onnx were not installed: the app runs
    at = lessons_page(monkeypatch)
    assert sum(INSTALL_HINT == c.value for c in at.caption) == len(lessons.LESSONS)
