"""Inside the latent space: KL per dimension, the decoded grid and the densities behind the holes
picture, posterior ellipses, the training replay, and the Inside page's tabs under AppTest."""

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from explorer.analysis import inspect_latent, latent, metrics, replay
from explorer.data.datasets import load_dataset
from explorer.families.models import ModelConfig, build_model
from explorer.figures import plots as figures
from explorer.jobs import Engine, JobSpec
from explorer.runs.checkpoints import load_model
from explorer.training.loop import TrainConfig

ROOT = Path(__file__).resolve().parents[2]
TABS = ("KL per dimension", "Holes", "Uncertainty", "Training replay")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def vae8(digits):
    """An untrained 8x8 VAE with 4 latent dimensions: every shape is right, no training needed."""
    torch.manual_seed(0)
    return build_model(ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=4, hidden=(16,)))


# -- KL per dimension ---------------------------------------------------------------------------
def test_kl_per_dimension_sums_to_the_models_total_kl(digits):
    model, _ = load_model(ROOT / "pretrained" / "digits-vae-mlp-z2")
    x = digits.x_test
    usage = inspect_latent.latent_usage(model, x)
    with torch.inference_mode():
        total = float(model.kl(model.encode(x)).mean())
    assert usage.values.shape == (2,) and (usage.values >= 0).all()
    assert usage.values.sum() == pytest.approx(total, rel=1e-4)
    assert usage.total_kl == pytest.approx(total, rel=1e-4)
    assert usage.active == metrics.active_units(model, x)
    assert (np.diff(usage.values[usage.order]) <= 0).all()  # bars run most used first
    assert not usage.collapsed


def test_an_autoencoder_reports_code_variance_and_a_dead_encoder_reports_collapse(digits, vae8):
    model, _ = load_model(ROOT / "pretrained" / "digits-ae-mlp-z2")
    usage = inspect_latent.latent_usage(model, digits.x_test)
    assert usage.total_kl is None and not usage.collapsed
    np.testing.assert_allclose(usage.values, metrics.code_variance(model, digits.x_test))
    dead = build_model(vae8.cfg)
    with torch.no_grad():  # mu = 0 and logvar = 0 for every image: q(z|x) is the prior
        dead.encoder[-1].weight.zero_()
        dead.encoder[-1].bias.zero_()
    collapsed = inspect_latent.latent_usage(dead, digits.x_test[:50])
    assert collapsed.total_kl == pytest.approx(0.0, abs=1e-6)
    assert collapsed.active == 0 and collapsed.collapsed


# -- holes: grid, densities -----------------------------------------------------------------------
def test_decoded_grid_tiles_the_extent_with_y_pointing_up(vae8):
    extent = (-2.0, 2.0, -1.0, 3.0)
    center = np.array([0.0, 0.5, 0.0, -0.5], dtype=np.float32)
    image, out_extent = inspect_latent.decoded_grid(vae8, extent, 5, dims=(0, 2), center=center)
    assert image.shape == (5 * 8, 5 * 8) and out_extent == extent
    xs, ys = inspect_latent.grid_centres(extent, 5)
    np.testing.assert_allclose(xs, [-1.6, -0.8, 0.0, 0.8, 1.6], atol=1e-6)
    top_left = center.copy()
    top_left[[0, 2]] = xs[0], ys[-1]  # lowest z[0], highest z[2]
    np.testing.assert_allclose(image[:8, :8], latent.decode(vae8, top_left)[0], atol=1e-6)
    bottom_right = center.copy()
    bottom_right[[0, 2]] = xs[-1], ys[0]
    np.testing.assert_allclose(image[-8:, -8:], latent.decode(vae8, bottom_right)[0], atol=1e-6)
    with pytest.raises(inspect_latent.InspectError, match="two different"):
        inspect_latent.decoded_grid(vae8, extent, 5, dims=(1, 1))


def test_densities_integrate_to_one_and_peak_where_the_mass_is():
    rng = np.random.default_rng(0)
    codes = rng.normal([3.0, -2.0], 0.3, size=(400, 2))
    xs = ys = np.linspace(-8, 8, 161)
    cell = (xs[1] - xs[0]) ** 2
    data = inspect_latent.data_density(codes, xs, ys)
    prior = inspect_latent.prior_density(xs, ys)
    assert data.shape == prior.shape == (161, 161)
    assert data.sum() * cell == pytest.approx(1.0, abs=1e-3)
    assert prior.sum() * cell == pytest.approx(1.0, abs=1e-3)
    row, col = np.unravel_index(data.argmax(), data.shape)
    assert abs(xs[col] - 3.0) < 0.3 and abs(ys[row] + 2.0) < 0.3  # rows follow y
    row, col = np.unravel_index(prior.argmax(), prior.shape)
    assert xs[col] == pytest.approx(0.0) and ys[row] == pytest.approx(0.0)
    on_1_sigma = inspect_latent.prior_density([1.0], [0.0])[0, 0]
    assert on_1_sigma == pytest.approx(inspect_latent.prior_level(1.0))
    half = inspect_latent.mass_levels(data, cell, (0.5,))[0]
    assert (data[data >= half].sum() * cell) == pytest.approx(0.5, abs=0.02)


