"""A bounded map of what this process keeps between changes, each entry handed over once.

`take` removes what it returns: two threads never share an entry, and a change that fails leaves
nothing half-used behind. When full, the entry kept longest ago goes first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Handover(Generic[K, V]):
    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, key: K, value: V) -> list[V]:
        """Keep `value` under `key`; returns the values this pushed out (the key's former one, the
        oldest past the size), which nothing holds any longer but the caller."""
        with self._lock:
            replaced = self._entries.pop(key, None)
            self._entries[key] = value
            left = [] if replaced is None else [replaced]
            while len(self._entries) > self.size:
                left.append(self._entries.popitem(last=False)[1])
            return left

    def take(self, key: K) -> V | None:
        with self._lock:
            return self._entries.pop(key, None)

    def clear(self) -> list[V]:
        """Forget every entry; returns them."""
        with self._lock:
            left = list(self._entries.values())
            self._entries.clear()
            return left
