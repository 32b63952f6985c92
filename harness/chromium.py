"""Debian's Chromium (``/usr/bin/chromium``, or ``$EXPLORER_CHROMIUM``) driven by Playwright,
headless; Playwright's own browser download is never used."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = os.environ.get("EXPLORER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
LAUNCH_ARGS = {"executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}
VIEWPORT = {"width": 1400, "height": 900}
MISSING = (f"{CHROMIUM} not found: install Debian's chromium (bash scripts/setup.sh --test); "
           "Playwright's browser download is not used.")


def chromium_missing() -> str | None:
    """Why the browser cannot start here, or None when it can."""
    return None if Path(CHROMIUM).exists() else MISSING


def launch_chromium(playwright):
    """Launch through a sync or async Playwright (the async one returns an awaitable)."""
    if why := chromium_missing():
        raise RuntimeError(why)
    return playwright.chromium.launch(**LAUNCH_ARGS)
