"""Start-up: the first page a visitor sees (the default model's latent map) is drawn from the cards,
the saved split and the codes kept on disk, without importing torch (seconds on this machine), and
it is the same map either way."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from explorer.analysis.projection_files import load_codes, save_codes
from explorer.data import datasets
from explorer.runs import checkpoints, store

ROOT = Path(__file__).resolve().parent.parent

# Runs the app's first page in a fresh process and reports what it drew and what it imported.
FIRST_PAGE = """
import base64, json, sys
import numpy as np
sys.path.insert(0, {root!r})
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({app!r}, default_timeout=300)
at.run()
chart = at.get("plotly_chart")[0].proto.spec if at.get("plotly_chart") else None


def count(values):  # plotly sends long arrays as typed binary: {{"dtype": ..., "bdata": ...}}
    if isinstance(values, dict):
        return len(np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]))
    return len(values)


print(json.dumps({{
    "exceptions": [e.value for e in at.exception],
    "title": [t.value for t in at.title],
    "torch": "torch" in sys.modules,
    "points": None if chart is None else sum(count(t.get("x", [])) for t in json.loads(chart)["data"]),
}}))
"""


def first_page(cache: Path, runs: Path) -> dict:
    # The background warm-up (explorer.analysis.warmup) imports torch once the page is drawn, on purpose:
    # off here, so that what is asked is what the page itself imported.
    env = {**os.environ, "EXPLORER_CACHE_DIR": str(cache), "EXPLORER_RUNS_DIR": str(runs),
           "EXPLORER_WARM_UP": "0"}
    script = FIRST_PAGE.format(root=str(ROOT), app=str(ROOT / "app.py"))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_restarted_server_draws_the_first_map_without_torch(tmp_path):
    cache, runs = tmp_path / "cache", tmp_path / "runs"
    runs.mkdir()
    first = first_page(cache, runs)  # a new server: encodes the test set once, and keeps the codes
    again = first_page(cache, runs)  # a restarted one
    for run in (first, again):
        assert run["exceptions"] == [] and "Latent map" in run["title"]
        assert run["points"] == len(datasets.test_labels("mnist-5k"))  # every test image drawn
    assert first["torch"] and not again["torch"]


def test_kept_codes_are_the_models_codes_and_a_bad_file_is_a_miss(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path))
    from explorer.analysis import latent

    entry = store.default_entry(store.list_models()[0])
    model, card = checkpoints.load_model(entry.path)
    codes = latent.encode_dataset(model, datasets.load_dataset(entry.dataset).x_test)
    h, n, d = card["content_hash"], len(codes), model.latent_dim
    assert load_codes(h, "mnist-5k", n, d) is None
    save_codes(h, "mnist-5k", codes)
    np.testing.assert_array_equal(load_codes(h, "mnist-5k", n, d), codes)
    assert load_codes(h, "mnist-5k", n - 1, d) is None  # another test split: not these codes
    save_codes(h, "mnist-5k", codes)
    path = next(tmp_path.rglob("*.npy"))
    path.write_bytes(b"not an array")
    assert load_codes(h, "mnist-5k", n, d) is None and not path.exists()


def test_the_warm_up_keeps_each_shipped_models_codes_for_the_pages(tmp_path, monkeypatch):
    """A fresh tab's map starts from the codes the background warm-up left on disk: they must be
    the codes the model gives, and a second warm-up has nothing left to do."""
    import numpy as np

    from explorer.analysis import latent, warmup
    from explorer.analysis.projection_files import load_codes
    from explorer.data import datasets
    from explorer.runs import checkpoints, store

    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path))
    encoded = warmup.warm_shipped_codes()
    assert "pretrained/digits-vae-mlp-z2" in encoded
    entry = next(e for e in store.list_models()[0] if e.id == "pretrained/digits-vae-mlp-z2")
    model, _ = checkpoints.load_model(entry.path)
    expected = latent.encode_dataset(model, datasets.load_dataset("digits").x_test)
    kept = load_codes(entry.card["content_hash"], "digits", len(expected), expected.shape[1])
    np.testing.assert_allclose(kept, expected, rtol=1e-6, atol=1e-6)
    assert warmup.warm_shipped_codes() == []


def test_the_warm_up_leaves_shipped_models_loaded_where_a_fresh_tab_asks(tmp_path, monkeypatch):
    """A fresh tab's page asks the process's ModelView for the model and its codes: after the
    warm-up both answer at once (no "Loading the model…" spinner), the same objects every tab
    gets, and a GAN (no encoder) is loaded without codes."""
    from explorer.analysis import warmup
    from explorer.analysis.view import ModelView
    from explorer.runs import store

    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path))
    ModelView.forget_all()
    wanted = {"pretrained/digits-vae-mlp-z2", "pretrained/mnist-gan-conv-z32"}
    assert set(warmup.warm_views(wanted)) == wanted
    for entry in store.list_models()[0]:
        if entry.id in wanted:
            view = ModelView.of(str(entry.path), entry.card["content_hash"])
            assert view.ready("model")
            assert view.ready("codes") == (entry.id != "pretrained/mnist-gan-conv-z32")
    ModelView.forget_all()
