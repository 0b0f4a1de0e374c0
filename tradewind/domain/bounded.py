"""Bounded memories of what came last: the ids a consumer handled (to skip a
redelivery), the orders a session finished, the answers a cache holds.

Each keeps at most `capacity` entries and forgets the oldest when one more comes, in
O(1). "Oldest" is the order keys were first added; a `BoundedLru(refresh=True)` also
makes a key the newest again each time it is set (or `touch`ed), so what is still in
use stays. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Reversible
from typing import Generic, TypeVar, overload

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")


def _checked(capacity: int) -> int:
    if capacity < 1:
        raise ValueError(f"capacity must be at least 1, got {capacity}")
    return capacity


class RecentlySeen(Generic[K]):
    """The last `capacity` distinct keys added, oldest first. Adding a key already held
    changes nothing: it leaves when `capacity` newer keys came after its first add."""

    __slots__ = ("_keys", "capacity")

    def __init__(self, capacity: int) -> None:
        self.capacity = _checked(capacity)
        self._keys: OrderedDict[K, None] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[K]:
        """The keys held, oldest first."""
        return iter(self._keys)

    def add(self, key: K) -> bool:
        """Remember `key`; True if it was not held (a new key), False if it was."""
        keys = self._keys
        if key in keys:
            return False
        keys[key] = None
        if len(keys) > self.capacity:
            keys.popitem(last=False)
        return True


class BoundedLru(Generic[K, V]):
    """A mapping of at most `capacity` entries that forgets its oldest one when full.

    Without `refresh` (a window of first arrivals) setting a key already held replaces
    its value in place; with `refresh` (least recently used goes first) it also makes
    the key the newest. `touch` makes a key the newest either way. `on_evict`, if
    given, is called with each entry forgotten for room (not with those deleted)."""

    __slots__ = ("_entries", "_on_evict", "_refresh", "capacity")

    def __init__(
        self,
        capacity: int,
        *,
        refresh: bool = False,
        on_evict: Callable[[K, V], None] | None = None,
    ) -> None:
        self.capacity = _checked(capacity)
        self._refresh = refresh
        self._on_evict = on_evict
        self._entries: OrderedDict[K, V] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[K]:
        """The keys held, oldest first."""
        return iter(self._entries)

    def __getitem__(self, key: K) -> V:
        return self._entries[key]

    @overload
    def get(self, key: K) -> V | None: ...
    @overload
    def get(self, key: K, default: D) -> V | D: ...
    def get(self, key: K, default: object = None) -> object:
        """The value of `key`, or `default` if it is not held; does not refresh it."""
        return self._entries.get(key, default)

    def __setitem__(self, key: K, value: V) -> None:
        entries = self._entries
        if key in entries:
            entries[key] = value
            if self._refresh:
                entries.move_to_end(key)
            return
        entries[key] = value
        if len(entries) > self.capacity:
            gone, gone_value = entries.popitem(last=False)
            if self._on_evict is not None:
                self._on_evict(gone, gone_value)

    def __delitem__(self, key: K) -> None:
        del self._entries[key]

    def touch(self, key: K) -> None:
        """Make `key` (which must be held) the newest entry."""
        self._entries.move_to_end(key)

    def values(self) -> Reversible[V]:
        """The values held, oldest first (`reversed` gives newest first)."""
        return self._entries.values()
