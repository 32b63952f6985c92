"""Tests for explorer.data.downloads: IDX parsing and verified, offline-safe downloads.

Nothing here reaches the internet.  Downloads come from a throwaway HTTP server on
127.0.0.1 that serves small generated IDX files and misbehaves on request (404s, 500s,
cut-off bodies, a stalled reply, garbage of the right length), and the registry entry is
swapped for one whose specs match those files.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import gzip
import hashlib
import http.server
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from explorer import paths
from explorer.data import datasets
from explorer.data.downloads import (
    ROLES,
    IdxSource,
    IdxSpec,
    dataset_dir,
    fetch,
    is_available_offline,
    load_idx_dataset,
    read_idx,
)
from explorer.errors import DatasetError

N_TRAIN = 20
N_TEST = 8
MNIST = datasets.get_info("mnist")
FASHION = datasets.get_info("fashion-mnist")
MNIST_FILES = dict(zip(ROLES, MNIST.source.files, strict=True))

# The longest a stalled handler may block; the client gives up long before, and the
# fixture releases it at teardown, so this only bounds a worst case.
HANG_LIMIT_S = 5.0

# IDX type codes (third magic byte); MNIST-style files are all 0x08, unsigned bytes.
_IDX_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(np.int16): 0x0B,
    np.dtype(np.int32): 0x0C,
    np.dtype(np.float32): 0x0D,
    np.dtype(np.float64): 0x0E,
}


# --------------------------------------------------------------------------- helpers


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` as an uncompressed IDX file (big-endian, as the format says)."""
    code = _IDX_CODES[array.dtype]
    header = bytes([0, 0, code, array.ndim])
    header += np.asarray(array.shape, dtype=">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def gz(data: bytes) -> bytes:
    # mtime=0 keeps the bytes, and so the checksums, stable from run to run.
    return gzip.compress(data, mtime=0)


def toy_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """A miniature MNIST: N_TRAIN / N_TEST random 28x28 images with labels 0-9."""
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, N_TEST, dtype=np.uint8),
    }


def write_toy_dataset(
    folder: Path, arrays: dict[str, np.ndarray], *, compressed: bool = True
) -> dict[str, IdxSpec]:
    """Write ``arrays`` under the real MNIST file names; return specs matching them."""
    folder.mkdir(parents=True, exist_ok=True)
    specs = {}
    for role in ROLES:
        gz_name = MNIST_FILES[role].filename
        data = gz(idx_bytes(arrays[role]))
        if compressed:
            (folder / gz_name).write_bytes(data)
        else:
            (folder / gz_name.removesuffix(".gz")).write_bytes(idx_bytes(arrays[role]))
        specs[role] = IdxSpec(gz_name, hashlib.sha256(data).hexdigest())
    return specs


def toy_mnist(specs: dict[str, IdxSpec], mirrors: list[str]) -> datasets.DatasetInfo:
    """The MNIST registry entry with its files swapped for the toy files."""
    source = IdxSource(tuple(mirrors), tuple(specs[role] for role in ROLES))
    return dataclasses.replace(MNIST, source=source)


