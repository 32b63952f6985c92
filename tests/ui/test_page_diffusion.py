"""The Latent diffusion page (AppTest): the movie, the moment at t, the followed sample, the
samples beside the base's own; and a model without a prior is told how to train one."""

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explorer.families.latent_diffusion import DiffusionConfig, DiffusionTrainConfig
from explorer.families.latent_diffusion.run import resolve_base, run_diffusion
from tests.apptest_helpers import open_page as open_app_page

ROOT = Path(__file__).resolve().parents[2]
PAGE = "explorer/ui/pages/diffusion.py"
BASE = "pretrained/mnist-vae-mlp-z2"


def open_page(model: str, prior: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state["model"] = model
    if prior:  # a shipped prior comes first in the list; these tests look at their own
        at.session_state["ld_prior"] = prior
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


@pytest.fixture
def prior_run(runs):
    """A briefly trained prior over the shipped 2-D VAE, in a private runs folder."""
    base = resolve_base(BASE)
    run_diffusion(base, DiffusionConfig(latent_dim=2, hidden=32, blocks=1, timesteps=100),
                  DiffusionTrainConfig(epochs=2), runs / "vae-z2-prior")
    return runs / "vae-z2-prior"


def test_the_movie_starts_as_noise_and_ends_on_the_codes(prior_run):
    at = open_page(BASE, "runs/vae-z2-prior")
    assert not at.error, [e.value for e in at.error]
    movie, moment = charts(at)
    frames = movie["frames"]
    assert len(frames) >= 2 and frames[0]["name"].startswith("t = 100")
    assert frames[-1]["name"] == "t = 0" and len(frames) == 26  # 50 steps: 26 of 51 shown
    assert len(movie["layout"]["sliders"][0]["steps"]) == len(frames)
    assert movie["layout"]["updatemenus"][0]["buttons"][0]["label"].endswith("Play")
    # the strip decodes the followed sample at each shown step, from t = T to t = 0
    strip = [c for image in at.image for c in image.captions if c.startswith("t = ")]
    assert strip[0] == "t = 100" and strip[-1] == "t = 0"
    # the moment's arrows: a grid of segments
    names = [trace.get("name", "") for trace in moment["data"]]
    assert any(n.startswith("−ε̂") for n in names)
    assert f"samples at t = {at.select_slider(key='ld_t').value}" in names


def test_moving_t_moves_the_samples_and_the_steps_change_the_path(prior_run):
    at = open_page(BASE, "runs/vae-z2-prior")
    t_slider = at.select_slider(key="ld_t")
    options = [int(o) for o in t_slider.options]
    at.select_slider(key="ld_t").set_value(options[0]).run()
    first = [t for t in charts(at)[1]["data"] if t.get("name", "").startswith("samples at")][0]
    at.select_slider(key="ld_t").set_value(options[-1]).run()
    last = [t for t in charts(at)[1]["data"] if t.get("name", "").startswith("samples at")][0]
    assert first["name"] == f"samples at t = {options[0]}"
    assert last["name"] == "samples at t = 0"
    assert not np.allclose(_xs(first), _xs(last))
    at.select_slider(key="ld_steps").set_value(10).run()
    assert not at.exception
    assert len(charts(at)[0]["frames"]) == 11  # 10 steps: T, ..., 0


def _xs(trace: dict) -> np.ndarray:
    x = trace["x"]
    if isinstance(x, dict):  # a typed array, as plotly.py sends numpy arrays
        import base64

        return np.frombuffer(base64.b64decode(x["bdata"]), dtype=x["dtype"])
    return np.asarray(x, dtype=float)


def test_a_model_without_a_prior_says_how_to_train_one(runs):
    at = open_page("pretrained/digits-vae-mlp-z2")
    assert any("--model latent-diffusion --base pretrained/digits-vae-mlp-z2" in i.value
               for i in at.info)


@pytest.mark.slow  # a worker process trains it
def test_training_a_prior_runs_in_the_queue_and_lists_it(runs):
    """Train on a model without a prior: the job runs in the shared engine, its loss is drawn
    live, and once saved the page shows the new prior with its base named."""
    import time

    at = open_page("pretrained/digits-ae-mlp-z2")
    at.number_input(key="ld_epochs").set_value(3)
    at.form_submit_button[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    job = at.session_state["ld_job"]
    deadline = time.monotonic() + 120
    while job.snapshot().active and time.monotonic() < deadline:
        time.sleep(0.3)
    state = job.snapshot()
    assert state.status == "finished", state.message
    assert len(state.history) == 3 and state.steps
    at.run()
    assert not at.exception
    folder = runs / job.name
    card = json.loads((folder / "diffusion.json").read_text())
    assert card["base"]["label"] == "pretrained/digits-ae-mlp-z2"
    assert card["base"]["content_hash"] == json.loads(
        (ROOT / "pretrained/digits-ae-mlp-z2/card.json").read_text())["content_hash"]
    assert any(c.value.startswith(f"runs/{job.name}: trained over pretrained/digits-ae-mlp-z2")
               for c in at.caption)


def test_a_16d_prior_shows_a_strip_and_samples_beside_the_bases_own(runs):
    base = resolve_base("pretrained/mnist-ae-mlp-z16")
    run_diffusion(base, DiffusionConfig(latent_dim=16, hidden=32, blocks=1, timesteps=100),
                  DiffusionTrainConfig(epochs=1), runs / "ae-z16-prior")
    at = open_page("pretrained/mnist-ae-mlp-z16", "runs/ae-z16-prior")
    assert not at.error, [e.value for e in at.error]
    assert not at.get("plotly_chart"), "no map movie for a 16-D code"
    captions = [c for image in at.image for c in image.captions]
    assert sum(c.startswith("t = ") for c in captions) >= 2
    assert any(c.startswith("diffusion prior, DDPM 50 steps, seed 0") for c in captions)
    assert any("a Gaussian fitted to its training codes" in c for c in captions)


def test_compare_generators_shows_a_base_with_its_diffusion_prior(runs):
    """The 16-D bases appear twice: with their own sampling and with their shipped prior, whose
    row is the score kept in its card (5,000 samples at each of 3 seeds, against the test
    split)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.switch_page("explorer/ui/pages/generators.py").run()
    assert not at.exception and not at.error
    frame = at.main.table[0].value
    card = json.loads((ROOT / "pretrained/mnist-vae-mlp-z16-diffusion/diffusion.json").read_text())
    row = frame.loc["mnist-vae-mlp-z16 + diffusion prior"]
    # over 3 sampling seeds when it shipped, as every other row: "mean ± sd"
    ddpm = card["scores"]["rows"]["diffusion-ddpm"]
    assert ddpm["seeds"] == 3
    mean, _, sd = row.iloc[0].partition(" ± ")
    assert float(mean) == pytest.approx(ddpm["fid"], abs=5e-4)
    assert float(sd) == pytest.approx(ddpm["fid_sd"], abs=5e-4)
    assert "mnist-ae-mlp-z16 + diffusion prior" in frame.index
    # captions are Markdown: the names' punctuation is escaped, shown as typed
    captions = [c.replace("\\", "") for image in at.image for c in image.captions]
    assert "mnist-vae-mlp-z16 + diffusion prior (DDPM, 100 steps)" in captions


def test_rate_and_distortion_shows_a_model_with_its_prior_and_with_a_learned_one(runs):
    """On the R–D page the plane's models that have a diffusion prior are scored both ways, the
    same way (mean ± sd over 3 sampling seeds), and the sidebar's model is sampled both ways."""
    at = open_app_page("explorer/ui/pages/rate_distortion.py", "pretrained/mnist-vae-mlp-z16")
    assert not at.error, [e.value for e in at.error]
    frame = at.main.table[-1].value
    card = json.loads((ROOT / "pretrained/mnist-vae-mlp-z16-diffusion/diffusion.json").read_text())
    for row, key in (("mnist-vae-mlp-z16, z ~ N(0, I)", "prior"),
                     ("mnist-vae-mlp-z16, + diffusion prior (DDPM)", "diffusion-ddpm")):
        mean, _, sd = frame.loc[row].iloc[0].partition(" ± ")
        kept = card["scores"]["rows"][key]
        assert float(mean) == pytest.approx(kept["fid"], abs=5e-4)
        assert float(sd) == pytest.approx(kept["fid_sd"], abs=5e-4)
    assert "mnist-ae-mlp-z16, + diffusion prior (DDPM)" in frame.index  # its neighbour on the plane
    captions = [c.replace("\\", "") for image in at.image for c in image.captions]
    assert "mnist-vae-mlp-z16, its prior z ~ N(0, I), seed 0" in captions
    assert "mnist-vae-mlp-z16 + diffusion prior (DDPM, 100 steps), seed 0" in captions
