"""Maps on disk: one safetensors file per map, with what it belongs to in its metadata.

Two places hold them: beside a shipped model (``projection-umap.safetensors``, written by
``python -m explorer pretrain`` through :func:`write_projections`, read by :func:`load_coords`)
and the :class:`ProjectionCache` of maps computed while the app runs. Both read through
:func:`read_coords`, so a file is valid by one set of rules wherever it lies.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import time
from pathlib import Path

import numpy as np

from explorer.analysis.projection import ProjectionError, ProjectionParams, fit_projection
from explorer.atomic import write_atomic
from explorer.errors import ConfigError
from explorer.paths import cache_dir

log = logging.getLogger(__name__)

FILE_FORMAT = "latent-explorer-projection/1"
MAX_FILE_BYTES = 64 * 1024 * 1024  # 4 million points' worth; anything larger is not ours
SHIPPED_METHODS = ("umap", "pca")  # the maps precomputed beside each shipped model
_NAME_OK = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,79}")


class UnusableFile(Exception):
    """A projection file that is corrupt, not ours, or made for something else."""


def _coords_bytes(coords, model_hash: str, data_key: str, params: ProjectionParams) -> bytes:
    from safetensors.numpy import save

    arr = np.ascontiguousarray(np.asarray(coords, dtype=np.float32))
    if arr.ndim != 2 or arr.shape[1] != params.n_components:
        raise ProjectionError(
            f"A map must have shape (N, {params.n_components}); got {arr.shape}.")
    metadata = {
        "format": FILE_FORMAT,
        "model_hash": str(model_hash),
        "data_key": str(data_key),
        "params": json.dumps(params.to_dict(), sort_keys=True),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return save({"coords": arr}, metadata=metadata)


def _file_params(meta: dict) -> ProjectionParams | None:
    """The settings a file was made with; files from before 3-D maps have no ``n_components``
    and are 2-D, which is the default."""
    try:
        return ProjectionParams.from_dict(json.loads(meta.get("params", "")))
    except (ValueError, TypeError, ConfigError):
        return None


def read_coords(path: Path, model_hash: str, data_key: str | None = None,
                params: ProjectionParams | None = None, rows: int | None = None) -> np.ndarray:
    """The (N, k) float32 map in ``path``, checked: a projection file of ours, made for the
    weights ``model_hash`` and, where given, for ``data_key``, ``params`` and ``rows`` points.
    k is the file's own ``n_components`` (2 unless it says otherwise).

    Raises FileNotFoundError when there is no file, OSError when it cannot be read, and
    :class:`UnusableFile` (saying why) when it is corrupt or made for something else.
    """
    from safetensors import SafetensorError, safe_open

    if path.stat().st_size > MAX_FILE_BYTES:
        raise UnusableFile("too large")
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            if "coords" not in f.keys():
                raise UnusableFile("no coords tensor")
            coords = f.get_tensor("coords")
    except (SafetensorError, ValueError, TypeError) as e:  # header or data unreadable
        raise UnusableFile(str(e)) from None
    if meta.get("format") != FILE_FORMAT:
        raise UnusableFile(f"format {meta.get('format')!r}")
    made_with = _file_params(meta)
    columns = made_with.n_components if made_with is not None else 2
    if coords.dtype != np.float32 or coords.ndim != 2 or coords.shape[1] != columns:
        raise UnusableFile(f"coords of shape {coords.shape} and type {coords.dtype}")
    if not np.isfinite(coords).all():
        raise UnusableFile("non-finite coords")
    if meta.get("model_hash") != model_hash:
        raise UnusableFile("made for other weights")
    if data_key is not None and meta.get("data_key") != data_key:
        raise UnusableFile(f"made for data {meta.get('data_key')!r}")
    if params is not None and (made_with is None or made_with.key() != params.key()):
        raise UnusableFile("made with other settings")
    if rows is not None and len(coords) != rows:
        raise UnusableFile(f"{len(coords)} points, not {rows}")
    return coords


def save_coords(path: str | Path, coords, model_hash: str, data_key: str,
                params: ProjectionParams) -> None:
    """Write a map to ``path`` (atomically), tagged with the model's content hash, the data it
    shows and its settings: e.g. ``pretrained/<model>/projection-umap.safetensors``."""
    write_atomic(Path(path), _coords_bytes(coords, model_hash, data_key, params))


def load_coords(path: str | Path, expected_model_hash: str,
                expected_rows: int | None = None) -> np.ndarray | None:
    """The map saved at ``path``, or None when it is missing, unreadable, or stale (made for
    other weights than ``expected_model_hash``, or for another number of points). Never raises;
    the file is left alone, since shipped maps are not ours to delete."""
    path = Path(path)
    try:
        return read_coords(path, expected_model_hash, rows=expected_rows)
    except FileNotFoundError:
        return None
    except (UnusableFile, OSError) as e:
        log.warning("ignoring projection file %s: %s", path, e)
        return None


# --------------------------------------------------------------------------------------------
# Maps shipped beside a model


def projection_file(folder: str | Path, method: str) -> Path:
    return Path(folder) / f"projection-{method}.safetensors"


def write_projections(folder: Path, card: dict, codes, log=print) -> None:
    """Precompute the test set's 2-D maps beside a model (skipped for 2-D latents: no projection)."""
    if codes.shape[1] == 2:
        return
    for method in SHIPPED_METHODS:
        params = ProjectionParams(method=method)
        t = time.perf_counter()
        coords = fit_projection(codes, params).coords
        save_coords(projection_file(folder, method), coords, card["content_hash"], "test", params)
        log(f"    {method} projection of {len(codes)} codes in {time.perf_counter() - t:.1f} s")


