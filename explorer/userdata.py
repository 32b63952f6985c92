"""The user's own datasets: a ``.zip`` of images in one folder per class, or an ``.npz`` of arrays.

A file is read and validated in memory first (nothing is extracted); only a dataset that passes
every check is split (seeded and stratified, as the built-in sets) and stored under
``<data folder>/user/<name>/`` as ``arrays.npz`` (uint8 or float32, never pickle) beside a small
``dataset.json``. The folder is built under a temporary name and renamed into place, so a failure
at any step leaves nothing behind. :mod:`explorer.datasets` lists these folders in its registry.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import re
import stat
import time
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
        raise DatasetError(f"{plain(name)!r} cannot be a dataset name: use 1 to 40 lowercase "
                           "letters, digits, '-' or '_', starting with a letter or digit.")
    if name in taken:
        raise DatasetError(f"A dataset named {name!r} already exists; choose another name.")
    return name


def suggested_name(filename: str) -> str:
    """A valid dataset name made from a file's name ("Class 4B drawings.zip" -> class-4b-drawings)."""
    stem = PurePosixPath(filename.replace("\\", "/")).stem
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9_]+", "-", stem).strip("-_")[:40] or "my-images"


def class_name(text: str) -> str:
    """A class name as shown in captions and legends: one line of printable text, 40 at most."""
    text = "".join(c for c in " ".join(str(text).split()) if c.isprintable())
    return text[:40] or "?"


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
        raise DatasetError(f"The class {plain(few)!r} has {counts.min()} image(s); every class "
                           f"needs at least {MIN_PER_CLASS}.")