def forbid_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(url, *args, **kwargs):
        raise AssertionError(f"unexpected network access to {url}")

    monkeypatch.setattr("requests.get", refuse)


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- server


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves <root>/good/ normally; /truncate/, /cut/ and /hang/ misbehave, and paths in
    ``server.files`` (path -> (status, body)) answer with exactly that."""

    def log_message(self, format, *args):
        pass  # keep pytest output clean

    def do_GET(self):
        if self.path in self.server.files:
            status, body = self.server.files[self.path]
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        mode, _, name = self.path.strip("/").partition("/")
        if mode == "hang":
            # Never answer; wait until the test is over (bounded, so the thread ends).
            self.server.release.wait(HANG_LIMIT_S)
            self.close_connection = True
            return
        if mode in ("truncate", "cut"):
            data = (Path(self.directory) / "good" / name).read_bytes()
            self.send_response(200)
            if mode == "truncate":
                # Announce the full length, then hang up half-way.
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


class LocalServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.good = root / "good"
        self.good.mkdir(parents=True)
        handler = functools.partial(_Handler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.release = threading.Event()
        self.httpd.files = {}
        self.files = self.httpd.files
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.running = True

    def mirror(self, mode: str) -> str:
        return f"{self.url}/{mode}/"

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.httpd.release.set()
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(timeout=2)


@pytest.fixture
def server(tmp_path):
    srv = LocalServer(tmp_path / "www")
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    # A proxy setting would send 127.0.0.1 requests elsewhere, and the default data
    # folder must never be the developer's real cache.
    for var in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path / "default-data"))


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def toy(server) -> tuple[dict[str, np.ndarray], dict[str, IdxSpec]]:
    arrays = toy_arrays()
    specs = write_toy_dataset(server.good, arrays)
    return arrays, specs


# --------------------------------------------------------------------------- read_idx


@pytest.mark.parametrize("compressed", [True, False])
def test_read_idx_round_trips_uint8(tmp_path, compressed):
    images = toy_arrays()["train_images"]
    data = idx_bytes(images)
    path = tmp_path / "images.idx"
    path.write_bytes(gz(data) if compressed else data)
    out = read_idx(path)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, images)


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    raw_named_gz = tmp_path / "labels.gz"
    raw_named_gz.write_bytes(idx_bytes(labels))
    gz_named_raw = tmp_path / "labels-idx1-ubyte"
    gz_named_raw.write_bytes(gz(idx_bytes(labels)))
    np.testing.assert_array_equal(read_idx(raw_named_gz), labels)
    np.testing.assert_array_equal(read_idx(str(gz_named_raw)), labels)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_read_idx_refuses_types_no_image_file_uses(tmp_path, dtype):
    path = tmp_path / "values.idx"
    path.write_bytes(idx_bytes((np.arange(24).reshape(2, 3, 4) - 7).astype(dtype)))
    with pytest.raises(DatasetError, match="not the unsigned bytes") as info:
        read_idx(path)
    assert path.name in str(info.value)


def _corrupt_gzip(good: bytes) -> bytes:
    # Keep the gzip header, scramble the deflate data.
    middle = bytearray(good)
    for i in range(12, len(middle) - 8):
        middle[i] ^= 0x5A
    return bytes(middle)


_LABELS = idx_bytes(np.arange(50, dtype=np.uint8) % 10)

BAD_FILES = {
    "bad magic": b"\x01\x02\x08\x01" + _LABELS[4:],
    "unknown type code": b"\x00\x00\x07\x01" + _LABELS[4:],
    "no dimensions": b"\x00\x00\x08\x00",
    "zero dimension": b"\x00\x00\x08\x01" + (0).to_bytes(4, "big"),
    "header cut short": _LABELS[:6],
    "empty file": b"",
    "truncated payload": _LABELS[:-5],
    "trailing bytes": _LABELS + b"\x00\x01",
    "truncated payload in gzip": gz(_LABELS[:-5]),
    "trailing bytes in gzip": gz(_LABELS + b"\x00"),
    "corrupt gzip": _corrupt_gzip(gz(_LABELS)),
    "gzip stream cut off": gz(_LABELS)[:-12],
    "absurd header": b"\x00\x00\x08\x02" + (0xFFFFFFFF).to_bytes(4, "big") * 2,
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_read_idx_rejects_malformed_files(tmp_path, case):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(BAD_FILES[case])
    with pytest.raises(DatasetError) as info:
        read_idx(path)
    assert path.name in str(info.value)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        read_idx(tmp_path / "nope.gz")


# --------------------------------------------------------------------------- fetch


def test_fetch_downloads_then_serves_from_cache_offline(server, toy, cache, monkeypatch):
    _, specs = toy
    spec = specs["train_images"]
    calls = []
    path = fetch(
        spec, [server.mirror("good")], cache, timeout=5, progress=lambda *a: calls.append(a)
    )
    assert path == cache / spec.filename
    assert path.read_bytes() == (server.good / spec.filename).read_bytes()
    assert sorted(p.name for p in cache.iterdir()) == [spec.filename]  # no temp files
    size = path.stat().st_size
    assert calls[0] == (0, size) and calls[-1] == (size, size)

    server.stop()
    forbid_network(monkeypatch)
    assert fetch(spec, [server.mirror("good")], cache, timeout=5) == path


def test_fetch_falls_back_to_next_mirror(server, toy, cache):
    _, specs = toy
    spec = specs["train_labels"]
    path = fetch(spec, [server.mirror("missing"), server.mirror("good")], cache, 5)
    assert path.read_bytes() == (server.good / spec.filename).read_bytes()


def test_fetch_accepts_mirror_without_trailing_slash(server, toy, cache):
    _, specs = toy
    path = fetch(specs["test_labels"], [server.mirror("good").rstrip("/")], cache, 5)
    assert path.is_file()


def test_fetch_checksum_mismatch_leaves_nothing(server, toy, cache):
    _, specs = toy
    wrong = IdxSpec(specs["train_images"].filename, "0" * 64)
    with pytest.raises(DatasetError) as info:
        fetch(wrong, [server.mirror("good")], cache, timeout=5)
    message = str(info.value)
    assert "SHA-256" in message and server.mirror("good") in message
    assert list(cache.iterdir()) == []


def test_fetch_stops_when_more_bytes_arrive_than_the_file_has(server, toy, cache):
    _, specs = toy
    spec = specs["train_images"]
    small = IdxSpec(spec.filename, spec.sha256, size=100)
    with pytest.raises(DatasetError, match="SHA-256"):
        fetch(small, [server.mirror("good")], cache, timeout=5)
    assert list(cache.iterdir()) == []


def test_fetch_replaces_a_damaged_cached_file(server, toy, cache):
    _, specs = toy
    spec = specs["test_images"]
    cache.mkdir()
    (cache / spec.filename).write_bytes(b"half a download")
    path = fetch(spec, [server.mirror("good")], cache, timeout=5)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == spec.sha256


@pytest.mark.parametrize("mode", ["truncate", "cut"])
def test_fetch_cut_off_download_leaves_nothing(server, toy, cache, mode):
    _, specs = toy
    with pytest.raises(DatasetError) as info:
        fetch(specs["train_images"], [server.mirror(mode)], cache, timeout=5)
    if mode == "truncate":  # the server announced a length, so we can say what happened
        assert "Could not download" in str(info.value)
        assert "connection closed after" in str(info.value)
    assert list(cache.iterdir()) == []


def test_fetch_times_out_on_a_stalled_server(server, toy, cache):
    _, specs = toy
    start = time.monotonic()
    with pytest.raises(DatasetError) as info:
        fetch(specs["train_labels"], [server.mirror("hang")], cache, timeout=0.5)
    assert time.monotonic() - start < 3
    assert "Could not download" in str(info.value)
    assert "timed out" in str(info.value)
    assert list(cache.iterdir()) == []


def test_fetch_unreachable_mirror_says_where_to_put_files(toy, cache):
    _, specs = toy
    mirror = f"http://127.0.0.1:{closed_port()}/"
    with pytest.raises(DatasetError) as info:
        fetch(specs["train_images"], [mirror], cache, timeout=2, dataset=MNIST)
    message = str(info.value)
    assert message.startswith("Could not download train-images-idx3-ubyte.gz for MNIST")
    assert "no network?" in message
    assert "put the four MNIST .gz files" in message and str(cache) in message
    assert "EXPLORER_DATA_DIR" in message
    assert list(cache.iterdir()) == []


def test_fetch_cleans_up_when_the_progress_callback_fails(server, toy, cache):
    _, specs = toy

    def broken(done, total):
        if done:
            raise RuntimeError("UI went away")

    with pytest.raises(RuntimeError):
        fetch(specs["train_images"], [server.mirror("good")], cache, 5, broken)
    assert list(cache.iterdir()) == []


# --------------------------------------------------------------------------- datasets


def test_load_downloads_then_works_offline(server, toy, tmp_path, monkeypatch):
    arrays, specs = toy
    info = toy_mnist(specs, [server.mirror("missing"), server.mirror("good")])
    data_dir = tmp_path / "data"
    assert not is_available_offline(info, data_dir)

    x_train, y_train, x_test, y_test = load_idx_dataset(info, data_dir, timeout=5)
    assert x_train.shape == (N_TRAIN, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (N_TRAIN,) and y_train.dtype == np.int64
    assert x_test.shape == (N_TEST, 28, 28) and y_test.dtype == np.int64
    np.testing.assert_array_equal(x_train, arrays["train_images"])
    np.testing.assert_array_equal(y_test, arrays["test_labels"])
    assert is_available_offline(info, data_dir)
    assert (data_dir / "mnist" / specs["train_images"].filename).is_file()

    server.stop()
    forbid_network(monkeypatch)
    again = load_idx_dataset(info, data_dir, download=False)
    np.testing.assert_array_equal(again[0], x_train)


def test_load_uses_default_data_dir_and_explicit_mirrors(server, toy):
    _, specs = toy
    info = toy_mnist(specs, ["http://127.0.0.1:1/never-used/"])
    x_train, *_ = load_idx_dataset(info, mirrors=[server.mirror("good")], timeout=5)
    assert x_train.shape == (N_TRAIN, 28, 28)
    assert is_available_offline(info)
    assert (paths.data_dir() / "mnist").is_dir()


def test_load_without_download_names_folder_and_files(tmp_path, monkeypatch):
    forbid_network(monkeypatch)
    data_dir = tmp_path / "empty"
    with pytest.raises(DatasetError) as info:
        load_idx_dataset(FASHION, data_dir, download=False)
    message = str(info.value)
    assert str(data_dir / "fashion-mnist") in message
    assert "t10k-labels-idx1-ubyte.gz" in message
    assert "EXPLORER_DATA_DIR" in message


def test_load_user_folder_with_unpacked_files(tmp_path, monkeypatch):
    forbid_network(monkeypatch)
    arrays = toy_arrays(seed=3)
    data_dir = tmp_path / "mine"
    write_toy_dataset(data_dir / "mnist", arrays, compressed=False)
    assert is_available_offline(MNIST, data_dir)
    x_train, y_train, x_test, y_test = load_idx_dataset(MNIST, data_dir, download=False)
    np.testing.assert_array_equal(x_train, arrays["train_images"])
    np.testing.assert_array_equal(y_train, arrays["train_labels"])
    np.testing.assert_array_equal(x_test, arrays["test_images"])
    assert y_test.dtype == np.int64


def test_load_rejects_gz_that_fails_checksum_without_deleting_it(tmp_path, monkeypatch):
    forbid_network(monkeypatch)
    folder = tmp_path / "data" / "mnist"
    write_toy_dataset(folder, toy_arrays())  # real MNIST specs will not match these
    with pytest.raises(DatasetError, match="SHA-256"):
        load_idx_dataset(MNIST, tmp_path / "data", download=False)
    assert len(list(folder.iterdir())) == 4


def test_load_rejects_images_and_labels_that_do_not_pair_up(tmp_path, monkeypatch):
    forbid_network(monkeypatch)
    arrays = toy_arrays()
    arrays["test_labels"] = arrays["test_labels"][:-1]
    write_toy_dataset(tmp_path / "mnist", arrays, compressed=False)
    with pytest.raises(DatasetError, match="do not belong together"):
        load_idx_dataset(MNIST, tmp_path, download=False)


def test_load_rejects_swapped_files(tmp_path, monkeypatch):
    forbid_network(monkeypatch)
    arrays = toy_arrays()
    arrays["train_images"], arrays["train_labels"] = (
        arrays["train_labels"],
        arrays["train_images"],
    )
    write_toy_dataset(tmp_path / "mnist", arrays, compressed=False)
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte"):
        load_idx_dataset(MNIST, tmp_path, download=False)


def test_load_rejects_out_of_range_labels(tmp_path, monkeypatch):
    forbid_network(monkeypatch)
    arrays = toy_arrays()
    arrays["train_labels"][3] = 42
    write_toy_dataset(tmp_path / "mnist", arrays, compressed=False)
    with pytest.raises(DatasetError, match="label 42"):
        load_idx_dataset(MNIST, tmp_path, download=False)


def test_unknown_dataset_name():
    with pytest.raises(DatasetError, match="fashion-mnist") as info:
        datasets.load_dataset("cifar")
    assert "'cifar'" in str(info.value) and "mnist," in str(info.value)
    with pytest.raises(DatasetError):
        datasets.is_available("cifar")


def test_default_data_and_cache_dirs(monkeypatch, tmp_path):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path / "x"))
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "c"))
    assert paths.data_dir() == tmp_path / "x"
    assert dataset_dir(FASHION) == tmp_path / "x" / "fashion-mnist"
    assert paths.cache_dir("datasets") == tmp_path / "c" / "datasets"
    monkeypatch.delenv("EXPLORER_DATA_DIR")
    monkeypatch.delenv("EXPLORER_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    if sys.platform.startswith("linux"):
        assert paths.data_dir() == Path.home() / ".cache" / "latent-explorer" / "data"
        assert paths.cache_dir("projections") == (
            Path.home() / ".cache" / "latent-explorer" / "projections")


# The published SHA-256 values (tensorflow/datasets url_checksums, torchvision); pinned
# here so an accidental edit of the table cannot slip through.
PUBLISHED = {
    ("mnist", "train-images-idx3-ubyte.gz"): "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ("mnist", "train-labels-idx1-ubyte.gz"): "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ("mnist", "t10k-images-idx3-ubyte.gz"): "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ("mnist", "t10k-labels-idx1-ubyte.gz"): "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ("fashion-mnist", "train-images-idx3-ubyte.gz"): "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    ("fashion-mnist", "train-labels-idx1-ubyte.gz"): "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    ("fashion-mnist", "t10k-images-idx3-ubyte.gz"): "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    ("fashion-mnist", "t10k-labels-idx1-ubyte.gz"): "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}  # fmt: skip


def test_dataset_table_matches_published_checksums():
    seen = {}
    for name, info in datasets.INFOS.items():
        if info.source is None:
            continue
        assert [spec.filename for spec in info.source.files] == [
            "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
        assert info.source.mirrors and all(m.endswith("/") for m in info.source.mirrors)
        assert len(info.class_names) == 10
        for spec in info.source.files:
            seen[(name, spec.filename)] = spec.sha256
    assert seen == PUBLISHED


# --------------------------------------------------------------------------- downloads that lie


def _idx_gz(n: int = 30) -> bytes:
    return gz(idx_bytes((np.arange(n) % 10).astype(np.uint8)))


def _garbage_like(good: bytes, seed: int = 0) -> bytes:
    """Bytes of the same length that even start like a gzip file, but are not the file."""
    noise = np.random.default_rng(seed).integers(0, 256, len(good), dtype=np.uint8).tobytes()
    return good[:10] + noise[10:]


def test_a_right_length_wrong_hash_download_leaves_nothing(server, cache):
    good = _idx_gz()
    spec = IdxSpec("t10k-labels-idx1-ubyte.gz", hashlib.sha256(good).hexdigest(), size=len(good))
    server.files["/bad/" + spec.filename] = (200, _garbage_like(good))
    server.files["/error/" + spec.filename] = (500, b"Internal Server Error")
    with pytest.raises(DatasetError, match="SHA-256") as info:
        fetch(spec, [server.mirror("error"), server.mirror("bad")], cache, timeout=5)
    assert server.mirror("bad") in str(info.value)
    assert list(cache.iterdir()) == []  # neither the file nor a temporary file is left

    server.files["/good/" + spec.filename] = (200, good)  # a later mirror with the real bytes
    path = fetch(spec, [server.mirror("bad"), server.mirror("good")], cache, timeout=5)
    assert path.read_bytes() == good and sorted(p.name for p in cache.iterdir()) == [spec.filename]
    assert list(read_idx(path)) == list(np.arange(30) % 10)


def test_a_dataset_download_of_garbage_fails_cleanly_and_keeps_no_files(server, tmp_path):
    specs = {}
    for role, spec in MNIST_FILES.items():
        good = _idx_gz(50)
        specs[role] = IdxSpec(spec.filename, hashlib.sha256(good).hexdigest(), len(good))
        server.files[f"/m/{spec.filename}"] = (200, _garbage_like(good, seed=len(specs)))
    with pytest.raises(DatasetError, match="SHA-256"):
        load_idx_dataset(toy_mnist(specs, [server.mirror("m")]), tmp_path / "data", timeout=5)
    assert list((tmp_path / "data" / "mnist").iterdir()) == []


def test_a_data_folder_that_cannot_be_made_is_named(tmp_path, toy, server):
    _, specs = toy
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    with pytest.raises(DatasetError, match="Could not use the data folder") as info:
        fetch(specs["test_labels"], [server.mirror("good")], blocker / "data", timeout=5)
    assert "EXPLORER_DATA_DIR" in str(info.value)


def test_a_full_disk_is_named_as_such_and_leaves_nothing(server, toy, cache, monkeypatch):
    _, specs = toy

    def disk_full(self, url, output_file, pooch):
        Path(output_file).write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("pooch.HTTPDownloader.__call__", disk_full)
    with pytest.raises(DatasetError, match="Could not save train-images") as info:
        fetch(specs["train_images"], [server.mirror("good")], cache, timeout=5)
    assert "No space left on device" in str(info.value) and "free some disk space" in str(info.value)
    assert list(cache.iterdir()) == []
