"""Latent diffusion from the command line, its files and its scores."""

import json

import pytest

from explorer.cli import main
from explorer.data.datasets import load_dataset
from explorer.errors import ModelFileError
from explorer.families.latent_diffusion.evaluate import evaluate
from explorer.families.latent_diffusion.files import WEIGHTS, list_priors, load_prior, priors_of
from explorer.families.latent_diffusion.run import resolve_base
from explorer.runs.store import list_models


def test_cli_trains_a_prior_over_a_base_run_and_the_model_list_ignores_it(runs, run_cli):
    assert main(["train", "--model", "latent-diffusion", "--base", "pretrained/digits-ae-mlp-z2",
                 "--epochs", "2", "--hidden", "32"]) == 0
    folder = runs / "digits-ae-mlp-z2-diffusion"
    prior, card = load_prior(folder)
    base = resolve_base("pretrained/digits-ae-mlp-z2")
    assert card["base"] == base.reference() and card["base"]["content_hash"]
    assert len(card["history"]) == 2 and card["seed"] == 0
    assert [p.id for p in priors_of(base.card["content_hash"])
            if p.id.startswith("runs/")] == ["runs/digits-ae-mlp-z2-diffusion"]
    entries, problems = list_models()
    assert not problems and all(e.path != folder for e in entries)
    # A base that cannot encode is refused with a sentence
    ran = run_cli(["train", "--model", "latent-diffusion", "--base",
                   "pretrained/mnist-gan-conv-z32"])
    assert ran.status == 2 and "autoencoder or a VAE" in ran.err


def test_a_damaged_prior_is_refused_not_loaded(runs):
    base = resolve_base("pretrained/digits-vae-mlp-z2")
    from explorer.families.latent_diffusion import DiffusionConfig, DiffusionTrainConfig
    from explorer.families.latent_diffusion.run import run_diffusion

    run_diffusion(base, DiffusionConfig(latent_dim=2, hidden=16, blocks=1),
                  DiffusionTrainConfig(epochs=1), runs / "p")
    (runs / "p" / WEIGHTS).write_bytes(b"not safetensors")
    with pytest.raises(ModelFileError, match="safetensors"):
        load_prior(runs / "p")
    assert [p.id for p in list_priors({"runs": runs})] == ["runs/p"]  # listed by its card


def test_scores_name_their_reference_and_the_gap(runs):
    base = resolve_base("pretrained/digits-vae-mlp-z2")
    from explorer.families.latent_diffusion import DiffusionConfig, DiffusionTrainConfig
    from explorer.families.latent_diffusion.run import run_diffusion

    outcome = run_diffusion(base, DiffusionConfig(latent_dim=2, hidden=32, blocks=1),
                            DiffusionTrainConfig(epochs=2), None)
    result = evaluate(outcome.model, base.model, load_dataset("digits"), n=300, steps=10,
                      samplers=("ddim",))
    assert set(result["rows"]) == {"diffusion-ddim", "prior", "fitted", "reconstructions"}
    assert result["rows"]["prior"]["n"] == 300 and result["rows"]["prior"]["seeds"] == 3
    assert result["rows"]["reconstructions"]["n"] == len(load_dataset("digits").x_test)
    assert result["measured_against"] == "360 test images of digits"
    top, bottom = result["rows"]["prior"]["fid"], result["rows"]["reconstructions"]["fid"]
    mine = result["rows"]["diffusion-ddim"]["fid"]
    assert result["gap_closed"] == pytest.approx((top - mine) / (top - bottom))
    json.dumps(result)  # what eval --json prints


@pytest.mark.parametrize("name", ["mnist-ae-mlp-z2-diffusion", "mnist-vae-mlp-z2-diffusion",
                                  "mnist-ae-mlp-z16-diffusion", "mnist-vae-mlp-z16-diffusion"])
def test_shipped_priors_belong_to_the_shipped_bases_and_carry_their_scores(name):
    from explorer.pretrain import DIFFUSION
    from explorer.runs.store import PRETRAINED_DIR

    prior, card = load_prior(PRETRAINED_DIR / name)
    base = resolve_base(f"pretrained/{DIFFUSION[name][0]}")
    assert card["base"]["content_hash"] == base.card["content_hash"]
    assert card["train"]["epochs_done"] == DIFFUSION[name][2]["epochs"]
    rows = card["scores"]["rows"]
    assert rows["diffusion-ddpm"]["n"] == 5000 and card["scores"]["seed"] == 0
    # every row over 3 sampling seeds, as every other sample score, with its spread
    assert card["scores"]["seeds"] == 3
    assert all(row["seeds"] == 3 and "fid_sd" in row for row in rows.values())
    # the learned prior's samples are closer to the test images than N(0, I)'s
    assert rows["diffusion-ddpm"]["fid"] < rows["prior"]["fid"]


def test_the_lesson_quotes_the_shipped_priors_scores():
    from explorer.lessons.catalogue import lesson
    from explorer.runs.store import PRETRAINED_DIR

    text = " ".join(lesson("latent-diffusion").text.split())

    def fd(name, row):
        card = json.loads((PRETRAINED_DIR / name / "diffusion.json").read_text())
        return round(card["scores"]["rows"][row]["fid"])

    ae, vae = "mnist-ae-mlp-z16-diffusion", "mnist-vae-mlp-z16-diffusion"
    assert (f"the 16-D AE scores {fd(ae, 'diffusion-ddpm')} with its learned prior against "
            f"{fd(ae, 'fitted')} from a Gaussian") in text
    assert (f"the 16-D VAE {fd(vae, 'diffusion-ddpm')} against {fd(vae, 'prior')} from its "
            "N(0, I) prior") in text


@pytest.mark.slow  # a worker process trains it
def test_stop_ends_a_prior_job_and_keeps_what_it_learned(runs):
    import time

    from explorer.families.latent_diffusion import DiffusionConfig, DiffusionTrainConfig
    from explorer.families.latent_diffusion.jobs import job_items, job_model
    from explorer.jobs import Engine, JobSpec

    engine = Engine(workers=1)
    try:
        spec = JobSpec.over_run(
            job_model("pretrained/digits-vae-mlp-z2", DiffusionConfig(latent_dim=2, hidden=16,
                                                                     blocks=1)),
            DiffusionTrainConfig(epochs=2000, batch_size=64).to_dict(), runs / "long",
            job_items(1437))
        job = engine.submit(spec, owner="a")
        deadline = time.monotonic() + 120
        while len(job.snapshot().history) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        job.stop()
        while job.snapshot().active and time.monotonic() < deadline:
            time.sleep(0.1)
        state = job.snapshot()
        assert state.status == "stopped" and state.saved_path, state.message
        _, card = load_prior(state.saved_path)
        assert 2 <= card["train"]["epochs_done"] < 2000
        assert card["train"]["status"] == "stopped"
    finally:
        engine.shutdown()
