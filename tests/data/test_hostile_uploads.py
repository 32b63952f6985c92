"""Small uploads that used to exhaust the server for the whole class: each is built here, small,
and either refused in one sentence or read within a stated memory cap, measured as the peak
resident size of a fresh process (resource.getrusage) against the same process's baseline."""

import io
import json
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from PIL import Image

from explorer.data import datasets, userdata
from explorer.errors import DatasetError, ModelFileError
from explorer.families.models import ModelConfig
from tests.drawings import npz

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def peak_mb_over_baseline(code: str) -> float:
    """Run `code` (which builds `data`, then calls `read()`) in a fresh Python and return how many
    MB its peak resident size rose during `read()` alone."""
    script = textwrap.dedent("""
        import resource, sys
        import numpy as np, torch  # noqa: F401 - imported before the baseline
        from explorer.data import userdata, userdata_zip  # noqa: F401
        from explorer.errors import DatasetError
        {code}
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            read()
        except DatasetError as e:
            print("REFUSED", e, file=sys.stderr)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) / 1024)
    """).format(code=textwrap.dedent(code))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300, cwd=ROOT, check=True)
    return float(out.stdout.split()[-1])


# -- 1. decoded pixels: a 30 KB zip of big transparent PNGs ---------------------------------------
RGBA_ZIP = """
    import io, zipfile
    from PIL import Image
    one = io.BytesIO()
    Image.new("RGBA", (2048, 2048), (0, 0, 0, 0)).save(one, "PNG")  # 16 MB decoded, ~10 KB
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(16):
            zf.writestr(f"{'ab'[i % 2]}/{i}.png", one.getvalue())
    data = buffer.getvalue()
    def read():
        userdata_zip.read_zip(data, size=28)
"""


@pytest.mark.slow  # measured in a subprocess
def test_a_zip_of_large_transparent_pngs_is_decoded_one_image_at_a_time():
    # 16 images of 2048×2048 RGBA: 256 MB if all stayed decoded, one at a time about 16 MB
    # (plus PIL's working copies for the white background and the grey conversion).
    assert peak_mb_over_baseline(RGBA_ZIP) < 120


def test_the_pixels_a_zip_declares_are_bounded_before_any_is_decoded(data_dir, monkeypatch):
    monkeypatch.setattr(userdata, "MAX_DECODED_PIXELS", 10_000_000)
    one = io.BytesIO()
    Image.new("RGBA", (2048, 2048)).save(one, "PNG")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for i in range(10):
            zf.writestr(f"{'ab'[i % 2]}/{i}.png", one.getvalue())
    with pytest.raises(DatasetError, match="42 million pixels; the limit is 10 million"):
        datasets.add_user_dataset("big", buffer.getvalue(), "big.zip")


# -- 2. one huge label -----------------------------------------------------------------------------
@pytest.mark.slow  # measured in a subprocess
def test_one_huge_label_makes_two_classes_not_ten_million():
    code = """
        data_x = np.zeros((10, 8, 8), np.uint8)
        y = np.array([0] * 5 + [10**7] * 5)
        def read():
            _, labels, names = userdata.read_npz(
                __import__("tests.drawings", fromlist=["npz"]).npz(x=data_x, y=y))
            assert names == ["0", "10000000"] and sorted(set(labels.tolist())) == [0, 1], names
    """
    assert peak_mb_over_baseline(code) < 50


@pytest.mark.parametrize("label", [2**62, 10**7])
def test_any_whole_number_labels_are_mapped_to_classes(label):
    x, y, names = userdata.read_npz(npz(x=np.zeros((10, 8, 8)), y=np.array([3] * 5 + [label] * 5)))
    assert names == ["3", str(label)] and y.tolist() == [0] * 5 + [1] * 5


def test_more_labels_than_classes_are_refused_before_anything_is_built():
    with pytest.raises(DatasetError, match="101 different labels; this app handles at most 100"):
        userdata.read_npz(npz(x=np.zeros((101, 8, 8)), y=np.arange(101) * 10**9))


# -- 3. what is stored, the data folder's quota, the dataset cache --------------------------------
def test_upscaling_many_tiny_images_is_refused_by_what_it_would_store(data_dir):
    tiny = npz(x=np.zeros((5000, 3, 4, 4), np.uint8), y=np.arange(5000) % 2)
    with pytest.raises(DatasetError, match=r"would take 938 MB; the limit is 64 MB\. Pick a "
                                           "smaller image size"):
        datasets.add_user_dataset("tiny", tiny, "tiny.npz", size=128, colour=True)
    assert not (data_dir / "user" / "tiny").exists()


