"""A dataset downloads as an .npz that `datasets add` takes back: same images, same class names,
and (for a class's own set and mnist-5k) the same test images, so scores match elsewhere."""

from __future__ import annotations

import io

import numpy as np
import pytest

from explorer.cli import main
from explorer.data import datasets
from explorer.data.dataset_export import dataset_npz
from explorer.errors import DatasetError


def as_set(x) -> set[bytes]:
    return {np.rint(image.numpy() * 255).astype(np.uint8).tobytes() for image in x}


def test_a_class_dataset_comes_back_with_the_same_test_images(data_dir, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(60, 12, 12), dtype=np.uint8)
    y = np.repeat(np.arange(3), 20)
    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=y, class_names=np.array(["<b>circle</b>", "square", "star"]))
    datasets.add_user_dataset("shapes", buffer.getvalue(), "shapes.npz")
    assert main(["datasets", "export", "shapes", "--out", str(tmp_path / "shapes.npz")]) == 0
    datasets.add_user_dataset("shapes-again", (tmp_path / "shapes.npz").read_bytes(), "s.npz")
    a, b = datasets.load_dataset("shapes"), datasets.load_dataset("shapes-again")
    assert b.class_names == a.class_names and b.image_shape == a.image_shape == (1, 12, 12)
    assert as_set(b.x_test) == as_set(a.x_test) and as_set(b.x_train) == as_set(a.x_train)
    assert sorted(b.y_test.tolist()) == sorted(a.y_test.tolist())


def test_mnist_5k_travels_with_its_test_split(data_dir):
    data, same = dataset_npz("mnist-5k")
    assert same
    datasets.add_user_dataset("mnist-copy", data, "mnist-5k.npz")
    a, b = datasets.load_dataset("mnist-5k"), datasets.load_dataset("mnist-copy")
    assert len(b.x_test) == len(a.x_test) == 1000
    assert as_set(b.x_test) == as_set(a.x_test)
    with np.load(io.BytesIO(data), allow_pickle=False) as f:
        assert f["x"].dtype == np.uint8 and f["x"].shape == (5000, 28, 28)


def test_a_set_too_large_for_datasets_add_is_refused_with_a_sentence(monkeypatch):
    monkeypatch.setattr("explorer.data.userdata.MAX_IMAGES", 1000)
    with pytest.raises(DatasetError, match="at most 1,000"):
        dataset_npz("digits")


def test_a_model_of_a_class_dataset_travels_with_it_and_imports_elsewhere(data_dir, tmp_path,
                                                                          monkeypatch):
    import zipfile

    from explorer.families.models import ModelConfig, build_model
    from explorer.runs import checkpoints, exports

    x = np.random.default_rng(1).integers(0, 256, size=(40, 8, 8), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=np.repeat(np.arange(2), 20), class_names=np.array(["o", "x"]))
    datasets.add_user_dataset("shapes", buffer.getvalue(), "shapes.npz")
    model = build_model(ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=2, hidden=(8,)))
    checkpoints.save_model(model, tmp_path / "m", {"name": "m", "dataset": {"name": "shapes"}})
    shared = exports.model_zip(tmp_path / "m")
    here = datasets.load_dataset("shapes")

    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path / "elsewhere"))  # another machine
    datasets.refresh_user_datasets()
    assert "shapes" not in datasets.INFOS
    bad = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(shared)) as zf, zipfile.ZipFile(bad, "w") as out:
        for name in zf.namelist():
            out.writestr(name, _npz(side=6) if name == exports.DATASET else zf.read(name))
    with pytest.raises(exports.ModelFileError, match="shape"):
        exports.import_model_zip(bad.getvalue(), tmp_path / "runs", "m")
    assert "shapes" not in datasets.INFOS and not (tmp_path / "runs").exists()

    folder = exports.import_model_zip(shared, tmp_path / "runs", "m")
    there = datasets.load_dataset("shapes")
    assert as_set(there.x_test) == as_set(here.x_test) and there.class_names == ("o", "x")
    assert checkpoints.load_model(folder)[1]["dataset"]["name"] == "shapes"


def _npz(side: int) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, x=np.zeros((20, side, side), np.uint8), y=np.repeat(np.arange(2), 10))
    return buffer.getvalue()


def test_the_train_page_offers_the_picked_dataset_as_an_npz(data_dir, runs):
    from streamlit.testing.v1 import AppTest

    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    at = AppTest.from_file(str(root / "app.py"), default_timeout=120).run()
    at.switch_page("explorer/ui/pages/train.py").run()
    assert not at.exception, [e.message for e in at.exception]
    at.selectbox(key="dataset_download_pick").set_value("digits").run()
    [button] = [b for b in at.get("download_button") if b.key == "dataset_download"]
    assert button.proto.label == "Download digits (.npz)"
