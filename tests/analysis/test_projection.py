"""explorer.analysis.projection, projection_files and projection_jobs: the 2-D maps, their
reproducibility, the files and disk cache, and the background job.

umap is imported and compiled once, by the session fixture ``warm_umap``; every UMAP test asks
for it, so they all share that one warm-up (5-8 s on 2 cores) and fit only tiny data sets.
"""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from explorer.analysis import projection, projection_files, projection_jobs
from explorer.analysis.projection import (
    Projection,
    ProjectionError,
    ProjectionParams,
    fit_projection,
    project,
)
from explorer.analysis.projection_files import ProjectionCache, load_coords, save_coords
from explorer.analysis.projection_jobs import ProjectionJob
from explorer.errors import ConfigError, ExplorerError
from tests.hostile import evil_pickle, evil_torch_save

ROOT = Path(__file__).resolve().parents[2]
HASH = "0123456789abcdef"


def blobs(n_per: int = 50, k: int = 4, dim: int = 8, seed: int = 0):
    """k well-separated Gaussian blobs in `dim` dimensions: (codes float32, labels, centres)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 8.0, size=(k, dim))
    labels = np.repeat(np.arange(k), n_per)
    codes = centres[labels] + rng.normal(size=(len(labels), dim))
    return codes.astype(np.float32), labels, centres.astype(np.float32)


def knn_accuracy(coords: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """Leave-one-out k-NN label accuracy on the map: do the blobs stay apart in 2-D?"""
    d = ((coords[:, None, :] - coords[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nearest = np.argsort(d, axis=1)[:, :k]
    votes = np.array([np.bincount(labels[row], minlength=labels.max() + 1) for row in nearest])
    return float((votes.argmax(axis=1) == labels).mean())


@pytest.fixture(scope="session")
def warm_umap():
    projection.warm_up_umap()
    assert projection.umap_ready()


@pytest.fixture(scope="module")
def fitted():
    """One fit per method on `blobs()`, shared by the tests that only look at it (t-SNE is the
    slow one here, so it is fitted twice in this file: here and in the reproducibility test)."""
    fits = {}

    def get(method: str) -> Projection:
        if method == "umap":
            projection.warm_up_umap()
        if method not in fits:
            fits[method] = fit_projection(blobs()[0], ProjectionParams(method))
        return fits[method]

    return get


@pytest.fixture
def cache(tmp_path):
    return ProjectionCache(tmp_path / "cache")


# ---------------------------------------------------------------------------------------------
# Settings


def test_params_key_names_only_the_relevant_settings():
    assert ProjectionParams().key() == "umap-n15-d0.1-s0"
    assert ProjectionParams("pca", perplexity=5.0, n_neighbors=3).key() == "pca-s0"
    assert ProjectionParams("tsne", perplexity=30).key() == ProjectionParams("tsne").key()
    assert ProjectionParams("tsne", perplexity=30).key() == "tsne-p30.0-s0"
    assert ProjectionParams("umap", perplexity=5.0).key() == ProjectionParams("umap").key()
    assert ProjectionParams("umap", seed=1).key() != ProjectionParams("umap").key()
    assert ProjectionParams("umap", n_neighbors=np.int64(15)) == ProjectionParams("umap")
    p = ProjectionParams("umap", n_neighbors=30, min_dist=0.25, seed=3)
    assert ProjectionParams.from_dict(p.to_dict()) == p
    assert hash(p) == hash(ProjectionParams.from_dict(p.to_dict()))  # usable as a cache key


@pytest.mark.parametrize("kw", [dict(method="isomap"), dict(n_neighbors=1), dict(min_dist=-0.1),
                                dict(min_dist=1.5), dict(perplexity=0.0), dict(seed=-1),
                                dict(n_neighbors=2.5), dict(perplexity=float("nan"))])
def test_params_reject_bad_values(kw):
    with pytest.raises(ConfigError):
        ProjectionParams(**kw)


@pytest.mark.slow
def test_umap_is_not_imported_with_the_module():
    code = ("import sys, explorer.analysis.projection, explorer.analysis.projection_files, explorer.analysis.projection_jobs; "
            "sys.exit(any(m in sys.modules for m in ('umap', 'numba', 'sklearn', 'streamlit')))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0


# ---------------------------------------------------------------------------------------------
# Maps


def test_two_dimensional_codes_are_the_map():
    codes = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    for method in projection.METHODS:  # no projection at all, so not even UMAP is touched
        proj = fit_projection(codes, ProjectionParams(method))
        assert proj.method == "latent"
        assert np.array_equal(proj.coords, codes)
        assert np.array_equal(project(codes, ProjectionParams(method)), codes)
        assert np.array_equal(proj.transform(codes[:3]), codes[:3])


def test_one_dimensional_codes_lie_on_the_x_axis():
    codes = np.arange(5, dtype=np.float32)[:, None]
    coords = project(codes, ProjectionParams("umap"))
    assert coords.shape == (5, 2)
    assert np.array_equal(coords[:, 0], codes[:, 0]) and not coords[:, 1].any()


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_pca_and_tsne_shapes_and_reproducibility(method, fitted):
    codes, _, _ = blobs()
    a = fitted(method).coords
    b = project(codes.copy(), ProjectionParams(method, seed=0))
    assert a.shape == (len(codes), 2) and a.dtype == np.float32
    assert np.array_equal(a, b)


@pytest.mark.usefixtures("warm_umap")
def test_umap_same_seed_same_map(fitted):
    codes, _, _ = blobs()
    a = fitted("umap").coords
    b = project(codes, ProjectionParams("umap", seed=0))
    c = project(codes, ProjectionParams("umap", seed=1))
    assert a.shape == (200, 2) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.usefixtures("warm_umap")
@pytest.mark.parametrize("method", projection.METHODS)
def test_separated_blobs_stay_separated(method, fitted):
    _, labels, _ = blobs()
    assert knn_accuracy(fitted(method).coords, labels) > 0.9


@pytest.mark.usefixtures("warm_umap")
@pytest.mark.parametrize("method", projection.METHODS)
def test_transform_places_new_points_in_their_cluster(method, fitted):
    codes, labels, centres = blobs()
    proj = fitted(method)
    rng = np.random.default_rng(1)
    new_labels = np.arange(len(centres)).repeat(3)
    new = (centres[new_labels] + 0.5 * rng.normal(size=(len(new_labels), codes.shape[1])))
    placed = proj.transform(new.astype(np.float32))
    assert placed.shape == (len(new), 2) and placed.dtype == np.float32
    map_centres = np.stack([proj.coords[labels == c].mean(axis=0) for c in range(len(centres))])
    nearest = ((placed[:, None, :] - map_centres[None]) ** 2).sum(-1).argmin(axis=1)
    assert (nearest == new_labels).all()
    assert np.array_equal(placed, proj.transform(new.astype(np.float32)))  # repeatable too
    assert proj.transform(np.zeros((0, codes.shape[1]))).shape == (0, 2)


def test_tsne_places_a_fitted_code_on_its_own_position(fitted):
    codes, _, _ = blobs()
    proj = fitted("tsne")
    assert np.allclose(proj.transform(codes[:5]), proj.coords[:5], atol=1e-4)


@pytest.mark.parametrize("codes, words", [
    (np.full((20, 4), np.nan, dtype=np.float32), "NaN"),
    (np.zeros((2, 8), dtype=np.float32), "at least"),
    (np.zeros((5,), dtype=np.float32), "2-D array"),
    (np.array([["a", "b"]] * 5), "numeric"),
])
def test_bad_codes_raise_a_readable_error(codes, words):
    with pytest.raises(ProjectionError, match=words):
        fit_projection(codes, ProjectionParams("pca"))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # PCA, 0 variance
def test_identical_codes_are_refused_by_tsne_instead_of_crashing():
    # sklearn's t-SNE segfaults on codes without spread; a collapsed VAE produces exactly those.
    codes = np.ones((40, 6), dtype=np.float32)
    with pytest.raises(ProjectionError, match="identical"):
        fit_projection(codes, ProjectionParams("tsne"))
    tiny = (np.random.default_rng(0).normal(size=(40, 6)) * 1e-42).astype(np.float32)
    with pytest.raises(ProjectionError, match="hardly differ"):
        fit_projection(tiny, ProjectionParams("tsne"))
    assert not project(codes, ProjectionParams("pca")).any()  # PCA: one honest point


def test_transform_checks_the_dimension():
    codes, _, _ = blobs()
    proj = fit_projection(codes, ProjectionParams("pca"))
    with pytest.raises(ProjectionError, match="dimensions"):
        proj.transform(np.zeros((3, 5), dtype=np.float32))


@pytest.mark.usefixtures("warm_umap")
def test_warm_up_is_idempotent_and_progress_is_reported():
    projection.warm_up_umap()  # already warm: returns at once
    assert projection.warm_up_umap_in_background() is None
    stages = []
    proj = fit_projection(blobs()[0], ProjectionParams("umap"), progress=stages.append)
    assert isinstance(proj, Projection) and proj.method == "umap"
    assert stages == [projection.STAGE_FITTING]


# ---------------------------------------------------------------------------------------------
# Files and cache


def test_cache_round_trip(cache):
    coords = np.random.default_rng(0).normal(size=(30, 2)).astype(np.float32)
    params = ProjectionParams("umap", n_neighbors=20)
    assert cache.get(HASH, "test", params) is None
    assert cache.put(HASH, "test", params, coords)
    path = cache.root / f"{HASH}-test-{params.key()}.safetensors"
    assert path.is_file()
    assert np.array_equal(cache.get(HASH, "test", params), coords)
    assert [p.name for p in cache.root.iterdir()] == [path.name]  # no temporary files left


def test_cache_misses_for_other_settings_model_or_data(cache):
    coords = np.zeros((10, 2), dtype=np.float32)
    params = ProjectionParams("umap")
    cache.put(HASH, "test", params, coords)
    assert cache.get(HASH, "test", ProjectionParams("umap", min_dist=0.5)) is None
    assert cache.get(HASH, "test", ProjectionParams("pca")) is None
    assert cache.get("fedcba9876543210", "test", params) is None
    assert cache.get(HASH, "train", params) is None
    assert cache.get(HASH, "test", params) is not None  # the misses removed nothing


def test_cache_file_for_other_weights_is_a_miss_and_removed(cache):
    params = ProjectionParams("pca")
    cache.put(HASH, "test", params, np.zeros((10, 2), dtype=np.float32))
    other = "fedcba9876543210"
    # A file under the right name but made for other weights (e.g. copied by hand).
    os.replace(cache.path_for(HASH, "test", params), cache.path_for(other, "test", params))
    assert cache.get(other, "test", params) is None
    assert not cache.path_for(other, "test", params).exists()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "wrong tensor"])
def test_corrupted_cache_file_is_a_miss_and_removed(cache, damage):
    params = ProjectionParams("umap")
    cache.put(HASH, "test", params, np.ones((50, 2), dtype=np.float32))
    path = cache.path_for(HASH, "test", params)
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"\x00not a safetensors file" * 10)
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        from safetensors.numpy import save_file

        save_file({"coords": np.ones((50, 3), dtype=np.float32)}, str(path),
                  metadata={"format": projection_files.FILE_FORMAT, "model_hash": HASH})
    assert cache.get(HASH, "test", params) is None
    assert not path.exists()


def test_cache_keeps_at_most_max_files(tmp_path):
    cache = ProjectionCache(tmp_path, max_files=3)
    coords = np.zeros((4, 2), dtype=np.float32)
    for seed in range(5):
        params = ProjectionParams("pca", seed=seed)
        cache.put(HASH, "test", params, coords)
        path = cache.path_for(HASH, "test", params)
        os.utime(path, (1_000_000 + seed, 1_000_000 + seed))  # distinct, ordered ages
    left = sorted(p.name for p in tmp_path.iterdir())
    assert len(left) == 3
    assert left == sorted(f"{HASH}-test-pca-s{s}.safetensors" for s in (2, 3, 4))


def test_cache_that_cannot_be_written_is_skipped(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    cache = ProjectionCache(blocker / "cache")
    params = ProjectionParams("pca")
    assert cache.put(HASH, "test", params, np.zeros((4, 2), dtype=np.float32)) is False
    assert cache.get(HASH, "test", params) is None


def test_cache_rejects_unsafe_names(cache):
    with pytest.raises(ConfigError):
        cache.get("../escape", "test", ProjectionParams())


def test_default_cache_root(monkeypatch, tmp_path):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "here"))
    assert projection_files.default_cache_root() == tmp_path / "here" / "projections"
    monkeypatch.delenv("EXPLORER_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert projection_files.default_cache_root() == (
        Path.home() / ".cache" / "latent-explorer" / "projections")


def test_save_and_load_coords_beside_a_model(tmp_path):
    path = tmp_path / "pretrained" / "m" / "projection-umap.safetensors"
    coords = np.random.default_rng(0).normal(size=(25, 2)).astype(np.float32)
    save_coords(path, coords, HASH, "test", ProjectionParams("umap"))
    assert np.array_equal(load_coords(path, HASH), coords)
    assert np.array_equal(load_coords(path, HASH, expected_rows=25), coords)
    assert load_coords(path, "fedcba9876543210") is None  # stale: the weights changed
    assert load_coords(path, HASH, expected_rows=24) is None
    assert load_coords(tmp_path / "missing.safetensors", HASH) is None
    path.write_bytes(b"junk")
    assert load_coords(path, HASH) is None
    assert path.exists()  # a shipped file is never deleted by a reader


# ---------------------------------------------------------------------------------------------
# Background job


def test_job_computes_the_map_and_fills_the_cache(cache):
    codes, _, _ = blobs()
    params = ProjectionParams("pca")
    job = ProjectionJob(codes, params, cache=cache, model_hash=HASH, data_key="test")
    assert not job.done and job.elapsed() == 0.0 and job.stage == projection_jobs.STAGE_NOT_STARTED
    assert job.start() is job
    job.start()  # a second start does nothing
    assert job.wait(30)
    assert job.error is None and job.stage == projection_jobs.STAGE_DONE
    assert job.elapsed() > 0.0
    assert job.elapsed() == job.elapsed()  # frozen once done
    assert np.array_equal(job.result.coords, project(codes, params))
    assert np.array_equal(cache.get(HASH, "test", params), job.result.coords)


@pytest.mark.usefixtures("warm_umap")
def test_umap_job_matches_a_direct_fit():
    codes, _, _ = blobs()
    job = ProjectionJob(codes, ProjectionParams("umap")).start()
    assert job.wait(60) and job.error is None
    assert np.array_equal(job.result.coords, project(codes, ProjectionParams("umap")))


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
def test_job_reports_bad_codes_as_a_sentence(method, monkeypatch):
    escaped = []
    monkeypatch.setattr(threading, "excepthook", lambda args: escaped.append(args))
    codes, _, _ = blobs()
    codes[3, 1] = np.nan
    job = ProjectionJob(codes, ProjectionParams(method)).start()
    assert job.wait(30)
    assert job.result is None and not escaped
    assert "NaN" in job.error and job.error.endswith(".")
    assert job.stage == projection_jobs.STAGE_DONE


def test_job_error_sentence_for_unexpected_failures():
    assert projection_jobs._error_sentence(RuntimeError("boom"), "umap") == (
        "UMAP stopped with an unexpected RuntimeError (boom).")
    assert projection_jobs._error_sentence(ExplorerError("Nope."), "pca") == "Nope."


def test_projection_files_never_unpickle(tmp_path, marker):
    path = tmp_path / "projection-umap.safetensors"
    path.write_bytes(evil_pickle(marker))
    assert projection_files.load_coords(path, "0123456789abcdef") is None
    assert path.exists()  # a shipped map is not ours to delete
    cache = projection_files.ProjectionCache(tmp_path / "cache")
    params = projection.ProjectionParams("pca")
    cached = cache.path_for("0123456789abcdef", "digits-test", params)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(evil_torch_save(marker))
    assert cache.get("0123456789abcdef", "digits-test", params) is None
    assert not cached.exists()  # a corrupt cache entry is dropped


def test_background_maps_take_turns_and_a_superseded_one_is_dropped(monkeypatch):
    """One slot: a second map waits for the first; a map its session gave up on while it waited
    is never fitted; one still wanted by another session is."""
    monkeypatch.setattr(projection_jobs, "_SLOTS", threading.BoundedSemaphore(1))
    gate, fitting = threading.Event(), threading.Event()
    real_fit = projection_jobs.fit_projection

    def slow_fit(codes, params, progress=None):
        fitting.set()  # this job holds the one slot
        gate.wait(10)
        return real_fit(codes, params, progress)

    monkeypatch.setattr(projection_jobs, "fit_projection", slow_fit)
    codes = np.random.default_rng(0).normal(size=(60, 5)).astype(np.float32)
    first = ProjectionJob(codes, ProjectionParams("tsne", perplexity=5.0))
    first.claim("a")
    first.start()
    assert fitting.wait(30)  # `first` holds the slot before the others ask for it
    abandoned = ProjectionJob(codes, ProjectionParams("tsne", perplexity=6.0))
    abandoned.claim("a")
    abandoned.start()
    shared = ProjectionJob(codes, ProjectionParams("tsne", perplexity=7.0))
    shared.claim("a")
    shared.claim("b")
    shared.start()
    assert abandoned.stage == shared.stage == projection_jobs.STAGE_QUEUED
    abandoned.release("a")  # "a" moved the slider again
    shared.release("a")  # ... but "b" still wants this one
    assert abandoned.wait(5) and abandoned.dropped and abandoned.result is None
    gate.set()
    assert first.wait(60) and first.result is not None
    assert shared.wait(60) and shared.result is not None and not shared.dropped


# ---------------------------------------------------------------------------------------------
# 3-D maps (the latent map's 3-D view)


def test_a_3d_map_has_its_own_key_and_2d_keys_are_unchanged():
    for method in projection.METHODS:
        flat, deep = ProjectionParams(method), ProjectionParams(method, n_components=3)
        assert deep.key() != flat.key() and deep.key().startswith(flat.key())
        assert ProjectionParams.from_dict(deep.to_dict()) == deep
    # Files written before 3-D maps existed carry no n_components: they are 2-D maps.
    old = {k: v for k, v in ProjectionParams("tsne").to_dict().items() if k != "n_components"}
    assert ProjectionParams.from_dict(old) == ProjectionParams("tsne")
    with pytest.raises(ConfigError):
        ProjectionParams(n_components=4)


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
def test_3d_maps_have_three_columns_and_keep_blobs_apart(method, fitted):
    if method == "umap":
        projection.warm_up_umap()
    codes, labels, _ = blobs()
    proj = fit_projection(codes, ProjectionParams(method, n_components=3))
    assert proj.coords.shape == (len(codes), 3) and proj.coords.dtype == np.float32
    assert knn_accuracy(proj.coords, labels) > 0.95
    assert proj.transform(codes[:5]).shape == (5, 3)
    assert proj.transform(codes[:0]).shape == (0, 3)


def test_pca_3d_is_the_first_three_principal_components():
    codes, _, _ = blobs(dim=8)
    coords = project(codes, ProjectionParams("pca", n_components=3))
    # The principal components from an SVD of the centred codes, each up to its sign.
    centred = codes.astype(np.float64) - codes.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    expected = u[:, :3] * s[:3]  # (N, 3)
    signs = np.sign((coords * expected).sum(axis=0))
    assert np.allclose(coords * signs, expected, atol=1e-3 * np.abs(expected).max())
    # and the 3-D map's first two axes are the 2-D PCA map
    flat = project(codes, ProjectionParams("pca"))
    assert np.allclose(np.abs(coords[:, :2]), np.abs(flat), atol=1e-4)


def test_codes_of_three_or_fewer_dims_are_their_own_3d_map():
    codes = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    proj = fit_projection(codes, ProjectionParams("umap", n_components=3))
    assert proj.method == "latent" and np.array_equal(proj.coords, codes)
    flat = project(codes[:, :2], ProjectionParams("tsne", n_components=3))
    assert np.array_equal(flat[:, :2], codes[:, :2]) and not flat[:, 2].any()


def test_3d_maps_are_cached_beside_the_2d_ones(cache):
    flat = np.zeros((10, 2), dtype=np.float32)
    deep = np.ones((10, 3), dtype=np.float32)
    p2, p3 = ProjectionParams("umap"), ProjectionParams("umap", n_components=3)
    assert cache.put(HASH, "test", p2, flat) and cache.put(HASH, "test", p3, deep)
    assert np.array_equal(cache.get(HASH, "test", p2), flat)
    assert np.array_equal(cache.get(HASH, "test", p3), deep)
    with pytest.raises(ProjectionError):  # a map's columns must match its settings
        cache.put(HASH, "test", p3, flat)


def test_a_3d_job_fills_the_cache_under_its_own_key(cache):
    codes, _, _ = blobs()
    params = ProjectionParams("tsne", n_components=3)
    job = ProjectionJob(codes, params, cache=cache, model_hash=HASH, data_key="test").start()
    assert job.wait(120) and job.error is None
    assert job.result.coords.shape == (len(codes), 3)
    assert np.array_equal(cache.get(HASH, "test", params), job.result.coords)
    assert cache.get(HASH, "test", ProjectionParams("tsne")) is None


def test_shipped_maps_read_as_2d_maps_of_their_settings():
    """Shipped files were written before n_components existed: they must still match the 2-D
    settings they were made with (and not a 3-D request)."""
    from explorer.analysis.projection_files import SHIPPED_METHODS, UnusableFile, projection_file
    from explorer.runs.store import PRETRAINED_DIR

    folder = PRETRAINED_DIR / "mnist-vae-mlp-z16"
    card = json.loads((folder / "card.json").read_text())
    for method in SHIPPED_METHODS:
        coords = projection_files.read_coords(projection_file(folder, method),
                                              card["content_hash"],
                                              params=ProjectionParams(method))
        assert coords.shape == (card["dataset"]["n_test"], 2)
        with pytest.raises(UnusableFile):
            projection_files.read_coords(projection_file(folder, method), card["content_hash"],
                                         params=ProjectionParams(method, n_components=3))
