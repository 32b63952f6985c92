"""Run names and the model list: nothing escapes the runs folder, nothing is overwritten silently."""

import json
import os
import random
import time
from pathlib import Path

import pytest

from explorer.errors import ConfigError
from explorer.families.models import ModelConfig, build_model
from explorer.runs import store
from explorer.runs.checkpoints import CARD, WEIGHTS, save_model
from explorer.runs.store import (
    clean_stale_temps,
    list_models,
    new_run_path,
    sanitize_run_name,
    suggested_run_name,
    unique_run_name,
)
from tests.hostile import TINY, _card, _model_folder, _saved, evil_pickle, evil_torch_save

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["../evil", "/etc/passwd", "a/../../b", "~root", "C:\\x"])
def test_names_cannot_leave_the_runs_folder(runs, name):
    path = new_run_path(name, runs)
    assert path.parent == runs.resolve()
    assert ".." not in path.name and "/" not in path.name


@pytest.mark.parametrize("name", ["", "   ", "../..", "///", "ééé"[:0] + "…"])
def test_empty_names_are_refused(runs, name):
    with pytest.raises(ConfigError, match="name"):
        new_run_path(name, runs)


def test_long_and_fancy_names_are_cleaned(runs):
    assert len(sanitize_run_name("x" * 500)) == 64
    assert sanitize_run_name("Mon VAE à moi!") == "Mon-VAE-a-moi"


def test_existing_runs_are_not_reused(runs):
    (runs / "mine").mkdir()
    with pytest.raises(ConfigError, match="already exists"):
        new_run_path("mine", runs)
    assert unique_run_name("mine", runs) == "mine-2"


def test_an_unnamed_run_is_named_after_its_data_and_model(runs):
    cfg = ModelConfig(kind="ae", arch="conv", latent_dim=8, hidden=(32, 64))
    name = suggested_run_name("digits", cfg)
    assert name == "digits-ae-conv-z8"
    assert sanitize_run_name(name) == name  # usable as a folder as it is
    (runs / name).mkdir()
    assert unique_run_name(name, runs) == "digits-ae-conv-z8-2"


def test_list_models_reports_broken_folders_and_keeps_going(runs, tmp_path):
    model = build_model(ModelConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=(8,)))
    save_model(model, runs / "good", {"dataset": {"name": "digits"}, "metrics": {"loss": 12.5}})
    (runs / "broken").mkdir()
    (runs / "broken" / "card.json").write_text("nope")
    entries, problems = list_models(tmp_path / "no-pretrained", runs)
    assert [e.name for e in entries] == ["good"]
    assert "VAE" in entries[0].summary and "digits" in entries[0].summary
    assert "12.5" in entries[0].summary
    assert len(problems) == 1 and "not valid JSON" in problems[0]


def _card_with(runs, folder, **fields):
    model = build_model(ModelConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=(8,)))
    save_model(model, runs / folder, {"dataset": {"name": "digits"}})
    card = json.loads((runs / folder / "card.json").read_text())
    card.update(fields)
    (runs / folder / "card.json").write_text(json.dumps(card))


def test_cards_of_the_wrong_shape_list_without_their_bad_fields(runs, tmp_path):
    _card_with(runs, "list-metrics", metrics=[1, 2], train=["x"], dataset="digits", seed="0")
    _card_with(runs, "odd-values", metrics={"loss": "12", "kl": 3.5, "x": [1]},
               history=[{"epoch": 1, "train": [1]}, "row", {"epoch": "2"}], name={"a": 1})
    entries, problems = list_models(tmp_path / "no-pretrained", runs)
    assert problems == [] and len(entries) == 2
    odd = {e.name: e for e in entries}
    assert odd["list-metrics"].summary and "metrics" not in odd["list-metrics"].card
    assert "train" not in odd["list-metrics"].card and "seed" not in odd["list-metrics"].card
    assert odd["odd-values"].card["metrics"] == {"kl": 3.5} and "name" not in odd["odd-values"].card
    assert odd["odd-values"].card["history"] == [{"epoch": 1, "train": {}, "test": {},
                                                  "seconds": 0.0}]


def test_a_deeply_nested_card_is_skipped_with_a_sentence(runs, tmp_path):
    _card_with(runs, "good")
    (runs / "deep").mkdir()
    (runs / "deep" / "card.json").write_text('{"config": ' + "[" * 980 + "]" * 980 + "}")
    (runs / "deep" / "model.safetensors").write_bytes(b"")
    (runs / "pt-only").mkdir()
    (runs / "pt-only" / "model.pt").write_bytes(b"\x80\x04")
    entries, problems = list_models(tmp_path / "no-pretrained", runs)
    assert [e.name for e in entries] == ["good"]
    assert len(problems) == 2 and any("runs/deep" in p and "nested" in p for p in problems)
    assert all(str(tmp_path) not in p and "\n" not in p for p in problems), problems
    assert any(p.startswith("runs/pt-only holds model.pt") for p in problems), problems


