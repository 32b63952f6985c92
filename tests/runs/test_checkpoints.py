"""Model files: safetensors + JSON round trips, atomic writes, and clear errors for bad files."""

import contextlib
import errno
import io
import json
import os
import pickle
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as st_save_bytes
from safetensors.torch import save_file

from explorer.errors import ModelFileError
from explorer.families.models import ModelConfig, build_model
from explorer.runs import checkpoints, store
from explorer.runs.checkpoints import CARD, WEIGHTS, load_model, save_model, weights_hash
from tests.hostile import (
    TINY,
    _card,
    _model_folder,
    _nan_weights,
    _saved,
    _set_config,
    evil_pickle,
    evil_torch_save,
    in_step,
)

CFG = ModelConfig(kind="vae", arch="conv", image_shape=(1, 8, 8), latent_dim=3, hidden=(4, 8))

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.mark.parametrize("trial", range(3))
def test_saves_finishing_together_keep_both_models(tmp_path, monkeypatch, trial):
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    in_step(monkeypatch)
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


@pytest.mark.slow
def test_a_killed_save_leaves_no_half_written_model(tmp_path):
    """Kill the writer between its two files; the run folder is then either absent or whole."""
    script = textwrap.dedent(f"""
        import os, sys, torch
        sys.path.insert(0, {str(os.getcwd())!r})
        import explorer.runs.checkpoints as ck
        from explorer.families.models import ModelConfig, build_model
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
    from explorer.runs.store import clean_stale_temps, list_models

    entries, problems = list_models(tmp_path / "none", tmp_path)
    assert entries == [] and problems == []
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert left, "the killed save left its temp folder"
    assert clean_stale_temps(tmp_path, older_than_s=3600) == []  # may be a save in progress
    assert sorted(clean_stale_temps(tmp_path, older_than_s=0)) == sorted(left)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_the_planted_payloads_are_live(tmp_path):
    """Guards the guard: each payload does create its marker when it *is* unpickled."""
    canary = tmp_path / "canary"
    pickle.loads(evil_pickle(canary))
    assert canary.exists()
    canary.unlink()
    torch.load(io.BytesIO(evil_torch_save(canary)), weights_only=False)
    assert canary.exists()


@pytest.mark.parametrize("payload", [evil_pickle, evil_torch_save])
def test_model_folders_never_unpickle(tmp_path, marker, payload):
    data = payload(marker)
    as_weights = _model_folder(tmp_path / "as-weights", data)
    with pytest.raises(ModelFileError, match="not a valid safetensors"):
        load_model(as_weights)
    as_pt = _model_folder(tmp_path / "as-pt", data, weights_name="model.pt")
    with pytest.raises(ModelFileError, match=f"no {WEIGHTS}"):
        load_model(as_pt)
    with pytest.raises(ModelFileError):
        load_model(as_pt / "model.pt")  # pointed at the file itself
    as_card = tmp_path / "as-card"
    as_card.mkdir()
    (as_card / CARD).write_bytes(data)
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model(as_card)
    with pytest.raises(ModelFileError):
        checkpoints.model_from_bytes(_card(), data, source="upload")


LYING_CARDS = {
    "letters in image_shape": lambda p: _set_config(p, image_shape=[1, 8, "x"]),
    "letters in hidden": lambda p: _set_config(p, hidden=["x"]),
    "fractional latent size": lambda p: _set_config(p, latent_dim=2.5),
    "a model too large to build": lambda p: _set_config(p, image_shape=[1, 100_000, 100_000],
                                                        hidden=[4096]),
    "an absurd image size": lambda p: _set_config(p, image_shape=[1, 10**30, 8]),
    "config is a list": lambda p: (p / CARD).write_text(json.dumps({"config": [1, 2]})),
    "card is a list": lambda p: (p / CARD).write_text("[]"),
    "card not UTF-8": lambda p: (p / CARD).write_bytes(b"\xff\xfe{}"),
    "NaN weights": _nan_weights,
    "integer weights": lambda p: (p / WEIGHTS).write_bytes(st_save_bytes(
        {k: torch.zeros(v.shape, dtype=torch.int32) for k, v in build_model(TINY).state_dict().items()})),
    "header claims 1 TB": lambda p: (p / WEIGHTS).write_bytes((2**40).to_bytes(8, "little") + b"{}"),
}


@pytest.mark.parametrize("case", list(LYING_CARDS))
def test_lying_cards_and_weights_get_a_sentence(tmp_path, case):
    folder = _saved(tmp_path / "runs" / "liar")
    LYING_CARDS[case](folder)
    started = time.perf_counter()
    with pytest.raises(ModelFileError):
        load_model(folder)
    assert time.perf_counter() - started < 5  # refused before building anything large
    store.list_models(tmp_path / "no-pretrained", tmp_path / "runs")  # never raises


def test_oversized_files_are_refused_without_reading_them(tmp_path):
    folder = _saved(tmp_path / "big")
    with open(folder / WEIGHTS, "r+b") as f:  # sparse: costs no disk
        f.truncate(checkpoints.MAX_WEIGHTS_BYTES + 1)
    with pytest.raises(ModelFileError, match="larger than"):
        load_model(folder)
    with open(folder / CARD, "r+b") as f:
        f.truncate(6 * 2**20)
    with pytest.raises(ModelFileError, match="too large"):
        load_model(folder)


# One helper process imports torch once, then (1) forks a saver per filesystem step that dies just
# before that step, and (2) forks savers that overwrite their run in a loop until this test
# SIGKILLs them. Forked children need no second torch import, which keeps the test quick.
SAVER_LAB = textwrap.dedent("""
    import json, os, shutil, sys, time
    sys.path.insert(0, {root!r})
    import torch
    torch.set_num_threads(1)
    from explorer.runs.checkpoints import load_model, save_model
    from explorer.families.models import ModelConfig, build_model

    cfg = ModelConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=(64,))
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        models.append(build_model(cfg))
    WRITES = {{"os.mkdir", "os.rename", "os.replace", "os.remove", "os.rmdir", "os.chmod",
              "shutil.rmtree", "shutil.move", "os.truncate", "os.link", "os.symlink",
              "ctypes.call_function"}}
    WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT

    def writes(event, args):
        if event == "open":
            mode, flags = args[1], args[2]
            return (mode is None and flags & WRITE_FLAGS) or any(c in (mode or "") for c in "wax+")
        return event in WRITES

    def save(i, folder):
        return save_model(models[i], folder, {{"name": f"v{{i}}"}}, overwrite=True)

    # (1) die just before the k-th filesystem change of an overwrite, for every k
    folder = os.path.join({work!r}, "stepped", "run")
    hashes = [save(i, folder)["content_hash"] for i in (0, 1)]
    print(" ".join(hashes), flush=True)
    steps = []
    for k in range(1, 80):
        save(0, folder)  # every death starts from v0 on disk
        for name in os.listdir(os.path.dirname(folder)):
            if name.startswith("."):
                shutil.rmtree(os.path.join(os.path.dirname(folder), name))
        pid = os.fork()
        if pid == 0:
            seen = 0

            def hook(event, args):
                global seen
                if writes(event, args):
                    seen += 1
                    if seen == k:
                        os._exit(9)

            sys.addaudithook(hook)
            try:
                save(1, folder)
            except BaseException:
                os._exit(3)
            os._exit(0)
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        steps.append({{"k": k, "code": code, "exists": os.path.isdir(folder)}})
        if code == 0:
            break
        try:
            steps[-1]["name"] = load_model(folder)[1]["name"]
        except Exception as e:
            steps[-1]["error"] = f"{{type(e).__name__}}: {{e}}"
    print(json.dumps(steps), flush=True)

    # (2) savers overwriting their own run in a loop until killed
    pids = []
    for t in range({trials}):
        folder = os.path.join({work!r}, f"trial{{t}}", "run")
        save(0, folder)
        pid = os.fork()
        if pid == 0:
            i = 0
            with open(folder + ".count", "w") as count:
                while True:
                    save(i % 2, folder)
                    i += 1
                    count.seek(0)
                    count.write(str(i))
                    count.flush()
        pids.append(pid)
    print(" ".join(map(str, pids)), flush=True)
    for pid in pids:
        os.waitpid(pid, 0)
