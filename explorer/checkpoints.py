"""Model files: a folder with ``model.safetensors`` (weights) and ``card.json`` (everything else).

Weights are never unpickled and user files never go through ``torch.load``. A folder is written
to a temporary sibling and renamed into place (swapped in one step over an existing one, on Linux),
so a crash mid-save leaves either the old folder or the new one, never half of one. Loading checks
the card against the tensors (names and shapes) before it builds the model.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load_bytes
from safetensors.torch import save as st_save_bytes

from explorer import __version__
from explorer.errors import ConfigError, ModelFileError
from explorer.models import Autoencoder, ModelConfig, build_model

WEIGHTS = "model.safetensors"
CARD = "card.json"
FORMAT = "latent-explorer/1"
MAX_WEIGHTS_BYTES = 200 * 1024 * 1024  # far above any model this app trains


def versions() -> dict[str, str]:
    import numpy

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
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one system call (Linux renameat2 RENAME_EXCHANGE); False where
    that is not available, and the caller falls back to two renames."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, Windows, musl)
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # this filesystem cannot swap
        return False
    raise OSError(code, os.strerror(code), str(b))


def save_model(model: Autoencoder, folder: str | Path, card: dict, overwrite: bool = False) -> dict:
    """Write `model` and `card` to `folder` atomically; returns the card as written.

    The card gets `format`, `config`, `content_hash`, `versions` and `saved_at` filled in.
    """
    folder = Path(folder)
    if folder.exists() and not overwrite:
        raise ModelFileError(f"{folder} already exists; choose another name.")
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
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; a saved model is meant to be shared
    try:
        _fsync_write(tmp / WEIGHTS, data)
        _fsync_write(tmp / CARD, json.dumps(card, indent=1).encode())
        if folder.exists() and _exchange(tmp, folder):
            shutil.rmtree(tmp, ignore_errors=True)  # tmp holds the old model now
        elif folder.exists():
            # Two renames: a crash between them leaves the old model only in the dot-named folder.
            old = folder.with_name(f".{folder.name}.old-{os.getpid()}-{time.time_ns()}")
            os.rename(folder, old)
            os.rename(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return card


def read_card(folder: str | Path) -> dict:
    """Parse and sanity-check `card.json`; raises ModelFileError with a readable reason."""
    folder = Path(folder)
    path = folder / CARD
    if not folder.is_dir():
        raise ModelFileError(f"{folder} is not a model folder (expected {CARD} and {WEIGHTS} in it).")
    if not path.is_file():
        raise ModelFileError(f"{folder} has no {CARD}; a model folder needs {CARD} and {WEIGHTS}.")
    if path.stat().st_size > 5 * 1024 * 1024:
        raise ModelFileError(f"{path} is too large to be a model card.")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelFileError(f"{path} is not valid JSON ({e}).") from None
    if not isinstance(card, dict) or not isinstance(card.get("config"), dict):
        raise ModelFileError(f"{path} has no model 'config' section.")
    try:
        ModelConfig.from_dict(card["config"])
    except (ConfigError, TypeError, ValueError) as e:  # ValueError: e.g. int("x") in a shape
        raise ModelFileError(f"{path}: bad model config ({e}).") from None
    return card


def load_weights_bytes(folder: str | Path) -> bytes:
    path = Path(folder) / WEIGHTS
    if not path.is_file():
        raise ModelFileError(f"{Path(folder)} has no {WEIGHTS}.")
    if path.stat().st_size > MAX_WEIGHTS_BYTES:
        raise ModelFileError(f"{path} is larger than {MAX_WEIGHTS_BYTES // 2**20} MB; refusing to load it.")
    return path.read_bytes()


def model_from_bytes(card: dict, data: bytes, source: str = "model") -> Autoencoder:
    """Build the model the card describes and fill it with the safetensors `data`, checking names
    and shapes first so a mismatch is reported clearly rather than half-loaded."""
    try:
        cfg = ModelConfig.from_dict(card["config"])
    except (ConfigError, KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{source}: bad model config ({e}).") from None
    try:
        tensors = st_load_bytes(data)
    except (SafetensorError, ValueError, OSError) as e:
        raise ModelFileError(f"{source}: the weights are not a valid safetensors file ({e}).") from None
    try:
        # Shapes only, on the meta device: a card may describe a model far too large to allocate,
        # and the tensors (at most MAX_WEIGHTS_BYTES) must match it before anything is built.
        with torch.device("meta"):
            expected = build_model(cfg).state_dict()
    except (RuntimeError, TypeError, ValueError, OverflowError) as e:
        raise ModelFileError(f"{source}: the card describes a model that cannot be built ({e}).") \
            from None
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        detail = []
        if missing:
            detail.append(f"missing {', '.join(missing[:4])}{' …' if len(missing) > 4 else ''}")
        if extra:
            detail.append(f"unexpected {', '.join(extra[:4])}{' …' if len(extra) > 4 else ''}")
        raise ModelFileError(
            f"{source}: the weights do not match the card's model ({'; '.join(detail)})."
        )
    for name, t in expected.items():
        if tuple(tensors[name].shape) != tuple(t.shape):
            raise ModelFileError(
                f"{source}: tensor {name} has shape {tuple(tensors[name].shape)}, "
                f"but the card's model needs {tuple(t.shape)}."
            )
        if not tensors[name].dtype.is_floating_point:
            raise ModelFileError(f"{source}: tensor {name} is not a floating-point tensor.")
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


def load_model(folder: str | Path) -> tuple[Autoencoder, dict]:
    """Load a model folder: (model in eval mode on the CPU, card)."""
    folder = Path(folder)
    card = read_card(folder)
    data = load_weights_bytes(folder)
    model = model_from_bytes(card, data, source=str(folder))
    card.setdefault("content_hash", weights_hash(data))
    return model, card
