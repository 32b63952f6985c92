"""The offline datasets: shapes, ranges, a fixed stratified split, and the on-disk split cache."""


import numpy as np
import pytest
import torch

from explorer.data import datasets, downloads
from explorer.errors import DatasetError
from tests.hostile import evil_pickle


@pytest.mark.parametrize("name,shape,n_train,n_test", [("mnist-5k", (1, 28, 28), 4000, 1000),
                                                       ("digits", (1, 8, 8), 1437, 360),
                                                       ("noise", (1, 10, 10), 800, 200)])
def test_offline_datasets_are_tensors_in_unit_range(name, shape, n_train, n_test):
    data = datasets.load_dataset(name)
    assert data.x_train.shape == (n_train, *shape) and data.x_test.shape == (n_test, *shape)
    assert data.x_train.dtype == torch.float32 and data.y_train.dtype == torch.int64
    assert 0.0 <= float(data.x_train.min()) and float(data.x_train.max()) <= 1.0
    assert len(data.class_names) == int(data.y_train.max()) + 1


def test_mnist_5k_split_is_stratified_and_disjoint():
    data = datasets.load_dataset("mnist-5k")
    assert np.bincount(data.y_test.numpy()).tolist() == [100] * 10
    train = {t.numpy().tobytes() for t in data.x_train[:500]}
    assert not any(t.numpy().tobytes() in train for t in data.x_test)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    datasets.load_dataset.cache_clear()  # the per-process cache would hide the disk
    yield tmp_path / "cache"
    datasets.load_dataset.cache_clear()


def test_split_cache_stays_inside_the_cache_folder_and_round_trips(cache_dir):
    info = datasets.get_info("digits")
    path = datasets._split_cache_path("digits")
    assert path.parent == cache_dir / "datasets"
    assert datasets._read_split_cache(info) is None  # nothing cached yet
    fresh = datasets.load_dataset("digits")
    assert path.is_file()
    cached = datasets._read_split_cache(info)
    assert torch.equal(cached.x_train, fresh.x_train) and torch.equal(cached.y_test, fresh.y_test)
    assert [p.name for p in cache_dir.parent.iterdir()] == ["cache"]  # nothing beside it


def _rewrite(path, **changes):
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    for key, change in changes.items():
        arrays[key] = change(arrays[key])
    np.savez(path, **arrays)


CORRUPTIONS = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "empty": lambda p: p.write_bytes(b""),
    "not an npz": lambda p: p.write_bytes(b"not an npz"),
    "a part missing": lambda p: np.savez(p, x_train=np.zeros(3, np.float32)),
    "labels shifted": lambda p: _rewrite(p, y_train=lambda y: y + 1),
    "negative labels": lambda p: _rewrite(p, y_test=lambda y: y - 1),
    "wrong image shape": lambda p: _rewrite(p, x_train=lambda x: x.reshape(len(x), 1, 4, 16)),
    "rows missing": lambda p: _rewrite(p, x_test=lambda x: x[:-1], y_test=lambda y: y[:-1]),
    "labels as floats": lambda p: _rewrite(p, y_train=lambda y: y.astype(np.float64)),
    "NaN pixels": lambda p: _rewrite(p, x_train=lambda x: np.where(x > 0.5, np.nan, x)),
    "pixels outside [0, 1]": lambda p: _rewrite(p, x_test=lambda x: x * 255),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_a_damaged_split_cache_is_deleted_and_rebuilt(cache_dir, case, caplog):
    fresh = datasets.load_dataset("digits")
    path = datasets._split_cache_path("digits")
    CORRUPTIONS[case](path)
    datasets.load_dataset.cache_clear()  # a new process: only the disk remembers
    with caplog.at_level("WARNING", logger="explorer.data.datasets"):
        again = datasets.load_dataset("digits")  # no exception: the page that loads it stays up
    assert "rebuilding the damaged dataset cache" in caplog.text  # noticed, not loaded as is
    assert torch.equal(again.x_train, fresh.x_train) and torch.equal(again.y_train, fresh.y_train)
    assert torch.equal(again.x_test, fresh.x_test) and torch.equal(again.y_test, fresh.y_test)
    assert datasets._read_split_cache(datasets.get_info("digits")) is not None  # rewritten whole


def test_unknown_dataset_is_a_clear_error():
    with pytest.raises(DatasetError, match="Unknown dataset"):
        datasets.load_dataset("imagenet")


def test_dataset_files_never_unpickle(tmp_path, marker):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(evil_pickle(marker))
    with pytest.raises(DatasetError, match="not an IDX file"):
        downloads.read_idx(path)
    folder = downloads.dataset_dir(datasets.get_info("mnist"), tmp_path / "data")
    folder.mkdir(parents=True)
    for spec in datasets.get_info("mnist").source.files:  # all four, unpacked: no download
        (folder / spec.filename.removesuffix(".gz")).write_bytes(evil_pickle(marker))
    with pytest.raises(DatasetError, match="not an IDX file"):
        datasets.load_dataset("mnist", data_dir=str(tmp_path / "data"))


def test_mixed_indices_show_every_class_before_repeating_one():
    labels = np.repeat(np.arange(10), 50)  # sorted by class, as mnist-5k's test split is
    picked = datasets.mixed_indices(labels, 8)
    assert sorted(labels[picked].tolist()) == list(range(8))
    assert len(set(labels[datasets.mixed_indices(labels, 20)].tolist())) == 10
