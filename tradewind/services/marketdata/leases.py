"""Which marketdata instance publishes which market: one active publisher per market, the
others on standby.

Every instance joins the consumer group `marketdata` on md.leases, a topic nobody
publishes to: the bus shares its partitions between the members as it shares any
group's (memory: at once; Redis Streams: leases; Kafka: the group protocol), and an
instance publishes a market when it reads the partition its key maps to
(`Bus.partition_of(Instrument.key)`), so a market moves exactly when and as fast as the
bus moves partitions (docs/failover.md). A lone instance reads every partition from
its subscription on, so it publishes everything from its first event, as before.

`MarketLeases.follow` looks at `Subscription.partitions()` every `FOLLOW_S`:

- a market whose partition left (another instance took it, or the leases lapsed) is
  put on standby at once: its streams stop publishing, its pending quotes are dropped;
- a market whose partition came is taken over: the trades of the last
  `TRADEWIND_MD_REPLAY_S` and the bars closed in it go out (consumers drop those seen,
  by trade id and open time), then a full book snapshot (consumers reset their books on
  it), then the streams publish as they come. A take-over the bus refuses is retried
  with backoff while the market stays ours.

Standby instances keep everything warm (venue streams, books, bar builders, the replay
memory of `markets.py`); they publish nothing and write no quotes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any

import structlog

from tradewind.bus import topics
from tradewind.bus.delivery import describe
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.port import Bus, Subscription
from tradewind.domain.backoff import Backoff
from tradewind.domain.events import Bar
from tradewind.services.marketdata.markets import WatchedMarket
from tradewind.services.marketdata.metrics import MarketDataMetrics
from tradewind.services.marketdata.quotes import QuoteWriter

LEASES_GROUP = "marketdata"
FOLLOW_S = 0.05  # how often the partitions read are looked at: a loss stops this soon


async def _no_events(batch: Sequence[Envelope]) -> None:
    """md.leases carries no events; anything published there is ignored."""


class MarketLeases:
    """This instance's membership in the `marketdata` group and the markets it holds
    (those whose md.leases partition it reads). `spawn(work, name)` runs a take-over as a
    task that the service cancels on stop; `owe_bars(bars)` queues bars for the next bar
    flush."""

    def __init__(
        self,
        bus: Bus,
        quotes: QuoteWriter | None,
        metrics: MarketDataMetrics,
        backoff: Backoff,
        log: structlog.stdlib.BoundLogger,
        spawn: Callable[[Coroutine[Any, Any, None], str], None],
        owe_bars: Callable[[Iterable[Bar]], None],
    ) -> None:
        self._bus = bus
        self._quotes = quotes
        self._metrics = metrics
        self._backoff = backoff
        self._log = log
        self._spawn = spawn
        self._owe_bars = owe_bars
        self._subscription: Subscription | None = None
        self._owned: frozenset[int] = frozenset()
        self.markets: dict[str, WatchedMarket] = {}

    async def join(self) -> None:
        """Join the group; returns once the bus assigned this instance its partitions
        (a lone instance: all of them; on the memory bus within the call itself)."""
        self._subscription = await self._bus.subscribe([topics.MD_LEASES], LEASES_GROUP, _no_events)
        self._owned = self._subscription.partitions()

    def add(self, market: WatchedMarket) -> None:
        """Watch a new market; it publishes at once if its partition is ours."""
        self.markets[market.key] = market
        if market.partition in self._owned:
            self._own(market)
            market.trades_live = market.book_live = True  # nothing published yet to miss

    def publishing(self) -> list[str]:
        """The keys of the markets this instance holds, sorted."""
        return sorted(key for key, market in self.markets.items() if market.owned)

    async def follow(self) -> None:
        """Follow the partitions read until cancelled; see the module docstring."""
        while True:
            await asyncio.sleep(FOLLOW_S)
            subscription = self._subscription
            if subscription is not None:
                self.follow_once(subscription.partitions())

    def follow_once(self, owned: frozenset[int]) -> None:
        """Put the markets of partitions lost on standby, take those gained over."""
        if owned == self._owned:
            return
        self._owned = owned
        gained = lost = 0
        for market in self.markets.values():
            if market.partition in owned:
                if not market.owned:
                    gained += 1
                    self._own(market)
                    self._metrics.takeovers.labels(market.instrument.venue).inc()
                    self._spawn(self._take_over(market), f"md:{market.key}:take-over")
            elif market.owned:
                lost += 1
                self._stand_by(market)
        self._log.info(
            "market data leases moved",
            partitions=sorted(owned),
            markets_taken_over=gained,
            markets_given_up=lost,
        )

    async def leave(self, *, kill: bool = False) -> None:
        """Stop publishing everything and leave the group: cleanly, so another instance
        takes over at once, or (`kill`) like a crashed instance, whose partitions move
        only after the bus's take-over time."""
        for market in self.markets.values():
            if market.owned:
                self._stand_by(market)
        subscription, self._subscription = self._subscription, None
        self._owned = frozenset()
        if subscription is None:
            return
        try:
            await (subscription.kill() if kill else subscription.stop())
        except Exception as exc:  # the partitions move when the bus's timeout passed
            self._log.warning("market data leases not given back", error=describe(exc))

    def _own(self, market: WatchedMarket) -> None:
        market.owned = True
        self._metrics.active_markets.labels(market.instrument.venue).inc()

    def _stand_by(self, market: WatchedMarket) -> None:
        market.owned = market.trades_live = market.book_live = False
        self._metrics.active_markets.labels(market.instrument.venue).dec()
        if self._quotes is not None:
            self._quotes.forget(market.instrument)

    async def _take_over(self, market: WatchedMarket) -> None:
        retry = 0
        while market.owned and not (market.trades_live and market.book_live):
            try:
                await self._replay_trades(market)
                await self._publish_book(market)
            except Exception as exc:
                retry += 1
                delay = self._backoff.delay_s(retry)
                if retry == 1:  # one line per failing take-over, not one per try
                    self._log.warning(
                        "market take-over not published; retrying",
                        market=market.key,
                        error=describe(exc),
                        retry_in_s=round(delay, 3),
                    )
                await asyncio.sleep(delay)

    async def _replay_trades(self, market: WatchedMarket) -> None:
        """Publish the recent trades and queue the recent bars, then let the trade
        stream publish (under its lock, so no batch slips between the two)."""
        async with market.trades_lock:
            if not market.owned or market.trades_live:
                return
            now_ns = time.time_ns()
            ticks = market.recent_trades(now_ns)
            if ticks:
                key = market.key
                await self._bus.publish_batch(topics.MD_TRADE, [envelope(t, key) for t in ticks])
                self._metrics.trades.labels(market.instrument.venue).inc(len(ticks))
            if not market.owned:  # lost while publishing
                return
            self._owe_bars(market.recent_bars(now_ns))
            if ticks and self._quotes is not None:
                self._quotes.last_price(market.instrument, ticks[-1].price, ticks[-1].ts_ns)
            market.trades_live = True

    async def _publish_book(self, market: WatchedMarket) -> None:
        """Publish the book held as a snapshot, then let the book stream publish its
        diffs (which follow from it); a book not synced yet publishes at its sync."""
        async with market.book_lock:
            if not market.owned or market.book_live:
                return
            snapshot = market.feed.full_snapshot(time.time_ns())
            if snapshot is not None:
                await self._bus.publish_batch(topics.MD_BOOK, [envelope(snapshot, market.key)])
                self._metrics.book_snapshots.labels(market.instrument.venue).inc()
            if not market.owned:
                return
            market.book_live = True
            if self._quotes is not None:
                self._quotes.book_top(market.feed)
