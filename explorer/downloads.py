"""Get MNIST-style IDX datasets onto disk and into NumPy arrays, with no surprises.

The explorer trains on MNIST and Fashion-MNIST.  Both ship as four gzip-compressed IDX
files (train/test images and labels) with the same file names, so each dataset lives in
its own subfolder of the data folder::

    <data dir>/mnist/train-images-idx3-ubyte.gz
    <data dir>/fashion-mnist/train-images-idx3-ubyte.gz

The data folder is ``$EXPLORER_DATA_DIR`` when set, else
``~/.cache/latent-explorer/data``.

What this module promises:

* Every problem a user can hit (no network, a mirror that is down or serves the wrong
  bytes, a cut-off download, a damaged or hand-made file) surfaces as one
  :class:`~explorer.errors.DatasetError` whose message says what is wrong and where to
  put the files; urllib, socket and gzip exceptions never escape.
* Downloads are verified against the published SHA-256 before they land under their
  final name, so a half-written or wrong file is never mistaken for a good cache entry.
* Users without a network can drop the files in by hand, compressed or not.

Nothing here imports Streamlit; progress is reported through a plain callback.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import socket
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from explorer import __version__
from explorer.errors import DatasetError

__all__ = [
    "DATASETS",
    "IdxSpec",
    "ProgressCallback",
    "dataset_dir",
    "default_data_dir",
    "fetch",
    "is_available_offline",
    "load_idx_dataset",
    "read_idx",
]

#: ``progress(bytes_done, bytes_total)``; ``bytes_total`` is ``None`` when unknown.
ProgressCallback = Callable[[int, int | None], None]


@dataclass(frozen=True)
class IdxSpec:
    """One downloadable file: its name on the mirrors and its published SHA-256.

    ``size`` (bytes of the compressed file) is optional; when known it serves as the
    progress total for servers that send no Content-Length, and lets a download that
    has already grown past it stop early instead of fetching a wrong file to the end.
    """

    filename: str
    sha256: str
    size: int | None = None


# Checksums and sizes are the published values for the files as distributed; the same
# values appear in tensorflow/datasets (url_checksums/mnist.txt, fashion_mnist.txt) and
# in torchvision's dataset definitions, and they agree with the MD5s the dataset authors
# list on their pages.
_MNIST_FILES = {
    "train_images": IdxSpec(
        "train-images-idx3-ubyte.gz",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        9_912_422,
    ),
    "train_labels": IdxSpec(
        "train-labels-idx1-ubyte.gz",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        28_881,
    ),
    "test_images": IdxSpec(
        "t10k-images-idx3-ubyte.gz",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        1_648_877,
    ),
    "test_labels": IdxSpec(
        "t10k-labels-idx1-ubyte.gz",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        4_542,
    ),
}

_FASHION_MNIST_FILES = {
    "train_images": IdxSpec(
        "train-images-idx3-ubyte.gz",
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        26_421_880,
    ),
    "train_labels": IdxSpec(
        "train-labels-idx1-ubyte.gz",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        29_515,
    ),
    "test_images": IdxSpec(
        "t10k-images-idx3-ubyte.gz",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        4_422_102,
    ),
    "test_labels": IdxSpec(
        "t10k-labels-idx1-ubyte.gz",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        5_148,
    ),
}

#: Known datasets.  ``files`` maps a role to its :class:`IdxSpec`; ``mirrors`` are base
#: URLs tried in order (the original yann.lecun.com host is left out on purpose: it
#: now often refuses plain downloads, which would only add a slow failure).
DATASETS: dict[str, dict] = {
    "mnist": {
        "title": "MNIST",
        "mirrors": [
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ],
        "files": _MNIST_FILES,
        "image_shape": (28, 28),
        "class_names": [str(digit) for digit in range(10)],
    },
    "fashion-mnist": {
        "title": "Fashion-MNIST",
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        "files": _FASHION_MNIST_FILES,
        "image_shape": (28, 28),
        "class_names": [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ],
    },
}

# The order load_idx_dataset returns things in, and the order messages list files in.
_ROLES = ("train_images", "train_labels", "test_images", "test_labels")

_CHUNK = 1 << 16

# IDX type codes (third magic byte) -> big-endian NumPy dtype, per the IDX format note
# on the MNIST page.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

# A damaged header can claim absurd dimensions; refuse before allocating.  2 GiB is
# far above anything MNIST-like (the largest file here is 47 MB unpacked).
_MAX_PAYLOAD_BYTES = 1 << 31

_GZIP_MAGIC = b"\x1f\x8b"


# ------------------------------------------------------------------- folders


def default_data_dir() -> Path:
    """``$EXPLORER_DATA_DIR`` if set, else ``~/.cache/latent-explorer/data``."""
    configured = os.environ.get("EXPLORER_DATA_DIR", "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "latent-explorer" / "data"


def dataset_dir(name: str, data_dir: Path | str | None = None) -> Path:
    """The folder that holds (or will hold) the files of dataset ``name``.

    Each dataset gets its own subfolder because MNIST and Fashion-MNIST use the very
    same file names.
    """
    key = _dataset_key(name)
    base = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    return base / key


def _dataset_key(name: str) -> str:
    # Accept the spellings people actually type ("Fashion_MNIST", "fashion-mnist").
    key = str(name).strip().lower().replace("_", "-")
    if key not in DATASETS:
        known = ", ".join(sorted(DATASETS))
        raise DatasetError(f"Unknown dataset {name!r}; the known datasets are {known}.")
    return key


def _unpacked_name(filename: str) -> str:
    return filename.removesuffix(".gz")


# ------------------------------------------------------------------- IDX reading


def read_idx(path: Path | str) -> np.ndarray:
    """Read one IDX file, gzip-compressed or not, into an array shaped like its header.

    Compression is detected from the first two bytes, not the file name, so an unpacked
    file that kept its ``.gz`` name (or the reverse) still loads.  Big-endian IDX values
    come back in native byte order.  Anything malformed raises :class:`DatasetError`
    naming the file.
    """
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            if compressed:
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    array = _read_idx_stream(stream, path, on_disk_bytes=None)
            else:
                size = os.fstat(raw.fileno()).st_size
                array = _read_idx_stream(raw, path, on_disk_bytes=size)
    except DatasetError:
        raise
    except FileNotFoundError:
        raise DatasetError(f"The dataset file {path} does not exist.") from None
    except (EOFError, zlib.error, gzip.BadGzipFile):
        # EOFError: the gzip stream stops mid-way (a cut-off download);
        # BadGzipFile / zlib.error: not valid deflate data, or the CRC fails.
        raise DatasetError(
            f"The file {path} is a damaged gzip archive; delete it and download it "
            "again or replace it with a good copy."
        ) from None
    except OSError as exc:
        raise DatasetError(
            f"Could not read the dataset file {path} ({exc.strerror or exc})."
        ) from None
    # The UI and trainer expect native byte order (torch refuses big-endian arrays).
    return array.astype(array.dtype.newbyteorder("="), copy=False)


def _read_idx_stream(stream: BinaryIO, path: Path, on_disk_bytes: int | None) -> np.ndarray:
    magic = _read_exactly(stream, 4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0:
        raise DatasetError(
            f"The file {path} is not an IDX file (its first bytes are not the IDX "
            "magic number); check that it is one of the dataset's original files."
        )
    dtype = _IDX_DTYPES.get(magic[2])
    if dtype is None:
        raise DatasetError(
            f"The file {path} uses IDX type code 0x{magic[2]:02X}, which is not one of "
            "the codes the IDX format defines."
        )
    ndim = magic[3]
    if ndim == 0:
        raise DatasetError(f"The IDX header of {path} declares no dimensions.")

    dims_raw = _read_exactly(stream, 4 * ndim)
    if len(dims_raw) < 4 * ndim:
        raise DatasetError(f"The file {path} is truncated inside its IDX header.")
    dims = tuple(int(d) for d in np.frombuffer(dims_raw, dtype=">u4"))
    if any(d == 0 for d in dims):
        raise DatasetError(f"The IDX header of {path} has a zero-sized dimension {dims}.")

    count = 1
    for d in dims:
        count *= d
    payload = count * dtype.itemsize
    if payload > _MAX_PAYLOAD_BYTES:
        raise DatasetError(
            f"The IDX header of {path} claims {payload} bytes of data, far more than "
            "any dataset here; the file is damaged."
        )
    header = 4 + 4 * ndim
    if on_disk_bytes is not None and on_disk_bytes != header + payload:
        # For uncompressed files the size tells us everything before reading the data.
        raise DatasetError(_length_message(path, dims, payload, on_disk_bytes - header))

    array = np.empty(count, dtype=dtype)
    got = _read_into(stream, memoryview(array).cast("B"))
    if got < payload:
        raise DatasetError(_length_message(path, dims, payload, got))
    if stream.read(1):
        raise DatasetError(_length_message(path, dims, payload, None))
    return array.reshape(dims)


def _length_message(path: Path, dims: tuple[int, ...], expected: int, got: int | None) -> str:
    shape = "x".join(str(d) for d in dims)
    if got is None or got > expected:
        return (
            f"The file {path} has extra bytes after the {expected} bytes of data its "
            f"IDX header ({shape}) promises; replace it with an original copy."
        )
    return (
        f"The file {path} is truncated: its IDX header ({shape}) promises {expected} "
        f"bytes of data but only {got} are there; delete it and download it again."
    )


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    # Compressed streams may return short reads; loop until n bytes or end of file.
    parts = []
    remaining = n
    while remaining:
        part = stream.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def _read_into(stream: BinaryIO, view: memoryview) -> int:
    # Reading straight into the array avoids holding the bytes twice (47 MB for MNIST).
    done = 0
    while done < len(view):
        n = stream.readinto(view[done:])
        if not n:
            break
        done += n
    return done


# ------------------------------------------------------------------- downloading


class _LocalWriteError(Exception):
    """Writing the download to disk failed; no other mirror can help with that."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _ShortDownload(Exception):
    """The server closed the connection before sending all the bytes it announced."""

    def __init__(self, got: int, expected: int) -> None:
        super().__init__(f"connection closed after {got} of {expected} bytes")


