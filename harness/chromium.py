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


# Playwright starts each browser in a session of its own; where Linux shares the CPU between
# sessions first (autogroup, /proc/sys/kernel/sched_autogroup_enabled), a process's nice value
# counts only inside its session, so the session's own nice value is set too.
NICE_WRAPPER = """#!/bin/sh
[ "$(cut -d' ' -f6 /proc/$$/stat)" = "$$" ] && echo {nice} > /proc/$$/autogroup 2>/dev/null
exec nice -n {nice} {chromium} "$@"
"""


def launch_chromium(playwright, nice: int = 0):
    """Launch through a sync or async Playwright (the async one returns an awaitable). `nice`
    above 0: the browser and its tabs run at that lower CPU priority, e.g. the students'
    browsers of a class benchmark, which in a classroom run on their own laptops."""
    if why := chromium_missing():
        raise RuntimeError(why)
    if not nice:
        return playwright.chromium.launch(**LAUNCH_ARGS)
    wrapper = Path(tempfile.mkdtemp(prefix="chromium-nice-")) / "chromium"
    wrapper.write_text(NICE_WRAPPER.format(nice=int(nice), chromium=shlex.quote(CHROMIUM)))
    wrapper.chmod(0o755)
    return playwright.chromium.launch(**{**LAUNCH_ARGS, "executable_path": str(wrapper)})
