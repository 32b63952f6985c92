"""Shared fixtures: a runs folder per test, small trained models, seeded torch; the test tiers.

Tiers: a test is ``fast`` unless it is marked ``slow`` or ``browser`` (a new test joins the fast
tier by itself). ``pytest -m fast`` runs units and AppTest pages only: a test in it that starts a
process (a subprocess, a job engine's worker) fails with a sentence saying to mark it slow.
"""

import contextlib
import functools
import multiprocessing.process
import subprocess

import pytest
import torch

# Tiny models train several times faster on one thread than on two contended ones, and the test
# suite shares the machine with a browser and a Streamlit server.
torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    collided = []
    for item in items:
        if not any(item.iter_markers("slow")) and not any(item.iter_markers("browser")):
            item.add_marker(pytest.mark.fast)
            # pytest-playwright reads a test parameter named `page` as its browser page, and runs
            # the test once per browser ("[chromium]") with a browser it never uses.
            if "browser_name" in getattr(getattr(item, "callspec", None), "params", {}):
                collided.append(item.nodeid)
    if collided:
        raise pytest.UsageError("These tests take a parameter named like a pytest-playwright "
                                f"fixture (page, context, browser); rename it: {collided[:5]}")


@functools.cache
def _ask_the_os_once() -> None:
    """What libraries ask the OS once per process, asked before the fast tier watches: joblib's
    count of physical cores (t-SNE's thread count) runs `lscpu` the first time."""
    with contextlib.suppress(ImportError):
        import joblib

        joblib.cpu_count(only_physical_cores=True)


@pytest.fixture(autouse=True)
def _fast_tier_starts_no_process(request, monkeypatch):
    """Under ``-m fast``, a fast test that starts a process (a subprocess, a job engine's worker)
    fails at its end with a sentence: it belongs in the slow tier. The process still runs, so
    nothing hangs waiting for it."""
    started: list[str] = []
    if "fast" in (request.config.option.markexpr or "") and request.node.get_closest_marker("fast"):
        _ask_the_os_once()
        popen_init = subprocess.Popen.__init__
        process_start = multiprocessing.process.BaseProcess.start

        def popen(self, *args, **kwargs):
            started.append("a subprocess")
            popen_init(self, *args, **kwargs)

        def start(self):
            started.append("a process")
            process_start(self)

        monkeypatch.setattr(subprocess.Popen, "__init__", popen)
        monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", start)
    yield
    if started:
        pytest.fail(f"This test starts {started[0]}, which the fast tier does not: mark it "
                    "@pytest.mark.slow.", pytrace=False)


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """A private runs folder, so tests never touch the user's runs/."""
    folder = tmp_path / "runs"
    folder.mkdir()
    monkeypatch.setenv("EXPLORER_RUNS_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def digits_vae(tmp_path_factory):
    """A small VAE trained briefly on digits, saved as a run folder: (model, card, path)."""
    from explorer.families.models import ModelConfig
    from explorer.jobs import run_training
    from explorer.runs.checkpoints import load_model
    from explorer.training.loop import TrainConfig

    path = tmp_path_factory.mktemp("models") / "digits-vae"
    cfg = ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=4, hidden=(64,))
    run_training(cfg, TrainConfig(epochs=8, batch_size=64, seed=0), "digits", path)
    model, card = load_model(path)
    return model, card, path


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "a pickle was unpickled"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A private data folder for a class's own datasets; the registry forgets them afterwards."""
    from explorer.data import datasets

    folder = tmp_path / "data"
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(folder))
    datasets.refresh_user_datasets()
    yield folder
    monkeypatch.undo()
    datasets.refresh_user_datasets()


@pytest.fixture
def run_cli(monkeypatch):
    """``run_cli(argv)`` runs ``python -m explorer ...`` in this process and returns its exit status,
    what it printed and what it printed to stderr. The command's print() calls are recorded
    directly: under two xdist workers, capsys now and then lost a command's lines to pytest's
    capture of the whole test (sys.stdout was another object when they were printed; what swapped
    it was not found)."""
    import builtins
    import io
    import sys
    from types import SimpleNamespace

    from explorer.cli import main

    real_print = builtins.print

    def run(argv: list[str]) -> SimpleNamespace:
        out, err = io.StringIO(), io.StringIO()

        def recorded(*args, file=None, **kwargs):
            if file is None or file is sys.stdout:
                return real_print(*args, file=out, **kwargs)
            if file is sys.stderr:
                return real_print(*args, file=err, **kwargs)
            return real_print(*args, file=file, **kwargs)

        with monkeypatch.context() as patch:
            patch.setattr(builtins, "print", recorded)
            status = main(argv)
        return SimpleNamespace(status=status, out=out.getvalue(), err=err.getvalue())

    return run
