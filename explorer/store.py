"""Where models live: shipped ones in ``pretrained/`` (read-only) and the user's in a runs folder.

A model is a folder holding ``card.json`` and ``model.safetensors`` (see :mod:`explorer.checkpoints`).
Run names typed by users become safe folder names here, so nothing can be written outside the runs
folder and nothing is overwritten silently.
"""

from __future__ import annotations

import itertools
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from explorer.checkpoints import CARD, WEIGHTS, read_card
from explorer.errors import ConfigError, ModelFileError
from explorer.models import ModelConfig

ROOT = Path(__file__).resolve().parent.parent
PRETRAINED_DIR = ROOT / "pretrained"
DEFAULT_MODEL = "mnist-vae-mlp-z2"  # the one a teacher opens first: a 2-D map with no projection
MAX_NAME = 64
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt")  # never loaded; named in problems


def runs_dir() -> Path:
    """The user's runs folder: $EXPLORER_RUNS_DIR, else ``runs/`` beside the app."""
    return Path(os.environ.get("EXPLORER_RUNS_DIR") or ROOT / "runs")


@dataclass(frozen=True)
class ModelEntry:
    id: str  # "pretrained/<name>" or "runs/<name>"
    name: str
    path: Path
    source: str  # "pretrained" or "run"
    card: dict

    @property
    def config(self) -> ModelConfig:
        return ModelConfig.from_dict(self.card["config"])

    @property
    def dataset(self) -> str:
        return self.card.get("dataset", {}).get("name", "?")

    @property
    def test_loss(self) -> float | None:
        value = self.card.get("metrics", {}).get("loss")
        return float(value) if isinstance(value, int | float) else None

    @property
    def summary(self) -> str:
        """One line for pickers: kind, body, latent size, dataset, test loss."""
        cfg = self.config
        parts = [cfg.describe(), self.dataset]
        if self.test_loss is not None:
            parts.append(f"test loss {self.test_loss:.1f}")
        return " · ".join(parts)

    @property
    def read_only(self) -> bool:
        return self.source == "pretrained"


def _scan(folder: Path, source: str) -> tuple[list[ModelEntry], list[str]]:
    entries, problems = [], []
    if not folder.is_dir():
        return entries, problems
    for sub in sorted(folder.iterdir()):
        if sub.name.startswith(".") or not sub.is_dir():
            continue  # temp folders from an interrupted save start with a dot
        if not (sub / CARD).exists() and not (sub / WEIGHTS).exists():
            pickled = sorted(f.name for f in sub.iterdir() if f.suffix.lower() in PICKLE_SUFFIXES)
            if pickled:  # say why a model someone put here does not show up
                problems.append(
                    f"{sub} holds {pickled[0]}, a pickled PyTorch file; only {WEIGHTS} with "
                    f"{CARD} is loaded, because unpickling a file can run any code."
                )
            continue
        try:
            card = read_card(sub)
        except ModelFileError as e:
            problems.append(str(e))
            continue
        prefix = "pretrained" if source == "pretrained" else "runs"
        entries.append(ModelEntry(f"{prefix}/{sub.name}", sub.name, sub, source, card))
    return entries, problems


def list_models(
    pretrained_dir: Path | None = None, runs: Path | None = None
) -> tuple[list[ModelEntry], list[str]]:
    """All loadable models (shipped first, then runs, newest first) and readable problems with
    the folders that could not be read."""
    shipped, p1 = _scan(pretrained_dir or PRETRAINED_DIR, "pretrained")
    order = {name: i for i, name in enumerate(_pretrained_order(pretrained_dir or PRETRAINED_DIR))}
    shipped.sort(key=lambda e: (order.get(e.name, len(order)), e.name))
    own, p2 = _scan(runs or runs_dir(), "run")
    own.sort(key=lambda e: e.card.get("saved_at", ""), reverse=True)
    return shipped + own, p1 + p2


def _pretrained_order(folder: Path) -> list[str]:
    index = folder / "index.txt"
    if index.is_file():
        return [line.strip() for line in index.read_text().splitlines() if line.strip()]
    return [DEFAULT_MODEL]


def default_entry(entries: list[ModelEntry]) -> ModelEntry | None:
    for e in entries:
        if e.source == "pretrained" and e.name == DEFAULT_MODEL:
            return e
    return entries[0] if entries else None


def sanitize_run_name(name: str) -> str:
    """A safe folder name from anything a user types: letters, digits, '-', '_' and '.' only, no
    leading dot, at most 64 characters. Raises ConfigError when nothing usable is left."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip("-._")
    text = re.sub(r"\.{2,}", ".", text)[:MAX_NAME].strip("-._")
    if not text:
        raise ConfigError("Give the run a name with some letters or digits, e.g. 'my-vae'.")
    return text


def new_run_path(name: str, runs: Path | None = None, overwrite: bool = False) -> Path:
    """The folder for a new run named `name`, checked to lie inside the runs folder."""
    root = (runs or runs_dir()).resolve()
    path = (root / sanitize_run_name(name)).resolve()
    if path.parent != root:  # belt and braces: sanitising already removed separators
        raise ConfigError("Run names cannot point outside the runs folder.")
    if path.exists() and not overwrite:
        raise ConfigError(f"A run named '{path.name}' already exists; choose another name.")
    return path


def suggested_run_name(dataset: str, cfg: ModelConfig) -> str:
    """The name a run gets when nobody typed one, e.g. 'mnist-5k-vae-mlp-z2'; pass it through
    :func:`unique_run_name` to get a free folder."""
    return f"{dataset}-{cfg.kind}-{cfg.arch}-z{cfg.latent_dim}"


def _candidates(base: str):
    base = sanitize_run_name(base)
    yield base
    for i in itertools.count(2):
        yield f"{base[: MAX_NAME - 5]}-{i}"


def _reservation(root: Path, name: str) -> Path:
    return root / f".{name}.reserved"  # hidden: never listed as a model


def is_taken(name: str, runs: Path | None = None) -> bool:
    """A run folder of that name exists, or a queued or running job has reserved it."""
    root = runs or runs_dir()
    return (root / name).exists() or _reservation(root, name).exists()


def unique_run_name(base: str, runs: Path | None = None) -> str:
    """`base`, or `base-2`, `base-3`, ... whichever is neither a run nor reserved."""
    return next(name for name in _candidates(base) if not is_taken(name, runs))


def reserve_run_name(base: str, runs: Path | None = None) -> str:
    """Reserve the first free name of `unique_run_name`'s sequence for a job, atomically: the
    reservation is a hidden marker file created with O_EXCL, so two jobs accepted at the same
    moment get two names. The job saves into ``runs/<name>`` and then releases the marker."""
    root = runs or runs_dir()
    root.mkdir(parents=True, exist_ok=True)
    for name in _candidates(base):
        if (root / name).exists():
            continue
        try:
            os.close(os.open(_reservation(root, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            continue
        if (root / name).exists():  # saved by someone else between the check and the marker
            _reservation(root, name).unlink(missing_ok=True)
            continue
        return name
    raise AssertionError("unreachable: the candidate names never run out")


def release_run_name(run_folder: Path) -> None:
    _reservation(run_folder.parent, run_folder.name).unlink(missing_ok=True)
