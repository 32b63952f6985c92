"""The Family contract: a family added from one folder of the test tree (a linear autoencoder,
tests/families/linear/) is trained, saved, loaded, evaluated and shown by every page and by the
CLI, with no other change to the app; and each built-in family is asked, never named."""

import json
import re
from pathlib import Path

import pytest
import torch

from explorer import families
from explorer.data.datasets import load_dataset
from explorer.families.config import ModelConfig, parameter_count
from explorer.families.generate import sample
from explorer.families.models import build_model
from explorer.jobs import run_training
from explorer.runs.checkpoints import load_model
from explorer.training.loop import TrainConfig, train
from explorer.ui.pages import PAGES
from tests.apptest_helpers import open_page
from tests.families.linear import FAMILY
from tests.families.mean_prior import FAMILY as MEAN_PRIOR

ROOT = Path(__file__).resolve().parents[2]
LINEAR = {"kind": "linear", "arch": "mlp", "image_shape": (1, 8, 8), "latent_dim": 2,
          "hidden": (16,)}


@pytest.fixture
def linear():
    families.register(FAMILY)
    yield FAMILY
    families.unregister(FAMILY.name)


@pytest.fixture
def linear_run(runs, linear):
    outcome = run_training(ModelConfig(**LINEAR), TrainConfig(epochs=3, batch_size=64, seed=0, device="cpu"),
                           "digits", runs / "linear-ae")
    assert outcome.result.status == "finished"
    return outcome


def test_an_unregistered_family_is_refused_with_a_sentence():
    with pytest.raises(Exception, match="Unknown model kind 'linear'"):
        ModelConfig("linear", "mlp", (1, 8, 8), latent_dim=2)


def test_a_registered_family_trains_saves_loads_and_samples(linear_run):
    model, card = load_model(linear_run.path)
    assert type(model).__name__ == "LinearAE" and card["config"]["kind"] == "linear"
    assert sum(p.numel() for p in model.parameters()) == parameter_count(model.cfg)
    history = card["history"]
    assert history[-1]["train"]["loss"] < history[0]["train"]["loss"]  # it learned
    assert {"mse", "loss"} <= set(card["metrics"])  # judged as the autoencoders are
    images, labels = sample(model, 4, seed=0, data=load_dataset("digits"))
    assert images.shape == (4, 1, 8, 8) and labels is None


def test_the_one_loop_trains_every_family_from_the_same_seed_to_the_same_weights(linear):
    data = load_dataset("digits")
    for cfg in [ModelConfig(**LINEAR), ModelConfig("gan", "mlp", (1, 8, 8), latent_dim=4, hidden=(32,)),
                ModelConfig("cvae", "mlp", (1, 8, 8), latent_dim=2, hidden=(32,), n_classes=10)]:
        weights = []
        for _ in range(2):
            model = build_model(cfg, torch.Generator().manual_seed(0))
            torch.manual_seed(len(weights))  # the global state differs: the run must not read it
            result = train(model, data, TrainConfig(epochs=2, batch_size=128, seed=3,
                                                    device="cpu"))
            assert result.status == "finished", cfg.kind
            weights.append(torch.cat([v.flatten().float() for v in model.state_dict().values()]))
        assert torch.equal(weights[0], weights[1]), cfg.kind


@pytest.mark.parametrize("key", list(PAGES))
def test_every_page_handles_the_new_family(key, linear_run):
    model = f"runs/{linear_run.path.name}"
    at = open_page(PAGES[key].path, model)
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["model"] == model
    if key == "train":
        kinds = next(w for w in at.get("button_group") if w.key == "train_kind")
        assert families.get("linear").label in kinds.options  # offered by its own name
    elif key in ("compare", "sample", "interpolate"):
        assert [url for image in at.image for url in image.value], "the page shows images"


def test_the_cli_trains_and_evaluates_the_new_family(runs, linear, run_cli):
    out = runs / "cli-linear"
    ran = run_cli(["train", "--model", "linear", "--dataset", "digits", "--latent-dim", "2",
                   "--epochs", "2", "--batch-size", "64", "--device", "cpu", "--out", str(out)])
    assert ran.status == 0 and "Linear AE" in ran.err
    ran = run_cli(["eval", str(out), "--json"])
    assert ran.status == 0
    metrics = json.loads(ran.out.strip().splitlines()[-1])
    assert metrics["mse"] > 0 and "loss" in metrics


def test_no_family_is_named_outside_the_families_package():
    """Code asks a family what it can do; a branch on a family's name sits in families/ only."""
    named = re.compile(r"""kind\s*(==|!=|in\s*\(|not in\s*\()[^#\n]*["'](ae|vae|cvae|gan)["']""")
    found = [f"{path.relative_to(ROOT)}:{n}"
             for path in [ROOT / "app.py", *sorted((ROOT / "explorer").rglob("*.py"))]
             if "families" not in path.relative_to(ROOT).parts
             for n, line in enumerate(path.read_text().splitlines(), 1) if named.search(line)]
    assert found == []


@pytest.fixture
def mean_prior():
    families.register(MEAN_PRIOR)
    yield MEAN_PRIOR
    families.unregister(MEAN_PRIOR.name)


def test_a_family_over_another_runs_codes_trains_and_evaluates_from_the_cli(runs, mean_prior,
                                                                           run_cli):
    """A family over a base run's codes, added from one test folder, is trained by `train --model
    NAME --base RUN` and evaluated by `eval FOLDER`: the CLI asks the registry, naming none."""
    out = runs / "mean"
    assert run_cli(["train", "--model", "mean-prior", "--base", "pretrained/digits-ae-mlp-z2",
                    "--out", str(out)]).status == 0
    assert mean_prior.owns(out) and families.folder_family(out) is mean_prior
    ran = run_cli(["eval", str(out), "--json"])
    assert ran.status == 0
    assert json.loads(ran.out) == {"base": "pretrained/digits-ae-mlp-z2", "dims": 2}
    assert "mean-prior" not in families.names()  # not offered where image models are


def test_the_job_worker_runs_a_family_over_another_runs_codes(runs, mean_prior):
    from explorer.jobs import JobSpec
    from explorer.jobs.worker import run_job

    spec = JobSpec.over_run({"kind": "mean-prior", "base": "pretrained/digits-vae-mlp-z2"},
                            {"epochs": 1}, runs / "mean-job")
    events = []
    run_job(spec, lambda kind, payload: events.append((kind, payload)), lambda: False)
    assert events == [("done", {"status": "finished", "message": "2 means.",
                                "saved_path": str(runs / "mean-job"), "metrics": {}})]
    assert mean_prior.owns(runs / "mean-job")


def test_the_cli_and_the_job_worker_name_no_family():
    """Families over another run's codes (latent diffusion) reach them through the registry."""
    names = "|".join(re.escape(n) for n in families.names(base_run=True))
    for path in ("explorer/cli.py", "explorer/jobs/worker.py"):
        text = (ROOT / path).read_text()
        assert not re.search(rf"[\"'](?:{names})[\"']|latent_diffusion|diffusion\b", text), path
