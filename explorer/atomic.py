"""Atomic writes, of one file or of a whole folder: written beside the target under a dot-name,
fsynced, then renamed into place, so a reader (or a crash) sees the old version or the whole new
one, never half of one. Model folders (:mod:`explorer.runs.checkpoints`), own datasets
(:mod:`explorer.data.userdata`), maps, replays and scores all write through here.

A folder that replaces another is swapped in with one ``renameat2(RENAME_EXCHANGE)`` on Linux;
elsewhere with two renames, the old folder parked as ``.<name>.old-<pid>-<ns>`` between them
(:func:`displaced` reads that name back, for the clean-up after a crash between the two).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

Write = Callable[[Path, bytes], None]


def write_atomic(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; maps and replays are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def fsync_write(path: Path, data: bytes) -> None:
    """Write a new file in a folder that is not yet in place, to the disk before it is renamed."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_folder(folder: str | Path, files: dict[str, bytes], *, replace: bool = False,
                 names: Iterable[str] | None = None,
                 named: Callable[[str], dict[str, bytes]] | None = None,
                 write: Write | None = None) -> Path | None:
    """Write `files` (name -> bytes) as a folder and move it into place in one step.

    With `replace`, what is at `folder` is swapped out. Otherwise nothing is ever replaced: the
    folder takes the first of `names` (default: its own name) that is free, with the files
    `named(name)` gives for that name added (e.g. a card that states its folder's name), and
    None comes back when every name is taken. OSError on a failed write, with nothing left.
    `write(path, bytes)` writes each file (default :func:`fsync_write`)."""
    write = write or fsync_write
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a saved folder is meant to be shared
        for name, data in files.items():
            write(tmp / name, data)
        if replace:
            for name, data in (named(folder.name) if named else {}).items():
                write(tmp / name, data)
            _replace(tmp, folder)
            return folder
        for name in names or [folder.name]:
            for file, data in (named(name) if named else {}).items():
                write(tmp / file, data)
            if _rename_new(tmp, folder.with_name(name)):
                return folder.with_name(name)
        shutil.rmtree(tmp, ignore_errors=True)
        return None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


_DISPLACED = re.compile(r"\.(.+)\.old-\d+-\d+")


def displaced(name: str) -> str | None:
    """The folder name a ``.<name>.old-<pid>-<ns>`` folder held before a replace, else None."""
    m = _DISPLACED.fullmatch(name)
    return m[1] if m else None


_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2


@functools.cache
def _renameat2_call():
    try:
        call = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, Windows, musl)
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return call


def _renameat2(a: Path, b: Path, flags: int) -> bool:
    """Linux renameat2: with RENAME_EXCHANGE swap two paths in one system call, with
    RENAME_NOREPLACE rename unless `b` exists (then OSError EEXIST). False where that is not
    available, and the caller falls back to plain renames."""
    renameat2 = _renameat2_call()
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # this filesystem cannot swap
        return False
    raise OSError(code, os.strerror(code), str(b))


def _replace(tmp: Path, folder: Path) -> None:
    if folder.exists() and _renameat2(tmp, folder, _RENAME_EXCHANGE):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp holds the old folder now
    elif folder.exists():
        # Two renames: a crash between them leaves the old folder only under its dot-name.
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}-{time.time_ns()}")
        os.rename(folder, old)
        os.rename(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, folder)


def _rename_new(tmp: Path, target: Path) -> bool:
    """Rename `tmp` to `target` unless something is there; False when it is taken. Checking first
    and renaming after would let two saves finishing together replace one another."""
    try:
        if _renameat2(tmp, target, _RENAME_NOREPLACE):
            return True
        # No renameat2: a rename onto a non-empty folder fails (ENOTEMPTY), and every saved
        # folder holds files, so only an empty folder appearing after this check could be replaced.
        if os.path.lexists(target):
            return False
        os.rename(tmp, target)
        return True
    except OSError as e:
        if e.errno in (errno.EEXIST, errno.ENOTEMPTY):
            return False
        raise
