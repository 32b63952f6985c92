"""Shared models arriving on a classroom server: uploads that finish together, files that grow
when unpacked, a full runs folder, odd cards and names. Nothing lost, nothing injected."""

import json
import threading
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as st_save_bytes

from explorer.errors import ConfigError, ModelFileError, plain
from explorer.families.models import MAX_PARAMETERS, ModelConfig, build_model, check_size
from explorer.runs import checkpoints, exports, store
from explorer.runs.checkpoints import CARD, WEIGHTS, load_model
from tests.hostile import TINY, _card, _good_members, _zip, evil_pickle, evil_torch_save, in_step


def _members(seed: int = 0, cfg: ModelConfig = TINY, **card) -> dict[str, bytes]:
    torch.manual_seed(seed)
    state = {k: v.contiguous() for k, v in build_model(cfg).state_dict().items()}
    card = {"name": "x", "config": cfg.to_dict(), "dataset": {"name": "digits"}, **card}
    return {CARD: json.dumps(card).encode(), WEIGHTS: st_save_bytes(state)}


@pytest.mark.parametrize("trial", range(3))
def test_two_uploads_finishing_together_keep_both_models(runs, monkeypatch, trial):
    in_step(monkeypatch)
    zips = [_zip(_members(seed)) for seed in (1, 2)]
    folders, errors = [None, None], []

    def upload(i):
        try:
            folders[i] = exports.import_model_zip(zips[i], runs, "homework")
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(f.name for f in folders) == ["homework", "homework-2"]  # what each is told
    assert sorted(p.name for p in runs.iterdir()) == ["homework", "homework-2"]
    for i, folder in enumerate(folders):
        expected = checkpoints.model_from_bytes(json.loads(_members(i + 1)[CARD]),
                                                _members(i + 1)[WEIGHTS])
        loaded, card = load_model(folder)
        assert card["name"] == folder.name
        assert all(torch.equal(v, loaded.state_dict()[k])
                   for k, v in expected.state_dict().items()), folder.name


def test_an_unsaved_model_downloads_as_a_zip_that_imports(runs):
    torch.manual_seed(0)
    model = build_model(TINY)
    weights, card = checkpoints.model_bytes(model, {"name": "kept", "dataset": {"name": "digits"}})
    data = exports.unsaved_model_zip(weights, card)
    loaded, _ = load_model(exports.import_model_zip(data, runs, "kept"))
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())


# -- sizes ------------------------------------------------------------------------------------
def test_a_model_too_large_for_the_server_is_refused_with_its_limit():
    with pytest.raises(ConfigError, match=f"{MAX_PARAMETERS:,}"):
        ModelConfig(kind="vae", arch="conv", image_shape=(1, 28, 28), latent_dim=256,
                    hidden=(4096, 4096, 4096, 4096))
    with pytest.raises(ConfigError, match="values per image"):
        ModelConfig(arch="conv", image_shape=(3, 256, 256), latent_dim=2, hidden=(64,))
    # ... while every shipped model stays well within them
    entries, problems = store.list_models(runs=store.PRETRAINED_DIR / "no-runs")
    assert len(entries) >= 8 and problems == []
    for e in entries:
        assert check_size(e.config).parameters < MAX_PARAMETERS


def test_a_small_zip_that_unpacks_to_a_huge_model_is_refused_before_unpacking(runs):
    big = {**TINY.to_dict(), "hidden": [4096, 4096, 4096, 4096], "image_shape": [1, 8, 8]}
    card = json.dumps({"config": big, "dataset": {"name": "digits"}}).encode()
    with pytest.raises(ModelFileError, match="parameters; the limit"):
        exports.import_model_zip(_zip({CARD: card, WEIGHTS: b"\0" * 2**20}), runs, "bomb")
    # A right-sized card with weights far larger than its model can need: refused unread.
    padded = _members()
    padded[WEIGHTS] += b"\0" * (40 * 2**20)
    with pytest.raises(ModelFileError, match="for the model its card describes"):
        exports.import_model_zip(_zip(padded), runs, "padded")
    assert list(runs.iterdir()) == []


@pytest.mark.parametrize("dtype", ["float8_e5m2", "float8_e4m3fn"])
def test_float8_weights_are_refused_not_inflated(runs, dtype):
    members = _members()
    tensors = {k: v.to(getattr(torch, dtype)) for k, v in build_model(TINY).state_dict().items()}
    members[WEIGHTS] = st_save_bytes(tensors)
    with pytest.raises(ModelFileError, match="is stored as F8_E"):
        exports.import_model_zip(_zip(members), runs, "f8")
    assert list(runs.iterdir()) == []


