"""Model files: a folder with ``model.safetensors`` (weights) and ``card.json`` (everything else).

Weights are never unpickled and user files never go through ``torch.load``. A folder is written
to a temporary sibling and renamed into place (swapped in one step over an existing one, on Linux),
so a crash mid-save leaves either the old folder or the new one, never half of one. Loading checks
the card against the tensors (names and shapes) before it builds the model.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import json
import logging
import math
import platform
import time
from pathlib import Path
from typing import TYPE_CHECKING

from safetensors import SafetensorError

from explorer import __version__, atomic
from explorer.errors import ConfigError, ModelFileError, plain
from explorer.families.config import ModelConfig, check_size

if TYPE_CHECKING:
    from explorer.families.models import Autoencoder

WEIGHTS = "model.safetensors"
CARD = "card.json"
FORMAT = "latent-explorer/1"
MAX_WEIGHTS_BYTES = 200 * 1024 * 1024  # far above any model this app trains
MAX_CARD_BYTES = 5 * 1024 * 1024
MAX_HEADER_BYTES = 1024 * 1024  # a safetensors header names each tensor once: a few KB
MAX_NAME = 64  # characters in a model folder's name
MAX_TEXT = 200  # characters kept of any text field of a card
MAX_EPOCHS = 100_000  # rows kept of a card's training history
# Files that can hold pickles (torch.save, joblib, numpy object arrays): never loaded, and named
# when refused, because unpickling runs whatever code the file asks for.
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".joblib", ".npy", ".npz")
# Weights this app reads; float8 and integer files could hide a model far larger than its file.
DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}
logger = logging.getLogger(__name__)


def versions() -> dict[str, str]:
    import numpy
    import torch

    return {
        "latent_explorer": __version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


def weights_hash(data: bytes) -> str:
    """The content hash that ties projections and caches to exact weights."""
    return hashlib.sha256(data).hexdigest()[:16]


def _fsync_write(path: Path, data: bytes) -> None:
    atomic.fsync_write(path, data)  # a name of its own: tests make one write fail or die


def model_bytes(model: Autoencoder, card: dict) -> tuple[bytes, dict]:
    """What a save writes, without writing it: the safetensors bytes and the card completed with
    `format`, `config`, `content_hash`, `versions` and `saved_at`. Lets a model that could not be
    saved still be downloaded."""
    from safetensors.torch import save as st_save_bytes

    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    data = st_save_bytes(state, metadata={"format": FORMAT})
    card = dict(card)
    card.update(
        format=FORMAT,
        config=model.cfg.to_dict(),
        content_hash=weights_hash(data),
        versions=versions(),
        saved_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    return data, card


def free_names(name: str):
    """`name`, then `name-2`, `name-3`, ...: the names a new model may take, in order."""
    yield name
    for i in itertools.count(2):
        yield f"{name[: MAX_NAME - 1 - len(str(i))]}-{i}"


def label(folder: str | Path) -> str:
    """How users see a model folder: ``runs/<name>`` or ``pretrained/<name>``, never a path on
    the server."""
    folder = Path(folder)
    return plain(f"{folder.parent.name}/{folder.name}" if folder.parent.name else folder.name)


def save_model(model: Autoencoder, folder: str | Path, card: dict, overwrite: bool = False) -> dict:
    """Write `model` and `card` to `folder` atomically; returns the card as written.

    Without `overwrite` nothing is ever replaced: when `folder` is taken, even by a save that
    finished a moment ago, the model goes to the next free name (`name-2`, ...), and the card's
    `name` is always the name of the folder it got. A failed write (disk full, read-only folder)
    raises ModelFileError and leaves no folder behind.
    """
    data, card = model_bytes(model, card)
    return save_bytes(data, card, folder, overwrite)


def save_bytes(data: bytes, card: dict, folder: str | Path, overwrite: bool = False) -> dict:
    """:func:`save_model` for weights already serialised by :func:`model_bytes` (a model kept in
    memory when its first save failed); same rules, same errors."""
    folder = Path(folder)
    card = dict(card)

    def named(name: str) -> dict[str, bytes]:
        card["name"] = name  # the card says the name of the folder it got
        return {CARD: json.dumps(card, indent=1).encode()}

    files = {WEIGHTS: data}
    if overwrite:
        files[CARD] = json.dumps(card, indent=1).encode()
    try:
        atomic.write_folder(folder, files, replace=overwrite, names=free_names(folder.name),
                            named=None if overwrite else named,
                            write=lambda path, data: _fsync_write(path, data))
    except OSError as e:
        raise _save_error(folder, e) from None
    return card


def _save_error(folder: Path, e: OSError) -> ModelFileError:
    logger.warning("could not save a model to %s: %s", folder, e)
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        reason = "the server's disk is full"
    elif e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        reason = "the folder is read-only"
    else:
        reason = e.strerror or type(e).__name__
    return ModelFileError(f"The model could not be saved to {label(folder)}: {reason}.")


def parse_card(data: bytes, source: str) -> dict:
    """A card's JSON bytes as a card: only the fields this app knows, each of the type it expects
    (a field of the wrong shape is dropped), and a config that builds a model within the size
    limits. Raises ModelFileError with one sentence naming `source`."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelFileError(f"{source} is not valid JSON ({plain(e)}).") from None
    except RecursionError:
        raise ModelFileError(f"{source} is nested too deeply to be a model card.") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("config"), dict):
        raise ModelFileError(f"{source} has no model 'config' section.")
    try:
        config = ModelConfig.from_dict(raw["config"])
    except ConfigError as e:  # our own sentence, the card's names in it already made plain
        raise ModelFileError(f"{source}: bad model config ({e})") from None
    except (TypeError, ValueError) as e:  # ValueError: e.g. int("x") in a shape
        raise ModelFileError(f"{source}: bad model config ({plain(e)})") from None
    card = {"config": config.to_dict()}
    for key, check in CARD_FIELDS.items():
        if key in raw and (value := check(raw[key])) is not None:
            card[key] = value
    return card


