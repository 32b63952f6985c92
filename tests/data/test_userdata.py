"""The user's own datasets: zips of class folders and .npz arrays round-trip into the registry and
train every model kind; every hostile or broken file is refused with one sentence, writing nothing."""

import io
import json
import os
import stat
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from explorer import atomic
from explorer.data import datasets, userdata
from explorer.errors import DatasetError
from tests.drawings import class_zip, npz, png

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def no_files(folder) -> bool:
    return not folder.exists() or not any(p.is_file() for p in folder.rglob("*"))


# -- accepted formats ----------------------------------------------------------------------------
def test_a_zip_of_class_folders_becomes_a_split_dataset_in_the_registry(data_dir):
    info = datasets.add_user_dataset("shapes", class_zip(), "drawings.zip")
    assert info.class_names == ("circle", "square") and info.image_shape == (1, 12, 12)
    assert "shapes" in datasets.INFOS and datasets.INFOS["shapes"].user
    data = datasets.load_dataset("shapes")
    assert data.x_train.shape == (10, 1, 12, 12) and data.x_test.shape == (2, 1, 12, 12)
    assert np.bincount(data.y_test.numpy()).tolist() == [1, 1]  # stratified, a fifth
    # Grey levels survive: class 1 was filled with 40/255 (all but the noisy corner).
    x = torch.cat([data.x_train, data.x_test])
    y = torch.cat([data.y_train, data.y_test])
    assert torch.allclose(x[y == 1][:, 0, 5, 5], torch.tensor(40 / 255))
    assert sorted(p.name for p in (data_dir / "user" / "shapes").iterdir()) == \
        ["arrays.npz", "dataset.json"]


@pytest.mark.parametrize("fmt,ext", [("JPEG", "jpg"), ("BMP", "bmp"), ("GIF", "gif")])
def test_other_image_formats_are_read(data_dir, fmt, ext):
    info = datasets.add_user_dataset("fmt", class_zip(fmt=fmt, ext=ext), "f.zip")
    assert datasets.load_dataset("fmt").x_train.shape[1:] == info.image_shape == (1, 12, 12)


def test_size_and_colour_are_the_users_choice_and_default_to_at_most_28(data_dir):
    big = datasets.add_user_dataset("big", class_zip(side=40), "big.zip")
    assert big.image_shape == (1, 28, 28)
    small = datasets.add_user_dataset("small", class_zip(side=40, colour=True), "c.zip", size=16,
                                      colour=True)
    assert small.image_shape == (3, 16, 16)
    x = datasets.load_dataset("small").x_train
    assert float(x[:, 0].mean()) > 0.95  # the red channel is kept


def test_mixed_sizes_and_modes_are_resized_to_one_shape(data_dir):
    def entry(mode, size, colour):
        return png(np.asarray(Image.new(mode, size, colour).convert("RGBA")))

    mixed = [("a/rgba.png", entry("RGBA", (30, 20), (0, 0, 0, 0))),  # transparent: white paper
             ("a/palette.gif", entry("P", (9, 40), 3)), ("b/grey.bmp", entry("L", (64, 64), 0))]
    info = datasets.add_user_dataset("mixed", class_zip({"a": 5, "b": 5}, extra=mixed), "m.zip")
    assert info.image_shape == (1, 9, 9)  # the smallest side among the images
    data = datasets.load_dataset("mixed")
    x = torch.cat([data.x_train, data.x_test])
    assert x.shape == (13, 1, 9, 9) and float(x.max()) == 1.0  # the transparent one is white


def test_an_npz_round_trips_in_either_range_and_layout(data_dir):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(20, 9, 9), dtype=np.uint8)
    y = np.repeat([0, 2], 10)  # label 1 unused: dropped
    info = datasets.add_user_dataset("arr", npz(x=x, y=y, class_names=np.array(["a", "b", "c"])),
                                     "arr.npz")
    assert info.class_names == ("a", "c") and info.image_shape == (1, 9, 9)
    data = datasets.load_dataset("arr")
    got = np.round(torch.cat([data.x_train, data.x_test]).numpy() * 255).astype(np.uint8)
    assert sorted(a.tobytes() for a in got) == sorted(a.tobytes() for a in x)  # every image, exact
    unit = rng.random((10, 3, 8, 8)).astype(np.float32)
    info = datasets.add_user_dataset("unit", npz(x=unit), "u.npz")
    assert info.image_shape == (3, 8, 8) and info.class_names == ("all",)
    assert float(datasets.load_dataset("unit").x_train.max()) <= 1.0