def test_the_data_folder_has_a_quota(data_dir, monkeypatch):
    monkeypatch.setattr(userdata, "DATA_QUOTA_BYTES", 25_000)
    one = npz(x=np.random.default_rng(0).integers(0, 255, (40, 1, 16, 16), np.uint8),
              y=np.arange(40) % 2)
    datasets.add_user_dataset("first", one, "a.npz")
    datasets.add_user_dataset("second", one, "a.npz")
    with pytest.raises(DatasetError, match="ask your teacher to remove a dataset"):
        datasets.add_user_dataset("third", one, "a.npz")
    assert "third" not in datasets.INFOS


def test_the_dataset_cache_is_bounded_in_bytes(monkeypatch):
    monkeypatch.setenv("EXPLORER_DATASET_CACHE_MB", "0.1")  # digits alone is about 0.4 MB
    datasets.load_dataset.cache_clear()
    datasets.load_dataset("digits")
    datasets.load_dataset("noise")
    kept = [args[0] for args, _ in datasets.load_dataset.cached_keys()]
    assert kept == ["noise"]  # the older one was let go
    datasets.load_dataset.cache_clear()


# -- 11, 12, 14. shapes, bytes and names -----------------------------------------------------------
def test_non_square_images_get_a_sentence_or_are_resized(data_dir):
    x = np.zeros((50, 4, 40), np.uint8)
    y = np.arange(50) % 2
    with pytest.raises(DatasetError, match="4×40 pixels; this app works with square images"):
        datasets.add_user_dataset("wide", npz(x=x, y=y), "w.npz")
    info = datasets.add_user_dataset("wide", npz(x=x, y=y), "w.npz", size=16)
    assert info.image_shape == (1, 16, 16)


def test_non_utf8_class_names_and_boolean_labels_are_read_not_raised():
    names = np.array([b"caf\xe9", b"ok"])  # Latin-1, not UTF-8
    _, y, shown = userdata.read_npz(npz(x=np.zeros((10, 8, 8)), y=np.array([True, False] * 5),
                                        class_names=names))
    assert shown == ["caf\ufffd", "ok"] and sorted(set(y.tolist())) == [0, 1]


def long_names_zip(a: str, b: str) -> bytes:
    buffer = io.BytesIO()
    one = io.BytesIO()
    Image.new("L", (8, 8)).save(one, "PNG")
    with zipfile.ZipFile(buffer, "w") as zf:
        for i in range(12):
            zf.writestr(f"{(a, b)[i % 2]}/{i}.png", one.getvalue())
    return buffer.getvalue()


def test_class_names_that_would_show_as_one_are_refused(data_dir):
    long = "x" * 40
    with pytest.raises(DatasetError, match="would show as the same class"):
        datasets.add_user_dataset("long", long_names_zip(long + "a", long + "b"), "l.zip")
    with pytest.raises(DatasetError, match="would show as the same class"):
        userdata.read_npz(npz(x=np.zeros((10, 8, 8)), y=np.arange(10) % 2,
                              class_names=np.array(["a", " a "])))


def test_dataset_names_are_quoted_as_typed_and_look_alikes_refused(data_dir):
    with pytest.raises(DatasetError) as refused:
        datasets.add_user_dataset("-x", b"", "x.npz")
    assert str(refused.value).startswith("'-x' cannot be a dataset name")  # as typed
    with pytest.raises(DatasetError, match="'mnist-5k' already exists"):
        datasets.add_user_dataset("mnist_5k", b"", "x.npz")


def test_losing_a_race_for_a_name_does_not_show_the_servers_path(data_dir, monkeypatch):
    one = npz(x=np.zeros((10, 8, 8), np.uint8), y=np.arange(10) % 2)
    real_store = userdata._store

    def store_after_the_other(name, arrays, meta):
        real_store(name, arrays, meta)  # the other add wins ...
        real_store(name, arrays, meta)  # ... and this one loses at the rename

    monkeypatch.setattr(userdata, "_store", store_after_the_other)
    with pytest.raises(DatasetError) as lost:
        datasets.add_user_dataset("same", one, "a.npz")
    assert "added a moment ago" in str(lost.value) and str(data_dir) not in str(lost.value)


def test_an_unknown_model_setting_is_named_without_escapes():
    from explorer.runs.checkpoints import parse_card

    card = {"config": {**ModelConfig(kind="ae").to_dict(), "features": 3}}
    with pytest.raises(ModelFileError) as refused:
        parse_card(json.dumps(card).encode(), "card.json")
    assert "Unknown model setting(s): features." in str(refused.value)
