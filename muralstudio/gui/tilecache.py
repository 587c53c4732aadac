"""A least-recently-used cache bounded in bytes, for the tiles of the display renderers.

Tiles of a 100-megapixel scan do not all fit in memory; the cache keeps the ones used last
and drops the oldest once the bytes its values declare pass the bound.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Hashable


class TileCache:
    """Least-recently-used mapping bounded by the bytes its values declare."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self.nbytes = 0
        self._items: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def keys(self) -> list[Hashable]:
        return list(self._items)

    def get(self, key: Hashable, default: object = None) -> object:
        item = self._items.get(key)
        if item is None:
            return default
        self._items.move_to_end(key)
        return item[0]

    def peek(self, key: Hashable, default: object = None) -> object:
        item = self._items.get(key)
        return default if item is None else item[0]

    def put(self, key: Hashable, value: object, nbytes: int) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self.nbytes -= old[1]
        self._items[key] = (value, int(nbytes))
        self.nbytes += int(nbytes)
        self._shrink(keep=key)

    def resize(self, key: Hashable, nbytes: int) -> None:
        """Record a new size for a value changed in place."""
        item = self._items.get(key)
        if item is not None:
            self.nbytes += int(nbytes) - item[1]
            self._items[key] = (item[0], int(nbytes))
            self._shrink(keep=key)

    def pop(self, key: Hashable) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self.nbytes -= item[1]

    def discard_if(self, pred: Callable[[Hashable], bool]) -> None:
        for key in [k for k in self._items if pred(k)]:
            self.pop(key)

    def clear(self) -> None:
        self._items.clear()
        self.nbytes = 0

    def _shrink(self, keep: Hashable) -> None:
        while self.nbytes > self.max_bytes and len(self._items) > 1:
            key = next(iter(self._items))
            if key == keep:  # the newest value alone may exceed the bound
                break
            self.pop(key)
