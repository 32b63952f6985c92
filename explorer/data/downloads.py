"""Get MNIST-style IDX datasets onto disk and into NumPy arrays, with no surprises.

MNIST and Fashion-MNIST each ship as four gzip-compressed IDX files with the same file names, so
each dataset lives in its own subfolder of the data folder (:func:`explorer.paths.data_dir`)::

    <data dir>/mnist/train-images-idx3-ubyte.gz
    <data dir>/fashion-mnist/train-images-idx3-ubyte.gz

pooch does the downloading: streaming into a temporary file, the SHA-256 check, and the rename
into place only once the check passed. This module adds the mirrors, the IDX reader, and one
:class:`~explorer.errors.DatasetError` sentence for every problem a user can hit (no network, a
mirror that is down, cut off or serves the wrong bytes, a damaged or hand-made file, a full disk).
Users without a network can drop the files in by hand, compressed or not. The registry that names
each dataset's files and checksums is :data:`explorer.data.datasets.INFOS`.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import math
import socket
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from explorer import paths
from explorer.errors import DatasetError

#: ``progress(bytes_done, bytes_total)``; ``bytes_total`` is ``None`` when unknown.
ProgressCallback = Callable[[int, int | None], None]

# The order of IdxSource.files, of load_idx_dataset's result, and of files in messages.
ROLES = ("train_images", "train_labels", "test_images", "test_labels")
_CHUNK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"
# Far above any file here (the largest unpacks to 47 MB); a damaged or hostile gzip file must not
# unpack into all of memory.
_MAX_FILE_BYTES = 1 << 28


@dataclass(frozen=True)
class IdxSpec:
    """One downloadable file: its name on the mirrors, its published SHA-256 and, when known, its
    size in bytes (the progress total for servers that send none; a download that grows past it
    is stopped rather than fetched to the end)."""

    filename: str
    sha256: str
    size: int | None = None


@dataclass(frozen=True)
class IdxSource:
    """Where a downloadable dataset's four files come from: base URLs tried in order, and the
    files in :data:`ROLES` order."""

    mirrors: tuple[str, ...]
    files: tuple[IdxSpec, IdxSpec, IdxSpec, IdxSpec]

    @property
    def download_bytes(self) -> int:
        return sum(spec.size or 0 for spec in self.files)


class IdxInfo(Protocol):
    """What this module needs of a registry entry (:class:`explorer.data.datasets.DatasetInfo`)."""

    name: str
    title: str
    image_shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    source: IdxSource | None


def dataset_dir(info: IdxInfo, data_dir: Path | str | None = None) -> Path:
    """The folder that holds (or will hold) the files of ``info``'s dataset."""
    return (Path(data_dir).expanduser() if data_dir is not None else paths.data_dir()) / info.name


def _short_title(info: IdxInfo) -> str:
    return info.title.split(" (")[0]  # the set's name without its size note: "MNIST (70,000)"


# ------------------------------------------------------------------- IDX reading


