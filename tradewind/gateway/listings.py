"""The markets each venue lists: their symbols, as the gateway checks bot parameters
against them, and their filters and taker fees, as it plans a rebalance.

Loading a venue's markets is one of its heaviest public calls (Binance's exchangeInfo
weighs 20 and is megabytes through ccxt), so the answer is kept `ttl_s` seconds per
venue and concurrent requests for one venue share one load.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from tradewind.errors import VenueError, VenueUnavailable
from tradewind.gateway.errors import ApiError
from tradewind.venues.directory import load_public_markets
from tradewind.venues.port import Market, VenueDirectory


class VenueListings:
    """The markets each venue lists, kept `ttl_s` seconds per venue; concurrent requests
    for one venue share one load."""

    def __init__(
        self,
        venues: VenueDirectory,
        *,
        ttl_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._venues = venues
        self._ttl_s = ttl_s
        self._clock = clock
        self._listed: dict[str, tuple[float, Mapping[str, Market]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def symbols(self, venue: str) -> frozenset[str]:
        """The symbols `venue` lists; 503 if it cannot be reached, 502 if it fails
        otherwise."""
        return frozenset(await self.markets(venue))

    async def markets(self, venue: str) -> Mapping[str, Market]:
        """The markets `venue` lists, by symbol; 503 if it cannot be reached, 502 if it
        fails otherwise."""
        cached = self._listed.get(venue)
        if cached is not None and self._clock() - cached[0] < self._ttl_s:
            return cached[1]
        async with self._locks.setdefault(venue, asyncio.Lock()):
            cached = self._listed.get(venue)
            if cached is not None and self._clock() - cached[0] < self._ttl_s:
                return cached[1]
            listed = await self._load(venue)
            self._listed[venue] = (self._clock(), listed)
            return listed

    async def _load(self, venue: str) -> Mapping[str, Market]:
        try:
            markets = await load_public_markets(self._venues, venue)
        except VenueUnavailable:
            raise ApiError(
                503, f"{venue} cannot be reached to list its markets; try again"
            ) from None
        except VenueError:
            raise ApiError(502, f"{venue} did not list its markets; try again") from None
        return markets
