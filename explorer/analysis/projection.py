"""2-D (or 3-D) maps of latent codes: PCA, t-SNE and UMAP, fitted and seeded
(:func:`fit_projection`).

A model whose code is 2-D needs no projection: its latent space *is* the map, so
:func:`fit_projection` hands such codes back unchanged (1-D codes are drawn as ``(z, 0)``). Every
other size is squeezed onto the screen by one of :data:`METHODS`, seeded, so the same codes and the
same :class:`ProjectionParams` always give the same picture. ``n_components=3`` asks for a 3-D map
instead (codes of at most 3 dimensions are then drawn as they are, padded with zeros).

UMAP needs care to be quick (bench/README.md has the measurements):

* numba compiles umap's kernels the first time they run in a process, and pynndescent's
  approximate neighbour search (used by umap from 4,096 points up) is the slowest to compile. We
  never call it: neighbours are computed exactly with scikit-learn and handed to umap as
  ``precomputed_knn`` with a small exact index, so new points can still be placed. What is left
  to compile is done once by :func:`warm_up_umap`, ideally in a background thread at start-up
  (:func:`warm_up_umap_in_background`).
* A seeded UMAP runs on one thread (umap turns parallelism off so that results repeat), and its
  time goes into the layout's epochs; we use :data:`UMAP_EPOCHS` and a PCA start instead of the
  spectral one, which costs far less CPU for a trustworthiness a few thousandths lower than
  umap's defaults (measured in the README).

What a map is asked for (method, settings, the key files are named by) is
:mod:`explorer.analysis.projection_params`; maps on disk are :mod:`explorer.analysis.projection_files`;
the background job that fits one while a page shows PCA is :mod:`explorer.analysis.projection_jobs`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from explorer.analysis.projection_params import COMPONENTS as COMPONENTS  # re-exported
from explorer.analysis.projection_params import METHODS as METHODS
from explorer.analysis.projection_params import TITLES as TITLES
from explorer.analysis.projection_params import ProjectionParams
from explorer.errors import ExplorerError

log = logging.getLogger(__name__)

UMAP_EPOCHS = 200  # umap's own default above 10,000 points (500 below); see the docstring
NEIGHBOURS_FOR_PLACING = 5  # k for placing new points on a t-SNE map
MIN_POINTS = 4  # the fewest codes all three methods handle (UMAP's spectral start needs N > 3)

STAGE_WARMING = "warming up UMAP (first time only)"  # stages :func:`fit_projection` reports
STAGE_FITTING = "fitting"


class ProjectionError(ExplorerError):
    """Codes that cannot be drawn (NaN, too few, wrong shape) or a projection that failed."""


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

    Takes a few seconds once per process, then returns at once. Safe from any thread: a second
    caller waits for the first warm-up instead of compiling again. Raises
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
    """A fitted map: ``coords`` (N, k) float32 for the codes it was fitted on (k =
    ``params.n_components``, 2 or 3), and :meth:`transform` to place new codes on the same map."""

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
        """(M, k) float32 positions for new codes of the same dimension.

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
            return np.zeros((0, self.params.n_components), dtype=np.float32)
        if self.method == "latent":
            return _as_map(new, self.params.n_components)
        if self.method == "pca":
            return self._model.transform(new).astype(np.float32)
        if self.method == "umap":
            with _umap_turn():
                return np.asarray(self._model.transform(new), dtype=np.float32)
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


def _as_codes(codes, allow_few: bool = False, n_components: int = 2) -> np.ndarray:
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
    if not allow_few and arr.shape[1] > n_components and len(arr) < MIN_POINTS:
        raise ProjectionError(
            f"A projected map needs at least {MIN_POINTS} points; got {len(arr)}."
        )
    return arr


def _as_map(codes: np.ndarray, n_components: int = 2) -> np.ndarray:
    """Codes of at most `n_components` dimensions drawn as they are: unchanged when they have
    exactly that many, else padded with zeros (1-D codes lie along the x axis)."""
    if codes.shape[1] == n_components:
        return codes
    pad = np.zeros((len(codes), n_components - codes.shape[1]), dtype=np.float32)
    return np.column_stack([codes, pad])


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
        n_components=params.n_components,
        random_state=params.seed,
        transform_seed=params.seed,
        n_jobs=1,  # what random_state forces anyway; saying so avoids umap's warning
        n_epochs=UMAP_EPOCHS,
        # PCA start instead of the spectral one: as faithful on our data, cheaper, no
        # eigen-solver to fail on disconnected graphs, and the layout keeps the orientation of
        # the PCA map the page shows meanwhile, so the swap reads as a refinement, not a rotation.
        init="pca",
        precomputed_knn=(idx.astype(np.int32), dists.astype(np.float32), _ExactIndex(index)),
    )
    with _umap_turn():
        coords = reducer.fit_transform(codes)
    return Projection(np.asarray(coords, dtype=np.float32), params, "umap", codes,
                      model=reducer, index=index)


def _fit_pca(codes: np.ndarray, params: ProjectionParams) -> Projection:
    from sklearn.decomposition import PCA

    pca = PCA(n_components=params.n_components, random_state=params.seed).fit(codes)
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
    init = PCA(n_components=params.n_components, random_state=params.seed).fit_transform(codes)
    init = init.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        init = init / np.std(init[:, 0]) * np.float32(1e-4)
    if not np.isfinite(init).all():
        raise ProjectionError(
            "The codes hardly differ from one another, so t-SNE has nothing to spread out; "
            "the model's code may carry no information (posterior collapse). Try PCA."
        )
    tsne = TSNE(n_components=params.n_components, perplexity=perplexity, init=init,
                random_state=params.seed)
    # One OpenMP thread. sklearn's Barnes-Hut runs several parallel regions per iteration, and
    # when the cores are busy (a model training beside it, the page itself) its spinning threads
    # wait on each other and a fit takes several times longer. The limit applies to this thread
    # only (OpenMP settings are per thread).
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        coords = tsne.fit_transform(codes).astype(np.float32)
    return Projection(coords, params, "tsne", codes)


_FITTERS = {"umap": _fit_umap, "pca": _fit_pca, "tsne": _fit_tsne}


def fit_projection(codes, params: ProjectionParams | None = None,
                   progress: Callable[[str], None] | None = None) -> Projection:
    """Fit a map of ``codes`` (N, D) with ``params`` (2-D, or 3-D with ``n_components=3``);
    seeded, so it repeats exactly.

    Codes with no more dimensions than the map are returned as they are (``method ==
    "latent"``, padded with zeros when shorter): the latent space is the map, and projecting it
    would only distort it. ``progress``, if given, is called with a stage name
    (:data:`STAGE_WARMING` when UMAP must first compile, then :data:`STAGE_FITTING`). Raises
    :class:`ProjectionError` with a readable sentence for codes that cannot be drawn.
    """
    params = params or ProjectionParams()
    arr = _as_codes(codes, n_components=params.n_components)
    if arr.shape[1] <= params.n_components:
        return Projection(_as_map(arr, params.n_components), params, "latent", arr)
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
    """The (N, k) float32 map of ``codes``, k = ``params.n_components``; see
    :func:`fit_projection`."""
    return fit_projection(codes, params, progress).coords