def read_idx(path: Path | str) -> np.ndarray:
    """Read one uint8 IDX file (what the MNIST-style sets hold), gzip-compressed or not.

    Compression is detected from the first two bytes, not the file name, so an unpacked file that
    kept its ``.gz`` name (or the reverse) still loads. Anything malformed raises
    :class:`DatasetError` naming the file.
    """
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            data = (gzip.GzipFile(fileobj=raw) if compressed else raw).read(_MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise DatasetError(f"The dataset file {path} does not exist.") from None
    except (EOFError, zlib.error, gzip.BadGzipFile):
        # EOFError: the stream stops mid-way (a cut-off download); the others: not valid deflate
        # data, or the CRC fails.
        raise DatasetError(
            f"The file {path} is a damaged gzip archive; delete it and download it again or "
            "replace it with a good copy.") from None
    except OSError as exc:
        raise DatasetError(f"Could not read the dataset file {path} ({exc.strerror or exc}).") from None

    if len(data) > _MAX_FILE_BYTES:
        raise DatasetError(f"The file {path} is far larger than any dataset here; it is damaged.")
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DatasetError(
            f"The file {path} is not an IDX file (its first bytes are not the IDX magic number); "
            "check that it is one of the dataset's original files.")
    if data[2] != 0x08:
        raise DatasetError(
            f"The file {path} holds IDX type code 0x{data[2]:02X}, not the unsigned bytes "
            "(0x08) of MNIST-style images and labels.")
    ndim = data[3]
    if ndim == 0:
        raise DatasetError(f"The IDX header of {path} declares no dimensions.")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"The file {path} is truncated inside its IDX header.")
    dims = tuple(int(d) for d in np.frombuffer(data[4:header], dtype=">u4"))
    if 0 in dims:
        raise DatasetError(f"The IDX header of {path} has a zero-sized dimension {dims}.")
    expected, got = math.prod(dims), len(data) - header
    shape = "x".join(map(str, dims))
    if got < expected:
        raise DatasetError(
            f"The file {path} is truncated: its IDX header ({shape}) promises {expected} bytes "
            f"of data but only {got} are there; delete it and download it again.")
    if got > expected:
        raise DatasetError(
            f"The file {path} has extra bytes after the {expected} bytes of data its IDX header "
            f"({shape}) promises; replace it with an original copy.")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()  # writable


# ------------------------------------------------------------------- downloading


class _WrongFile(Exception):
    """More bytes arrive than the file has: it is not the file we want."""


class _Progress:
    """The tqdm-like object pooch's HTTPDownloader reports to, as ``progress(done, total)`` calls.

    pooch sets ``total`` from Content-Length (0 if none) and counts every chunk as ``_CHUNK``
    bytes, the last one too, so ``done`` is capped at the total and a file is only called too
    large once it is more than a chunk over its known size.
    """

    def __init__(self, callback: ProgressCallback | None, size: int | None) -> None:
        self.callback, self.size, self.done, self._total = callback, size, 0, size

    total = property(lambda self: self._total)

    @total.setter
    def total(self, announced: int) -> None:
        if announced and self.size is not None and announced > self.size:
            raise _WrongFile()
        self._total = announced or self.size
        self._report()

    def update(self, n: int) -> None:
        if n:  # pooch ends with reset() and update(total), which is 0 when the total is unknown
            self.done += n
            if self.size is not None and self.done - _CHUNK >= self.size:
                raise _WrongFile()
            self._report()

    def reset(self) -> None:
        self.done = 0

    def _report(self) -> None:
        if self.callback is not None:
            self.callback(min(self.done, self._total or self.done), self._total)

    def close(self) -> None:
        pass


def _causes(exc: BaseException | None):
    """``exc`` and what it wraps (requests wraps urllib3, which wraps the socket error)."""
    while exc is not None:
        yield exc
        reason = getattr(exc, "reason", None)
        exc = reason if isinstance(reason, BaseException) else exc.__cause__ or exc.__context__


def _describe_network_error(exc: Exception) -> str:
    """A few words for the user about why one mirror failed (``exc``: a requests exception)."""
    import requests
    from urllib3.exceptions import IncompleteRead

    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "host name not found"
        if isinstance(cause, IncompleteRead):  # the server hung up before its Content-Length
            return f"connection closed after {cause.partial} of {cause.partial + cause.expected} bytes"
        if isinstance(cause, TimeoutError | requests.Timeout):
            return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection dropped"
    return str(exc).strip() or type(exc).__name__


def _where_hint(folder: Path, info: IdxInfo | None, filename: str) -> str:
    if info is None or info.source is None:
        return f"put {filename} in {folder} or set EXPLORER_DATA_DIR to a folder that has it"
    names = ", ".join(spec.filename for spec in info.source.files)
    return (f"put the four {_short_title(info)} .gz files ({names}) in {folder} or set "
            f"EXPLORER_DATA_DIR to a folder whose {info.name}/ subfolder has them")


