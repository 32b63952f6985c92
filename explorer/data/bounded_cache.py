"""A per-process memo bounded by the bytes of what it keeps, not by a count: four datasets may be
4 MB or 4 GB, and a server that keeps whatever its students loaded last must stay bounded."""

from __future__ import annotations

import collections
import functools
import threading
from collections.abc import Callable


def bytes_bounded(limit: Callable[[], int], size_of: Callable[[object], int]):
    """Memoise a function by its arguments; once the values kept together exceed `limit()`
    bytes (each measured by `size_of`), the least recently used go first (the newest one always
    stays). The wrapper has ``cache_clear()`` and ``cached_keys()``."""

    def decorate(function):
        kept: collections.OrderedDict = collections.OrderedDict()
        lock = threading.Lock()

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            key = (args, tuple(sorted(kwargs.items())))
            with lock:
                if key in kept:
                    kept.move_to_end(key)
                    return kept[key]
            value = function(*args, **kwargs)  # outside the lock: loading may take seconds
            with lock:
                kept[key] = value
                while len(kept) > 1 and sum(map(size_of, kept.values())) > limit():
                    kept.popitem(last=False)
            return value

        wrapper.cache_clear = kept.clear
        wrapper.cached_keys = lambda: [k for k in kept]
        return wrapper

    return decorate