# -- room to write ------------------------------------------------------------------------------
def test_a_full_runs_folder_refuses_an_upload_before_writing(runs, monkeypatch):
    (runs / "old").mkdir()
    (runs / "old" / "weights.bin").write_bytes(b"\0" * 2**20)
    monkeypatch.setenv("EXPLORER_RUNS_QUOTA_MB", "1")
    with pytest.raises(ModelFileError, match="saved runs take 1 MB of the 1 MB") as info:
        exports.import_model_zip(_zip(_members()), runs, "homework")
    assert str(runs) not in str(info.value)
    assert sorted(p.name for p in runs.iterdir()) == ["old"]


def test_a_full_disk_refuses_an_upload_before_writing(runs, monkeypatch):
    monkeypatch.setattr(store.shutil, "disk_usage", lambda p: type("U", (), {"free": 10 * 2**20}))
    with pytest.raises(ModelFileError, match="disk has only 10 MB free"):
        exports.import_model_zip(_zip(_members()), runs, "homework")
    assert list(runs.iterdir()) == []


def test_an_unwritable_runs_folder_is_named_in_one_sentence(tmp_path):
    (tmp_path / "runs").write_text("a file where the folder should be")  # fails even as root
    with pytest.raises(ModelFileError, match="runs folder cannot be written") as info:
        store.check_writable(tmp_path / "runs" / "inner", 1000)
    assert str(tmp_path) not in str(info.value)
    store.check_writable(tmp_path / "fine", 1000)  # a writable one passes (and is created)


# -- what gets quoted ---------------------------------------------------------------------------
def test_names_from_a_zip_are_quoted_as_plain_text(runs):
    members = {**_members(), "[click me](http://evil.example) <img src=x>.txt": b"hi"}
    with pytest.raises(ModelFileError) as info:
        exports.import_model_zip(_zip(members), runs, "x")
    assert r"\[click me\]\(http\://evil.example\) \<img src=x\>.txt" in str(info.value)
    card = json.loads(_members()[CARD])
    card["dataset"] = {"name": "**bold** [x](y)"}
    with pytest.raises(ModelFileError, match="does not know") as info:
        exports.import_model_zip(_zip({**_members(), CARD: json.dumps(card).encode()}), runs, "x")
    assert r"\*\*bold\*\* \[x\]\(y\)" in str(info.value)


def test_plain_keeps_text_readable_and_inert():
    assert plain("my-vae_2 F8_E5M2") == "my-vae_2 F8_E5M2"
    assert plain("_x_ __init__") == r"\_x\_ \_\_init\_\_"
    assert plain("# Title\nline") == r"\# Title line"
    assert plain(":red[x] $x$") == r"\:red\[x\] \$x\$"
    assert len(plain("x" * 1000)) <= 200


HOSTILE_ZIPS = {
    "pickle as weights": lambda m: _zip({CARD: _good_members()[CARD], WEIGHTS: evil_pickle(m)}),
    "torch.save as weights": lambda m: _zip({CARD: _good_members()[CARD],
                                             WEIGHTS: evil_torch_save(m)}),
    "model.pt": lambda m: _zip({CARD: _good_members()[CARD], "model.pt": evil_torch_save(m)}),
    "pickle beside": lambda m: _zip({**_good_members(), "extra.pkl": evil_pickle(m)}),
    "path traversal": lambda m: _zip({CARD: _good_members()[CARD],
                                      f"../{WEIGHTS}": _good_members()[WEIGHTS]}),
    "absolute path": lambda m: _zip({CARD: _good_members()[CARD],
                                     f"/tmp/{WEIGHTS}": _good_members()[WEIGHTS]}),
    "card bomb": lambda m: _zip({CARD: b" " * (6 * 2**20), WEIGHTS: _good_members()[WEIGHTS]}),
    "unknown dataset": lambda m: _zip({**_good_members(),
                                       CARD: json.dumps(_card(dataset="../x")).encode()}),
    "not a zip": lambda m: evil_pickle(m),
    "empty": lambda m: b"",
}


@pytest.mark.parametrize("case", list(HOSTILE_ZIPS))
def test_shared_model_zips_are_checked_before_anything_is_written(tmp_path, marker, case):
    runs = tmp_path / "runs"
    runs.mkdir()
    with pytest.raises(ModelFileError):
        exports.import_model_zip(HOSTILE_ZIPS[case](marker), runs, "shared")
    assert list(runs.iterdir()) == []
    assert not (tmp_path / WEIGHTS).exists() and not Path(f"/tmp/{WEIGHTS}").exists()


def test_a_shared_model_named_like_a_path_lands_in_the_runs_folder(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    folder = exports.import_model_zip(_zip(_good_members()), runs, "../../pretrained/mnist-vae")
    assert folder.parent == runs and load_model(folder)[0].cfg == TINY
