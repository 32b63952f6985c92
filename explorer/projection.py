"""2-D maps of latent codes: PCA, t-SNE and UMAP, a disk cache for them, and a background job.

A model whose code is 2-D needs no projection: its latent space *is* the map, so
:func:`fit_projection` hands such codes back unchanged (1-D codes are drawn as ``(z, 0)``). Every
other size is squeezed onto the screen by one of :data:`METHODS`, seeded, so the same codes and the
same :class:`ProjectionParams` always give the same picture.

UMAP is the slow one, for reasons this module works around (numbers from
``bench/bench_umap_probe.py`` on 2 cores, 16-D codes):

* numba compiles umap's kernels the first time they run in a process, and the ones umap uses
  from 4,096 points up (pynndescent's approximate neighbour search) are the slowest: a first
  seeded fit of 10,000 points with umap's defaults took 36 s against 11 s for the next one, and
  the first transform took 38 s more on a machine whose numba disk cache was still empty. Our
  recipe never calls pynndescent: neighbours are computed exactly with scikit-learn (0.2 s for
  10,000 codes) and handed to umap as ``precomputed_knn`` with a small exact index, so new points
  can still be placed. What is left to compile (5-8 s) is done by :func:`warm_up_umap`, ideally
  in a background thread at start-up (:func:`warm_up_umap_in_background`).
* A seeded UMAP runs on one thread (umap turns parallelism off so that results repeat), and its
  time goes into the layout's epochs: umap's default is 500 up to 10,000 points and 200 above.
  We use 200 (:data:`UMAP_EPOCHS`) and a PCA start instead of the spectral one. Against
  ``umap.UMAP(random_state=0)`` that is 2.4-3.9 times less CPU at 1,000 and 10,000 points, the
  same coordinates on every call, and trustworthiness within 0.004 of the defaults'.

Nothing here blocks a page: :class:`ProjectionJob` fits in a daemon thread while the page shows
the PCA map, and :class:`ProjectionCache` keeps finished maps on disk keyed by the model's content
hash, so a map is computed once per model, data split and settings.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from explorer.atomic import write_atomic
from explorer.errors import ConfigError, ExplorerError
from explorer.paths import cache_dir

log = logging.getLogger(__name__)

METHODS = ("umap", "pca", "tsne")
UMAP_EPOCHS = 200  # umap's own default above 10,000 points; see the module docstring
NEIGHBOURS_FOR_PLACING = 5  # k for placing new points on a t-SNE map
MIN_POINTS = 4  # the fewest codes all three methods handle (UMAP's spectral start needs N > 3)

TITLES = {"umap": "UMAP", "pca": "PCA", "tsne": "t-SNE"}

STAGE_NOT_STARTED = "not started"
STAGE_WARMING = "warming up UMAP (first time only)"
STAGE_FITTING = "fitting"
STAGE_DONE = "done"

FILE_FORMAT = "latent-explorer-projection/1"
MAX_FILE_BYTES = 64 * 1024 * 1024  # 4 million points' worth; anything larger is not ours
_NAME_OK = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,79}")


class ProjectionError(ExplorerError):
    """Codes that cannot be drawn (NaN, too few, wrong shape) or a projection that failed."""


# --------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class ProjectionParams:
    """What to draw and how. Only the fields of the chosen method matter (see :meth:`key`)."""

    method: str = "umap"
    n_neighbors: int = 15
    min_dist: float = 0.1
    perplexity: float = 30.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(
                f"Unknown projection method {self.method!r}; choose one of {', '.join(METHODS)}."
            )
        # Sliders and numpy hand over numpy scalars or ints where floats are meant; normalise so
        # that equal settings give equal keys (30 and 30.0 must name the same cache file).
        try:
            n_neighbors = _as_int(self.n_neighbors)
            seed = _as_int(self.seed)
            min_dist = float(self.min_dist)
            perplexity = float(self.perplexity)
        except (TypeError, ValueError):
            raise ConfigError(
                "Projection settings must be numbers: n_neighbors and seed whole numbers, "
                "min_dist and perplexity decimals."
            ) from None
        if not 2 <= n_neighbors <= 10_000:
            raise ConfigError(f"n_neighbors must be between 2 and 10000; got {n_neighbors}.")
        if not 0.0 <= min_dist <= 1.0:  # umap needs min_dist <= spread, and spread is 1
            raise ConfigError(f"min_dist must be between 0 and 1; got {min_dist}.")
        if not (math.isfinite(perplexity) and perplexity > 0):
            raise ConfigError(f"perplexity must be a positive number; got {perplexity}.")
        if not 0 <= seed < 2**32:
            raise ConfigError(f"seed must be between 0 and 2**32 - 1; got {seed}.")
        object.__setattr__(self, "n_neighbors", n_neighbors)
        object.__setattr__(self, "seed", seed)
        object.__setattr__(self, "min_dist", min_dist)
        object.__setattr__(self, "perplexity", perplexity)

    def key(self) -> str:
        """A short, stable, file-name-safe name for these settings, e.g. ``umap-n15-d0.1-s0``.

        Settings the method ignores are left out, so changing the t-SNE perplexity never
        invalidates a cached UMAP map.
        """
        if self.method == "umap":
            return f"umap-n{self.n_neighbors}-d{self.min_dist!r}-s{self.seed}"
        if self.method == "tsne":
            return f"tsne-p{self.perplexity!r}-s{self.seed}"
        return f"pca-s{self.seed}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ProjectionParams:
        if not isinstance(d, dict):
            raise ConfigError("Projection settings must be a JSON object.")
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def _as_int(x: Any) -> int:
    if isinstance(x, bool) or int(x) != x:
        raise ValueError(x)
    return int(x)


# --------------------------------------------------------------------------------------------
# UMAP: lazy import, warm-up, and a guard against concurrent parallel kernels

_WARM_LOCK = threading.Lock()
_THREAD_LOCK = threading.Lock()  # guards _WARM_THREAD only: starting one never waits on a warm-up
_WARM_THREAD: threading.Thread | None = None
_UMAP_READY = False
# numba's fallback "workqueue" threading layer aborts the whole process if two threads launch
# parallel kernels at once (umap's neighbour smoothing is one). OpenMP and TBB are safe. Until the
# warm-up has found out which layer this process uses, UMAP calls take turns.
_RUN_LOCK = threading.RLock()
_SERIALISE_UMAP = True


def _import_umap():
    try:
        import umap
    except ImportError as e:
        raise ProjectionError(
            f"UMAP is not available ({e}); install umap-learn or choose PCA or t-SNE."
        ) from None
    # We hand umap an exact index of our own rather than a pynndescent one; it warns about that
    # on every fit. The filter is narrow, so every other umap warning still shows.
    warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]", category=UserWarning)
    return umap


@contextlib.contextmanager
def _umap_turn() -> Iterator[None]:
    if _SERIALISE_UMAP:
        with _RUN_LOCK:
            yield
    else:
        yield


def umap_ready() -> bool:
    """True once :func:`warm_up_umap` has run here: the next UMAP fit compiles nothing."""
    return _UMAP_READY


def warm_up_umap() -> None:
    """Import umap and fit and transform 60 points, so numba compiles every kernel we use.

    Takes a few seconds once per process (5-8 s on 2 cores; the first import on a fresh
    machine adds the time to fill numba's on-disk cache), then returns at once. Safe from any
    thread: a second caller waits for the first warm-up instead of compiling again. Raises
    :class:`ProjectionError` if umap cannot be imported.
    """
    global _UMAP_READY, _SERIALISE_UMAP
    if _UMAP_READY:
        return
    with _WARM_LOCK:
        if _UMAP_READY:
            return
        _import_umap()
        rng = np.random.default_rng(0)
        centres = rng.normal(0.0, 6.0, size=(3, 8))
        codes = (centres[np.arange(60) % 3] + rng.normal(size=(60, 8))).astype(np.float32)
        # The same code path and dtypes as real fits, so nothing is left to compile later.
        proj = _fit_umap(codes, ProjectionParams("umap", n_neighbors=10))
        proj.transform(codes[:4] + np.float32(0.1))
        try:
            import numba

            layer = numba.threading_layer()
        except (ImportError, ValueError):
            layer = "unknown"
        _SERIALISE_UMAP = layer not in ("omp", "tbb")
        _UMAP_READY = True


def warm_up_umap_in_background() -> threading.Thread | None:
    """Start :func:`warm_up_umap` in a daemon thread (once); None when UMAP is already warm.

    Meant for app start-up, so that the first UMAP map a user asks for does not wait on numba.
    A failure is only logged here; the next fit reports it properly.
    """
    global _WARM_THREAD

    def run() -> None:
        try:
            warm_up_umap()
        except Exception as e:  # noqa: BLE001 - a background warm-up must never raise
            log.warning("UMAP warm-up failed: %s", e)

    with _THREAD_LOCK:
        if _UMAP_READY:
            return None
        if _WARM_THREAD is None or not _WARM_THREAD.is_alive():
            _WARM_THREAD = threading.Thread(target=run, name="umap-warm-up", daemon=True)
            _WARM_THREAD.start()
        return _WARM_THREAD


class _ExactIndex:
    """The part of pynndescent's NNDescent that ``UMAP.transform`` uses, answered exactly.

    umap reads ``_angular_trees`` only to choose a search tolerance, which exact search ignores.
    """

    _angular_trees = False

    def __init__(self, index) -> None:
        self.index = index

    def query(self, x, k, epsilon=0.1):
        dists, idx = self.index.kneighbors(np.asarray(x, dtype=np.float32), k)
        return idx.astype(np.int32), dists.astype(np.float32)


# --------------------------------------------------------------------------------------------
# Fitting


class Projection:
    """A fitted map: ``coords`` (N, 2) float32 for the codes it was fitted on, and
    :meth:`transform` to place new codes on the same map."""

    def __init__(self, coords: np.ndarray, params: ProjectionParams, method: str,
                 codes: np.ndarray, model: Any = None, index: Any = None) -> None:
        self.coords = coords
        self.params = params
        self.method = method  # "latent" when the codes were drawn as they are, else params.method
        self._codes = codes
        self._model = model  # the fitted PCA or UMAP
        self._index = index  # exact neighbour index over the codes (t-SNE, UMAP)

    @property
    def dim(self) -> int:
        return int(self._codes.shape[1])

    def __len__(self) -> int:
        return len(self.coords)

    def transform(self, new_codes) -> np.ndarray:
        """(M, 2) float32 positions for new codes of the same dimension.

        PCA and UMAP use their own ``transform``. t-SNE has none, so a new point goes to the
        inverse-distance-weighted mean of the map positions of its 5 nearest fitted codes (in
        code space); a code equal to a fitted one lands on it. Deterministic for every method.
        """
        new = _as_codes(new_codes, allow_few=True)
        if new.shape[1] != self.dim:
            raise ProjectionError(
                f"The new codes have {new.shape[1]} dimensions, but this map was fitted on "
                f"{self.dim}-dimensional codes."
            )
        if len(new) == 0:
            return np.zeros((0, 2), dtype=np.float32)
        if self.method == "latent":
            return _as_map(new)
        if self.method == "pca":
            return self._model.transform(new).astype(np.float32)
        if self.method == "umap":
            try:
                with _umap_turn():
                    out = self._model.transform(new)
                return np.asarray(out, dtype=np.float32)
            except (NotImplementedError, AttributeError):
                # A umap version whose transform no longer accepts our exact index: place the
                # points the t-SNE way rather than fail.
                log.warning("UMAP transform unavailable; placing new points by neighbours")
        return self._place_by_neighbours(new)

    def _place_by_neighbours(self, new: np.ndarray) -> np.ndarray:
        if self._index is None:
            self._index = _neighbour_index(self._codes)
        k = min(NEIGHBOURS_FOR_PLACING, len(self._codes))
        dists, idx = self._index.kneighbors(new, k)
        weights = 1.0 / np.maximum(dists, 1e-12)  # an exact match outweighs all the others
        weights /= weights.sum(axis=1, keepdims=True)
        return np.einsum("mk,mkc->mc", weights, self.coords[idx]).astype(np.float32)


def _neighbour_index(codes: np.ndarray):
    from sklearn.neighbors import NearestNeighbors

    return NearestNeighbors().fit(codes)


def _as_codes(codes, allow_few: bool = False) -> np.ndarray:
    """Check and convert codes to a C-contiguous float32 (N, D) array, or raise a sentence."""
    try:
        arr = np.ascontiguousarray(np.asarray(codes, dtype=np.float32))
    except (TypeError, ValueError):
        raise ProjectionError(
            "The codes must be a numeric array of shape (points, dims)."
        ) from None
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ProjectionError(
            f"The codes must be a 2-D array (points × latent dimensions); got shape {arr.shape}."
        )
    bad = int((~np.isfinite(arr)).any(axis=1).sum())
    if bad:
        raise ProjectionError(
            f"{bad} of the {len(arr)} codes contain NaN or infinite values, so they cannot be "
            "drawn; the model has probably diverged: retrain it with a lower learning rate."
        )
    if not allow_few and arr.shape[1] > 2 and len(arr) < MIN_POINTS:
        raise ProjectionError(
            f"A projected map needs at least {MIN_POINTS} points; got {len(arr)}."
        )
    return arr


def _as_map(codes: np.ndarray) -> np.ndarray:
    """1-D and 2-D codes drawn as they are: 2-D unchanged, 1-D along the x axis."""
    if codes.shape[1] == 2:
        return codes
    return np.column_stack([codes[:, 0], np.zeros(len(codes), dtype=np.float32)])


def _fit_umap(codes: np.ndarray, params: ProjectionParams) -> Projection:
    umap = _import_umap()
    from sklearn.neighbors import NearestNeighbors

    # Exact neighbours, computed outside umap: deterministic, multi-threaded through BLAS, and
    # never touching pynndescent's slow-to-compile kernels. Querying with the codes themselves
    # lists each point as its own first neighbour, as umap's own graph does.
    k = min(params.n_neighbors, len(codes) - 1)
    index = NearestNeighbors(n_neighbors=k).fit(codes)
    dists, idx = index.kneighbors(codes, k)
    reducer = umap.UMAP(
        n_neighbors=k,
        min_dist=params.min_dist,
        n_components=2,
        random_state=params.seed,
        transform_seed=params.seed,
        n_jobs=1,  # what random_state forces anyway; saying so avoids umap's warning
        n_epochs=UMAP_EPOCHS,
        # PCA start instead of the spectral one: as faithful on our data (trustworthiness within
        # 0.005 either way), 0.3-1.5 s less CPU at 10,000 points, no eigen-solver to fail on
        # disconnected graphs, and the layout keeps the orientation of the PCA map the page
        # shows meanwhile, so the swap reads as a refinement rather than a rotation.
        init="pca",
        precomputed_knn=(idx.astype(np.int32), dists.astype(np.float32), _ExactIndex(index)),
    )
    with _umap_turn():
        coords = reducer.fit_transform(codes)
    return Projection(np.asarray(coords, dtype=np.float32), params, "umap", codes,
                      model=reducer, index=index)


def _fit_pca(codes: np.ndarray, params: ProjectionParams) -> Projection:
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, random_state=params.seed).fit(codes)
    coords = pca.transform(codes).astype(np.float32)
    return Projection(coords, params, "pca", codes, model=pca)


def _fit_tsne(codes: np.ndarray, params: ProjectionParams) -> Projection:
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    # sklearn needs perplexity < N; a third of N keeps each point's neighbourhood meaningful.
    perplexity = min(params.perplexity, (len(codes) - 1) / 3)
    # This is sklearn's own init="pca" (same PCA, same rescaling of PC 1 to a spread of 1e-4,
    # same result), done here so it can be checked first: codes without spread make it NaN, and
    # sklearn's Barnes-Hut tree then crashes the whole process (a segfault, not an exception).
    init = PCA(n_components=2, random_state=params.seed).fit_transform(codes)
    init = init.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        init = init / np.std(init[:, 0]) * np.float32(1e-4)
    if not np.isfinite(init).all():
        raise ProjectionError(
            "The codes hardly differ from one another, so t-SNE has nothing to spread out; "
            "the model's code may carry no information (posterior collapse). Try PCA."
        )
    tsne = TSNE(n_components=2, perplexity=perplexity, init=init, random_state=params.seed)
    # One OpenMP thread. sklearn's Barnes-Hut runs several parallel regions per iteration, and
    # when the cores are busy (a model training beside it, the page itself) its spinning threads
    # wait on each other: 200 points took 5-27 s with 2 threads against 2 s with one, measured on
    # 2 cores. The limit applies to this thread only (OpenMP settings are per thread).
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        coords = tsne.fit_transform(codes).astype(np.float32)
    return Projection(coords, params, "tsne", codes)


_FITTERS = {"umap": _fit_umap, "pca": _fit_pca, "tsne": _fit_tsne}


def fit_projection(codes, params: ProjectionParams | None = None,
                   progress: Callable[[str], None] | None = None) -> Projection:
    """Fit a 2-D map of ``codes`` (N, D) with ``params``; seeded, so it repeats exactly.

    2-D codes are returned unchanged (``method == "latent"``): the latent space is the map, and
    projecting it would only distort it. ``progress``, if given, is called with a stage name
    (:data:`STAGE_WARMING` when UMAP must first compile, then :data:`STAGE_FITTING`). Raises
    :class:`ProjectionError` with a readable sentence for codes that cannot be drawn.
    """
    params = params or ProjectionParams()
    arr = _as_codes(codes)
    if arr.shape[1] <= 2:
        return Projection(_as_map(arr), params, "latent", arr)
    if params.method != "pca" and len(arr) and not np.ptp(arr, axis=0).any():
        # PCA draws identical codes honestly, as one point; UMAP would scatter them at random
        # and t-SNE would crash, so say what is going on instead.
        raise ProjectionError(
            f"All {len(arr)} codes are identical, so there is nothing for "
            f"{TITLES[params.method]} to lay out; the model's code carries no information "
            "(posterior collapse?). PCA shows them as a single point."
        )
    if params.method == "umap" and not umap_ready():
        if progress:
            progress(STAGE_WARMING)
        warm_up_umap()
    if progress:
        progress(STAGE_FITTING)
    proj = _FITTERS[params.method](arr, params)
    if not np.isfinite(proj.coords).all():
        raise ProjectionError(
            f"{TITLES[params.method]} produced invalid positions for these codes; "
            "try PCA, or other settings."
        )
    return proj


def project(codes, params: ProjectionParams | None = None,
            progress: Callable[[str], None] | None = None) -> np.ndarray:
    """The (N, 2) float32 map of ``codes``; see :func:`fit_projection`."""
    return fit_projection(codes, params, progress).coords


# --------------------------------------------------------------------------------------------
# Files: one safetensors file per map, with what it belongs to in its metadata


class _BadFile(Exception):
    """A projection file that is corrupt or not ours: callers treat it as absent."""


def _coords_bytes(coords, model_hash: str, data_key: str, params: ProjectionParams) -> bytes:
    from safetensors.numpy import save

    arr = np.ascontiguousarray(np.asarray(coords, dtype=np.float32))
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ProjectionError(f"A map must have shape (N, 2); got {arr.shape}.")
    metadata = {
        "format": FILE_FORMAT,
        "model_hash": str(model_hash),
        "data_key": str(data_key),
        "params": json.dumps(params.to_dict(), sort_keys=True),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return save({"coords": arr}, metadata=metadata)


def _read_coords(path: Path) -> tuple[np.ndarray, dict]:
    """(coords, metadata) of a projection file; _BadFile if it is not a valid one of ours."""
    from safetensors import SafetensorError, safe_open

    if path.stat().st_size > MAX_FILE_BYTES:
        raise _BadFile("too large")
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            if "coords" not in f.keys():
                raise _BadFile("no coords tensor")
            coords = f.get_tensor("coords")
    except (SafetensorError, ValueError, TypeError) as e:  # header or data unreadable
        raise _BadFile(str(e)) from None
    if meta.get("format") != FILE_FORMAT:
        raise _BadFile(f"format {meta.get('format')!r}")
    if coords.dtype != np.float32 or coords.ndim != 2 or coords.shape[1] != 2:
        raise _BadFile(f"coords of shape {coords.shape} and type {coords.dtype}")
    if not np.isfinite(coords).all():
        raise _BadFile("non-finite coords")
    return coords, meta


def _params_key(meta: dict) -> str | None:
    try:
        return ProjectionParams.from_dict(json.loads(meta.get("params", ""))).key()
    except (ValueError, TypeError, ConfigError):
        return None


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
        coords, meta = _read_coords(path)
    except FileNotFoundError:
        return None
    except (_BadFile, OSError) as e:
        log.warning("ignoring projection file %s: %s", path, e)
        return None
    if meta.get("model_hash") != expected_model_hash:
        return None
    if expected_rows is not None and len(coords) != expected_rows:
        return None
    return coords


def default_cache_root() -> Path:
    """The projection cache: ``projections/`` in the app's cache folder (see explorer.paths)."""
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
            coords, meta = _read_coords(path)
        except FileNotFoundError:
            return None
        except _BadFile as e:
            log.warning("removing corrupt projection cache file %s: %s", path, e)
            self._remove(path)
            return None
        except OSError as e:  # unreadable (permissions, I/O): a miss, but not ours to delete
            log.warning("cannot read projection cache file %s: %s", path, e)
            return None
        if (meta.get("model_hash") != model_hash or meta.get("data_key") != data_key
                or _params_key(meta) != params.key()):
            log.warning("removing mismatched projection cache file %s", path)
            self._remove(path)
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
# Background job


class ProjectionJob:
    """Fit a map in a daemon thread, so a page can show PCA at once and swap this in when done.

    Poll ``done``; then ``result`` (a :class:`Projection`) or ``error`` (a sentence to show).
    ``stage`` says what it is doing (:data:`STAGE_WARMING`, :data:`STAGE_FITTING`,
    :data:`STAGE_DONE`). With a cache, a model hash and a data key, the finished map is also
    written to the cache. Exceptions never escape the thread.
    """

    def __init__(self, codes, params: ProjectionParams | None = None,
                 cache: ProjectionCache | None = None, model_hash: str | None = None,
                 data_key: str | None = None) -> None:
        self.codes = codes
        self.params = params or ProjectionParams()
        self.cache = cache
        self.model_hash = model_hash
        self.data_key = data_key
        self.result: Projection | None = None
        self.error: str | None = None
        self.started_at: float | None = None  # time.time() of start()
        self.finished_at: float | None = None
        self.stage = STAGE_NOT_STARTED
        self._t0: float | None = None
        self._t1: float | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def start(self) -> ProjectionJob:
        """Start the thread (once; later calls do nothing) and return the job."""
        with self._start_lock:
            if self._thread is not None:
                return self
            self.started_at = time.time()
            self._t0 = time.monotonic()
            warming = self.params.method == "umap" and not umap_ready()
            self.stage = STAGE_WARMING if warming else STAGE_FITTING
            self._thread = threading.Thread(
                target=self._run, name=f"projection-{self.params.key()}", daemon=True
            )
            self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until done (or ``timeout`` seconds); returns ``done``. For scripts and tests."""
        return self._done.wait(timeout)

    def elapsed(self) -> float:
        """Seconds since start(), frozen once done; 0 before start()."""
        if self._t0 is None:
            return 0.0
        end = self._t1 if self._t1 is not None else time.monotonic()
        return end - self._t0

    def _set_stage(self, stage: str) -> None:
        self.stage = stage

    def _run(self) -> None:
        try:
            proj = fit_projection(self.codes, self.params, progress=self._set_stage)
            if self.cache is not None and self.model_hash and self.data_key and \
                    proj.method != "latent":
                try:
                    self.cache.put(self.model_hash, self.data_key, self.params, proj.coords)
                except Exception as e:  # noqa: BLE001 - a map that cannot be cached is still a map
                    log.warning("projection not cached: %s", e)
            self.result = proj
        except Exception as e:  # noqa: BLE001 - reported through .error, never raised
            self.error = _error_sentence(e, self.params.method)
            log.warning("projection job failed: %s", self.error, exc_info=True)
        finally:
            self._t1 = time.monotonic()
            self.finished_at = time.time()
            self.stage = STAGE_DONE
            self._done.set()  # last, so whoever sees done also sees result or error


def _error_sentence(e: BaseException, method: str) -> str:
    if isinstance(e, ExplorerError):
        msg = str(e)
    elif isinstance(e, MemoryError):
        msg = (f"There was not enough memory to compute the {TITLES.get(method, method)} map; "
               "try PCA or close other programs")
    else:
        detail = str(e).strip() or "no details"
        title = TITLES.get(method, method)
        msg = f"{title} stopped with an unexpected {type(e).__name__} ({detail})"
    msg = msg.strip()
    return msg if msg.endswith((".", "!", "?")) else msg + "."