def test_stale_temp_folders_are_cleaned_and_fresh_ones_kept(runs):
    _card_with(runs, "good")
    old = time.time() - 7200
    for name in (".homework.x1.tmp", ".homework.x2.tmp", ".mine.old-12-34"):
        (runs / name).mkdir()
        (runs / name / "card.json").write_text("{}")
    (runs / "good" / ".replay.safetensors.abc.tmp").write_bytes(b"half")
    for path in (runs / ".homework.x1.tmp", runs / ".mine.old-12-34",
                 runs / "good" / ".replay.safetensors.abc.tmp"):
        os.utime(path, (old, old))
    done = clean_stale_temps(runs, older_than_s=3600)
    assert sorted(done) == [".homework.x1.tmp", ".mine.old-12-34",
                            "good/.replay.safetensors.abc.tmp"]
    left = sorted(p.name for p in runs.iterdir())
    assert left == [".homework.x2.tmp", "good", "mine"]  # the fresh one may be a save in progress
    assert (runs / "mine" / "card.json").exists()  # a model left only in .old- is put back
    assert sorted(p.name for p in (runs / "good").iterdir()) == ["card.json", "model.safetensors"]


def test_the_model_list_reports_pickles_and_goes_on(tmp_path, marker):
    runs = tmp_path / "runs"
    save_model(build_model(TINY), runs / "good", _card())
    _model_folder(runs / "evil", evil_pickle(marker))  # listed (the card is fine), fails on load
    (runs / "pt-only").mkdir()
    (runs / "pt-only" / "model.pt").write_bytes(evil_torch_save(marker))
    (runs / "pickled-card").mkdir()
    (runs / "pickled-card" / CARD).write_bytes(evil_pickle(marker))
    entries, problems = store.list_models(tmp_path / "no-pretrained", runs)
    assert sorted(e.name for e in entries) == ["evil", "good"]
    text = "\n".join(problems)
    assert "pickled-card" in text and "not valid JSON" in text
    assert "pt-only" in text and "model.pt" in text, problems  # a .pt folder is named, not hidden


HOSTILE_NAMES = ["../evil", "../../pretrained/mnist-vae-mlp-z2", "/etc/passwd", str(ROOT / "app"),
                 "..", ".", "...", ".hidden", "a/../../b", "a\x00b", "\\..\\..\\x", "~", "~/x",
                 "C:\\Windows", "CON", "runs/../../x", "\u202e" + "gpj.exe", "ﾟ･✿ヾ╲(｡◕‿◕｡)╱✿･ﾟ",
                 "x" * 10_000, "-", "a" * 63 + "/" + "b" * 10, "%2e%2e%2f", "name\nwith\nlines"]


def _random_names(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    alphabet = "./\\~:\x00 -_aZ9é\u202e%*?\n"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(n)]


def test_no_run_name_reaches_outside_the_runs_folder(runs, monkeypatch):
    pretrained = store.PRETRAINED_DIR.resolve()
    for name in HOSTILE_NAMES + _random_names(400):
        try:
            path = store.new_run_path(name, runs)
        except ConfigError:
            continue
        assert path.parent == runs.resolve(), name
        assert not path.name.startswith(".") and len(path.name) <= store.MAX_NAME, name
        assert pretrained not in path.parents
    monkeypatch.delenv("EXPLORER_RUNS_DIR")  # the app's default folder: only resolved, not written
    for name in HOSTILE_NAMES:
        try:
            path = store.new_run_path(name, overwrite=True)
        except ConfigError:
            continue
        assert path.parent == (ROOT / "runs").resolve() and pretrained not in path.parents


def test_existing_runs_and_linked_shipped_models_are_never_overwritten(runs, tmp_path):
    shipped = _saved(tmp_path / "pretrained" / "mnist-vae")
    before = (shipped / WEIGHTS).read_bytes()
    (runs / "link").symlink_to(shipped, target_is_directory=True)
    for overwrite in (False, True):  # even on purpose: the link resolves outside the runs
        with pytest.raises(ConfigError, match="outside the runs folder"):
            store.new_run_path("link", runs, overwrite=overwrite)
    mine = _saved(runs / "mine")
    with pytest.raises(ConfigError, match="already exists"):
        store.new_run_path("mine", runs)
    mine_before = (mine / WEIGHTS).read_bytes()
    assert save_model(build_model(TINY), mine, _card())["name"] == "mine-2"  # a save never replaces
    assert save_model(build_model(TINY), runs / "link", _card())["name"] == "link-2"
    assert (mine / WEIGHTS).read_bytes() == mine_before
    assert (shipped / WEIGHTS).read_bytes() == before


def test_the_pickers_test_number_is_named_for_what_it_is(runs, tmp_path):
    def summary(name, metrics, **cfg):
        model = build_model(ModelConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=(8,), **cfg))
        save_model(model, runs / name, {"dataset": {"name": "digits"}, "metrics": metrics})
        entries, _ = list_models(tmp_path / "no-pretrained", runs)
        return {e.name: e.summary for e in entries}[name]

    # A β-VAE's card has its β-weighted loss and its −ELBO: the picker shows the −ELBO, the
    # number Rate and distortion plots, with its unit.
    said = summary("beta", {"loss": 154.6, "neg_elbo": 126.8}, beta=4.0)
    assert "test −ELBO 126.8 nats per image" in said and "154.6" not in said
    # An older card without it: the loss, said to be β-weighted.
    said = summary("old-beta", {"loss": 154.6}, beta=4.0)
    assert "test loss (β-weighted, β=4) 154.6 nats per image" in said
    # An autoencoder's loss is its reconstruction cost; a squared error is no number of nats.
    assert "test loss 98.0 nats per image" in summary("ae", {"loss": 98.0}, kind="ae")
    said = summary("ae-mse", {"loss": 12.0}, kind="ae", likelihood="gaussian")
    assert "test loss (squared error) 12.0 per image" in said and "nats" not in said
