"""Warm-up: the history a strategy needs (`Strategy.history_bars`), loaded from its
venue's candles before the bot starts, so that a momentum bot with a 26-bar average
acts on its first live bar instead of waiting 26 bars after every start.

One request per venue and symbol however many bots start together (the deepest need
among them), a few at a time; bars of the platform's width (`TRADEWIND_BAR_INTERVAL_S`,
what marketdata builds), aligned like marketdata's. A bot whose history cannot be loaded
starts anyway (logged): it learns from live bars as it did before warm-up existed. Live
bars that open no later than the last bar of its history are not given to it again
(`BotHost.history_until`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from tradewind.bus.delivery import describe
from tradewind.domain.events import Bar
from tradewind.domain.model import Instrument
from tradewind.domain.time_units import NS_PER_MS
from tradewind.services.strategy.host import BotHost
from tradewind.services.strategy.metrics import StrategyMetrics
from tradewind.venues.port import Market, VenueDirectory

_CONCURRENT = 4  # candle requests in flight at once
_REQUEST_S = 5.0  # a venue slower than that to answer: the bots start without history


class WarmUp:
    def __init__(
        self,
        venues: VenueDirectory,
        interval_s: int,
        metrics: StrategyMetrics,
        log: structlog.stdlib.BoundLogger,
    ) -> None:
        self._venues = venues
        self._interval_s = interval_s
        self._metrics = metrics
        self._log = log

    async def prepare(self, hosts: Sequence[BotHost]) -> int:
        """Hand each of `hosts` that needs history its bars (`Strategy.warm_up`);
        returns how many were warmed up."""
        needs = [(h, h.strategy.history_bars()) for h in hosts]
        needs = [(h, n) for h, n in needs if n > 0]
        if not needs:
            return 0
        deepest: dict[tuple[str, str], int] = {}
        for host, need in needs:
            for symbol in host.strategy.symbols():
                key = (host.account.venue, symbol)
                deepest[key] = max(deepest.get(key, 0), need)
        markets = {key: hosts_market(needs, key) for key in deepest}
        gate = asyncio.Semaphore(_CONCURRENT)

        async def load(key: tuple[str, str]) -> tuple[tuple[str, str], list[Bar]]:
            async with gate:
                return key, await self._bars(key[0], markets[key], deepest[key])

        loaded = dict(await asyncio.gather(*(load(key) for key in sorted(deepest))))
        warmed = 0
        for host, need in needs:
            venue = host.account.venue
            history = {s: loaded[(venue, s)][-need:] for s in host.strategy.symbols()}
            try:
                host.strategy.warm_up(history)
            except Exception as error:  # a plug-in may raise anything: it starts cold
                self._metrics.errors.labels(host.strategy.name).inc()
                self._log.warning("warm-up failed; the bot starts without history",
                                  bot_id=host.bot_id, error=describe(error))  # fmt: skip
                continue
            host.history_until = {s: bars[-1].open_ns for s, bars in history.items() if bars}
            warmed += bool(host.history_until)
        return warmed

    async def _bars(self, venue: str, market: Market, count: int) -> list[Bar]:
        session = self._venues.public(venue)
        try:
            async with asyncio.timeout(_REQUEST_S):
                candles = await session.fetch_candles(market.symbol, self._interval_s, count)
        except Exception as error:  # bots start cold rather than not at all
            self._log.warning("history not loaded; bots start without it", venue=venue,
                              symbol=market.symbol, error=describe(error))  # fmt: skip
            return []
        finally:
            await session.close()
        instrument = Instrument(venue, market.symbol, market.base, market.quote)
        return [
            Bar(
                instrument=instrument, interval_s=self._interval_s,
                open_ns=c.open_ms * NS_PER_MS, open=c.open, high=c.high, low=c.low,
                close=c.close, volume=c.volume,
            )
            for c in candles
        ]  # fmt: skip


def hosts_market(needs: Sequence[tuple[BotHost, int]], key: tuple[str, str]) -> Market:
    """The market `key` (venue, symbol) as the first host trading it knows it."""
    venue, symbol = key
    for host, _ in needs:
        if host.account.venue == venue and symbol in host.strategy.symbols():
            return host.account.market(symbol)
    raise KeyError(key)