def finite_number(v):
    """`v` if it is a finite int or float (not a bool), else None."""
    number = isinstance(v, int | float) and not isinstance(v, bool)
    return v if number and math.isfinite(v) else None


def _text(v):
    return v[:MAX_TEXT] if isinstance(v, str) else None


def _scalar(v):
    return v if isinstance(v, bool) else finite_number(v) if finite_number(v) is not None else _text(v)


def _table(check):
    """A flat {name: value} dict (at most 64 entries), keeping only the values `check` accepts."""

    def clean(v):
        if not isinstance(v, dict):
            return None
        items = ((k[:MAX_TEXT], check(x)) for k, x in list(v.items())[:64])
        return {k: x for k, x in items if x is not None}

    return clean


def _history(v):
    if not isinstance(v, list):
        return None
    rows = []
    for row in v[:MAX_EPOCHS]:
        if isinstance(row, dict) and finite_number(row.get("epoch")) is not None:
            rows.append({"epoch": row["epoch"], "train": _table(finite_number)(row.get("train")) or {},
                         "test": _table(finite_number)(row.get("test")) or {},
                         "seconds": finite_number(row.get("seconds")) or 0.0})
    return rows


CARD_FIELDS = {
    "name": _text, "format": _text, "content_hash": _text, "saved_at": _text,
    "seed": lambda v: v if isinstance(finite_number(v), int) else None,
    "dataset": _table(_scalar), "train": _table(_scalar), "metrics": _table(finite_number),
    "versions": _table(_text), "history": _history,
}


def read_card(folder: str | Path, source: str | None = None) -> dict:
    """Read and check a folder's `card.json` (see :func:`parse_card`); raises ModelFileError with
    a readable reason that names the folder as `source` (default ``runs/<name>``-style)."""
    folder = Path(folder)
    source = source or label(folder)
    path = folder / CARD
    if not folder.is_dir():
        raise ModelFileError(
            f"{source} is not a model folder (expected {CARD} and {WEIGHTS} in it)."
        )
    if not path.is_file():
        raise ModelFileError(f"{source} has no {CARD}; a model folder needs {CARD} and {WEIGHTS}.")
    if path.stat().st_size > MAX_CARD_BYTES:
        raise ModelFileError(f"The {CARD} in {source} is too large to be a model card.")
    return parse_card(path.read_bytes(), f"The {CARD} in {source}")


def weights_limit(cfg: ModelConfig) -> int:
    """The most bytes a weights file of this config can need: float32 tensors and a header. Known
    from the config alone, so an oversized file is refused before it is read."""
    return 8 + MAX_HEADER_BYTES + 4 * check_size(cfg).parameters


