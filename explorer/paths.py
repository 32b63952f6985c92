"""Where the app keeps files it can rebuild: one folder per kind, an environment variable to move it.

``$EXPLORER_CACHE_DIR`` moves every cache (projections, dataset splits) and ``$EXPLORER_DATA_DIR``
the downloaded datasets; without them both live in the user's cache folder (``~/.cache`` on Linux,
as platformdirs decides on other systems).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "latent-explorer"
# The app's folder (app.py, pretrained/, runs/ by default).
ROOT = Path(__file__).resolve().parent.parent


def _from_env(variable: str) -> Path | None:
    configured = os.environ.get(variable, "").strip()
    return Path(configured).expanduser() if configured else None


def cache_dir(sub: str) -> Path:
    """``<cache root>/<sub>``: the cache root is ``$EXPLORER_CACHE_DIR`` when set."""
    return (_from_env("EXPLORER_CACHE_DIR") or platformdirs.user_cache_path(APP)) / sub


def data_dir() -> Path:
    """The downloaded datasets: ``$EXPLORER_DATA_DIR`` when set, else ``<user cache>/data``."""
    return _from_env("EXPLORER_DATA_DIR") or platformdirs.user_cache_path(APP) / "data"


def folder_bytes(folder: Path) -> int:
    """Bytes in the files under `folder` (links not followed): what a quota counts."""
    total = 0
    for dirpath, _, files in os.walk(folder):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass  # removed meanwhile
    return total
