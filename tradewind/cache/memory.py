"""The in-process cache: a dict with optional expiry."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence


class MemoryCache:
    def __init__(self) -> None:
        self._values: dict[str, tuple[bytes, float]] = {}

    async def start(self) -> None:
        return None

    async def put_many(self, items: Mapping[str, bytes], ttl_s: float | None = None) -> None:
        expires = time.monotonic() + ttl_s if ttl_s is not None else float("inf")
        for key, value in items.items():
            self._values[key] = (value, expires)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        now = time.monotonic()
        found: list[bytes | None] = []
        for key in keys:
            entry = self._values.get(key)
            if entry is not None and entry[1] <= now:
                del self._values[key]
                entry = None
            found.append(entry[0] if entry is not None else None)
        return found

    async def close(self) -> None:
        self._values.clear()
