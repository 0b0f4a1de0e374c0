"""Recent candles of the venues' markets, as the dashboard's charts read them.

Candles are read through the venue's public session (no key: they spend no one's key
allowance) and kept `CANDLES_TTL_S` seconds per (venue, symbol, interval, count), so
many open charts cost the venue one request per series each few seconds, not one each.
"""

from __future__ import annotations

import asyncio
import time

from tradewind.domain.bounded import BoundedLru
from tradewind.errors import VenueError, VenueUnavailable
from tradewind.gateway.errors import ApiError
from tradewind.venues.candles import COMMON_WIDTHS_S
from tradewind.venues.port import Candle, VenueDirectory

CANDLES_TTL_S = 5.0
_KEPT_SERIES = 256


class MarketCandles:
    """Recent candles per (venue, symbol, interval, count), kept `ttl_s` seconds;
    concurrent requests for one series share one read."""

    def __init__(self, venues: VenueDirectory, ttl_s: float = CANDLES_TTL_S) -> None:
        self._venues = venues
        self._ttl_s = ttl_s
        self._kept: BoundedLru[tuple[str, str, str, int], tuple[float, list[Candle]]] = BoundedLru(
            _KEPT_SERIES, refresh=True, on_evict=self._forget_lock
        )
        self._locks: dict[tuple[str, str, str, int], asyncio.Lock] = {}

    async def last(self, venue: str, symbol: str, interval: str, count: int) -> list[Candle]:
        key = (venue, symbol, interval, count)
        async with self._locks.setdefault(key, asyncio.Lock()):
            kept = self._kept.get(key)
            if kept is not None and time.monotonic() - kept[0] < self._ttl_s:
                return kept[1]
            candles = await self._read(venue, symbol, COMMON_WIDTHS_S[interval], count)
            self._kept[key] = (time.monotonic(), candles)
            return candles

    def _forget_lock(self, key: tuple[str, str, str, int], _: tuple[float, list[Candle]]) -> None:
        self._locks.pop(key, None)

    async def _read(self, venue: str, symbol: str, interval_s: int, count: int) -> list[Candle]:
        session = self._venues.public(venue)
        try:
            return await session.fetch_candles(symbol, interval_s, count)
        except VenueUnavailable:
            raise ApiError(503, f"{venue} cannot be reached for candles; try again") from None
        except VenueError:
            raise ApiError(502, f"{venue} did not serve candles of {symbol}; try again") from None
        finally:
            await session.close()
