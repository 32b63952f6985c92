"""Debian's Chromium (``/usr/bin/chromium``, or ``$EXPLORER_CHROMIUM``) driven by Playwright,
headless; Playwright's own browser download is never used."""

from __future__ import annotations

import os
import shlex
import tempfile
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


def launch_chromium(playwright, nice: int = 0):
    """Launch through a sync or async Playwright (the async one returns an awaitable). `nice`
    above 0: the browser and its tabs run at that lower CPU priority (``nice -n``), e.g. the
    students' browsers of a class benchmark, which in a classroom run on their own laptops."""
    if why := chromium_missing():
        raise RuntimeError(why)
    if not nice:
        return playwright.chromium.launch(**LAUNCH_ARGS)
    wrapper = Path(tempfile.mkdtemp(prefix="chromium-nice-")) / "chromium"
    wrapper.write_text(f'#!/bin/sh\nexec nice -n {int(nice)} {shlex.quote(CHROMIUM)} "$@"\n')
    wrapper.chmod(0o755)
    return playwright.chromium.launch(**{**LAUNCH_ARGS, "executable_path": str(wrapper)})