class _WrongFile(Exception):
    """What arrived is not the expected file (bad SHA-256, or too many bytes)."""


def _open_url(url: str, timeout: float):
    # A fresh opener per call (rather than urlopen's global one) so proxy settings are
    # read from the environment at download time, not frozen at first use.
    request = urllib.request.Request(url, headers={"User-Agent": f"latent-explorer/{__version__}"})
    return urllib.request.build_opener().open(request, timeout=timeout)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _mirror_url(base: str, filename: str) -> str:
    return (base if base.endswith("/") else base + "/") + filename


def _describe_network_error(exc: BaseException) -> str:
    """A few words for the user about why one mirror failed."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, _ShortDownload):
        return str(exc)
    if isinstance(exc, http.client.IncompleteRead):
        return "download cut off"
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "host name not found"
    if isinstance(reason, (ConnectionError, http.client.RemoteDisconnected)):
        return "connection dropped"
    text = str(reason).strip()
    return text or type(reason).__name__


def _stream_to(
    url: str,
    out: BinaryIO,
    timeout: float,
    progress: ProgressCallback | None,
    known_size: int | None,
) -> str:
    """Copy ``url`` into ``out`` chunk by chunk; return the SHA-256 of what arrived."""
    digest = hashlib.sha256()
    done = 0
    # The timeout applies to connecting and to every read, so a stalled server fails
    # after ``timeout`` seconds of silence while a slow but steady download goes on.
    with _open_url(url, timeout) as response:
        declared = _content_length(response)
        total = declared if declared is not None else known_size
        if progress is not None:
            progress(0, total)
        while True:
            chunk = response.read(_CHUNK)
            if not chunk:
                break
            done += len(chunk)
            if known_size is not None and done > known_size:
                raise _WrongFile()
            digest.update(chunk)
            try:
                out.write(chunk)
            except OSError as exc:
                raise _LocalWriteError(exc) from exc
            if progress is not None:
                progress(done, total)
        try:
            # Flush here so a full disk is reported as such, not as a network error
            # when the file is closed later.
            out.flush()
        except OSError as exc:
            raise _LocalWriteError(exc) from exc
    # http.client returns b"" rather than raising when the peer hangs up early, so
    # compare with the announced length ourselves to name the real cause.
    if declared is not None and done < declared:
        raise _ShortDownload(done, declared)
    return digest.hexdigest()


def _new_temp_file(cache_dir: Path, filename: str):
    try:
        # Same folder as the target so os.replace is a rename, not a copy.
        return tempfile.NamedTemporaryFile(
            dir=cache_dir, prefix=f".{filename}.", suffix=".part", delete=False
        )
    except OSError as exc:
        raise _LocalWriteError(exc) from exc


def _download_verified(
    url: str,
    spec: IdxSpec,
    cache_dir: Path,
    timeout: float,
    progress: ProgressCallback | None,
) -> Path:
    """Download ``url`` into a temp file in ``cache_dir`` and return it once verified.

    On any failure (including Ctrl+C or an exception from ``progress``) the temp file
    is removed before the exception propagates, so no partial download stays behind.
    """
    tmp_path: Path | None = None
    try:
        with _new_temp_file(cache_dir, spec.filename) as tmp:
            tmp_path = Path(tmp.name)
            got = _stream_to(url, tmp, timeout, progress, spec.size)
        if got.lower() != spec.sha256.lower():
            raise _WrongFile()
    except BaseException:
        if tmp_path is not None:
            _remove_quietly(tmp_path)
        raise
    return tmp_path


def _content_length(response) -> int | None:
    value = response.headers.get("Content-Length")
    try:
        length = int(value) if value is not None else None
    except ValueError:
        return None
    return length if length is not None and length >= 0 else None


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        # Already gone, or undeletable: either way the error being reported matters
        # more than a stray temp file.
        pass


def _where_hint(cache_dir: Path, dataset: str | None, filename: str) -> str:
    if dataset is None:
        return f"put {filename} in {cache_dir} or set EXPLORER_DATA_DIR to a folder that has it"
    info = DATASETS[dataset]
    names = ", ".join(info["files"][role].filename for role in _ROLES)
    return (
        f"put the four {info['title']} .gz files ({names}) in {cache_dir} or set "
        f"EXPLORER_DATA_DIR to a folder whose {dataset}/ subfolder has them"
    )


def fetch(
    spec: IdxSpec,
    mirrors: Sequence[str],
    cache_dir: Path | str,
    timeout: float = 30.0,
    progress: ProgressCallback | None = None,
    *,
    dataset: str | None = None,
) -> Path:
    """Return ``cache_dir / spec.filename``, downloading and verifying it if needed.

    A cached file whose SHA-256 matches is returned without touching the network; one
    that does not match is deleted and downloaded again.  Mirrors (base URLs) are tried
    in order.  Each download streams into a temporary file in ``cache_dir`` and is
    renamed into place only after its SHA-256 matched, so readers (another session, a
    crash half-way) never see a partial file.  ``progress(done, total)`` is called as
    bytes arrive.  ``dataset`` (a :data:`DATASETS` key) only makes messages more
    specific.  Every failure raises :class:`DatasetError`.
    """
    cache_dir = Path(cache_dir).expanduser()
    target = cache_dir / spec.filename
    what = spec.filename
    if dataset is not None:
        dataset = _dataset_key(dataset)
        what = f"{spec.filename} for {DATASETS[dataset]['title']}"

    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        if target.is_file():
            if _sha256_of(target).lower() == spec.sha256.lower():
                return target
            # A stale or damaged copy (e.g. from an interrupted tool); replace it.
            target.unlink()
    except OSError as exc:
        raise DatasetError(
            f"Could not use the data folder {cache_dir} ({exc.strerror or exc}); set "
            "EXPLORER_DATA_DIR to a folder you can write to."
        ) from None

    last_problem = "no mirrors configured"
    bad_checksum_from: str | None = None
    for base in mirrors:
        try:
            verified = _download_verified(
                _mirror_url(base, spec.filename), spec, cache_dir, timeout, progress
            )
        except _LocalWriteError as exc:
            raise DatasetError(
                f"Could not save {what} in {cache_dir} "
                f"({exc.error.strerror or exc.error}); free some disk space or set "
                "EXPLORER_DATA_DIR to a folder you can write to."
            ) from None
        except _WrongFile:
            # Another mirror may still have the right bytes; remember this one for
            # the message in case none does.
            bad_checksum_from = base
            continue
        except (OSError, http.client.HTTPException, ValueError, _ShortDownload) as exc:
            # OSError covers URLError, HTTPError, timeouts and refused connections;
            # HTTPException malformed or cut-off HTTP replies; ValueError an unusable
            # mirror URL.
            last_problem = _describe_network_error(exc)
            continue
        try:
            # Atomic on one filesystem (the temp file lives in cache_dir for exactly
            # this reason): readers see either no file or the whole verified file.
            os.replace(verified, target)
        except OSError as exc:
            _remove_quietly(verified)
            raise DatasetError(
                f"Could not move the downloaded {what} into {cache_dir} "
                f"({exc.strerror or exc}); set EXPLORER_DATA_DIR to a folder you can "
                "write to."
            ) from None
        return target

    hint = _where_hint(cache_dir, dataset, spec.filename)
    if bad_checksum_from is not None:
        raise DatasetError(
            f"The copy of {what} downloaded from {bad_checksum_from} failed its "
            "SHA-256 check (the mirror may serve a damaged or different file), so it "
            f"was discarded; {hint}."
        )
    raise DatasetError(
        f"Could not download {what} (no network? last error: {last_problem}); {hint}."
    )


# ------------------------------------------------------------------- datasets


def _local_copy(spec: IdxSpec, folder: Path) -> Path | None:
    """The user's copy of ``spec`` in ``folder``, compressed or unpacked, if any."""
    packed = folder / spec.filename
    unpacked = folder / _unpacked_name(spec.filename)
    if packed.is_file():
        return packed
    if unpacked.is_file():
        return unpacked
    return None