def _check_zip_entries(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The zip's file entries, refused if any could escape a folder, is a link, or if together
    they would unpack into too much (the sizes the entries declare; reads are capped to them)."""
    entries = []
    for info in zf.infolist():
        name = info.filename
        parts = PurePosixPath(name).parts
        if name.startswith("/") or "\\" in name or ".." in parts or re.match(r"[A-Za-z]:", name):
            raise DatasetError(f"The zip holds an entry with an unsafe path ({plain(name)!r}); "
                               "nothing was added.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DatasetError(f"The zip holds a symbolic link ({plain(name)!r}); only image "
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
        raise DatasetError(f"The zip entry {plain(info.filename)!r} is larger than it declares.")
    return data


# -- a zip of class folders ----------------------------------------------------------------------
def _image_entries(entries: list[zipfile.ZipInfo]) -> list[tuple[str, zipfile.ZipInfo]]:
    """(class name, entry) of every image: the class is the folder the image is in."""
    images = []
    for info in entries:
        if _JUNK.search(info.filename):
            continue
        path = PurePosixPath(info.filename)
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            raise DatasetError(f"{plain(info.filename)!r} is not an image (PNG, JPEG, BMP or "
                               "GIF); remove it from the zip.")
        if len(path.parts) < 2:
            raise DatasetError(f"{plain(info.filename)!r} is not in a folder: put the images in "
                               "one folder per class (the folder names become the class names).")
        images.append((class_name(path.parent.name), info))
    if not images:
        raise DatasetError("The zip holds no images; put PNG, JPEG, BMP or GIF files in one "
                           "folder per class.")
    if len(images) > MAX_IMAGES:
        raise DatasetError(f"The zip holds {len(images):,} images; the limit is {MAX_IMAGES:,}.")
    return images


def _open_image(data: bytes, name: str):
    """A PIL image with only its header read, refused if its pixel count is too large."""
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:  # PIL's own, far higher limit, checked by open()
        raise DatasetError(f"{plain(name)!r} has more pixels than images may have "
                           f"({MAX_IMAGE_PIXELS:,}).") from None
    except (OSError, ValueError, SyntaxError):
        raise DatasetError(f"{plain(name)!r} is not an image this app can read.") from None
    w, h = image.size
    if w * h > MAX_IMAGE_PIXELS:
        raise DatasetError(f"{plain(name)!r} is {w}×{h} pixels; images may have at most "
                           f"{MAX_IMAGE_PIXELS:,} pixels.")
    if min(w, h) < MIN_IMAGE_SIDE:
        raise DatasetError(f"{plain(name)!r} is {w}×{h} pixels, too small to resize; images "
                           f"need at least {MIN_IMAGE_SIDE} pixels a side.")
    return image


def _decode(image, name: str, size: int, mode: str) -> np.ndarray:
    """(size, size) or (size, size, 3) uint8: transparent parts on white, as on paper."""
    from PIL import Image

    try:
        image.draft(mode, (size, size))  # JPEG decodes straight to a smaller scale
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
        image = image.convert(mode).resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(image, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError):
        raise DatasetError(f"{plain(name)!r} could not be decoded; it may be damaged.") from None


def read_zip(data: bytes, size: int | None = None, colour: bool = False,
             progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """x (N, C, S, S) uint8, y (N,) and the class names of a zip of class folders."""
    report = progress or (lambda fraction, text: None)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise DatasetError("The file is not a valid .zip archive.") from None
    with zf:
        images = _image_entries(_check_zip_entries(zf))
        class_names = sorted({c for c, _ in images})
        # Headers first: every size is checked before any pixel is decoded.
        opened = []
        for i, (cls, info) in enumerate(images):
            opened.append((cls, info.filename, _open_image(_read_entry(zf, info), info.filename)))
            if i % 200 == 0:
                report(0.1 * i / len(images), f"Checking {len(images):,} images…")
    if size is None:
        smallest = min(min(image.size) for _, _, image in opened)
        size = min(DEFAULT_SIZE, smallest)
    mode = "RGB" if colour else "L"
    x = np.empty((len(opened), size, size, 3) if colour else (len(opened), size, size), np.uint8)
    for i, (_, name, image) in enumerate(opened):
        x[i] = _decode(image, name, size, mode)
        if i % 100 == 0:
            report(0.1 + 0.8 * i / len(opened), f"Decoding image {i + 1:,} of {len(opened):,}…")
    x = x.transpose(0, 3, 1, 2) if colour else x[:, None]
    index = {c: k for k, c in enumerate(class_names)}
    y = np.array([index[cls] for cls, _, _ in opened], dtype=np.int64)
    return np.ascontiguousarray(x), y, class_names


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
    if size is not None and x.shape[2:] != (size, size):
        import torch

        t = torch.from_numpy(x.astype(np.float32) / (255.0 if x.dtype == np.uint8 else 1.0))
        x = torch.nn.functional.interpolate(t, size=(size, size), mode="bilinear",
                                            antialias=True).clamp_(0, 1).numpy()
    y = arrays.get("y", np.zeros(len(x), dtype=np.int64))
    if y.dtype.kind not in "iub" or y.shape != (len(x),) or (y.size and y.min() < 0):
        raise DatasetError(f"'y' must hold one non-negative whole-number label per image "
                           f"({len(x)}); it is {y.dtype} of shape {y.shape}.")
    present = np.unique(y)
    names = arrays.get("class_names")
    if names is not None:
        if names.dtype.kind not in "US" or names.ndim != 1 or len(names) <= int(present.max()):
            raise DatasetError("'class_names' must be a list of strings, one per label.")
        names = [class_name(n) for n in names.astype(str)]
    else:
        names = [str(k) for k in range(int(present.max()) + 1)] if "y" in arrays else ["all"]
    # Labels no image carries are dropped, so every class has its images.
    remap = np.full(int(present.max()) + 1, -1, dtype=np.int64)
    remap[present] = np.arange(len(present))
    return np.ascontiguousarray(x), remap[y.astype(np.int64)], [names[k] for k in present]


# -- adding one ----------------------------------------------------------------------------------
def add_dataset(name: str, data: bytes, filename: str, taken: set[str] | frozenset[str],
                size: int | None = None, colour: bool = False,
                progress: Progress | None = None) -> dict:
    """Validate, split and store the file `filename` (bytes `data`) as the dataset `name`; return
    its description. Every problem is a DatasetError with one sentence and leaves no file."""
    from explorer.datasets import SPLIT_SEED, stratified_split

    report = progress or (lambda fraction, text: None)
    started = time.perf_counter()
    check_name(name, taken)
    _check_size(size)
    if (user_dir() / name).exists():
        raise DatasetError(f"A dataset named {name!r} already exists; choose another name.")
    if len(data) > MAX_FILE_BYTES:
        raise DatasetError(f"The file is {len(data) / 2**20:,.0f} MB; the limit is "
                           f"{MAX_FILE_BYTES // 2**20} MB.")
    suffix = PurePosixPath(filename).suffix.lower()
    if suffix == ".zip":
        x, y, class_names = read_zip(data, size, colour, report)
    elif suffix == ".npz":
        x, y, class_names = read_npz(data, size)
    else:
        raise DatasetError(f"{plain(filename)!r} is neither a .zip of image folders nor an .npz.")
    if x.shape[1] * x.shape[2] * x.shape[3] > 3 * 256 * 256:
        raise DatasetError(f"Images of shape {x.shape[1:]} are too large; pick a smaller size.")
    _check_classes(y, class_names)
    report(0.9, "Splitting and saving…")
    n_test = max(len(class_names), round(TEST_FRACTION * len(y)))
    train, test = stratified_split(y, n_test, SPLIT_SEED)
    buffer = io.BytesIO()
    np.savez(buffer, x_train=x[train], y_train=y[train], x_test=x[test], y_test=y[test])
    meta = {
        "format_version": FORMAT_VERSION, "name": name, "image_shape": list(x.shape[1:]),
        "n_train": len(train), "n_test": len(test), "class_names": class_names,
        "source": plain(PurePosixPath(filename).name, 80),
        "added": time.strftime("%Y-%m-%d %H:%M"),
    }
    _store(name, buffer.getvalue(), meta)
    report(1.0, f"Added {name} in {time.perf_counter() - started:.1f} s.")
    return meta


def _store(name: str, arrays: bytes, meta: dict) -> None:
    """Write the folder under a temporary name, then rename it into place in one step."""
    root = user_dir()
    try:
        files = {ARRAYS: arrays, DESCRIPTION: json.dumps(meta, indent=1).encode()}
        if write_folder(root / name, files) is None:  # another process took the name
            raise FileExistsError(errno.EEXIST, "a dataset of this name exists", str(root / name))
    except OSError as e:
        raise DatasetError(f"The dataset could not be saved in {root} ({e.strerror}).") from None
