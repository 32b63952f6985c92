"""Answers shared by every caller in the process: computed once per key however many threads ask
at the same moment, and handed out read-only (:class:`explorer.analysis.view.ModelView` keeps
each model's answers in one)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


def frozen(value: T) -> T:
    """Arrays are shared by every caller: make them read-only (a tuple's too)."""
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, tuple):
        for item in value:
            frozen(item)
    return value


class Memo:
    """Compute each key once, however many threads ask at the same moment; a failure is not
    remembered (the next ask tries again)."""

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        if key in self._values:
            return self._values[key]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._values:
                self._values[key] = frozen(compute())
            return self._values[key]

    def has(self, key: Hashable) -> bool:
        return key in self._values