def fetch(spec: IdxSpec, mirrors: Sequence[str], cache_dir: Path | str, timeout: float = 30.0,
          progress: ProgressCallback | None = None, *, dataset: IdxInfo | None = None) -> Path:
    """Return ``cache_dir / spec.filename``, downloading and verifying it if needed.

    A cached file whose SHA-256 matches is returned without touching the network; one that does
    not is replaced by a verified download. Mirrors (base URLs) are tried in order; ``timeout``
    bounds connecting and every read, so a stalled server fails while a slow one goes on.
    ``dataset`` (a registry entry) only makes messages more specific. Every failure raises
    :class:`DatasetError`; no partial or unverified file is ever left under the final name.
    """
    # Imported here, not at the top: requests and pooch take a noticeable part of a second to
    # import, and most app starts never download anything.
    import pooch
    import requests

    # pooch reports every download on stderr through its own logger; our callers show progress.
    pooch.get_logger().setLevel(logging.WARNING)
    folder = Path(cache_dir).expanduser()
    target = folder / spec.filename
    what = spec.filename if dataset is None else f"{spec.filename} for {_short_title(dataset)}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(
            f"Could not use the data folder {folder} ({exc.strerror or exc}); set "
            "EXPLORER_DATA_DIR to a folder you can write to.") from None

    last_problem, bad_checksum_from = "no mirrors configured", None
    for base in mirrors:
        url = (base if base.endswith("/") else base + "/") + spec.filename
        downloader = pooch.HTTPDownloader(progressbar=_Progress(progress, spec.size),
                                          chunk_size=_CHUNK, timeout=timeout)
        try:
            pooch.retrieve(url, f"sha256:{spec.sha256}", fname=spec.filename, path=folder,
                           downloader=downloader)
            return target
        except requests.RequestException as exc:  # before OSError, which it subclasses
            last_problem = _describe_network_error(exc)
        except (_WrongFile, ValueError):  # ValueError: pooch's failed SHA-256 check
            bad_checksum_from = base  # another mirror may still have the right bytes
        except OSError as exc:  # no mirror can help with a folder we cannot write to
            raise DatasetError(
                f"Could not save {what} in {folder} ({exc.strerror or exc}); free some disk "
                "space or set EXPLORER_DATA_DIR to a folder you can write to.") from None

    hint = _where_hint(folder, dataset, spec.filename)
    if bad_checksum_from is not None:
        raise DatasetError(
            f"The copy of {what} downloaded from {bad_checksum_from} failed its SHA-256 check "
            f"(the mirror may serve a damaged or different file), so it was discarded; {hint}.")
    raise DatasetError(f"Could not download {what} (no network? last error: {last_problem}); {hint}.")


# ------------------------------------------------------------------- datasets


def _local_copy(spec: IdxSpec, folder: Path) -> Path | None:
    """The user's copy of ``spec`` in ``folder``, compressed or unpacked, if any."""
    for path in (folder / spec.filename, folder / spec.filename.removesuffix(".gz")):
        if path.is_file():
            return path
    return None


def is_available_offline(info: IdxInfo, data_dir: Path | str | None = None) -> bool:
    """True when all four files are on disk (packed or unpacked). Only checks that they exist, so
    it is cheap enough for every UI rerun; :func:`load_idx_dataset` does the real checks."""
    folder = dataset_dir(info, data_dir)
    return all(_local_copy(spec, folder) is not None for spec in info.source.files)