def test_sigma_ellipse_mass_matches_a_sampled_estimate():
    z = torch.distributions.MultivariateNormal(torch.zeros(2), torch.eye(2)).sample((200_000,))
    r = z.norm(dim=1)
    for n in (1.0, 2.0):
        assert inspect_latent.sigma_mass(n) == pytest.approx(float((r <= n).float().mean()),
                                                             abs=0.005)
    assert round(inspect_latent.sigma_mass(1), 2) == 0.39 and round(inspect_latent.sigma_mass(2), 2) == 0.86


def test_holes_fraction_matches_an_independent_estimate():
    from sklearn.neighbors import KernelDensity

    rng = np.random.default_rng(1)
    codes = np.concatenate([rng.normal(-2, 0.3, (300, 2)), rng.normal(2, 0.3, (300, 2))])
    share = inspect_latent.holes_fraction(codes, n_draws=5000, seed=3)
    # scikit-learn's KDE with the same bandwidth and torch's prior density, on fresh prior draws.
    kde = KernelDensity(bandwidth=inspect_latent.scott_bandwidth(codes)).fit(codes)
    z = rng.standard_normal((5000, 2))
    prior = torch.distributions.MultivariateNormal(torch.zeros(2), torch.eye(2))
    log_prior = prior.log_prob(torch.as_tensor(z, dtype=torch.float32)).double().numpy()
    independent = float((kde.score_samples(z) < np.log(0.1) + log_prior).mean())
    assert share[0.1] == pytest.approx(independent, abs=0.03)
    assert share[0.1] > 0.3  # two far clusters leave the prior's middle empty
    # Codes drawn from the prior itself leave (almost) no holes.
    prior_codes = rng.standard_normal((1000, 2))
    assert inspect_latent.holes_fraction(prior_codes, seed=3)[0.1] < 0.05


def test_map_extent_covers_the_prior_and_the_codes():
    x0, x1, y0, y1 = inspect_latent.map_extent(np.array([[10.0, 0.0], [12.0, 1.0]]))
    assert x0 < -3 and x1 > 12 and y0 < -3 and y1 > 3


# -- uncertainty ----------------------------------------------------------------------------------
def test_posterior_ellipse_has_the_posteriors_standard_deviations_as_half_axes():
    mu = np.array([0.5, -1.0, 2.0])
    logvar = np.array([np.log(0.04), 0.0, np.log(0.25)])  # sigma 0.2, 1, 0.5
    x, y = inspect_latent.posterior_ellipse(mu, logvar, dims=(0, 2), n_sigma=1, n_points=65)
    assert x.shape == y.shape == (65,)
    assert (x[0], y[0]) == pytest.approx((x[-1], y[-1]))  # closed
    assert x.max() - mu[0] == pytest.approx(np.exp(0.5 * logvar[0]))
    assert mu[0] - x.min() == pytest.approx(0.2)
    assert y[16] - mu[2] == pytest.approx(0.5)  # t = pi / 2
    x2, y2 = inspect_latent.posterior_ellipse(mu, logvar, dims=(0, 2), n_sigma=2)
    assert x2.max() - mu[0] == pytest.approx(0.4)


# -- training replay ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def replay_run(tmp_path_factory):
    """A 2-D VAE trained for 3 epochs by the job engine, as the Train page would: its run folder."""
    runs = tmp_path_factory.mktemp("runs")
    cfg = ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=2, hidden=(32,))
    engine = Engine(workers=1, runs=runs)
    job = engine.submit(JobSpec.build(cfg, TrainConfig(epochs=3, batch_size=128), "digits",
                                      "replayed"))
    deadline = time.time() + 120
    while job.snapshot().active and time.time() < deadline:
        time.sleep(0.05)
    state = job.snapshot()
    assert state.status == "finished", state.message
    assert state.replay
    engine.shutdown()
    return job


@pytest.mark.slow
def test_a_training_job_writes_a_replay_beside_the_run(replay_run):
    replay_run = Path(replay_run.spec.out)
    _, card = load_model(replay_run)
    recorded = replay.load_replay(replay_run, card["content_hash"])
    assert recorded is not None
    assert recorded.epochs.tolist() == [0, 1, 2, 3]  # the untrained model, then every epoch
    assert recorded.codes.shape == (4, 360, 2)  # digits has 360 test images (< 500)
    np.testing.assert_array_equal(recorded.labels, load_dataset("digits").y_test.numpy())
    final = latent.encode_dataset(load_model(replay_run)[0], load_dataset("digits").x_test)
    np.testing.assert_allclose(recorded.codes[-1], final, atol=1e-4)  # last frame = saved model
    assert replay.load_replay(replay_run, "another-model") is None  # stale: ignored
    assert replay.replay_coords(recorded).shape == (4, 360, 2)
    assert not list(replay_run.glob(".*.tmp")), "no temp file left behind"