""")


def _check_run(folder: Path, hashes: list[str]) -> str:
    """The run loads, its card and weights belong together, and it is one of the versions."""
    card = json.loads((folder / CARD).read_text())
    data = (folder / WEIGHTS).read_bytes()
    assert card["content_hash"] == weights_hash(data), "card and weights from different saves"
    assert card["name"] == f"v{hashes.index(card['content_hash'])}"
    load_model(folder)
    entries, problems = store.list_models(folder.parent / "no-pretrained", folder.parent)
    assert [e.name for e in entries] == ["run"] and problems == []  # no temp folder listed
    return card["name"]


@pytest.mark.slow
def test_a_saver_killed_at_any_moment_leaves_one_whole_version(tmp_path):
    """Deterministic first: the saver dies just before each of its filesystem changes in turn (an
    audit hook counts them), so even a window of one system call between two renames is found.
    Then real SIGKILLs at seeded random moments of savers overwriting their run in a loop."""
    trials, rng = 4, random.Random(20260101)
    lab = subprocess.Popen(
        [sys.executable, "-c", SAVER_LAB.format(root=str(ROOT), work=str(tmp_path), trials=trials)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        hashes = lab.stdout.readline().split()
        steps = json.loads(lab.stdout.readline() or "null")
        pids = [int(p) for p in lab.stdout.readline().split()]
        assert len(hashes) == 2 and steps and len(pids) == trials, lab.stderr.read()[-3000:]
        for pid in pids:
            time.sleep(rng.uniform(0.05, 0.4))
            os.kill(pid, signal.SIGKILL)
        assert lab.wait(timeout=30) == 0, lab.stderr.read()[-3000:]
    finally:
        if lab.poll() is None:
            for pid in pids if "pids" in locals() else []:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            lab.kill()
            lab.wait()
        lab.stdout.close()
        lab.stderr.close()

    assert steps[-1]["code"] == 0 and len(steps) >= 4, steps  # it did reach the end at last
    died = steps[:-1]
    assert all(s["code"] == 9 for s in died), steps
    broken = [s for s in died if not s["exists"] or "error" in s]
    assert not broken, f"a death left no loadable run: {broken}"
    assert {s["name"] for s in died} == {"v0", "v1"}, "deaths both before and after the swap"
    _check_run(tmp_path / "stepped" / "run", hashes)

    for t in range(trials):
        folder = tmp_path / f"trial{t}" / "run"
        assert int((tmp_path / f"trial{t}" / "run.count").read_text() or 0) >= 1, "never saved"
        _check_run(folder, hashes)
