"""The in-process cache: dicts with optional expiry, on `clock` (seconds, monotonic)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence


class MemoryCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        #: key -> (value, expiry on `clock`)
        self._values: dict[str, tuple[bytes, float]] = {}
        #: group -> member -> (value, expiry on `clock`)
        self._groups: dict[str, dict[str, tuple[bytes, float]]] = {}

    async def start(self) -> None:
        return None

    async def put_many(self, items: Mapping[str, bytes], ttl_s: float | None = None) -> None:
        expires = self._clock() + ttl_s if ttl_s is not None else float("inf")
        for key, value in items.items():
            self._values[key] = (value, expires)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        now = self._clock()
        found: list[bytes | None] = []
        for key in keys:
            entry = self._values.get(key)
            if entry is not None and entry[1] <= now:
                del self._values[key]
                entry = None
            found.append(entry[0] if entry is not None else None)
        return found

    async def heartbeat(self, group: str, members: Mapping[str, bytes], ttl_s: float) -> None:
        if not members:
            return
        expires = self._clock() + ttl_s
        found = self._groups.setdefault(group, {})
        for member, value in members.items():
            found[member] = (value, expires)

    async def live_members(self, group: str) -> dict[str, bytes]:
        found = self._groups.get(group)
        if found is None:
            return {}
        now = self._clock()
        for member in [m for m, (_, expires) in found.items() if expires <= now]:
            del found[member]
        if not found:
            del self._groups[group]
        return {member: value for member, (value, _) in found.items()}

    async def close(self) -> None:
        self._values.clear()
        self._groups.clear()
