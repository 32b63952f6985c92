"""Model files: safetensors + JSON round trips, atomic writes, and clear errors for bad files."""

import errno
import json
import os
import pickle
import subprocess
import sys
import textwrap
import threading

import pytest
import torch
from safetensors.torch import save as st_save_bytes
from safetensors.torch import save_file

from explorer import checkpoints
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
    before = (path / WEIGHTS).read_bytes()
    card = save_model(build_model(CFG), path, {"name": "m"})
    assert card["name"] == "m-2" and load_model(tmp_path / "m-2")[1]["name"] == "m-2"
    assert (path / WEIGHTS).read_bytes() == before
    save_model(model, path, {"name": "again"}, overwrite=True)
    assert load_model(path)[1]["name"] == "again"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "m-2"]  # no temp or old folders


def _in_step(monkeypatch, n: int = 2):
    """Holds every save at the moment its card is written until `n` saves have got there, so
    they all finish together (as two trainings or uploads can on a shared server)."""
    barrier, waited = threading.Barrier(n, timeout=20), threading.local()
    real = checkpoints._fsync_write

    def write(path, data):
        real(path, data)
        if path.name == CARD and not getattr(waited, "done", False):
            waited.done = True
            barrier.wait()

    monkeypatch.setattr(checkpoints, "_fsync_write", write)


@pytest.mark.parametrize("trial", range(3))
def test_saves_finishing_together_keep_both_models(tmp_path, monkeypatch, trial):
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    _in_step(monkeypatch)
    models = [build_model(CFG) for _ in range(2)]
    cards, errors = [None, None], []

    def save(i):
        cards[i] = save_model(models[i], tmp_path / "homework", {"name": "homework"})

    threads = [threading.Thread(target=save, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(c["name"] for c in cards) == ["homework", "homework-2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["homework", "homework-2"]
    for model, card in zip(models, cards, strict=True):
        loaded, on_disk = load_model(tmp_path / card["name"])
        assert on_disk["content_hash"] == card["content_hash"]
        assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("code,reason", [(errno.ENOSPC, "disk is full"),
                                         (errno.EROFS, "read-only")])
def test_a_failed_save_says_why_in_one_sentence_and_leaves_nothing(tmp_path, monkeypatch, code,
                                                                   reason):
    runs = tmp_path / "runs"
    runs.mkdir()
    real = checkpoints._fsync_write

    def fail_on_card(path, data):
        if path.name == CARD:
            raise OSError(code, os.strerror(code), str(path))
        real(path, data)

    monkeypatch.setattr(checkpoints, "_fsync_write", fail_on_card)
    with pytest.raises(ModelFileError, match=reason) as info:
        save_model(build_model(CFG), runs / "homework", {})
    message = str(info.value)
    assert "runs/homework" in message and str(tmp_path) not in message
    assert "\n" not in message and list(runs.iterdir()) == []  # no half-written or temp folder


def test_a_save_under_a_file_says_so_in_one_sentence(tmp_path):
    (tmp_path / "runs").write_text("not a folder")  # true even for root, unlike chmod
    with pytest.raises(ModelFileError, match="could not be saved to runs/homework") as info:
        save_model(build_model(CFG), tmp_path / "runs" / "homework", {})
    assert str(tmp_path) not in str(info.value)


def test_an_unsaved_model_can_still_be_packed(tmp_path):
    model = build_model(CFG)
    data, card = checkpoints.model_bytes(model, {"name": "m"})
    rebuilt = checkpoints.model_from_bytes(card, data)
    assert card["content_hash"] == checkpoints.weights_hash(data)
    assert all(torch.equal(v, rebuilt.state_dict()[k]) for k, v in model.state_dict().items())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("dtype", [torch.float8_e5m2, torch.float8_e4m3fn, torch.int8,
                                   torch.float64])
def test_weights_in_other_dtypes_are_refused_before_conversion(tmp_path, dtype):
    _, path = saved(tmp_path)
    tensors = {k: v.to(dtype) for k, v in build_model(CFG).state_dict().items()}
    (path / WEIGHTS).write_bytes(st_save_bytes(tensors))
    with pytest.raises(ModelFileError, match="only float32, float16, bfloat16"):
        load_model(path)


def test_messages_name_the_model_not_the_server_path(tmp_path):
    _, path = saved(tmp_path / "runs")
    with open(path / WEIGHTS, "r+b") as f:
        f.truncate(4 * 2**20)  # sparse: larger than this small model can need
    with pytest.raises(ModelFileError, match="larger than") as info:
        load_model(path)
    assert "runs/m" in str(info.value) and str(tmp_path) not in str(info.value)


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda p: (p / CARD).write_text("{not json"), "not valid JSON"),
        (lambda p: (p / CARD).unlink(), "no card.json"),
        (lambda p: (p / WEIGHTS).unlink(), "no model.safetensors"),
        (lambda p: (p / WEIGHTS).write_bytes(b"\x00" * 40), "not a valid safetensors"),
        (lambda p: (p / WEIGHTS).write_bytes((p / WEIGHTS).read_bytes()[:500]), "not a valid safetensors"),
        (lambda p: _edit_card(p, kind="flow"), "Unknown model kind"),
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
    from explorer.store import clean_stale_temps, list_models

    entries, problems = list_models(tmp_path / "none", tmp_path)
    assert entries == [] and problems == []
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert left, "the killed save left its temp folder"
    assert clean_stale_temps(tmp_path, older_than_s=3600) == []  # may be a save in progress
    assert sorted(clean_stale_temps(tmp_path, older_than_s=0)) == sorted(left)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
