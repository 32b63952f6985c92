"""The offline datasets: shapes, ranges, a fixed stratified split, and the on-disk split cache."""

import numpy as np
import pytest
import torch

from explorer import datasets
from explorer.errors import DatasetError


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


def test_split_cache_round_trips_and_survives_corruption(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "projections"))
    info = datasets.get_info("digits")
    fresh = datasets._load_digits(info)
    assert datasets._read_split_cache(info) is None  # nothing cached yet
    datasets._write_split_cache(fresh)
    cached = datasets._read_split_cache(info)
    assert torch.equal(cached.x_train, fresh.x_train) and torch.equal(cached.y_test, fresh.y_test)
    datasets._split_cache_path("digits").write_bytes(b"not an npz")
    assert datasets._read_split_cache(info) is None  # a broken cache is a miss, not a crash


def test_unknown_dataset_is_a_clear_error():
    with pytest.raises(DatasetError, match="Unknown dataset"):
        datasets.load_dataset("imagenet")
