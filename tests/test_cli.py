"""The command line end to end on digits, and its one-line errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
    assert {"mse", "neg_elbo"} <= set(metrics)
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
