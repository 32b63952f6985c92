"""Bad input, faults and a full classroom: clear errors, nothing lost, nothing executed.

What this adds to the unit tests beside it:

* model files are data: a pickle that would create a marker file if it were ever unpickled is
  pointed at every loading path (model folders, the model list, projection maps, training replays,
  shared-model zips, dataset files, uploaded pictures, and the app itself), and never runs;
* cards that lie (wrong types, a model too large to build, non-finite weights) get a sentence;
* run names cannot leave the runs folder or reach a shipped model;
* a saver killed with SIGKILL at random moments, or before any one of its filesystem steps,
  always leaves a loadable run;
* two browser sessions training at once keep their own jobs and runs;
* nothing user-supplied is rendered as HTML, every Streamlit cache is capped, and the upload size
  limit is small.

Everything writes into temporary folders; pretrained/ and runs/ in the repository are only read.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import pickle
import random
import signal
import subprocess
import sys
import textwrap
import time
import tomllib
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as st_save_bytes

from explorer import (
    checkpoints,
    datasets,
    downloads,
    drawing,
    exports,
    projection,
    projection_files,
    replay,
    store,
)
from explorer.checkpoints import CARD, WEIGHTS, load_model, save_model, weights_hash
from explorer.errors import ConfigError, DatasetError, ModelFileError
from explorer.models import ModelConfig, build_model

ROOT = Path(__file__).resolve().parent.parent
UI = ROOT / "explorer" / "ui"
TINY = ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=2, hidden=(16,))
APP_PAGES = ["explorer/ui/latent_map.py", "explorer/ui/compare.py", "explorer/ui/interpolate.py",
             "explorer/ui/sample.py", "explorer/ui/draw.py", "explorer/ui/inside.py"]


# -- a pickle that must never run -------------------------------------------------------------
class _Plant:
    """Unpickling this calls open(marker, "w"): the marker file appears if anything unpickles."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def evil_pickle(marker: Path) -> bytes:
    return pickle.dumps({"state_dict": _Plant(marker)}, protocol=4)


def evil_torch_save(marker: Path) -> bytes:
    """The same payload in torch.save's zip format, as a real `.pt` checkpoint would be."""
    buffer = io.BytesIO()
    torch.save({"state_dict": _Plant(marker)}, buffer)
    return buffer.getvalue()


def test_the_planted_payloads_are_live(tmp_path):
    """Guards the guard: each payload does create its marker when it *is* unpickled."""
    canary = tmp_path / "canary"
    pickle.loads(evil_pickle(canary))
    assert canary.exists()
    canary.unlink()
    torch.load(io.BytesIO(evil_torch_save(canary)), weights_only=False)
    assert canary.exists()


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "a pickle was unpickled"


def _card(cfg: ModelConfig = TINY, dataset: str = "digits", **extra) -> dict:
    return {"name": "evil", "config": cfg.to_dict(), "dataset": {"name": dataset}, **extra}


def _model_folder(folder: Path, weights: bytes, card: dict | None = None,
                  weights_name: str = WEIGHTS) -> Path:
    folder.mkdir(parents=True)
    (folder / weights_name).write_bytes(weights)
    (folder / CARD).write_text(json.dumps(card or _card()))
    return folder


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


def test_projection_files_never_unpickle(tmp_path, marker):
    path = tmp_path / "projection-umap.safetensors"
    path.write_bytes(evil_pickle(marker))
    assert projection_files.load_coords(path, "0123456789abcdef") is None
    assert path.exists()  # a shipped map is not ours to delete
    cache = projection_files.ProjectionCache(tmp_path / "cache")
    params = projection.ProjectionParams("pca")
    cached = cache.path_for("0123456789abcdef", "digits-test", params)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(evil_torch_save(marker))
    assert cache.get("0123456789abcdef", "digits-test", params) is None
    assert not cached.exists()  # a corrupt cache entry is dropped


def test_training_replays_never_unpickle(tmp_path, marker):
    folder = tmp_path / "run"
    folder.mkdir()
    replay.replay_file(folder).write_bytes(evil_pickle(marker))
    assert replay.load_replay(folder) is None


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _good_members() -> dict[str, bytes]:
    model = build_model(TINY)
    data = st_save_bytes({k: v.contiguous() for k, v in model.state_dict().items()})
    return {CARD: json.dumps(_card()).encode(), WEIGHTS: data}


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


def test_dataset_files_and_pictures_never_unpickle(tmp_path, marker):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(evil_pickle(marker))
    with pytest.raises(DatasetError, match="not an IDX file"):
        downloads.read_idx(path)
    folder = downloads.dataset_dir(datasets.get_info("mnist"), tmp_path / "data")
    folder.mkdir(parents=True)
    for spec in datasets.get_info("mnist").source.files:  # all four, unpacked: no download
        (folder / spec.filename.removesuffix(".gz")).write_bytes(evil_pickle(marker))
    with pytest.raises(DatasetError, match="not an IDX file"):
        datasets.load_dataset("mnist", data_dir=str(tmp_path / "data"))
    with pytest.raises(drawing.DrawingError):
        drawing.load_upload(evil_pickle(marker))


