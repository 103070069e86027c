"""A small thread-safe LRU cache bounded by the total size of its values (bytes), for responses
computed from request parameters: however many distinct queries clients send, the memory it holds
stays under ``max_bytes``, and a value larger than ``max_entry`` is returned but never kept."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class BoundedCache:
    def __init__(self, max_bytes: int, max_entry: int, max_entries: int = 4096):
        self.max_bytes, self.max_entry, self.max_entries = max_bytes, max_entry, max_entries
        self._data: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._data)

    def get_or_make(self, key: Hashable, make: Callable[[], T], size: Callable[[T], int]) -> T:
        """The cached value for ``key``, else ``make()`` (kept when ``size(value)`` fits)."""
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
                return hit[0]  # type: ignore[return-value]
        value = make()  # outside the lock: two threads may compute the same value once each
        n = int(size(value))
        if n > self.max_entry:
            return value
        with self._lock:
            if key in self._data:
                return self._data[key][0]  # type: ignore[return-value]
            self._data[key] = (value, n)
            self.bytes += n
            while self._data and (self.bytes > self.max_bytes or len(self._data) > self.max_entries):
                _k, (_v, old) = self._data.popitem(last=False)
                self.bytes -= old
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.bytes = 0