# --------------------------------------------------------------------------------------------
# The cache of maps computed while the app runs


def default_cache_root() -> Path:
    """The ``projections`` folder of the app's cache (see :func:`explorer.paths.cache_dir`)."""
    return cache_dir("projections")


class ProjectionCache:
    """Finished maps on disk, one file per (model hash, data, settings), at most ``max_files``.

    Reads and writes never raise for disk trouble: a cache that cannot be read is a miss, one
    that cannot be written is skipped. A file that is corrupt or belongs to something else is
    removed when met. Hits refresh the file's time, so pruning drops the least recently used.
    """

    def __init__(self, root: str | Path, max_files: int = 200) -> None:
        if max_files < 1:
            raise ConfigError(f"max_files must be at least 1; got {max_files}.")
        self.root = Path(root).expanduser()
        self.max_files = max_files

    def path_for(self, model_hash: str, data_key: str, params: ProjectionParams) -> Path:
        for name, value in (("model_hash", model_hash), ("data_key", data_key)):
            # These become part of a file name: no separators, no leading dot, nothing odd.
            if not isinstance(value, str) or not _NAME_OK.fullmatch(value):
                raise ConfigError(f"{name} {value!r} cannot be part of a cache file name.")
        return self.root / f"{model_hash}-{data_key}-{params.key()}.safetensors"

    def get(self, model_hash: str, data_key: str, params: ProjectionParams) -> np.ndarray | None:
        path = self.path_for(model_hash, data_key, params)
        try:
            coords = read_coords(path, model_hash, data_key, params)
        except FileNotFoundError:
            return None
        except UnusableFile as e:
            log.warning("removing projection cache file %s: %s", path, e)
            self._remove(path)
            return None
        except OSError as e:  # unreadable (permissions, I/O): a miss, but not ours to delete
            log.warning("cannot read projection cache file %s: %s", path, e)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)
        return coords

    def put(self, model_hash: str, data_key: str, params: ProjectionParams, coords) -> bool:
        """Store a map; True when written. Prunes the oldest files beyond ``max_files``."""
        path = self.path_for(model_hash, data_key, params)
        data = _coords_bytes(coords, model_hash, data_key, params)
        try:
            write_atomic(path, data)
        except OSError as e:
            log.warning("cannot write projection cache file %s: %s", path, e)
            return False
        self._prune(keep=path)
        return True

    def _remove(self, path: Path) -> None:
        with contextlib.suppress(OSError):
            path.unlink()

    def _prune(self, keep: Path) -> None:
        try:
            entries = []
            now = time.time()
            for p in self.root.iterdir():
                if p.name.endswith(".safetensors") and not p.name.startswith("."):
                    entries.append((p.stat().st_mtime, p.name, p))
                elif p.name.startswith(".") and p.name.endswith(".tmp"):
                    # Left behind by a writer that died; an hour is far beyond any write.
                    if now - p.stat().st_mtime > 3600:
                        self._remove(p)
        except OSError:
            return
        excess = len(entries) - self.max_files
        for _, _, p in sorted(entries)[: max(0, excess)]:
            if p != keep:
                self._remove(p)


# --------------------------------------------------------------------------------------------
# The codes a map is drawn from, kept on disk between server runs


def codes_path(model_hash: str, data_key: str) -> Path:
    for name, value in (("model_hash", model_hash), ("data_key", data_key)):
        if not isinstance(value, str) or not _NAME_OK.fullmatch(value):
            raise ConfigError(f"{name} {value!r} cannot be part of a cache file name.")
    return cache_dir("codes") / f"{model_hash}-{data_key}.npy"


def load_codes(model_hash: str, data_key: str, rows: int, dim: int) -> np.ndarray | None:
    """The (rows, dim) float32 codes of the weights `model_hash` saved by an earlier run, or None
    (missing, unreadable, or not what is expected: such a file is removed). With them a 2-D
    model's map, the first page, is drawn without loading the model."""
    path = codes_path(model_hash, data_key)
    try:
        codes = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError) as e:
        log.warning("removing the codes cache file %s: %s", path, e)
        codes = None
    if codes is not None and codes.dtype == np.float32 and codes.shape == (rows, dim) \
            and np.isfinite(codes).all():
        return codes
    with contextlib.suppress(OSError):
        path.unlink()
    return None


def save_codes(model_hash: str, data_key: str, codes: np.ndarray) -> None:
    """Keep `codes` for :func:`load_codes`; a cache that cannot be written is skipped."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(codes, dtype=np.float32), allow_pickle=False)
    try:
        write_atomic(codes_path(model_hash, data_key), buffer.getvalue())
    except OSError as e:
        log.warning("cannot write the codes cache: %s", e)