def is_available_offline(name: str, data_dir: Path | str | None = None) -> bool:
    """True when all four files of ``name`` are on disk (packed or unpacked).

    Only checks that the files exist, so it stays cheap enough to call on every UI
    rerun; :func:`load_idx_dataset` does the real verification.
    """
    key = _dataset_key(name)
    folder = dataset_dir(key, data_dir)
    return all(_local_copy(spec, folder) is not None for spec in DATASETS[key]["files"].values())


def _resolve_file(
    key: str,
    role: str,
    folder: Path,
    mirrors: Sequence[str],
    download: bool,
    timeout: float,
    progress: ProgressCallback | None,
) -> Path | None:
    """A usable file for ``role``, or ``None`` if it is missing and not downloading."""
    spec: IdxSpec = DATASETS[key]["files"][role]
    packed = folder / spec.filename
    unpacked = folder / _unpacked_name(spec.filename)

    if packed.is_file():
        try:
            matches = _sha256_of(packed).lower() == spec.sha256.lower()
        except OSError as exc:
            raise DatasetError(f"Could not read {packed} ({exc.strerror or exc}).") from None
        if matches:
            return packed
        # A hand-unpacked copy is the user's explicit choice; prefer it over a .gz
        # that fails its checksum.
        if unpacked.is_file():
            return unpacked
        if not download:
            # Do not delete a file the user may have placed on purpose; tell them.
            raise DatasetError(
                f"{packed} does not match the published SHA-256 of the "
                f"{DATASETS[key]['title']} file (damaged, or from another dataset); "
                "replace it with an original copy or delete it so it can be downloaded."
            )
    elif unpacked.is_file():
        # Unpacked files have no published checksum; read_idx and the shape checks in
        # load_idx_dataset are what vouch for them.
        return unpacked
    elif not download:
        return None

    return fetch(spec, mirrors, folder, timeout=timeout, progress=progress, dataset=key)


