"""Numbers a teacher can stand behind: every family trains on the loss its likelihood names, a
reference sample of a sorted split mixes its classes, a binarised subset is drawn as in the whole
split, scores carry their spread across seeds, and the holes are measured two ways."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from explorer import families
from explorer.analysis import inspect_latent, metrics, scores
from explorer.analysis.score_words import table_in_words
from explorer.data import datasets
from explorer.data.datasets import Dataset, load_dataset
from explorer.errors import ConfigError
from explorer.families.gan.measures import train_gan
from explorer.families.models import ModelConfig, build_model
from explorer.training.loop import TrainConfig, train

DIGITS = (1, 8, 8)
C = 0.5  # the constant logit every pixel gets when the loss is checked


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def tiny(digits):
    return Dataset(digits.info, digits.x_train[:96], digits.y_train[:96], digits.x_test[:32],
                   digits.y_test[:32])


def form_likelihoods() -> tuple[str, ...]:
    from explorer.ui.parts.train_form import FIELDS

    (field,) = [f for f in FIELDS if f.setting == "likelihood"]
    return field.options


def expected_recon(likelihood: str, x: torch.Tensor) -> float:
    """The reconstruction cost each likelihood names, for logits C everywhere, per image."""
    n = x[0].numel()
    if likelihood == "gaussian":
        return float(((torch.sigmoid(torch.tensor(C)) - x) ** 2).flatten(1).sum(1).mean())
    return float(n * F.softplus(torch.tensor(C)) - C * x.flatten(1).sum(1).mean())


@pytest.mark.parametrize("likelihood", form_likelihoods())
@pytest.mark.parametrize("kind", families.names())
def test_every_family_and_likelihood_the_form_offers_trains_on_the_loss_it_names(
        kind, likelihood, tiny, monkeypatch):
    family = families.get(kind)
    n_classes = 10 if family.conditional else 0
    make = lambda: ModelConfig(kind, "mlp", DIGITS, latent_dim=4, hidden=(32,),  # noqa: E731
                               likelihood=likelihood, n_classes=n_classes)
    cfg = TrainConfig(epochs=1, batch_size=32, lr=1e-3, seed=0, device="cpu")
    if not family.reconstructs:
        if likelihood != "bernoulli":  # a GAN computes no likelihood: refused, with a sentence
            with pytest.raises(ConfigError, match=f"A {family.label} has no likelihood"):
                make()
            return
        result = train_gan(build_model(make(), torch.Generator().manual_seed(0)), tiny, cfg)
        assert result.status == "finished" and {"g_loss", "d_loss"} <= set(
            result.history[0]["train"])
        return
    model = build_model(make(), torch.Generator().manual_seed(0))
    result = train(model, tiny, cfg)
    assert result.status == "finished", result.message
    assert "recon" in result.history[0]["train"]
    # The loss computed, with the decoder's logits pinned to C: grey pixels of 0.3.
    x = torch.full((4, *DIGITS), 0.3)
    monkeypatch.setattr(model, "decode_logits",
                        lambda z, *y: torch.full((len(z), *DIGITS), C))
    model.eval()
    model.generator = torch.Generator().manual_seed(0)
    y = torch.zeros(4, dtype=torch.long)
    recon = float(family.ops().loss(model, x, y if family.conditional else None)["recon"])
    if likelihood != "binarized":
        assert recon == pytest.approx(expected_recon(likelihood, x), rel=1e-5)
    else:
        # BCE against black-and-white pixels: the mean count of white pixels it implies is a
        # whole number over 4 images, near 0.3 of 64 — never the grey images' 19.2.
        white = (64 * float(F.softplus(torch.tensor(C))) - recon) / C * 4
        assert abs(white - round(white)) < 1e-2 and 4 * 10 <= round(white) <= 4 * 30
        assert recon != pytest.approx(expected_recon("bernoulli", x), rel=1e-4)


def test_the_cli_refuses_a_gan_with_a_likelihood(tmp_path, run_cli):
    ran = run_cli(["train", "--model", "gan", "--likelihood", "binarized", "--dataset", "digits",
                   "--epochs", "1", "--out", str(tmp_path / "gan")])
    assert ran.status == 2 and "A GAN has no likelihood" in ran.err
    assert not (tmp_path / "gan").exists()


# -- "a sample" of a split is not its prefix ---------------------------------------------------
def test_the_reference_sample_mixes_the_classes_of_a_sorted_split(monkeypatch):
    from explorer.families.gan import measures as training_gan

    data = load_dataset("mnist-5k")
    labels = data.y_test.numpy()
    assert len(set(labels[:64].tolist())) == 1, "the stored split is sorted by class"
    ref = datasets.mixed_indices(labels, 64, seed=datasets.REFERENCE_SEED)
    assert len(set(labels[ref].tolist())) == 10 and len(set(ref.tolist())) == 64
    assert np.array_equal(ref, datasets.mixed_indices(labels, 64, seed=datasets.REFERENCE_SEED))
    assert not np.array_equal(np.sort(ref), np.sort(datasets.mixed_indices(labels, 64)))
    # The GAN's collapse warning measures the real images' variety on that sample.
    seen = []
    monkeypatch.setattr(training_gan, "variety", lambda x: seen.append(x) or 1.0)
    small = Dataset(data.info, data.x_train[:8], data.y_train[:8], data.x_test, data.y_test)
    model = build_model(ModelConfig("gan", "mlp", (1, 28, 28), latent_dim=4, hidden=(8,)),
                        torch.Generator().manual_seed(0))
    train_gan(model, small, TrainConfig(epochs=1, batch_size=8, seed=0, device="cpu"))
    assert torch.equal(seen[0], data.x_test[ref])


def test_compare_by_index_starts_with_images_of_many_classes(runs):
    from tests.apptest_helpers import open_page

    at = open_page("explorer/ui/pages/compare.py", "pretrained/mnist-ae-mlp-z2")
    at.segmented_control(key="compare_how").set_value("by index").run()
    indices = [int(i) for i in at.text_input(key="compare_idx").value.split(",")]
    labels = load_dataset("mnist-5k").y_test.numpy()
    assert len(indices) == 8 and len(set(labels[indices].tolist())) == 8


# -- the binarisation of a subset ----------------------------------------------------------------
def test_a_subset_is_binarised_as_the_same_images_in_the_whole_split(digits):
    model = build_model(ModelConfig("vae", "mlp", DIGITS, latent_dim=2, hidden=(8,),
                                    likelihood="binarized"))
    whole = metrics.scoring_images(model, digits.x_test)
    idx = np.array([300, 5, 17, 17])
    part = metrics.scoring_images(model, digits.x_test[idx], indices=idx)
    assert torch.equal(part, whole[idx])
    assert not torch.equal(metrics.scoring_images(model, digits.x_test[idx]), whole[idx])
    # The whole split's draw is the one the shipped cards were measured on.
    u = torch.rand(digits.x_test.shape, generator=torch.Generator().manual_seed(0))
    assert torch.equal(whole, (u < digits.x_test).float())


# -- scores with their spread --------------------------------------------------------------------
def test_scores_carry_their_spread_over_three_sampling_seeds(digits):
    model = build_model(ModelConfig("vae", "mlp", DIGITS, latent_dim=2, hidden=(32,)),
                        torch.Generator().manual_seed(0)).eval()
    result = scores.score_spread(model, digits, n=300)
    runs = [scores.score_model(model, digits, n=300, seed=s) for s in range(3)]
    assert result["seeds"] == 3
    for key in ("fid", "precision", "recall"):
        values = [r[key] for r in runs]
        assert result[key] == pytest.approx(np.mean(values))
        assert result[f"{key}_sd"] == pytest.approx(np.std(values, ddof=1))
    assert result["fid_sd"] > 0  # the seed moves the samples, so the scores
    assert scores.with_spread(result, "precision") == (
        f"{result['precision']:.3f} ± {result['precision_sd']:.3f}")
    assert scores.with_spread(result, "class_accuracy") == "—"


def test_no_rank_is_claimed_inside_the_spread():
    table = {"real images": {"precision": 0.99, "recall": 0.99},
             "vae": {"precision": 0.80, "precision_sd": 0.01, "recall": 0.70, "recall_sd": 0.02},
             "cvae": {"precision": 0.79, "precision_sd": 0.01, "recall": 0.20, "recall_sd": 0.02},
             "gan": {"precision": 0.60, "precision_sd": 0.01, "recall": 0.68, "recall_sd": 0.02}}
    said = table_in_words(table, {"vae": "vae", "cvae": "cvae", "gan": "gan"})
    assert "vae and cvae share the highest precision within their spread" in said, said
    assert "the highest recall" in said and "vae and gan share the highest recall" in said
    assert "ranks 3rd of 3 on precision (0.600 ± 0.010) and 1st to 2nd of 3 on recall" in said
    assert "real" not in said
    table["cvae"]["precision"] = 0.70  # now further apart than their spreads together
    said = table_in_words(table, {"vae": "vae", "cvae": "cvae", "gan": "gan"})
    assert "the highest precision is vae's (0.800 ± 0.010)" in said, said


def test_shipped_scores_hold_the_spread_of_every_generator():
    files = list(scores.SHIPPED_SCORES.glob("*.json"))
    assert files and all("-seeds0-2.json" in f.name for f in files)
    for f in files:
        row = json.loads(f.read_text())
        assert row["seeds"] == 3 and all(f"{k}_sd" in row for k in ("fid", "precision", "recall"))


# -- the holes, measured two ways ----------------------------------------------------------------
def test_holes_against_the_prior_count_scale_and_against_a_fitted_gaussian_only_gaps():
    rng = np.random.default_rng(0)
    far = rng.standard_normal((2000, 2)) * 4.5 + np.array([0.0, -4.8])  # an AE's codes, say
    prior = inspect_latent.holes_fraction(far, n_draws=4000)[0.1]
    fitted = inspect_latent.holes_fraction(far, n_draws=4000, reference="fitted")[0.1]
    assert prior > 0.3 and fitted < 0.05
    two = np.concatenate([rng.standard_normal((1000, 2)) * 0.3 + [-3, 0],
                          rng.standard_normal((1000, 2)) * 0.3 + [3, 0]])  # a gap in the middle
    assert inspect_latent.holes_fraction(two, n_draws=4000, reference="fitted")[0.1] > 0.2
    with pytest.raises(inspect_latent.InspectError):
        inspect_latent.holes_fraction(far, reference="posterior")


def test_eval_json_gives_the_spread_and_both_holes(digits_vae, run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path))
    ran = run_cli(["eval", str(digits_vae[2]), "--json", "--iw-k", "2"])
    assert ran.status == 0
    out = json.loads(ran.out)
    for key in ("fid_sd", "precision_sd", "recall_sd", "holes_prior", "holes_fitted"):
        assert isinstance(out[key], float) and math.isfinite(out[key]), key
    assert 0 <= out["holes_fitted"] <= 1 and 0 <= out["holes_prior"] <= 1


# -- sentences that name the numbers ------------------------------------------------------------
def _sidebar_fields(at) -> list[str]:
    table = at.sidebar.table[0].value
    # The table shows text as typed: Markdown's characters come escaped.
    return [str(c).replace("\\", "") for c in [*table.columns, *table.to_numpy().ravel()]]


def test_the_sidebar_names_each_number_with_its_unit(runs):
    from tests.apptest_helpers import open_page

    at = open_page("explorer/ui/pages/train.py", "pretrained/mnist-vae-mlp-z16")  # grey Bernoulli
    fields = _sidebar_fields(at)
    assert "test PSNR, dB (peak 1)" in fields
    assert not {"test psnr", "test fid", "test iw_bound", "test kl", "test bce"} & set(fields)
    (iw,) = [f for f in fields if f.startswith("test importance-weighted")]
    assert "estimate" in iw and "not a bound" in iw  # grey pixels: no bound on −log p(x)
    at = open_page("explorer/ui/pages/train.py", "pretrained/mnist-vae-binarized-z16")
    fields = _sidebar_fields(at)
    (iw,) = [f for f in fields if f.startswith("test importance-weighted")]
    assert "bound" in iw and "not a bound" not in iw and "binarisation" in iw
    (bce,) = [f for f in fields if f.startswith("test cross-entropy")]
    assert "grey test images" in bce and "not this model's cost" in bce


def test_the_2d_map_of_an_autoencoder_speaks_of_codes_not_posteriors(runs):
    from tests.apptest_helpers import open_page

    for model, word in (("pretrained/mnist-ae-mlp-z2", "code."),
                        ("pretrained/mnist-vae-mlp-z2", "posterior mean.")):
        at = open_page("explorer/ui/pages/latent_map.py", model)
        (said,) = [c.value for c in at.caption if "the map is the latent space itself" in c.value]
        assert said.endswith(f"Each point is one test image's {word}"), said


def test_the_lessons_numbers_are_the_shipped_models_numbers():
    """What the lessons say about the shipped models is what they measure."""
    from scipy.stats import chi

    from explorer.lessons.catalogue import LESSONS
    from explorer.runs.checkpoints import load_model

    text = {lesson.slug: lesson.text for lesson in LESSONS}
    data = load_dataset("mnist-5k")
    shares = {kind: inspect_latent.holes_shares(load_model(f"pretrained/mnist-{kind}-mlp-z2")[0],
                                                data.x_test) for kind in ("ae", "vae")}
    assert "for the AE about half" in text["no-holes"] and 0.4 < shares["ae"]["holes_prior"] < 0.6
    assert "for the 2-D VAE a few percent" in text["no-holes"] and shares["vae"]["holes_prior"] < 0.06
    assert "(a few percent at most for both)" in text["no-holes"]
    assert all(s["holes_fitted"] < 0.06 for s in shares.values())
    _, card = load_model("pretrained/mnist-vae-z8-beta8")
    m = card["metrics"]
    said = f"at β = 8 the rate is still {m['rate']:.1f} nats, with {m['active_units']} of 8"
    assert said in text["rate-distortion"] and m["rate"] > 1
    lo, hi = chi.ppf([0.05, 0.95], 16)
    assert f"radius {lo:.1f} to {hi:.1f} nine times in ten" in text["lerp-vs-slerp"]


def test_eval_prints_each_sample_score_with_its_spread(digits_vae, run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path))
    ran = run_cli(["eval", str(digits_vae[2]), "--iw-k", "2"])
    assert ran.status == 0
    lines = ran.out.splitlines()
    (fid,) = [line for line in lines if line.split()[0] == "fid"]
    assert " ± " in fid and "3 sampling seeds" in fid
    assert not any(line.split()[0].endswith("_sd") for line in lines[1:])


def test_sample_pages_claim_about_the_autoencoder_holds_for_the_shipped_scores():
    """Sample says the shipped 16-D AE, drawn from a Gaussian fitted to its codes, has the lowest
    Fréchet distance on Compare generators: it does, beyond the spread."""
    from explorer.runs import store

    entries, _ = store.list_models(pretrained_dir=scores.CLASSIFIERS.parent,
                                   runs=scores.CLASSIFIERS.parent / "no-runs")
    shown = {e.name: json.loads((scores.SHIPPED_SCORES / scores.spread_file(
                 e.card["content_hash"], "mnist-5k")).read_text())
             for e in entries if e.dataset == "mnist-5k" and e.config.latent_dim > 2}
    ae = shown.pop("mnist-ae-mlp-z16")
    assert all(ae["fid"] + ae["fid_sd"] < s["fid"] - s["fid_sd"] for s in shown.values())