def load_weights_bytes(folder: str | Path, limit: int = MAX_WEIGHTS_BYTES,
                       source: str | None = None) -> bytes:
    source = source or label(folder)
    path = Path(folder) / WEIGHTS
    if not path.is_file():
        raise ModelFileError(f"{source} has no {WEIGHTS}.")
    size = path.stat().st_size
    if size > min(limit, MAX_WEIGHTS_BYTES):
        logger.warning("refused to read %s: %d bytes, at most %d expected", path, size, limit)
        raise ModelFileError(
            f"The weights in {source} are {size / 2**20:.1f} MB, larger than its card's model can "
            f"need ({min(limit, MAX_WEIGHTS_BYTES) / 2**20:.1f} MB); refusing to load them."
        )
    return path.read_bytes()


def _check_header(data: bytes, source: str) -> None:
    """Read the safetensors header (8 bytes of little-endian length, then JSON) and refuse any
    tensor stored in a dtype outside DTYPES, before safetensors converts anything."""
    size = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
    try:
        if not 0 < size <= min(MAX_HEADER_BYTES, len(data) - 8):
            raise ValueError("bad header length")
        header = json.loads(data[8 : 8 + size])
        if not isinstance(header, dict):
            raise ValueError("header is not an object")
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ModelFileError(f"{source}: the weights are not a valid safetensors file.") from None
    for name, entry in header.items():
        dtype = entry.get("dtype") if isinstance(entry, dict) else None
        if name != "__metadata__" and dtype not in DTYPES:
            raise ModelFileError(
                f"{source}: tensor {plain(name, 80)} is stored as {plain(dtype, 20)}; only "
                f"{', '.join(DTYPES.values())} weights are accepted."
            )


def model_from_bytes(card: dict, data: bytes, source: str = "model") -> Autoencoder:
    """Build the model the card describes and fill it with the safetensors `data`, checking size,
    dtypes, names and shapes first so a mismatch is reported clearly rather than half-loaded."""
    # torch is imported here, not with the module: reading cards (the model list) never needs it.
    import torch
    from safetensors.torch import load as st_load_bytes

    from explorer.families.models import build_model

    try:
        cfg = ModelConfig.from_dict(card["config"])  # also refuses a model over the size limits
    except ConfigError as e:
        raise ModelFileError(f"{source}: bad model config ({e})") from None
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{source}: bad model config ({plain(e)})") from None
    if len(data) > weights_limit(cfg):
        raise ModelFileError(f"{source}: the weights file is larger than the card's model needs.")
    _check_header(data, source)
    try:
        tensors = st_load_bytes(data)
    except (SafetensorError, ValueError, OSError) as e:
        raise ModelFileError(
            f"{source}: the weights are not a valid safetensors file ({plain(e)})."
        ) from None
    with torch.device("meta"):  # shapes only: nothing allocated until the tensors match
        expected = build_model(cfg).state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        detail = [f"{what} {plain(', '.join(names[:4]))}{' …' if len(names) > 4 else ''}"
                  for what, names in (("missing", missing), ("unexpected", extra)) if names]
        raise ModelFileError(
            f"{source}: the weights do not match the card's model ({'; '.join(detail)})."
        )
    for name, t in expected.items():
        if tuple(tensors[name].shape) != tuple(t.shape):
            raise ModelFileError(
                f"{source}: tensor {name} has shape {tuple(tensors[name].shape)}, "
                f"but the card's model needs {tuple(t.shape)}."
            )
        if not torch.isfinite(tensors[name]).all():
            raise ModelFileError(
                f"{source}: tensor {name} holds NaN or infinite values; the file is damaged."
            )
    model = build_model(cfg)
    model.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()})
    if "content_hash" in card and card["content_hash"] != weights_hash(data):
        # Not fatal: a hand-edited card still loads, but caches keyed by the hash must not lie.
        card["content_hash"] = weights_hash(data)
    model.eval()
    return model


def load_model(folder: str | Path, source: str | None = None) -> tuple[Autoencoder, dict]:
    """Load a model folder: (model in eval mode on the CPU, card). Messages name the folder as
    `source` (default ``runs/<name>``-style); the full path only goes to the log."""
    folder = Path(folder)
    source = source or label(folder)
    card = read_card(folder, source)
    limit = weights_limit(ModelConfig.from_dict(card["config"]))
    data = load_weights_bytes(folder, limit, source)
    model = model_from_bytes(card, data, source=source)
    card.setdefault("content_hash", weights_hash(data))
    return model, card
