"""One view of a model: the door through which the pages, the command line, ``pretrain`` and the
benchmarks ask what a model does with its dataset's test split.

    view = ModelView.of("pretrained/mnist-vae-mlp-z16")
    view.codes()                  # (N, D) test codes: posterior means (VAE) or codes (AE)
    view.map(ProjectionParams())  # a MapCoords: coordinates, what they are, a job still fitting
    view.per_image("error")       # (N,) reconstruction cost in the model's own likelihood, nats

Each answer is computed once per model's weights — views are memoised by (path, content
hash), so a retrained model never shows a stale picture — and shared by every caller in the
process: thirty sessions asking for one map at once compute it once. Arrays handed out are
read-only, so no caller can change what the others see. Test codes are also kept on disk by
content hash, so a restarted server draws a 2-D model's map without loading the model (or torch).

Where a map's coordinates come from, fastest first: the latent itself (codes of at most the map's
dimensions), a projection shipped beside the model, the on-disk projection cache, PCA (fitted at
once), or a UMAP / t-SNE job in a background thread (one per model and settings, shared) while
the PCA map stands in. Sessions claim and release those jobs (:class:`ProjectionJob`).

No Streamlit here: the pages keep this object in one ``st.cache_resource`` and show its answers.

The rest of what a page asks of a model goes through this module too (the end of it): decoding
codes, samples, paths through the latent space, what a family can do, and which test images to
show; the pages ask the analysis package for them (its front door, explorer/frontdoor.py), never
another module (tests/test_boundaries.py).
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from explorer.analysis.memo import Memo, frozen
from explorer.analysis.projection import ProjectionParams, fit_projection
from explorer.analysis.projection_files import (
    ProjectionCache,
    default_cache_root,
    load_codes,
    load_coords,
    projection_file,
    save_codes,
)
from explorer.analysis.projection_jobs import ProjectionJob
from explorer.data import datasets
from explorer.errors import ExplorerError
from explorer.runs import checkpoints

if TYPE_CHECKING:
    from explorer.analysis.inspect_latent import LatentUsage
    from explorer.analysis.neighbours import NeighbourIndex
    from explorer.analysis.projection import Projection
    from explorer.data.datasets import Dataset

MAX_VIEWS = 24  # models kept loaded, with what was computed from them (a class's worth)
PER_IMAGE = ("error", "kl")  # what per_image measures: reconstruction cost, KL, both in nats


_torch_lock = threading.Lock()
_torch_configured = False


def torch_ready() -> None:
    """Once per process, before torch's first work: one thread per operation, as many sessions
    (or jobs) share the machine's cores."""
    global _torch_configured
    with _torch_lock:
        if not _torch_configured:
            from explorer.training.loop import configure_threads

            configure_threads()
            _torch_configured = True


def dataset(name: str) -> Dataset:
    """A dataset by name (loaded once per process by :func:`datasets.load_dataset`)."""
    torch_ready()
    return datasets.load_dataset(name)


@functools.lru_cache(maxsize=16)
def test_labels(name: str) -> np.ndarray:
    """(N,) class of each test image of a dataset, read once per process (from the saved split,
    without torch, where there is one)."""
    return frozen(np.asarray(datasets.test_labels(name)))


_projection_cache: ProjectionCache | None = None


def projection_cache() -> ProjectionCache:
    """The on-disk cache of fitted maps, shared by every view."""
    global _projection_cache
    if _projection_cache is None:
        _projection_cache = ProjectionCache(default_cache_root())
    return _projection_cache


@dataclass(frozen=True)
class MapCoords:
    """A model's test codes on a map: (N, k) coordinates, what they are ("latent", "pca", "umap"
    or "tsne"), the background job still fitting the map asked for (None when these are it),
    and why a finished job gave no map (a sentence, or None)."""

    coords: np.ndarray
    method: str
    pending: ProjectionJob | None = None
    error: str | None = None


