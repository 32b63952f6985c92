"""The command line end to end on digits, and its one-line errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # every test runs the CLI in a subprocess


def run(*args, cwd=ROOT, env=None):
    return subprocess.run([sys.executable, "-m", "explorer", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300, env={**os.environ, **(env or {})})


def test_train_then_eval_on_digits(tmp_path):
    out = tmp_path / "cli-vae"
    p = run("train", "--dataset", "digits", "--model", "vae", "--latent-dim", "2", "--hidden",
            "64", "--epochs", "3", "--batch-size", "64", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert "epoch 3/3" in p.stderr and "Saved" in p.stdout
    assert (out / "model.safetensors").exists() and (out / "card.json").exists()
    card = json.loads((out / "card.json").read_text())
    assert len(card["history"]) == 3 and card["dataset"]["name"] == "digits"
    e = run("eval", str(out), "--json")
    assert e.returncode == 0, e.stderr
    metrics = json.loads(e.stdout)
    assert {"mse", "rate", "distortion", "neg_elbo", "iw_bound", "iw_k", "recon_floor"} <= set(metrics)
    assert abs(metrics["rate"] + metrics["distortion"] - metrics["neg_elbo"]) < 1e-6 * metrics["neg_elbo"]
    assert metrics["iw_k"] == 50 and metrics["distortion"] > metrics["recon_floor"] > 0
    assert abs(metrics["neg_elbo"] - card["metrics"]["neg_elbo"]) < 1e-6 * abs(metrics["neg_elbo"]) + 1e-6


def test_an_unnamed_run_gets_the_same_name_as_in_the_app(runs):
    args = ("train", "--dataset", "digits", "--latent-dim", "2", "--hidden", "32 16",
            "--epochs", "1")
    for expected in ("digits-vae-mlp-z2", "digits-vae-mlp-z2-2"):  # never overwrites
        p = run(*args, env={"EXPLORER_RUNS_DIR": str(runs)})
        assert p.returncode == 0, p.stderr
        card = json.loads((runs / expected / "card.json").read_text())
        assert card["config"]["hidden"] == [32, 16]


def test_datasets_lists_offline_sets():
    p = run("datasets")
    assert p.returncode == 0
    assert "mnist-5k" in p.stdout and "digits" in p.stdout and "fashion-mnist" in p.stdout


def test_bad_arguments_get_one_line_and_non_zero_exit(tmp_path):
    for args in (["train", "--dataset", "nope"], ["train", "--latent-dim", "0"],
                 ["train", "--hidden", "abc"], ["eval", str(tmp_path)]):
        p = run(*args)
        assert p.returncode != 0
        lines = [line for line in p.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:"), p.stderr
        assert "Traceback" not in p.stderr


def test_import_adds_a_shared_model_and_says_the_name_it_got(tmp_path):
    import io
    import zipfile

    from safetensors.torch import save as st_save_bytes

    from explorer.families.models import ModelConfig, build_model

    cfg = ModelConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=(8,))
    state = {k: v.contiguous() for k, v in build_model(cfg).state_dict().items()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        card = {"config": cfg.to_dict(), "dataset": {"name": "digits"}}
        zf.writestr("card.json", json.dumps(card))
        zf.writestr("model.safetensors", st_save_bytes(state))
    shared = tmp_path / "from a friend.zip"
    shared.write_bytes(buffer.getvalue())
    runs = tmp_path / "runs"
    stale = runs / ".homework.abc.tmp"
    stale.mkdir(parents=True)
    (stale / "model.safetensors").write_bytes(b"half")
    os.utime(stale, (0, 0))  # left by a save killed long ago
    env = {**os.environ, "EXPLORER_RUNS_DIR": str(runs)}
    first = run("import", str(shared), "--name", "homework", env=env)
    second = run("import", str(shared), "--name", "homework", env=env)
    assert first.returncode == 0 and first.stdout.strip() == "Added runs/homework", first.stderr
    assert second.returncode == 0 and second.stdout.strip() == "Added runs/homework-2"
    assert sorted(p.name for p in runs.iterdir()) == ["homework", "homework-2"]
    shared.write_bytes(b"not a zip")
    bad = run("import", str(shared), env=env)
    lines = [line for line in bad.stderr.splitlines() if line.strip()]
    assert bad.returncode == 2 and len(lines) == 1 and "not a .zip file" in lines[0], bad.stderr
    missing = run("import", str(tmp_path / "nope.zip"), env=env)
    assert missing.returncode == 2 and "could not be read" in missing.stderr


def test_precision_option_reaches_the_card(tmp_path):
    out = tmp_path / "cli-bf16"
    p = run("train", "--dataset", "digits", "--latent-dim", "2", "--hidden", "64", "--epochs",
            "1", "--precision", "bf16", "--out", str(out))
    assert p.returncode == 0, p.stderr
    card = json.loads((out / "card.json").read_text())
    assert card["train"]["precision"] == "bf16" and card["train"]["precision_used"] == "bf16"
    bad = run("train", "--dataset", "digits", "--precision", "fp16")
    assert bad.returncode == 2 and "fp16" in bad.stderr
