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

    def keep(self, key: K, value: V) -> None:
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def take(self, key: K) -> V | None:
        with self._lock:
            return self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
