"""The user's own datasets: a ``.zip`` of images in one folder per class, or an ``.npz`` of arrays.

A file is read and validated in memory first (nothing is extracted); only a dataset that passes
every check is split (seeded and stratified, as the built-in sets) and stored under
``<data folder>/user/<name>/`` as ``arrays.npz`` (uint8 or float32, never pickle) beside a small
``dataset.json``. The folder is built under a temporary name and renamed into place, so a failure
at any step leaves nothing behind. :mod:`explorer.data.datasets` lists these folders in its registry.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import re
import stat
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np

from explorer import paths
from explorer.atomic import write_folder
from explorer.errors import DatasetError, plain

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 64 * 2**20  # the file as uploaded; a larger one is refused before it is opened
MAX_UNCOMPRESSED_BYTES = 256 * 2**20  # everything inside the zip, as its entries declare
MAX_IMAGES = 20_000
MAX_IMAGE_PIXELS = 4096 * 4096  # one image, checked from its header before it is decoded
MIN_IMAGE_SIDE = 4  # smaller images cannot be resized into anything a model can learn from
MIN_PER_CLASS = 5
MAX_CLASSES = 100
# What one dataset may cost the server. Decoding: every image's pixels, counted from the headers
# before any is decoded (a few KB of PNG can declare 4096×4096). Storing: images × H × W × C
# bytes of what is kept (float32 counts four), so upscaling many tiny images is bounded too.
MAX_DECODED_PIXELS = int(os.environ.get("EXPLORER_MAX_DECODED_MPIXELS", "400")) * 10**6
MAX_STORED_BYTES = int(os.environ.get("EXPLORER_MAX_DATASET_MB", "64")) * 2**20
DATA_QUOTA_BYTES = int(os.environ.get("EXPLORER_DATA_QUOTA_MB", "1024")) * 2**20  # all of user/
DEFAULT_SIZE = 28
SIZES = (4, 128)  # the side lengths a user may pick
TEST_FRACTION = 0.2
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
# Files that operating systems put into zips on their own: skipped, not refused.
_JUNK = re.compile(r"(^|/)(__MACOSX/|\.[^/]*$|Thumbs\.db$|desktop\.ini$)", re.IGNORECASE)
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
ARRAYS, DESCRIPTION = "arrays.npz", "dataset.json"
FORMAT_VERSION = 1

Progress = Callable[[float, str], None]


def user_dir() -> Path:
    return paths.data_dir() / "user"


# -- reading what is stored ---------------------------------------------------------------------
def read_description(folder: Path) -> dict | None:
    """The stored description of one user dataset, or None when the folder is not a complete,
    readable one (a damaged folder is skipped with a log line, never allowed to break a page)."""
    try:
        meta = json.loads((folder / DESCRIPTION).read_text())
        if meta.get("format_version") != FORMAT_VERSION or meta.get("name") != folder.name:
            raise ValueError("unknown format or mismatched name")
        if not (folder / ARRAYS).is_file():
            raise ValueError(f"{ARRAYS} is missing")
        return meta
    except FileNotFoundError:
        return None
    except (OSError, ValueError, AttributeError) as e:
        log.warning("skipping the user dataset in %s (%s)", folder, e)
        return None


def descriptions() -> list[dict]:
    """Every stored user dataset's description, by name."""
    root = user_dir()
    if not root.is_dir():
        return []
    found = (read_description(f) for f in sorted(root.iterdir())
             if f.is_dir() and NAME_PATTERN.fullmatch(f.name))
    return [meta for meta in found if meta is not None]


