"""The one cache shape every page shares between sessions: least recently used, bounded by bytes,
read-only results, and one computation per key at a time.

A class opens the same default sentence at the same moment; without the per-key lock forty sessions
would each run the same forward (or the same 1.5 s lab) at once on two cores.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

import numpy as np

V = TypeVar("V")


def nbytes_of(value: Any) -> int:
    """Bytes held by a result: its own ``nbytes`` when it says, else the sum over its arrays."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    own = getattr(value, "nbytes", None)
    if isinstance(own, int):
        return own
    if isinstance(value, (tuple, list)):
        return sum(nbytes_of(v) for v in value)
    if isinstance(value, dict):
        return sum(nbytes_of(v) for v in value.values())
    if hasattr(value, "__dataclass_fields__"):
        return sum(nbytes_of(getattr(value, name)) for name in value.__dataclass_fields__)
    return 64


def make_read_only(value: Any) -> None:
    """Every numpy array inside ``value`` made read-only: the result is shared by many sessions."""
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, (tuple, list)):
        for v in value:
            make_read_only(v)
    elif isinstance(value, dict):
        for v in value.values():
            make_read_only(v)
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            make_read_only(getattr(value, name))


class SharedCache(Generic[V]):
    """Thread-safe LRU of results bounded by their bytes (``nbytes_of``); always keeps the newest one."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # guards _items, _bytes and _computing; never held while computing
        self._computing: dict[Hashable, threading.Lock] = {}

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def _hit(self, key: Hashable) -> tuple[bool, V | None]:
        if key in self._items:
            self._items.move_to_end(key)
            return True, self._items[key][0]
        return False, None

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            return self._hit(key)[1]

    def get_or_compute(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The cached value, else ``compute()``; a session asking for a key being computed waits for it."""
        with self._lock:
            found, value = self._hit(key)
            if found:
                return value  # type: ignore[return-value]
            key_lock = self._computing.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                found, value = self._hit(key)
                if found:
                    return value  # type: ignore[return-value]
            try:
                result = compute()
                make_read_only(result)
                size = nbytes_of(result)
                with self._lock:
                    self._items[key] = (result, size)
                    self._bytes += size
                    while self._bytes > self.budget_bytes and len(self._items) > 1:
                        _, (_, dropped) = self._items.popitem(last=False)
                        self._bytes -= dropped
            finally:
                with self._lock:
                    self._computing.pop(key, None)
            return result