def test_replay_frames_are_thinned_and_share_one_projection(tmp_path, vae8, digits):
    recorder = replay.ReplayRecorder(n_images=40, max_frames=5)
    recorder.start(vae8, digits.x_test, digits.y_test)
    for epoch in range(1, 10):
        recorder.capture(vae8, epoch)
    epochs = [e for e, _ in recorder.frames]
    assert len(epochs) <= 5 and epochs[0] == 0 and epochs[-1] == 9
    # a seeded sample of the test split, not its first images (a split may be sorted by class)
    assert len(set(recorder.indices)) == 40 and recorder.indices[-1] > 40
    np.testing.assert_array_equal(recorder.labels, digits.y_test.numpy()[recorder.indices])
    recorder.save(tmp_path, "hash")
    recorded = replay.load_replay(tmp_path)
    np.testing.assert_array_equal(recorded.indices, recorder.indices)
    coords = replay.replay_coords(recorded, "pca")  # 4-D codes: PCA fitted on the last frame
    assert coords.shape == (len(epochs), 40, 2)
    fig = figures.replay_figure(coords, recorded.epochs, recorded.labels, digits.class_names)
    assert len(fig.frames) == len(epochs) and fig.layout.sliders


@pytest.mark.slow
def test_training_and_its_replay_load_no_plotting_library():
    """The replay sits below the jobs: training a model never imports plotly."""
    code = ("import sys, explorer.jobs, explorer.analysis.replay; "
            "sys.exit('plotly' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


# -- the page -------------------------------------------------------------------------------------
def open_inside(model: str, tab: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["model"] = model
    at.session_state["inside_tab"] = tab
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page("explorer/ui/pages/inside.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def charts(at: AppTest) -> list:
    return list(at.get("plotly_chart"))


@pytest.mark.parametrize("model", ["pretrained/mnist-vae-mlp-z2", "pretrained/mnist-ae-mlp-z16",
                                   "pretrained/digits-vae-mlp-z2"])
def test_every_tab_renders_without_error(model, runs):
    at = open_inside(model, TABS[0])
    for tab in TABS:
        at.session_state["inside_tab"] = tab  # what clicking the tab does; only it runs
        at.query_params["inside_tab"] = tab  # the open tab lives in the URL too
        at.run()
        assert not at.exception, (tab, [e.message for e in at.exception])
        assert not at.error, (tab, [e.value for e in at.error])
        assert at.title[0].value == "Inside the latent space"
        if tab in ("KL per dimension", "Holes"):
            assert charts(at), tab
        if tab == "Uncertainty":
            assert charts(at) if "vae" in model else any("one point" in i.value for i in at.info)
        if tab == "Training replay":  # shipped models carry the replay of their training
            assert charts(at) and any("frames" in c.value for c in at.caption), tab


def test_kl_tab_shows_total_kl_and_active_units_for_a_vae(runs):
    at = open_inside("pretrained/mnist-vae-mlp-z16", "KL per dimension")
    labels = [m.label for m in at.metric]
    assert "Rate (total KL)" in labels and "Active units" in labels
    assert any("Interpolate" in c.value for c in at.caption)


def test_holes_side_by_side_and_bad_choices_get_a_sentence(runs):
    at = open_inside("pretrained/digits-vae-mlp-z2", "Holes", holes_compare=True)
    assert len(charts(at)) == 2, "the AE and the VAE side by side"
    holes = [m.value for m in at.markdown if "Against the prior N(0, I)" in m.value]
    assert len(holes) == 2, "each model's measured holes under its picture"
    # Both shares, each said with what it measures: against the prior and against a Gaussian
    # fitted to the model's own codes.
    assert all(h.count("%**") == 2 and "fitted to the codes" in h for h in holes), holes
    at = open_inside("pretrained/mnist-ae-mlp-z16", "Holes")
    at.selectbox(key="holes_j").set_value(at.selectbox(key="holes_i").value).run()
    assert not at.exception and any("two different" in i.value for i in at.info)
    at = open_inside("pretrained/mnist-vae-mlp-z2", "Uncertainty", unc_how="index")
    at.text_input(key="unc_indices").input("3, banana").run()
    assert not at.exception and any("whole numbers" in e.value for e in at.error)
    at.text_input(key="unc_indices").input("3, 99999").run()
    assert any("no test image #99999" in e.value for e in at.error)


@pytest.mark.slow
def test_replay_tab_animates_a_model_trained_in_the_app(replay_run, monkeypatch):
    monkeypatch.setenv("EXPLORER_RUNS_DIR", str(Path(replay_run.spec.out).parent))
    at = open_inside("runs/replayed", "Training replay")
    assert not at.error, [e.value for e in at.error]
    assert charts(at), "the animation"
    assert any("4 frames" in c.value for c in at.caption)


@pytest.mark.slow
def test_the_train_page_links_a_finished_run_to_its_replay(replay_run, monkeypatch):
    monkeypatch.setenv("EXPLORER_RUNS_DIR", str(Path(replay_run.spec.out).parent))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["train_job"] = replay_run  # as if this tab had trained it
    at.run()
    at.switch_page("explorer/ui/pages/train.py").run()
    at.button(key="train_watch_replay").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "Inside the latent space"
    assert at.session_state["model"] == "runs/replayed"
    assert any("4 frames" in c.value for c in at.caption), "the replay tab is open"