def load_idx_dataset(
    name: str,
    data_dir: Path | str | None = None,
    mirrors: Sequence[str] | None = None,
    download: bool = True,
    timeout: float = 30.0,
    progress: ProgressCallback | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load ``(x_train, y_train, x_test, y_test)`` of MNIST or Fashion-MNIST.

    Images come back as ``uint8`` arrays shaped ``(n, 28, 28)``, labels as ``int64``
    arrays shaped ``(n,)``.  Files are looked for in ``dataset_dir(name, data_dir)``,
    compressed (checked against the published SHA-256) or unpacked without ``.gz``
    (checked for shape only), and downloaded from ``mirrors`` (default: the dataset's
    own) when missing and ``download`` is true.  ``progress`` is passed to
    :func:`fetch` for each file that has to be downloaded.
    """
    key = _dataset_key(name)
    info = DATASETS[key]
    folder = dataset_dir(key, data_dir)
    mirror_list = list(info["mirrors"] if mirrors is None else mirrors)

    paths: dict[str, Path] = {}
    missing: list[str] = []
    for role in _ROLES:
        found = _resolve_file(key, role, folder, mirror_list, download, timeout, progress)
        if found is None:
            missing.append(info["files"][role].filename)
        else:
            paths[role] = found

    if missing:
        raise DatasetError(
            f"{info['title']} is not complete in {folder} and downloading is off: put "
            f"{', '.join(missing)} (or the same files unpacked, without .gz) in that "
            f"folder, or set EXPLORER_DATA_DIR to a folder whose {key}/ subfolder has "
            "them."
        )

    arrays = {role: read_idx(path) for role, path in paths.items()}
    for split, prefix in (("training", "train"), ("test", "test")):
        _check_split(
            info,
            split,
            (paths[f"{prefix}_images"], arrays[f"{prefix}_images"]),
            (paths[f"{prefix}_labels"], arrays[f"{prefix}_labels"]),
        )

    return (
        arrays["train_images"],
        arrays["train_labels"].astype(np.int64),
        arrays["test_images"],
        arrays["test_labels"].astype(np.int64),
    )


def _check_split(
    info: Mapping,
    split: str,
    images_file: tuple[Path, np.ndarray],
    labels_file: tuple[Path, np.ndarray],
) -> None:
    """Catch mismatched or mixed-up files (e.g. labels saved as images) early."""
    images_path, images = images_file
    labels_path, labels = labels_file
    shape = tuple(info["image_shape"])
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != shape:
        raise DatasetError(
            f"{images_path} should hold {info['title']} images ({shape[0]}x{shape[1]} "
            f"bytes each) but holds {images.dtype} data shaped {images.shape}; check "
            "that the right file has the right name."
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DatasetError(
            f"{labels_path} should hold {info['title']} labels (one byte each) but "
            f"holds {labels.dtype} data shaped {labels.shape}; check that the right "
            "file has the right name."
        )
    if images.shape[0] != labels.shape[0]:
        raise DatasetError(
            f"The {split} files of {info['title']} do not belong together: "
            f"{images_path.name} has {images.shape[0]} images but {labels_path.name} "
            f"has {labels.shape[0]} labels."
        )
    n_classes = len(info["class_names"])
    if labels.size and int(labels.max()) >= n_classes:
        raise DatasetError(
            f"{labels_path} contains label {int(labels.max())}, but {info['title']} "
            f"only has labels 0 to {n_classes - 1}; the file is damaged or from "
            "another dataset."
        )
