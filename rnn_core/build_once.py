"""Values built once for everyone who asks for them: the figures of a run a class watches.

A server reruns each viewer's live view twice a second. Keyed by what they show (which
run, how far it has trained, the viewer's options), a shared run's figures are built once
and handed to every viewer. The cache is bounded (the least recently used entry leaves
first), and a key asked for while another thread builds it waits for that build instead
of building it again (thirty viewers refreshing at once build a figure once, not thirty
times).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class _Entry:
    def __init__(self) -> None:
        self.ready = threading.Event()
        self.value: Any = None
        self.failed = False


class BuildOnce:
    """``get(key, build)``: ``build()``'s value for ``key``, built once while the key
    stays among the ``max_entries`` most recently used."""

    def __init__(self, max_entries: int = 64):
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self.builds = 0  # how many times a value was built (for tests and benchmarks)
        self.hits = 0  # how many times a value was served without building

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry()
                builder = True
                self.builds += 1
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            else:
                self._entries.move_to_end(key)
                builder = False
        if builder:
            try:
                entry.value = build()
            except BaseException:
                # Not cached: whoever waits builds for themselves (and meets the error,
                # if it is one, in their own call).
                entry.failed = True
                with self._lock:
                    if self._entries.get(key) is entry:
                        del self._entries[key]
                raise
            finally:
                entry.ready.set()
            return entry.value
        entry.ready.wait()
        if entry.failed:
            return build()
        with self._lock:
            self.hits += 1
        return entry.value

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