def test_a_damaged_or_deleted_folder_leaves_the_registry(data_dir):
    datasets.add_user_dataset("gone", class_zip(), "g.zip")
    (data_dir / "user" / "gone" / "dataset.json").write_text("{not json")
    datasets.refresh_user_datasets()
    assert "gone" not in datasets.INFOS
    with pytest.raises(DatasetError, match="Unknown dataset"):
        datasets.load_dataset("gone")


@pytest.mark.parametrize("kind", ["ae", "vae", "cvae", "gan"])
def test_every_model_kind_trains_on_a_user_dataset(data_dir, tmp_path, kind):
    from explorer.families.models import ModelConfig
    from explorer.jobs import run_training
    from explorer.training.loop import TrainConfig

    info = datasets.add_user_dataset("kinds", class_zip(side=16), "k.zip")
    cfg = ModelConfig(kind=kind, image_shape=info.image_shape, latent_dim=2, hidden=(16,),
                      n_classes=len(info.class_names) if kind == "cvae" else 0)
    outcome = run_training(cfg, TrainConfig(epochs=1, batch_size=4, seed=0), "kinds",
                           tmp_path / "run")
    assert outcome.result.status == "finished" and outcome.path is not None


# -- hostile and broken files --------------------------------------------------------------------
def _symlink_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        link = zipfile.ZipInfo("a/link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    return buffer.getvalue()


def _huge_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (5000, 5000)).save(buffer, "PNG")  # 25 M pixels in a few kilobytes
    return buffer.getvalue()


def _object_npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, x=np.array([{"a": 1}, None], dtype=object))
    return buffer.getvalue()


HOSTILE = {
    "traversal": (lambda: class_zip(extra=[("../evil.png", png(np.zeros((8, 8), np.uint8)))]),
                  "x.zip", "unsafe path"),
    "absolute": (lambda: class_zip(extra=[("/tmp/evil.png", png(np.zeros((8, 8), np.uint8)))]),
                 "x.zip", "unsafe path"),
    "symlink": (_symlink_zip, "x.zip", "symbolic link"),
    "pixel bomb": (lambda: class_zip(extra=[("a/huge.png", _huge_png())]), "x.zip",
                   "5000×5000 pixels; images may have at most"),
    "not an image": (lambda: class_zip(extra=[("circle/notes.txt", b"hello")]), "x.zip",
                     "is not an image"),
    "fake image": (lambda: class_zip(extra=[("circle/fake.png", b"hello")]), "x.zip",
                   "not an image this app can read"),
    "too small": (lambda: class_zip(extra=[("circle/dot.png", png(np.zeros((2, 2), np.uint8)))]),
                  "x.zip", "too small to resize"),
    "no folders": (lambda: _flat_zip(), "x.zip", "not in a folder"),
    "few per class": (lambda: class_zip({"a": 6, "b": 4}), "x.zip", "'b' has 4 image"),
    "not a zip": (lambda: b"just text", "x.zip", "not a valid .zip"),
    "unknown type": (lambda: b"just text", "x.tar", "neither a .zip"),
    "object npz": (_object_npz, "x.npz", "object arrays"),
    "npz without x": (lambda: npz(images=np.zeros((10, 8, 8))), "x.npz", "no array named 'x'"),
    "npz bad shape": (lambda: npz(x=np.zeros((10, 5, 8, 8))), "x.npz", "must be numbers shaped"),
    "npz bad range": (lambda: npz(x=np.full((10, 8, 8), 300.0)), "x.npz", "0–255"),
    "npz empty": (lambda: npz(x=np.zeros((0, 8, 8))), "x.npz", "1 to 20,000 images"),
    "npz bad labels": (lambda: npz(x=np.zeros((10, 8, 8)), y=np.full(10, -1)), "x.npz",
                       "non-negative"),
}


def _flat_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for i in range(6):
            zf.writestr(f"{i}.png", png(np.zeros((8, 8), np.uint8)))
    return buffer.getvalue()


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_or_broken_file_gets_one_sentence_and_writes_nothing(data_dir, case):
    make, filename, sentence = HOSTILE[case]
    with pytest.raises(DatasetError, match=sentence) as refused:
        datasets.add_user_dataset("mine", make(), filename)
    assert "\n" not in str(refused.value)
    assert no_files(data_dir) and "mine" not in datasets.INFOS


def test_caps_on_unpacked_size_and_image_count(data_dir, monkeypatch):
    monkeypatch.setattr(userdata, "MAX_UNCOMPRESSED_BYTES", 2**20)
    bomb = class_zip(extra=[("a/zeros.png", bytes(2 * 2**20))])  # compresses to kilobytes
    with pytest.raises(DatasetError, match="would unpack to 2 MB; the limit is 1 MB"):
        datasets.add_user_dataset("mine", bomb, "bomb.zip")
    monkeypatch.setattr(userdata, "MAX_IMAGES", 10)
    with pytest.raises(DatasetError, match="12 images; the limit is 10"):
        datasets.add_user_dataset("mine", class_zip(), "many.zip")
    monkeypatch.setattr(userdata, "MAX_FILE_BYTES", 100)
    with pytest.raises(DatasetError, match="the limit is 0 MB"):
        datasets.add_user_dataset("mine", class_zip(), "large.zip")
    assert no_files(data_dir)


