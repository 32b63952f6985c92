"""Run names and the model list: nothing escapes the runs folder, nothing is overwritten silently."""

import pytest

from explorer.checkpoints import save_model
from explorer.errors import ConfigError
from explorer.models import ModelConfig, build_model
from explorer.store import (
    list_models,
    new_run_path,
    sanitize_run_name,
    suggested_run_name,
    unique_run_name,
)


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
