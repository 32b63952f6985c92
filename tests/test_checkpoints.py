"""Model files: safetensors + JSON round trips, atomic writes, and clear errors for bad files."""

import json
import os
import pickle
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import save_file

from explorer.checkpoints import CARD, WEIGHTS, load_model, save_model
from explorer.errors import ModelFileError
from explorer.models import ModelConfig, build_model

CFG = ModelConfig(kind="vae", arch="conv", image_shape=(1, 8, 8), latent_dim=3, hidden=(4, 8))


def saved(tmp_path, cfg=CFG):
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    save_model(model, tmp_path / "m", {"name": "m", "dataset": {"name": "digits"}})
    return model, tmp_path / "m"


def test_round_trip_gives_identical_tensors_and_outputs(tmp_path):
    model, path = saved(tmp_path)
    loaded, card = load_model(path)
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(model(x)["x_hat"], loaded(x)["x_hat"])
    assert card["config"] == CFG.to_dict() and len(card["content_hash"]) == 16
    assert {"torch", "python"} <= set(card["versions"])


def test_existing_folder_is_not_overwritten_silently(tmp_path):
    model, path = saved(tmp_path)
    with pytest.raises(ModelFileError, match="already exists"):
        save_model(model, path, {})
    save_model(model, path, {"name": "again"}, overwrite=True)
    assert load_model(path)[1]["name"] == "again"
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temp or old folders left


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda p: (p / CARD).write_text("{not json"), "not valid JSON"),
        (lambda p: (p / CARD).unlink(), "no card.json"),
        (lambda p: (p / WEIGHTS).unlink(), "no model.safetensors"),
        (lambda p: (p / WEIGHTS).write_bytes(b"\x00" * 40), "not a valid safetensors"),
        (lambda p: (p / WEIGHTS).write_bytes((p / WEIGHTS).read_bytes()[:500]), "not a valid safetensors"),
        (lambda p: _edit_card(p, kind="gan"), "Unknown model kind"),
        (lambda p: _edit_card(p, latent_dim=5), "shape"),
        (lambda p: _edit_card(p, arch="mlp"), "do not match"),
        (lambda p: _edit_card(p, wings=2), "Unknown model setting"),
        (lambda p: save_file({"x": torch.zeros(2)}, str(p / WEIGHTS)), "do not match"),
    ],
)
def test_bad_files_give_a_clear_error(tmp_path, damage, message):
    _, path = saved(tmp_path)
    damage(path)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def _edit_card(path, **changes):
    card = json.loads((path / CARD).read_text())
    card["config"].update(changes)
    (path / CARD).write_text(json.dumps(card))


def test_a_pickle_is_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    folder = tmp_path / "evil"
    folder.mkdir()
    payload = pickle.dumps(Evil())
    (folder / WEIGHTS).write_bytes(payload)
    (folder / CARD).write_text(json.dumps({"config": CFG.to_dict()}))
    with pytest.raises(ModelFileError):
        load_model(folder)
    (folder / "model.pt").write_bytes(payload)
    with pytest.raises(ModelFileError):
        load_model(folder / "model.pt")
    assert not marker.exists()


def test_a_killed_save_leaves_no_half_written_model(tmp_path):
    """Kill the writer between its two files; the run folder is then either absent or whole."""
    script = textwrap.dedent(f"""
        import os, sys, torch
        sys.path.insert(0, {str(os.getcwd())!r})
        import explorer.checkpoints as ck
        from explorer.models import ModelConfig, build_model
        real = ck._fsync_write
        def dying(path, data):
            real(path, data)
            if path.name == ck.WEIGHTS:
                os._exit(9)   # killed after the weights, before the card
        ck._fsync_write = dying
        model = build_model(ModelConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=(8,)))
        ck.save_model(model, {str(tmp_path / "run")!r}, {{}})
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    assert not (tmp_path / "run").exists()  # only a dot-named temp folder, which the store skips
    from explorer.store import list_models

    entries, problems = list_models(tmp_path / "none", tmp_path)
    assert entries == [] and problems == []