@pytest.mark.parametrize("name,sentence", [("mnist", "name of a built-in dataset"),
                                           ("../up", "cannot be a dataset name"),
                                           ("Big Name", "cannot be a dataset name"),
                                           ("", "cannot be a dataset name")])
def test_unsafe_or_built_in_names_are_refused(data_dir, name, sentence):
    with pytest.raises(DatasetError, match=sentence):
        datasets.add_user_dataset(name, class_zip(), "x.zip")
    assert no_files(data_dir)


def test_a_taken_name_is_refused_and_the_first_dataset_kept(data_dir):
    datasets.add_user_dataset("twice", class_zip(), "x.zip")
    before = (data_dir / "user" / "twice" / "arrays.npz").read_bytes()
    with pytest.raises(DatasetError, match="already exists"):
        datasets.add_user_dataset("twice", class_zip({"x": 5, "y": 5, "z": 5}), "y.zip")
    assert (data_dir / "user" / "twice" / "arrays.npz").read_bytes() == before


def test_a_failed_save_leaves_no_temporary_folder(data_dir, monkeypatch):
    def fail(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic, "fsync_write", fail)
    with pytest.raises(DatasetError, match="could not be saved.*No space left"):
        datasets.add_user_dataset("full", class_zip(), "x.zip")
    assert no_files(data_dir) and not any((data_dir / "user").iterdir())


# -- the command line, end to end ----------------------------------------------------------------
def run_cli(*args, env):
    return subprocess.run([sys.executable, "-m", "explorer", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def _npz_of_drawings() -> bytes:
    x = np.stack([np.full((20, 20), 40 * k, np.uint8) for k in (0, 1) for _ in range(10)])
    return npz(x=x, y=np.repeat([0, 1], 10), class_names=np.array(["cat", "dog"]))


@pytest.mark.slow
@pytest.mark.parametrize("filename,make", [
    ("drawings.zip", lambda: class_zip({"cat": 10, "dog": 10}, side=20)),
    ("drawings.npz", _npz_of_drawings),
])
def test_images_to_dataset_to_model_to_eval_on_the_command_line(tmp_path, filename, make):
    env = {**os.environ, "EXPLORER_DATA_DIR": str(tmp_path / "data"),
           "EXPLORER_RUNS_DIR": str(tmp_path / "runs"), "EXPLORER_CACHE_DIR": str(tmp_path / "c")}
    (tmp_path / filename).write_bytes(make())
    added = run_cli("datasets", "add", "class-pets", str(tmp_path / filename), "--size", "16",
                    env=env)
    assert added.returncode == 0, added.stderr
    assert "class-pets: 16 train and 4 test images, 16x16, classes cat, dog" in added.stdout
    listed = run_cli("datasets", env=env)
    assert "class-pets" in listed.stdout and "Your own: 20 grey images, 16×16" in listed.stdout
    again = run_cli("datasets", "add", "class-pets", str(tmp_path / filename), env=env)
    assert again.returncode == 2 and again.stderr.strip() == \
        "error: A dataset named 'class-pets' already exists; choose another name."
    trained = run_cli("train", "--dataset", "class-pets", "--epochs", "2", "--latent-dim", "2",
                      "--hidden", "32", "--batch-size", "8", "--out", str(tmp_path / "m"), env=env)
    assert trained.returncode == 0, trained.stderr
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert card["dataset"]["name"] == "class-pets" and len(card["history"]) == 2
    evaluated = run_cli("eval", str(tmp_path / "m"), "--json", "--iw-k", "0", env=env)
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads(evaluated.stdout)
    assert 0 < metrics["mse"] < 1 and 0 <= metrics["knn_acc"] <= 1 and np.isfinite(metrics["kl"])


def test_a_100_mb_file_is_refused_before_it_is_read(tmp_path, data_dir, run_cli, monkeypatch):
    big = tmp_path / "class photos.zip"
    with open(big, "wb") as f:
        f.truncate(100 * 2**20)  # sparse: nothing is written to the disk
    monkeypatch.setattr(type(big), "read_bytes", lambda self: pytest.fail("the file was read"))
    ran = run_cli(["datasets", "add", "photos", str(big)])
    assert ran.status == 2
    assert ran.err == "error: class photos.zip is 100 MB; the limit is 64 MB.\n"
    assert no_files(data_dir)