# -- cards that lie -----------------------------------------------------------------------------
def _saved(folder: Path, cfg: ModelConfig = TINY) -> Path:
    torch.manual_seed(0)
    save_model(build_model(cfg), folder, _card(cfg))
    return folder


def _set_config(folder: Path, **changes) -> None:
    card = json.loads((folder / CARD).read_text())
    card["config"].update(changes)
    (folder / CARD).write_text(json.dumps(card))


def _nan_weights(folder: Path) -> None:
    tensors = {k: torch.full_like(v, float("nan")) for k, v in build_model(TINY).state_dict().items()}
    (folder / WEIGHTS).write_bytes(st_save_bytes(tensors))


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


def test_model_config_turns_every_bad_value_into_a_config_error():
    base = TINY.to_dict()
    for field, value in [("image_shape", [1, 8, "x"]), ("hidden", ["x"]), ("latent_dim", 2.5)]:
        with pytest.raises(ConfigError):
            ModelConfig.from_dict({**base, field: value})


# -- the app with bad models in the runs folder -------------------------------------------------
def test_the_app_shows_a_sentence_for_every_bad_run(tmp_path, marker, monkeypatch):
    from streamlit.testing.v1 import AppTest

    runs = tmp_path / "runs"
    _model_folder(runs / "evil", evil_pickle(marker), _card(
        ModelConfig(kind="vae", image_shape=(1, 28, 28), latent_dim=2, hidden=(16,)), "mnist-5k"))
    (runs / "pt-only").mkdir()
    (runs / "pt-only" / "model.pt").write_bytes(evil_torch_save(marker))
    _set_config(_saved(runs / "bomb"), image_shape=[1, 100_000, 100_000], hidden=[4096])
    _nan_weights(_saved(runs / "nan"))
    monkeypatch.setenv("EXPLORER_RUNS_DIR", str(runs))
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    for run in ("evil", "nan"):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state["model"] = f"runs/{run}"
        at.run()
        for page in APP_PAGES:
            if page != APP_PAGES[0]:
                at.switch_page(page).run()
            assert not at.exception, (run, page, [e.message for e in at.exception])
            assert at.session_state["model"] == f"runs/{run}"
            errors = [e.value for e in at.error]
            assert any("could not be loaded" in e for e in errors), (run, page, errors)
            assert not any(str(tmp_path) in e for e in errors), errors  # no server paths
        skipped = [c.value for c in at.sidebar.caption if "Skipped" in c.value]
        assert any("model.pt" in c for c in skipped), skipped
        # A card describing a model beyond the server's limits is never offered at all.
        assert any("runs/bomb" in c and "too large" in c for c in skipped), skipped
        assert not any(str(tmp_path) in c for c in skipped), skipped


# -- names and paths ---------------------------------------------------------------------------
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


def _calls(tree: ast.AST, dotted: str) -> list[ast.Call]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == dotted:
            out.append(node)
    return out


# -- limits on what users send -------------------------------------------------------------------
def test_the_streamlit_config_has_small_limits_and_safe_defaults():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server = config["server"]
    assert 1 <= server["maxUploadSize"] <= 50  # megabytes
    assert server["maxMessageSize"] <= 200
    assert server["address"] == "127.0.0.1"  # a room is served only on purpose (README)
    assert server["enableXsrfProtection"] is True
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] == "none"  # no tracebacks for students
    readme = (ROOT / "README.md").read_text()
    assert "## Serving a class" in readme and "server.maxUploadSize" in readme
    # Every shipped model can still be shared through the upload.
    largest = max(p.stat().st_size for p in store.PRETRAINED_DIR.glob(f"*/{WEIGHTS}"))
    assert largest < server["maxUploadSize"] * 2**20


def test_every_uploader_is_typed_and_no_larger_than_the_app_limit():
    limit = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    for path in [ROOT / "app.py", *sorted(UI.glob("*.py"))]:
        for call in _calls(ast.parse(path.read_text()), "st.file_uploader"):
            keywords = {k.arg: k.value for k in call.keywords}
            assert "type" in keywords, f"{path.name}: an uploader without a file type"
            if "max_upload_size" in keywords:
                assert ast.literal_eval(keywords["max_upload_size"]) <= limit["maxUploadSize"]


# -- nothing user-supplied as HTML; every cache capped -----------------------------------------
def _module_constants(tree: ast.Module) -> dict[str, str]:
    """Names bound exactly once in the whole file, at module level, to a string literal (never a
    parameter, loop variable or anything reassigned)."""
    stores: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            stores[node.id] = stores.get(node.id, 0) + 1
        elif isinstance(node, ast.arg):
            stores[node.arg] = stores.get(node.arg, 0) + 2  # a parameter is never a constant
    return {t.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name) and stores.get(t.id) == 1
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}


