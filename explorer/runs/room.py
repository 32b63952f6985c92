"""Room to save in a runs folder: its quota ($EXPLORER_RUNS_QUOTA_MB), the bytes its runs take,
the disk's free space, and a student's own quota, each said in one sentence before (and again
at) a save, so a student hears before the work is done rather than after."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
from pathlib import Path

from explorer.errors import ModelFileError
from explorer.paths import folder_bytes

DEFAULT_QUOTA_MB = 2048  # the runs folder's size limit unless $EXPLORER_RUNS_QUOTA_MB says
MIN_FREE_BYTES = 64 * 2**20  # left free on the disk for everything else the server writes
logger = logging.getLogger(__name__)


def quota_bytes() -> int:
    """The runs folder's size limit: $EXPLORER_RUNS_QUOTA_MB megabytes, default 2048."""
    try:
        return int(float(os.environ.get("EXPLORER_RUNS_QUOTA_MB") or DEFAULT_QUOTA_MB) * 2**20)
    except ValueError:
        return DEFAULT_QUOTA_MB * 2**20


def check_writable(folder: Path, need_bytes: int = 0) -> None:
    """Raise ModelFileError with one sentence unless `need_bytes` more can be written into the
    runs `folder`: it can be created and written to, the disk has room, and the folder's quota
    ($EXPLORER_RUNS_QUOTA_MB) is not used up. Call it before training or saving, so a student
    hears before the work is done rather than after."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):  # os.access says yes to root even when it fails
            pass
        free = shutil.disk_usage(folder).free
    except OSError as e:
        logger.warning("the runs folder %s is not writable: %s", folder, e)
        full = e.errno in (errno.ENOSPC, errno.EDQUOT)
        raise ModelFileError(
            "The server's disk is full, so nothing can be saved; ask your teacher to free space."
            if full else
            "The runs folder cannot be written to on this server, so nothing can be saved; ask "
            "your teacher to check it."
        ) from None
    if free < need_bytes + MIN_FREE_BYTES:
        logger.warning("%s: %d bytes free, %d needed", folder, free, need_bytes)
        raise ModelFileError(
            f"The server's disk has only {free / 2**20:.0f} MB free, too little to save "
            f"{need_bytes / 2**20:.1f} MB; ask your teacher to free space."
        )
    used, quota = folder_bytes(folder), quota_bytes()
    if used + need_bytes > quota:
        raise ModelFileError(
            f"The class's saved runs take {used / 2**20:.0f} MB of the {quota / 2**20:.0f} MB "
            "they may use, so nothing more can be saved; ask your teacher to remove old runs "
            "or raise EXPLORER_RUNS_QUOTA_MB."
        )


def check_room(folder: Path, need_bytes: int, room_bytes: int | None = None) -> None:
    """At save time: the class's quota and disk (:func:`check_writable`), and the student's own
    `room_bytes` (None: no per-student quota). Raises ModelFileError with one sentence."""
    if room_bytes is not None and need_bytes > room_bytes:
        raise ModelFileError(
            f"This model takes {need_bytes / 2**20:.1f} MB, more than the "
            f"{room_bytes / 2**20:.1f} MB left of your own quota, so it was not saved; download "
            "it below, and ask your teacher to remove runs of yours you no longer need."
        )
    check_writable(folder, need_bytes)
