"""Who is who in a class: display names, students' tokens and the teacher key.

A student holds an opaque random token (kept by their browser, never in a URL); the server keeps
only its SHA-256. The teacher is whoever holds the teacher key: compared in constant time, and a
caller that guesses wrong too often is refused for a while.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import unicodedata

from explorer.classroom.models import CLASS_NAME_MAX, NAME_MAX
from explorer.errors import ExplorerError

GUESSES = 5  # wrong teacher keys allowed per caller ...
GUESS_WINDOW_S = 60.0  # ... within this many seconds, then refused for the rest of the window


class ClassError(ExplorerError):
    """A class action refused, with the sentence to show."""


class TeacherRefused(ClassError):
    """A teacher-only action without the teacher key."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def clean_name(raw: str, limit: int = NAME_MAX, what: str = "name") -> str:
    """A display name as shown to everyone: control, format (right-to-left overrides, zero-width)
    and unassigned characters removed, spaces collapsed, at most `limit` characters."""
    if not isinstance(raw, str):
        raise ClassError(f"Type a {what}.")
    kept = "".join(c for c in unicodedata.normalize("NFKC", raw)
                   if unicodedata.category(c)[0] != "C")
    name = " ".join(kept.split())
    if not name:
        raise ClassError(f"Type a {what} (letters, digits or signs; not only spaces).")
    if len(name) > limit:
        raise ClassError(f"That {what} is {len(name)} characters long; keep it to {limit}.")
    return name


def clean_class_name(raw: str) -> str:
    return clean_name(raw, CLASS_NAME_MAX, "class name")


def name_key(name: str) -> str:
    """Two names that differ only in case are the same name."""
    return name.casefold()[:64]


class TeacherGate:
    """Checks the teacher key. `key_hash` is the SHA-256 of the key (from the environment,
    Streamlit's secrets, or printed once by ``class new``); None means no key is configured:
    one person on their own machine keeps every power."""

    def __init__(self, key_hash: str | None):
        self.key_hash = key_hash
        self._lock = threading.Lock()
        self._misses: dict[str, list[float]] = {}

    @property
    def configured(self) -> bool:
        return self.key_hash is not None

    def is_teacher(self, key: str | None, caller: str = "") -> bool:
        if self.key_hash is None:
            return True
        with self._lock:
            recent = [t for t in self._misses.get(caller, []) if time.monotonic() - t < GUESS_WINDOW_S]
            self._misses[caller] = recent
            if len(recent) >= GUESSES:
                raise TeacherRefused("Too many wrong teacher keys; wait a minute and try again.")
        given = token_hash(key) if isinstance(key, str) and key else ""
        ok = hmac.compare_digest(given.encode(), self.key_hash.encode())
        if not ok and key:
            with self._lock:
                self._misses.setdefault(caller, []).append(time.monotonic())
        return ok

    def require(self, key: str | None, caller: str = "") -> None:
        if not self.is_teacher(key, caller):
            raise TeacherRefused("Only the teacher may do this (the teacher key is missing or "
                                 "wrong).")