def _is_constant_text(arg: ast.expr, constants: dict[str, str], modules: dict[str, dict]) -> bool:
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return True
    if isinstance(arg, ast.Name):
        return arg.id in constants
    if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name):
        return arg.attr in modules.get(arg.value.id, {})
    return False  # f-strings, .format(), concatenation with variables, calls


def test_nothing_is_rendered_as_raw_html_unless_it_is_a_constant():
    files = [ROOT / "app.py", *sorted(UI.glob("*.py"))]
    trees = {p: ast.parse(p.read_text()) for p in files}
    modules = {p.stem: _module_constants(t) for p, t in trees.items()}
    for path, tree in trees.items():
        constants = _module_constants(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = ast.unparse(node.func)
            raw = any(k.arg == "unsafe_allow_html" and not (
                isinstance(k.value, ast.Constant) and k.value.value is False) for k in node.keywords)
            if raw or func in ("st.html", "html", "components.html", "st.components.v1.html",
                               "st.iframe", "components.iframe"):
                assert node.args and _is_constant_text(node.args[0], constants, modules), (
                    f"{path.name}:{node.lineno} renders non-constant HTML: {ast.unparse(node)}")


def test_every_streamlit_cache_is_capped():
    uncapped = []
    for path in [ROOT / "app.py", *sorted(UI.glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for deco in node.decorator_list:
                name = ast.unparse(deco.func if isinstance(deco, ast.Call) else deco)
                if name not in ("st.cache_resource", "st.cache_data"):
                    continue
                keywords = {k.arg for k in deco.keywords} if isinstance(deco, ast.Call) else set()
                arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                if arguments and not keywords & {"max_entries", "ttl"}:  # no arguments: one entry
                    uncapped.append(f"{path.name}:{node.lineno} {node.name}")
    assert not uncapped, f"caches without max_entries grow with every model and setting: {uncapped}"


# -- a saver killed at any moment ---------------------------------------------------------------
# One helper process imports torch once, then (1) forks a saver per filesystem step that dies just
# before that step, and (2) forks savers that overwrite their run in a loop until this test
# SIGKILLs them. Forked children need no second torch import, which keeps the test quick.
SAVER_LAB = textwrap.dedent("""
    import json, os, shutil, sys, time
    sys.path.insert(0, {root!r})
    import torch
    torch.set_num_threads(1)
    from explorer.checkpoints import load_model, save_model
    from explorer.models import ModelConfig, build_model

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


# -- two classroom sessions training at once ----------------------------------------------------
def _train_page():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["model"] = "pretrained/digits-vae-mlp-z2"  # a light first page: 8x8 digits
    at.run()
    at.switch_page("explorer/ui/train.py").run()
    assert not at.exception and at.title[0].value == "Train a model"
    return at


def _submit(at, **values):
    widgets = [*at.number_input, *at.selectbox, *at.text_input, *at.segmented_control]
    for key, value in values.items():
        next(w for w in widgets if w.key == f"train_{key}").set_value(value)
    return at.form_submit_button[0].click().run()


def test_two_sessions_training_at_once_keep_their_own_jobs(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    alice, bob = _train_page(), _train_page()
    alice = _submit(alice, dataset="digits", kind="ae", latent=3, hidden="32", epochs=1, seed=1,
                    batch=256, name="alice's AE")
    bob = _submit(bob, dataset="digits", kind="vae", latent=2, hidden="16", epochs=2, seed=2,
                  batch=128, name="bob/../vae")
    assert not alice.error and not bob.error, [e.value for e in [*alice.error, *bob.error]]
    sessions = {"alice": alice, "bob": bob}
    jobs = {who: at.session_state["train_job"] for who, at in sessions.items()}
    deadline, redrawn = time.monotonic() + 60, 0.0
    while any(job.snapshot().active for job in jobs.values()):
        assert time.monotonic() < deadline, "the two trainings did not end within 60 s"
        if time.monotonic() - redrawn > 2:  # now and then, redraw both live views mid-training
            for at in sessions.values():
                at.run()
                assert not at.exception
            redrawn = time.monotonic()
        time.sleep(0.1)
    for at in sessions.values():
        at.run()
        assert not at.exception

    expected = {"alice": ("alice-s-AE", "ae", 3, 1, 1), "bob": ("bob-.-vae", "vae", 2, 2, 2)}
    for who, (name, kind, latent, epochs, seed) in expected.items():
        at = sessions[who]
        job = at.session_state["train_job"]
        state = job.snapshot()
        assert state.status == "finished", state.message
        assert job.name == name and state.epochs == epochs and len(state.history) == epochs
        assert Path(state.saved_path) == runs / name
        assert any(f"Saved run '{name}'" in s.value for s in at.success)
        card = json.loads((runs / name / CARD).read_text())
        assert (card["config"]["kind"], card["config"]["latent_dim"]) == (kind, latent)
        assert (card["train"]["epochs"], card["seed"], len(card["history"])) == (epochs, seed,
                                                                                   epochs)
    assert sorted(p.name for p in runs.iterdir()) == ["alice-s-AE", "bob-.-vae"]
    assert alice.session_state["train_job"] is not bob.session_state["train_job"]

