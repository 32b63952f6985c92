"""Where models live: shipped ones in ``pretrained/`` (read-only) and the user's in a runs folder.

A model is a folder holding ``card.json`` and ``model.safetensors`` (:mod:`explorer.runs.checkpoints`).
Run names typed by users become safe folder names here, so nothing can be written outside the runs
folder and nothing is overwritten silently. Before anything is written, :func:`explorer.runs.room.check_writable`
says in one sentence when the runs folder is read-only, its disk full or its quota used up; at
start-up :func:`clean_stale_temps` removes what writers killed mid-save left behind.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import shutil
import socket
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from explorer import families
from explorer.atomic import displaced
from explorer.errors import ConfigError, ModelFileError, plain
from explorer.families.config import ModelConfig
from explorer.paths import ROOT
from explorer.paths import folder_bytes as folder_bytes
from explorer.runs.checkpoints import (
    CARD,
    MAX_NAME,
    PICKLE_SUFFIXES,
    WEIGHTS,
    free_names,
    read_card,
    save_bytes,
)
from explorer.runs.room import check_room as check_room  # re-exported: the runs' room
from explorer.runs.room import check_writable

PRETRAINED_DIR = ROOT / "pretrained"
DEFAULT_MODEL = "mnist-vae-mlp-z2"  # the one a teacher opens first: a 2-D map with no projection
logger = logging.getLogger(__name__)


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
    def test_number(self) -> str | None:
        """The one test number a picker shows, named for what it is: a VAE's −ELBO when its card
        has it (the number Rate and distortion plots), else its loss as :func:`loss_name` says."""
        neg_elbo = self.card.get("metrics", {}).get("neg_elbo")
        if families.of(self.config).posterior and isinstance(neg_elbo, int | float):
            return f"test −ELBO {neg_elbo:.1f} nats per image"
        if self.test_loss is None:
            return None
        name, unit = loss_name(self.config)
        return f"{name} {self.test_loss:.1f} {unit}"

    @property
    def summary(self) -> str:
        """One line for pickers: kind, body, latent size, dataset, the test number."""
        parts = [self.config.describe(), self.dataset]
        if self.test_number is not None:
            parts.append(self.test_number)
        return " · ".join(parts)

    @property
    def read_only(self) -> bool:
        return self.source == "pretrained"


def loss_name(cfg: ModelConfig) -> tuple[str, str]:
    """What a card's ``loss`` is (the training objective on the test split, per image), as
    (name, unit): β-weighted when β is not 1, so not an ELBO; nats only when the reconstruction
    is a Bernoulli cost and no L1 penalty is added."""
    how = []
    if families.get(cfg.kind).kl_weight and cfg.beta != 1.0:
        how.append(f"β-weighted, β={cfg.beta:g}")
    if cfg.sparsity:
        how.append("with its L1 penalty")
    if cfg.likelihood == "gaussian":
        how.append("squared error")
    name = "test loss" + (f" ({', '.join(how)})" if how else "")
    nats = cfg.likelihood != "gaussian" and not cfg.sparsity
    return name, "nats per image" if nats else "per image"


def _scan(folder: Path, source: str) -> tuple[list[ModelEntry], list[str]]:
    entries, problems = [], []
    prefix = "pretrained" if source == "pretrained" else "runs"
    try:
        subs = sorted(folder.iterdir()) if folder.is_dir() else []
    except OSError as e:
        logger.warning("could not list %s: %s", folder, e)
        return entries, [f"The {prefix} folder could not be read."]
    for sub in subs:
        if sub.name.startswith("."):
            continue  # temp folders from an interrupted save start with a dot
        try:
            entry = _entry(sub, source, f"{prefix}/{sub.name}")
        except ModelFileError as e:
            problems.append(str(e))
        except Exception:  # one odd folder must never take the model list down with it
            logger.exception("could not read the model folder %s", sub)
            problems.append(f"{prefix}/{plain(sub.name)} could not be read as a model folder.")
        else:
            if entry is not None:
                entries.append(entry)
    return entries, problems


def _entry(sub: Path, source: str, entry_id: str) -> ModelEntry | None:
    if not sub.is_dir():
        return None
    if not (sub / CARD).exists() and not (sub / WEIGHTS).exists():
        pickled = sorted(f.name for f in sub.iterdir() if f.suffix.lower() in PICKLE_SUFFIXES)
        if pickled:  # say why a model someone put here does not show up
            raise ModelFileError(
                f"{plain(entry_id)} holds {plain(pickled[0])}, a file that can hold a pickle; only "
                f"{WEIGHTS} with {CARD} is loaded, because unpickling a file can run any code."
            )
        return None
    card = read_card(sub, plain(entry_id))
    entry = ModelEntry(entry_id, sub.name, sub, source, card)
    _ = entry.summary  # a card that cannot be summarised is reported here, not in the sidebar
    return entry


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


def _reservation(root: Path, name: str) -> Path:
    return root / f".{name}.reserved"  # hidden: never listed as a model


def is_taken(name: str, runs: Path | None = None) -> bool:
    """A run folder of that name exists, or a queued or running job has reserved it."""
    root = runs or runs_dir()
    return (root / name).exists() or _reservation(root, name).exists()


def unique_run_name(base: str, runs: Path | None = None) -> str:
    """`base`, or `base-2`, `base-3`, ... whichever is neither a run nor reserved (from the
    suffix the last reservation of `base` left off at, as :func:`reserve_run_name`)."""
    root = runs or runs_dir()
    return next(name for _, name in _candidates(root, sanitize_run_name(base))
                if not is_taken(name, root))


_NEXT_SUFFIX: dict[tuple[str, str], int] = {}  # (runs folder, base) -> next suffix to try
_NEXT_LOCK = threading.Lock()


def reserve_run_name(base: str, runs: Path | None = None) -> str:
    """Reserve a free name of `unique_run_name`'s sequence for a job, atomically: the
    reservation is a hidden marker file created with O_EXCL, so two jobs accepted at the same
    moment get two names. The job saves into ``runs/<name>`` and then releases the marker.

    O(1) however many jobs share a base: `base` itself is tried, then the suffix after the last
    one this process handed out (3,000 jobs named "run" probe two names each, not 3,000). The
    marker holds this host and process id, so a restarted server can tell its own dead ones."""
    root = runs or runs_dir()
    root.mkdir(parents=True, exist_ok=True)
    base = sanitize_run_name(base)
    for index, name in _candidates(root, base):
        if _claim(root, name):
            if index > 1:
                with _NEXT_LOCK:
                    key = (str(root), base)
                    _NEXT_SUFFIX[key] = max(_NEXT_SUFFIX.get(key, 2), index + 1)
            return name
    raise AssertionError("unreachable: the candidate names never run out")


def _candidates(root: Path, base: str):
    """(index, name): `base` itself, then `base-<n>` from the next suffix not yet handed out."""
    with _NEXT_LOCK:
        start = _NEXT_SUFFIX.get((str(root), base), 2)
    yield 1, base
    yield from zip(itertools.count(start), itertools.islice(free_names(base), start - 1, None))


def _claim(root: Path, name: str) -> bool:
    if (root / name).exists():
        return False
    try:
        fd = os.open(_reservation(root, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        f.write(f"{socket.gethostname()} {os.getpid()}")
    if (root / name).exists():  # saved by someone else between the check and the marker
        _reservation(root, name).unlink(missing_ok=True)
        return False
    return True


def _owner_gone(marker: Path) -> bool:
    """The reservation was made by a process of this host that no longer runs (a server killed
    mid-training): its job can never save, so its name is free at once, not after an hour."""
    try:
        host, pid = marker.read_text().split()
        if host != socket.gethostname() or int(pid) == os.getpid():
            return False
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (OSError, ValueError):
        return False
    return False


def release_run_name(run_folder: Path) -> None:
    _reservation(run_folder.parent, run_folder.name).unlink(missing_ok=True)


def save_kept(data: bytes, card: dict, runs: Path | None = None) -> str:
    """Save a model kept in memory after its first save failed (the Train page's Retry): room is
    checked first, no run is ever replaced; returns the name the run got."""
    root = runs or runs_dir()
    check_writable(root, len(data))
    name = unique_run_name(str(card.get("name") or "run"), root)
    return save_bytes(data, card, root / name)["name"]


def clean_stale_temps(folder: Path | None = None, older_than_s: float = 3600.0) -> list[str]:
    """Remove what savers killed mid-write left in the runs `folder`: dot-named ``*.tmp`` folders
    and files, and run-name reservations (``.<name>.reserved``) of jobs that never finished, at its top and inside each run, untouched for `older_than_s` seconds (a younger
    one may belong to a save in progress). A model kept only in a ``.<name>.old-*`` folder, where
    a crash fell between two renames, is put back. Returns the names removed or restored."""
    folder = Path(folder or runs_dir())
    done: list[str] = []
    cutoff = time.time() - older_than_s
    try:
        runs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
        places = [folder, *runs]
        contents = [(place, list(place.iterdir())) for place in places]
    except OSError:  # no runs folder yet, or one this process may not read: nothing to clean
        return done
    for place, paths in contents:
        for p in paths:
            try:
                dead = p.name.endswith(".reserved") and _owner_gone(p)
                if not p.name.startswith(".") or (p.lstat().st_mtime > cutoff and not dead):
                    continue
                if place == folder and (was := displaced(p.name)):
                    if not os.path.lexists(folder / was):
                        os.rename(p, folder / was)
                    else:
                        shutil.rmtree(p)
                elif p.name.endswith(".tmp") and p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                elif p.name.endswith((".tmp", ".reserved")):  # a job's name, kept too long
                    p.unlink()
                else:
                    continue
                done.append(str(p.relative_to(folder)))
            except OSError as e:
                logger.warning("could not clean up %s: %s", p, e)
    if done:
        logger.info("removed temporary files left by interrupted saves: %s", ", ".join(done))
    return done