class ModelView:
    """What one model (a folder with its card and weights) does with its dataset's test split.

    Use :meth:`of` rather than the constructor: it returns the process's one view of that model.
    The model and the images are loaded when first needed: labels come from the saved split and
    codes from disk where they are there."""

    _views: OrderedDict[tuple[str, str], ModelView] = OrderedDict()
    _views_lock = threading.Lock()

    def __init__(self, path: str | Path, content_hash: str | None = None) -> None:
        self.path = str(path)
        self.card = checkpoints.read_card(self.path)
        self.hash = self.card.get("content_hash", "") if content_hash is None else content_hash
        self.dataset_name = self.card.get("dataset", {}).get("name", datasets.DEFAULT_DATASET)
        self._memo = Memo()
        self._jobs: dict[ProjectionParams, ProjectionJob] = {}
        self._jobs_lock = threading.Lock()

    @classmethod
    def of(cls, path: str | Path, content_hash: str | None = None) -> ModelView:
        """The process's view of a model, made on first ask (`content_hash` from its card when not
        given); the least recently asked of more than MAX_VIEWS is let go. A model whose files
        changed (another content hash) gets a new view."""
        if content_hash is None:
            content_hash = checkpoints.read_card(str(path)).get("content_hash", "")
        key = (str(path), content_hash)
        with cls._views_lock:
            view = cls._views.get(key)
            if view is not None:
                cls._views.move_to_end(key)
                return view
        view = cls(path, content_hash)  # reads the card: outside the lock
        with cls._views_lock:
            view = cls._views.setdefault(key, view)
            cls._views.move_to_end(key)
            while len(cls._views) > MAX_VIEWS:
                cls._views.popitem(last=False)
        return view

    @classmethod
    def forget_all(cls) -> None:
        """Let every view go (tests; a runs folder replaced under the server)."""
        with cls._views_lock:
            cls._views.clear()

    def ready(self, what: str | tuple) -> bool:
        """Whether asking for `what` (a method's name, or ("per_image", measure)) answers at once;
        pages show a spinner only when it will not."""
        return self.has_codes() if what == "codes" else self._memo.has(what)

    # -- what it is made of ----------------------------------------------------------------
    @property
    def latent_dim(self) -> int:
        return int(self.card["config"]["latent_dim"])

    def model(self):
        """The loaded model (eval mode, CPU); ModelFileError says why one cannot be loaded."""
        def load():
            torch_ready()
            model, _ = checkpoints.load_model(self.path)
            return model

        return self._memo.get("model", load)

    def data(self) -> Dataset:
        return dataset(self.dataset_name)

    def labels(self) -> np.ndarray:
        """(N,) class of each test image, without loading the images where the split is saved."""
        return test_labels(self.dataset_name)

    # -- codes and maps -----------------------------------------------------------------------
    def has_codes(self) -> bool:
        """Whether :meth:`codes` answers at once (memoised here or kept on disk)."""
        if self._memo.has("codes"):
            return True
        return bool(self.hash) and load_codes(self.hash, self.dataset_name, len(self.labels()),
                                              self.latent_dim) is not None

    def codes(self) -> np.ndarray:
        """(N, D) codes of the test split: posterior means for a VAE. Computed once per model's
        weights and kept on disk; codes that are not finite raise ModelFileError."""
        def compute() -> np.ndarray:
            rows = len(self.labels())
            if self.hash and (codes := load_codes(self.hash, self.dataset_name, rows,
                                                  self.latent_dim)) is not None:
                return codes
            from explorer.analysis import latent

            codes = latent.encode_dataset(self.model(), self.data().x_test)
            if self.hash and np.isfinite(codes).all():
                save_codes(self.hash, self.dataset_name, codes)
            return codes

        return self._memo.get("codes", compute)

    def stored_map(self, params: ProjectionParams) -> np.ndarray | None:
        """A map fitted before: shipped beside the model, or in the disk cache; else None."""
        if params == ProjectionParams(method=params.method):
            shipped = projection_file(self.path, params.method)
            if shipped.exists():
                coords = load_coords(shipped, self.hash)
                if coords is not None:
                    return coords
        return projection_cache().get(self.hash, "test", params)

    def fit_map(self, params: ProjectionParams) -> Projection:
        """The test codes' map fitted here and now (kept, so new codes can be placed on it with
        ``transform``: a drawn digit on the map)."""
        return self._memo.get(("fit_map", params), lambda: fit_projection(self.codes(), params))

    def projection_job(self, params: ProjectionParams) -> ProjectionJob:
        """The one background job fitting this map, started on first ask and shared."""
        with self._jobs_lock:
            job = self._jobs.get(params)
            if job is None:
                job = ProjectionJob(self.codes(), params, cache=projection_cache(),
                                    model_hash=self.hash, data_key="test").start()
                self._jobs[params] = job
            return job

    def _drop_job(self, params: ProjectionParams, job: ProjectionJob) -> None:
        with self._jobs_lock:
            if self._jobs.get(params) is job:
                del self._jobs[params]  # the next ask starts afresh

    def map(self, params: ProjectionParams | None = None, wait: bool = False) -> MapCoords:
        """The test codes as map coordinates under `params` (k = its n_components: 2, or 3).

        Codes of at most k dimensions are their own map (padded when shorter). A UMAP / t-SNE map
        not fitted before is fitted by a background job; until it is done (or with `wait`, once it
        is) the PCA map stands in and ``pending`` is that job. PCA that cannot be fitted raises
        ProjectionError with a sentence."""
        codes = self.codes()
        params = params or ProjectionParams()
        if codes.shape[1] <= params.n_components:
            coords = codes if codes.shape[1] == params.n_components else self._pca(params)
            return MapCoords(coords, "latent")
        stored = self.stored_map(params)
        if stored is not None:
            return MapCoords(stored, params.method)
        if params.method == "pca":
            coords = self._pca(params)
            projection_cache().put(self.hash, "test", params, coords)
            return MapCoords(coords, "pca")
        job = self.projection_job(params)
        if job.done and job.result is None and job.dropped:
            # dropped when nobody wanted it as its turn came; someone wants it now: start again
            self._drop_job(params, job)
            job = self.projection_job(params)
        if wait:
            job.wait()
        if job.done and job.result is not None:
            return MapCoords(job.result.coords, params.method)
        pca = ProjectionParams("pca", n_components=params.n_components)
        stand_in = self.stored_map(pca)
        stand_in = stand_in if stand_in is not None else self._pca(pca)
        if job.done:  # failed: say why; the next ask tries again
            self._drop_job(params, job)
            return MapCoords(stand_in, "pca", error=job.error)
        return MapCoords(stand_in, "pca", pending=job)

    def _pca(self, params: ProjectionParams) -> np.ndarray:
        return self._memo.get(("pca", params), lambda: fit_projection(self.codes(),
                                                                      params).coords)

    # -- numbers per image, per dimension, per class -------------------------------------------
    def per_image(self, what: str) -> np.ndarray:
        """(N,) one number per test image, in nats: "error", the reconstruction cost in the
        model's own likelihood; "kl", KL(q(z|x) || N(0, I)) (a VAE's)."""
        if what not in PER_IMAGE:
            raise ExplorerError(f"Unknown per-image measure {what!r}; one of {PER_IMAGE}.")

        def compute() -> np.ndarray:
            from explorer.analysis import metrics

            x = self.data().x_test
            if what == "error":
                return metrics.per_image_recon_nll(self.model(), x)
            return metrics.kl_per_image(self.model(), x)

        return self._memo.get(("per_image", what), compute)

    def reconstructions(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """What the model makes of every test image, (N, ...) in [0, 1] shaped like the images,
        and each image's errors by name (:func:`metrics.image_errors`)."""
        def compute():
            from explorer.analysis import latent, metrics

            x = self.data().x_test
            x_hat = latent.decode(self.model(), self.codes())
            x_hat = np.asarray(x_hat, dtype=np.float32).reshape(x.shape)
            errors = metrics.image_errors(x, x_hat)
            return x_hat, {k: frozen(np.asarray(v)) for k, v in errors.items()}

        return self._memo.get("reconstructions", compute)

    def usage(self) -> LatentUsage:
        """Each latent dimension's mean KL in nats (VAE) or code variance (AE) on the test set."""
        def compute():
            from explorer.analysis import inspect_latent

            return inspect_latent.latent_usage(self.model(), self.data().x_test)

        return self._memo.get("usage", compute)

    def posteriors(self) -> tuple[np.ndarray, np.ndarray | None]:
        """mu (N, D) and logvar (N, D) of q(z|x) for every test image (logvar None for an AE)."""
        def compute():
            from explorer.analysis import metrics

            post = metrics.posteriors(self.model(), self.data().x_test)
            return post.mu.numpy(), None if post.logvar is None else post.logvar.numpy()

        return self._memo.get("posteriors", compute)

    def class_means(self) -> np.ndarray:
        """(K, D) the mean test code of each class (NaN for a class with no test image)."""
        def compute():
            from explorer.analysis import latent

            data = self.data()
            return latent.class_means(self.codes(), data.y_test.numpy(), len(data.class_names))

        return self._memo.get("class_means", compute)

    def neighbour_index(self) -> NeighbourIndex:
        """Nearest test images by code and by pixels (built once, shared)."""
        def compute():
            from explorer.analysis.neighbours import NeighbourIndex

            return NeighbourIndex(self.codes(), self.data().x_test)

        return self._memo.get("neighbour_index", compute)

    def scores(self) -> dict:
        """Sample quality in the shipped classifier's features, mean ± sd over the sampling seeds
        (:func:`scores.score_spread`)."""
        def compute():
            from explorer.analysis import scores

            return scores.score_spread(self.model(), self.data(), content_hash=self.hash)

        return self._memo.get("scores", compute)


# -- the rest of the front door: decoding, sampling, paths through the latent space ------------
def _latent(name: str):
    """:mod:`explorer.analysis.latent`'s `name`, imported (with torch) on the first call."""
    def call(*args, **kwargs):
        from explorer.analysis import latent

        return getattr(latent, name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"explorer.analysis.latent.{name} (imported on first use)."
    return call


decode, encode_dataset, sample_prior = map(_latent, ("decode", "encode_dataset", "sample_prior"))
lerp, slerp, interpolate, traverse = map(_latent, ("lerp", "slerp", "interpolate", "traverse"))
path_lengths, grid_2d, analogy_codes = map(_latent, ("path_lengths", "grid_2d", "analogy_codes"))


def sample(model, n: int, seed: int = 0, **kwargs):
    """n samples of any family that samples, and their labels (explorer.families.generate)."""
    from explorer.families.generate import sample as sample_any

    return sample_any(model, n, seed=seed, **kwargs)


def can(model, capability: str) -> bool:
    """Whether the model's family can `capability` ("encode", "decode", "sample", "condition")."""
    from explorer import families

    return families.of(model).can(capability)


# Which test images a page shows: a class-mixed sample, the same for every run and page.
mixed_indices, REFERENCE_SEED, DIGIT_NAMES = (datasets.mixed_indices, datasets.REFERENCE_SEED,
                                              datasets.DIGIT_NAMES)