def load_arrays(name: str) -> tuple[torch.Tensor, ...]:
    """(x_train, y_train, x_test, y_test) of a stored dataset, x float32 in [0, 1]."""
    import torch  # here: the dataset registry is read at start-up, before torch is needed

    path = user_dir() / name / ARRAYS
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = [f[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise DatasetError(f"Your dataset {name!r} could not be read ({type(e).__name__}); "
                           "add it again under a new name.") from None
    out = []
    for a in arrays:
        if a.dtype == np.uint8 and a.ndim == 4:
            out.append(torch.from_numpy(a.astype(np.float32) / 255.0))
        else:
            out.append(torch.from_numpy(np.ascontiguousarray(a)))
    return tuple(out)


# -- checks shared by both formats ---------------------------------------------------------------
def check_name(name: str, taken: set[str] | frozenset[str]) -> str:
    if not NAME_PATTERN.fullmatch(name or ""):
        raise DatasetError(f"'{plain(name)}' cannot be a dataset name: use 1 to 40 lowercase "
                           "letters, digits, '-' or '_', starting with a letter or digit.")
    same = {_name_key(t): t for t in taken}.get(_name_key(name))
    if same is not None:
        raise DatasetError(f"A dataset named '{same}' already exists"
                           f"{'' if same == name else f', too like {name!r} to tell apart'}; "
                           "choose another name.")
    return name


def _name_key(name: str) -> str:
    """Names that differ only by '-' against '_' (mnist_5k, mnist-5k) are one name."""
    return name.replace("_", "-")


def suggested_name(filename: str) -> str:
    """A valid dataset name made from a file's name ("Class 4B drawings.zip" -> class-4b-drawings)."""
    stem = PurePosixPath(filename.replace("\\", "/")).stem
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9_]+", "-", stem).strip("-_")[:40] or "my-images"


MAX_NAME_SHOWN = 40


def class_name(text: str) -> str:
    """A class name as shown in captions and legends: one line of printable text, 40 at most."""
    text = "".join(c for c in " ".join(str(text).split()) if c.isprintable())
    return text[:MAX_NAME_SHOWN] or "?"


def _check_size(size: int | None) -> None:
    if size is not None and not SIZES[0] <= size <= SIZES[1]:
        raise DatasetError(f"The image size must be between {SIZES[0]} and {SIZES[1]} pixels; "
                           f"{size} was asked for.")


def _check_classes(y: np.ndarray, class_names: list[str]) -> None:
    if len(class_names) > MAX_CLASSES:
        raise DatasetError(f"{len(class_names)} classes is more than this app handles "
                           f"({MAX_CLASSES}).")
    counts = np.bincount(y, minlength=len(class_names))
    if counts.min() < MIN_PER_CLASS:
        few = class_names[int(counts.argmin())]
        raise DatasetError(f"The class '{plain(few)}' has {counts.min()} image(s); every class "
                           f"needs at least {MIN_PER_CLASS}.")


def _check_distinct(clashes: list[list[str]], what: str) -> None:
    """Refuse names that would show as one class (cut at 40 characters, blank, or repeated)."""
    if clashes:
        first = clashes[0]
        raise DatasetError(f"The class {what}names '{plain(first[0], 60)}' and "
                           f"'{plain(first[1], 60)}' would show as the same class "
                           f"('{plain(class_name(first[0]))}'); give every class a name of its "
                           f"own, at most {MAX_NAME_SHOWN} characters.")


def _check_zip_entries(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The zip's file entries, refused if any could escape a folder, is a link, or if together
    they would unpack into too much (the sizes the entries declare; reads are capped to them)."""
    entries = []
    for info in zf.infolist():
        name = info.filename
        parts = PurePosixPath(name).parts
        if name.startswith("/") or "\\" in name or ".." in parts or re.match(r"[A-Za-z]:", name):
            raise DatasetError(f"The zip holds an entry with an unsafe path ('{plain(name)}'); "
                               "nothing was added.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DatasetError(f"The zip holds a symbolic link ('{plain(name)}'); only image "
                               "files are accepted.")
        if not info.is_dir():
            entries.append(info)
    total = sum(i.file_size for i in entries)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise DatasetError(f"The zip would unpack to {total / 2**20:,.0f} MB; the limit is "
                           f"{MAX_UNCOMPRESSED_BYTES // 2**20} MB.")
    return entries


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    with zf.open(info) as f:
        data = f.read(info.file_size + 1)
    if len(data) > info.file_size:  # an entry whose header lies about its size
        raise DatasetError(f"The zip entry '{plain(info.filename)}' is larger than it declares.")
    return data


def _check_stored(n_images: int, values_per_image: int, itemsize: int = 1) -> None:
    """Refuse a dataset whose stored arrays would exceed MAX_STORED_BYTES (checked before they
    are built: a resize to a larger size multiplies what a small file holds)."""
    stored = n_images * values_per_image * itemsize
    if stored > MAX_STORED_BYTES:
        raise DatasetError(f"Stored at this size the dataset would take {stored / 2**20:,.0f} MB; "
                           f"the limit is {MAX_STORED_BYTES // 2**20} MB. Pick a smaller image "
                           "size, grey instead of colour, or fewer images.")


# -- an .npz of arrays ---------------------------------------------------------------------------
def read_npz(data: bytes, size: int | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """x (N, C, H, W) uint8 or float32 in [0, 1], y (N,) and class names of an .npz."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            _check_zip_entries(zf)  # an .npz is a zip: the same caps on what it unpacks to
        with np.load(io.BytesIO(data), allow_pickle=False) as f:
            if "x" not in f.files:
                raise DatasetError("The .npz has no array named 'x' (the images).")
            arrays = {k: f[k] for k in ("x", "y", "class_names") if k in f.files}
    except zipfile.BadZipFile:
        raise DatasetError("The file is not a valid .npz archive.") from None
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise DatasetError("The .npz holds object arrays, which could run code when read; "
                               "save plain numeric arrays instead.") from None
        raise DatasetError(f"The .npz could not be read ({plain(e, 120)}).") from None
    x = arrays["x"]
    if x.dtype.kind not in "biuf" or x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[1] not in (1, 3)):
        raise DatasetError(f"'x' is {x.dtype} of shape {x.shape}; it must be numbers shaped "
                           "(N, H, W) or (N, C, H, W) with C = 1 or 3.")
    if x.ndim == 3:
        x = x[:, None]
    if min(x.shape[2:]) < MIN_IMAGE_SIDE or not 0 < x.shape[0] <= MAX_IMAGES:
        raise DatasetError(f"'x' has shape {x.shape}: 1 to {MAX_IMAGES:,} images of at least "
                           f"{MIN_IMAGE_SIDE}×{MIN_IMAGE_SIDE} are accepted.")
    x = x.astype(np.float32) if x.dtype.kind == "b" else x
    lo, hi = float(x.min()), float(x.max())
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi > 255:
        raise DatasetError(f"'x' ranges from {lo:g} to {hi:g}; use values in [0, 1] or 0–255.")
    if hi > 1:  # 0-255: kept as bytes when they are whole numbers
        x = x.astype(np.uint8) if np.array_equal(x, np.round(x)) else (x / 255.0)
    x = x if x.dtype == np.uint8 else x.astype(np.float32)
    y, names = _labels(arrays, len(x))
    if size is None and x.shape[2] != x.shape[3]:
        raise DatasetError(f"The images are {x.shape[2]}×{x.shape[3]} pixels; this app works "
                           "with square images. Pick an image size, and they are resized to it.")
    side = size or x.shape[2]
    _check_stored(len(x), x.shape[1] * side * side, 4 if size is not None else x.itemsize)
    if size is not None and x.shape[2:] != (size, size):
        import torch

        t = torch.from_numpy(x.astype(np.float32) / (255.0 if x.dtype == np.uint8 else 1.0))
        x = torch.nn.functional.interpolate(t, size=(size, size), mode="bilinear",
                                            antialias=True).clamp_(0, 1).numpy()
    return np.ascontiguousarray(x), y, names


def _labels(arrays: dict, n: int) -> tuple[np.ndarray, list[str]]:
    """y as 0..K-1 and the K class names of an .npz's `y` and `class_names`. The labels may be
    any whole numbers (or booleans); only the ones present make classes, at most MAX_CLASSES,
    counted before anything is built per label (one label of 10**7 must not make 10**7 names)."""
    y = arrays.get("y", np.zeros(n, dtype=np.int64))
    if y.dtype.kind not in "iub" or y.shape != (n,) or (y.size and y.min() < 0):
        raise DatasetError(f"'y' must hold one non-negative whole-number label per image ({n}); "
                           f"it is {y.dtype} of shape {y.shape}.")
    present, y = np.unique(y.astype(np.int64), return_inverse=True)
    if len(present) > MAX_CLASSES:
        raise DatasetError(f"'y' holds {len(present):,} different labels; this app handles at "
                           f"most {MAX_CLASSES} classes.")
    names = arrays.get("class_names")
    if names is None:
        shown = [str(k) for k in present] if "y" in arrays else ["all"]
        return y, shown
    if names.dtype.kind not in "US" or names.ndim != 1 or not 0 < len(names) <= 10 * MAX_CLASSES:
        raise DatasetError(f"'class_names' must be a list of at most {10 * MAX_CLASSES} strings, "
                           "one per label.")
    if present[-1] >= len(names):
        raise DatasetError(f"'y' holds the label {present[-1]} but 'class_names' names labels 0 "
                           f"to {len(names) - 1}; give every label a name.")
    if names.dtype.kind == "S":  # bytes: UTF-8 as far as it goes, the rest shown as '�'
        names = [n.decode("utf-8", errors="replace") for n in names.tolist()]
    shown = [class_name(names[k]) for k in present]
    first: dict[str, str] = {}
    for c, k in zip(shown, present, strict=True):
        if c in first:  # two labels that would show as one name
            _check_distinct([[first[c], str(names[k])]], "")
        first[c] = str(names[k])
    return y, shown


def _check_quota(need: int) -> None:
    """The data folder's user datasets together stay under DATA_QUOTA_BYTES."""
    used = paths.folder_bytes(user_dir()) if user_dir().is_dir() else 0
    if used + need > DATA_QUOTA_BYTES:
        raise DatasetError(f"The class's datasets already take {used / 2**20:,.0f} MB of the "
                           f"{DATA_QUOTA_BYTES // 2**20} MB they may use, and this one needs "
                           f"{need / 2**20:,.1f} MB more; ask your teacher to remove a dataset "
                           "or raise EXPLORER_DATA_QUOTA_MB.")


def _store(name: str, arrays: bytes, meta: dict) -> None:
    """Write the folder under a temporary name, then rename it into place in one step."""
    root = user_dir()
    try:
        files = {ARRAYS: arrays, DESCRIPTION: json.dumps(meta, indent=1).encode()}
        if write_folder(root / name, files) is None:  # another process took the name
            raise FileExistsError(errno.EEXIST, "a dataset of this name exists", str(root / name))
    except OSError as e:
        log.warning("could not store the dataset %s in %s: %s", name, root, e)
        if (root / name).exists():  # another add of the same name finished first
            raise DatasetError(f"A dataset named '{name}' was added a moment ago by someone "
                               "else; choose another name.") from None
        raise DatasetError(f"The dataset could not be saved on the server ({e.strerror}); ask "
                           "your teacher to check its data folder.") from None