def _resolve_file(info: IdxInfo, spec: IdxSpec, folder: Path, mirrors: Sequence[str],
                  download: bool, timeout: float, progress: ProgressCallback | None) -> Path | None:
    """A usable file for ``spec``, or ``None`` if it is missing and not downloading."""
    packed, unpacked = folder / spec.filename, folder / spec.filename.removesuffix(".gz")
    if packed.is_file():
        try:
            with open(packed, "rb") as f:
                matches = hashlib.file_digest(f, "sha256").hexdigest() == spec.sha256
        except OSError as exc:
            raise DatasetError(f"Could not read {packed} ({exc.strerror or exc}).") from None
        if matches:
            return packed
        if unpacked.is_file():  # a hand-unpacked copy is the user's explicit choice
            return unpacked
        if not download:  # a file the user may have placed on purpose: say so, do not delete it
            raise DatasetError(
                f"{packed} does not match the published SHA-256 of the {_short_title(info)} "
                "file (damaged, or from another dataset); replace it with an original copy or "
                "delete it so it can be downloaded.")
    elif unpacked.is_file():
        return unpacked  # no published checksum: read_idx and the shape checks vouch for it
    elif not download:
        return None
    return fetch(spec, mirrors, folder, timeout=timeout, progress=progress, dataset=info)


def load_idx_dataset(info: IdxInfo, data_dir: Path | str | None = None,
                     mirrors: Sequence[str] | None = None, download: bool = True,
                     timeout: float = 30.0, progress: ProgressCallback | None = None,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load ``(x_train, y_train, x_test, y_test)``: uint8 images ``(n, H, W)``, int64 labels.

    Files are looked for in :func:`dataset_dir`, compressed (checked against the published
    SHA-256) or unpacked without ``.gz`` (checked for shape only), and downloaded from ``mirrors``
    (default: the dataset's own) when missing and ``download`` is true.
    """
    folder = dataset_dir(info, data_dir)
    mirror_list = list(info.source.mirrors if mirrors is None else mirrors)
    specs = dict(zip(ROLES, info.source.files, strict=True))
    found = {role: _resolve_file(info, spec, folder, mirror_list, download, timeout, progress)
             for role, spec in specs.items()}
    missing = [specs[role].filename for role, path in found.items() if path is None]
    if missing:
        raise DatasetError(
            f"{_short_title(info)} is not complete in {folder} and downloading is off: put "
            f"{', '.join(missing)} (or the same files unpacked, without .gz) in that folder, or "
            f"set EXPLORER_DATA_DIR to a folder whose {info.name}/ subfolder has them.")
    arrays = {role: read_idx(path) for role, path in found.items()}
    for split, prefix in (("training", "train"), ("test", "test")):
        _check_split(info, split, found[f"{prefix}_images"], arrays[f"{prefix}_images"],
                     found[f"{prefix}_labels"], arrays[f"{prefix}_labels"])
    return (arrays["train_images"], arrays["train_labels"].astype(np.int64),
            arrays["test_images"], arrays["test_labels"].astype(np.int64))


def _check_split(info: IdxInfo, split: str, images_path: Path, images: np.ndarray,
                 labels_path: Path, labels: np.ndarray) -> None:
    """Catch mismatched or mixed-up files (e.g. labels saved under the images' name) early."""
    title, shape = _short_title(info), tuple(info.image_shape[1:])
    if images.ndim != 3 or images.shape[1:] != shape:
        raise DatasetError(
            f"{images_path} should hold {title} images ({shape[0]}x{shape[1]} bytes each) but "
            f"holds data shaped {images.shape}; check that the right file has the right name.")
    if labels.ndim != 1:
        raise DatasetError(
            f"{labels_path} should hold {title} labels (one byte each) but holds data shaped "
            f"{labels.shape}; check that the right file has the right name.")
    if images.shape[0] != labels.shape[0]:
        raise DatasetError(
            f"The {split} files of {title} do not belong together: {images_path.name} has "
            f"{images.shape[0]} images but {labels_path.name} has {labels.shape[0]} labels.")
    n_classes = len(info.class_names)
    if labels.size and int(labels.max()) >= n_classes:
        raise DatasetError(
            f"{labels_path} contains label {int(labels.max())}, but {title} only has labels 0 "
            f"to {n_classes - 1}; the file is damaged or from another dataset.")
