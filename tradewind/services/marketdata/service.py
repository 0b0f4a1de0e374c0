"""The marketdata service: venue feeds in; md.trade, md.book and md.bar out; latest
prices and tops of book in the cache.

For every venue of `ctx.resources.venues` it loads the markets (retrying until the venue
answers), keeps the symbols `TRADEWIND_MD_SYMBOLS` selects, and runs two tasks per
symbol over one public session per venue:

- trades: each batch from `watch_trades` becomes `TradeTick`s published with one
  `publish_batch` on md.trade (key `Instrument.key`); they feed the symbol's
  `BarBuilder` and its latest price;
- book: a `BookFeed` started from `fetch_order_book` publishes on md.book a diff per
  changed streamed snapshot, a full snapshot after every (re)sync and every
  `TRADEWIND_MD_SNAPSHOT_INTERVAL_S`, and keeps the top of book.

A third task, every `TRADEWIND_MD_CACHE_FLUSH_S`, closes the bars whose interval ended
(`TRADEWIND_MD_BAR_CLOSE_DELAY_S` ago, so a trade that is a little late still counts),
publishes the closed bars in one batch on md.bar (a single publisher keeps each
instrument's bars in order) and writes the changed quotes to the cache in one `put_many`.

Instances share the markets: each market has one active instance, which publishes it
and writes its quotes; the others watch it on standby, keeping its streams, book, bars
and recent trades warm, and publish nothing of it. Which one is active follows the
bus's group assignment of md.leases, and a standby that becomes active publishes what
consumers may have missed, then a book snapshot (`leases.py`). A lone instance is
active for every market from its start.

A stream that fails or ends is retried after a jittered backoff (`supervision.py`); a
book stream that fails, or a book that falls out of sync (`book_feed.py`), is rebuilt
from a fetched snapshot. Both are counted (`tradewind_md_*`) and logged once per
failure, never per event. Trades a venue repeats after a reconnect are dropped by id.
`stop` cancels the streams, publishes the bars already closed and writes the latest
quotes, then leaves the group so that the standbys take the markets over at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Coroutine, Iterable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, TypeVar

import msgspec
import structlog

from tradewind.bus import topics
from tradewind.bus.delivery import describe
from tradewind.bus.envelope import envelope
from tradewind.bus.port import Bus
from tradewind.cache.port import Cache
from tradewind.domain.backoff import Backoff
from tradewind.domain.bars import BarBuilder
from tradewind.domain.events import Bar, OrderBookUpdate, TradeTick
from tradewind.domain.model import Instrument
from tradewind.domain.time_units import NS_PER_MS, ns_from_seconds
from tradewind.errors import ConfigError, VenueError
from tradewind.runtime.service import AdminEndpoints, Service, ServiceContext
from tradewind.runtime.service_settings import MarketDataSettings
from tradewind.services.marketdata.book_feed import BookFeed
from tradewind.services.marketdata.leases import MarketLeases
from tradewind.services.marketdata.markets import WatchedMarket
from tradewind.services.marketdata.metrics import MarketDataMetrics
from tradewind.services.marketdata.quotes import QuoteWriter
from tradewind.services.marketdata.supervision import StreamStatus, Supervisor
from tradewind.venues.port import Venue, VenueDirectory

T = TypeVar("T")


class MarketDataService(Service):
    """The marketdata service: publishes the venues' trades, books and bars on md.* for
    the markets this instance holds, and keeps latest prices and tops of book cached."""

    name = "marketdata"

    def __init__(self, settings: MarketDataSettings | None = None) -> None:
        """`settings` None: `ctx.settings.marketdata` at `start`."""
        self._settings = settings
        self._feeds: _Feeds | None = None

    async def start(self, ctx: ServiceContext) -> None:
        settings = self._settings or ctx.settings.marketdata
        venues = ctx.resources.venues
        if venues is None:
            raise ConfigError(
                "TRADEWIND_VENUE_URLS",
                "the marketdata service needs venues: run it with `tradewind up` (the "
                "simulated exchange in process) or set TRADEWIND_VENUE_URLS or TRADEWIND_VENUES",
            )
        metrics = MarketDataMetrics.of(ctx.metrics.registry)
        feeds = _Feeds(settings, venues, ctx.bus, ctx.resources.cache, ctx.log, metrics)
        try:
            await feeds.start()
        except BaseException:
            await feeds.stop()
            raise
        self._feeds = feeds

    async def stop(self) -> None:
        feeds, self._feeds = self._feeds, None
        if feeds is not None:
            await feeds.stop()

    async def kill(self) -> None:
        """End like a crashed instance (failover drills and tests): the streams stop
        with no last flush and the group is not told, so the markets this instance
        published move to a standby only after the bus's take-over time."""
        feeds, self._feeds = self._feeds, None
        if feeds is not None:
            await feeds.stop(kill=True)

    @property
    def ready(self) -> bool:
        """Started, and at least one venue's markets loaded (or no venues at all)."""
        return self._feeds is not None and self._feeds.ready

    def streams(self) -> list[StreamStatus]:
        """Every venue stream's status, by venue, symbol and stream."""
        return [] if self._feeds is None else self._feeds.streams()

    def publishing(self) -> list[str]:
        """The markets (`Instrument.key`) this instance is active for now, sorted."""
        return [] if self._feeds is None else self._feeds.leases.publishing()

    def admin_endpoints(self) -> AdminEndpoints:
        return {"/marketdata": self.streams, "/marketdata/publishing": self.publishing}


_STOP_S = 10.0  # longest a stop waits for the stream tasks


class _Feeds:
    """The tasks and state of one started `MarketDataService`."""

    def __init__(
        self,
        settings: MarketDataSettings,
        directory: VenueDirectory,
        bus: Bus,
        cache: Cache | None,
        log: structlog.stdlib.BoundLogger,
        metrics: MarketDataMetrics,
    ) -> None:
        self._settings = settings
        self._directory = directory
        self._bus = bus
        self._log = log
        self._metrics = metrics
        self._quotes = QuoteWriter(cache) if cache is not None else None
        backoff = Backoff(
            settings.md_retry_base_s, max(settings.md_retry_cap_s, settings.md_retry_base_s)
        )
        self._supervisor = Supervisor(backoff, metrics, log)
        self.leases = MarketLeases(
            bus, self._quotes, metrics, backoff, log, self._spawn, self._owe_bars
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._sessions: list[Venue] = []
        self._closed_bars: list[Bar] = []
        self._status: dict[tuple[str, str, str], StreamStatus] = {}
        self._venues_loaded = 0
        self._failing: set[str] = set()  # flush targets whose last flush failed

    @property
    def ready(self) -> bool:
        return self._venues_loaded > 0 or not self._directory.names

    async def start(self) -> None:
        """Open a public session per venue (`ConfigError` if one cannot be made, e.g. an
        exchange ccxt does not know), join the publishers' group, start watching."""
        for venue in self._directory.names:
            try:
                self._sessions.append(self._directory.public(venue))
            except VenueError as exc:
                raise ConfigError("TRADEWIND_VENUE_URLS", str(exc)) from None
        await self.leases.join()
        for venue, session in zip(self._directory.names, self._sessions, strict=True):
            self._spawn(self._run_venue(venue, session), f"md:{venue}")
        self._spawn(self._flush_periodically(), "md:flush")
        self._spawn(self.leases.follow(), "md:leases")

    async def stop(self, *, kill: bool = False) -> None:
        """End the streams; unless `kill`, publish the closed bars and write the quotes
        (as the active instance still), then leave the group."""
        # Cancel again until every stream task ended: a cancel that lands just as a
        # venue client's own `wait_for` completes can be swallowed (Python 3.11). Close
        # the venue sessions before the last rounds, which ends their pending watches.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _STOP_S
        rounds = 0
        while self._tasks and loop.time() < deadline:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=0.5)
            rounds += 1
            if rounds == 3:
                await self._close_sessions()
        if self._tasks:
            self._log.warning("stream tasks did not stop", count=len(self._tasks))
        if not kill:
            await self._flush(close_due=False)
        await self.leases.leave(kill=kill)
        await self._close_sessions()

    async def _close_sessions(self) -> None:
        sessions, self._sessions = self._sessions, []
        for session in sessions:
            try:
                await session.close()
            except Exception as exc:
                self._log.warning("venue session did not close", error=describe(exc))

    def streams(self) -> list[StreamStatus]:
        return [msgspec.structs.replace(s) for _, s in sorted(self._status.items())]

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- venues -----------------------------------------------------------------------

    async def _run_venue(self, venue: str, session: Venue) -> None:
        markets = await self._supervisor.until_done(
            StreamStatus(venue, "", "markets"), session.load_markets
        )
        settings = self._settings
        wanted = [m for symbol, m in sorted(markets.items()) if settings.wants(venue, symbol)]
        missing = settings.listed(venue) - markets.keys()
        if missing:
            self._log.warning(
                "symbols in TRADEWIND_MD_SYMBOLS that the venue does not list",
                venue=venue,
                symbols=sorted(missing),
            )
        snapshot_interval_ns = ns_from_seconds(settings.md_snapshot_interval_s)
        replay_ns = ns_from_seconds(settings.md_replay_s)
        for market in wanted:
            instrument = Instrument(venue, market.symbol, market.base, market.quote)
            watched = WatchedMarket(
                BookFeed(instrument, settings.md_book_depth, snapshot_interval_ns),
                BarBuilder(instrument, settings.bar_interval_s),
                self._bus.partition_of(instrument.key),
                replay_ns,
            )
            self.leases.add(watched)
            trades = self._stream_status(instrument, "trades")
            book = self._stream_status(instrument, "book")
            self._spawn(
                self._supervisor.forever(
                    trades, partial(self._stream_trades, session, watched, trades)
                ),
                f"md:{instrument.key}:trades",
            )
            self._spawn(
                self._supervisor.forever(book, partial(self._stream_book, session, watched, book)),
                f"md:{instrument.key}:book",
            )
        self._venues_loaded += 1
        self._log.info("watching venue", venue=venue, symbols=len(wanted))

    def _stream_status(self, instrument: Instrument, stream: str) -> StreamStatus:
        status = StreamStatus(instrument.venue, instrument.symbol, stream)
        self._status[instrument.venue, instrument.symbol, stream] = status
        return status

    # -- the streams ------------------------------------------------------------------
    # Both keep their market warm whether it is live or not, and publish only while it
    # is; each holds its market's lock from a venue batch to its publishing (markets.py).

    async def _stream_trades(
        self, session: Venue, market: WatchedMarket, status: StreamStatus
    ) -> None:
        instrument, key, seen, builder = market.instrument, market.key, market.seen, market.builder
        publish = self._bus.publish_batch
        quotes = self._quotes
        published = self._metrics.trades.labels(instrument.venue)
        duplicates = self._metrics.duplicate_trades.labels(instrument.venue)
        async with _closing(session.watch_trades(instrument.symbol)) as stream:
            async for trades in stream:
                self._supervisor.delivered(status)
                ticks = [
                    TradeTick(
                        instrument=instrument,
                        price=trade.price,
                        quantity=trade.quantity,
                        aggressor=trade.aggressor,
                        trade_id=trade.trade_id,
                        ts_ns=trade.ts_ms * NS_PER_MS,
                    )
                    for trade in trades
                    if seen.add(trade.trade_id)
                ]
                if len(ticks) < len(trades):
                    duplicates.inc(len(trades) - len(ticks))
                if not ticks:
                    continue
                async with market.trades_lock:
                    market.remember_trades(ticks, time.time_ns())
                    live = market.trades_live
                    if live:
                        await publish(topics.MD_TRADE, [envelope(tick, key) for tick in ticks])
                        published.inc(len(ticks))
                    for tick in ticks:
                        bar = builder.add_trade(tick)
                        if bar is not None:
                            market.remember_bar(bar)
                            if live:
                                self._closed_bars.append(bar)
                if quotes is not None and market.trades_live:
                    quotes.last_price(instrument, ticks[-1].price, ticks[-1].ts_ns)

    async def _stream_book(
        self, session: Venue, market: WatchedMarket, status: StreamStatus
    ) -> None:
        instrument, key, feed = market.instrument, market.key, market.feed
        publish = self._bus.publish_batch
        updates = self._metrics.book_updates.labels(instrument.venue)
        snapshots = self._metrics.book_snapshots.labels(instrument.venue)
        fetched = await session.fetch_order_book(instrument.symbol, feed.depth)
        async with market.book_lock:
            synced = feed.resync(fetched, time.time_ns())
            if market.book_live:
                await publish(topics.MD_BOOK, [envelope(synced, key)])
                snapshots.inc()
        self._quote_top(market)
        async with _closing(session.watch_order_book(instrument.symbol)) as stream:
            async for snapshot in stream:
                self._supervisor.delivered(status)
                async with market.book_lock:
                    events = feed.on_snapshot(snapshot, time.time_ns())
                    if not events or not market.book_live:
                        continue
                    await publish(topics.MD_BOOK, [envelope(event, key) for event in events])
                for event in events:
                    (updates if isinstance(event, OrderBookUpdate) else snapshots).inc()
                self._quote_top(market)

    def _quote_top(self, market: WatchedMarket) -> None:
        if self._quotes is not None and market.book_live:
            self._quotes.book_top(market.feed)

    # -- bars and the cache -----------------------------------------------------------

    async def _flush_periodically(self) -> None:
        period_s = self._settings.md_cache_flush_s
        while True:
            await asyncio.sleep(period_s)
            await self._flush(close_due=True)

    async def _flush(self, *, close_due: bool) -> None:
        """Close the due bars (if `close_due`), publish the closed ones, write the quotes.
        A failure is counted and logged when it starts and when it ends; what was not
        written is kept for the next flush."""
        if close_due:
            due_ns = time.time_ns() - ns_from_seconds(self._settings.md_bar_close_delay_s)
            for market in self.leases.markets.values():
                bar = market.builder.close_due(due_ns)
                if bar is not None:
                    market.remember_bar(bar)
                    if market.trades_live:
                        self._closed_bars.append(bar)
        # Bars of markets given up since they closed are the new publisher's to send.
        markets = self.leases.markets
        bars = [b for b in self._closed_bars if markets[b.instrument.key].trades_live]
        self._closed_bars = []
        if bars:
            try:
                await self._bus.publish_batch(
                    topics.MD_BAR, [envelope(bar, bar.instrument.key) for bar in bars]
                )
            except Exception as exc:
                self._closed_bars[:0] = bars
                self._flush_failed("bus", exc)
            else:
                self._flush_succeeded("bus")
                for bar in bars:
                    self._metrics.bars.labels(bar.instrument.venue).inc()
        if self._quotes is not None:
            try:
                await self._quotes.flush()
            except Exception as exc:
                self._flush_failed("cache", exc)
            else:
                self._flush_succeeded("cache")

    def _owe_bars(self, bars: Iterable[Bar]) -> None:
        """Publish `bars` with the next flush (those of a market just taken over)."""
        self._closed_bars.extend(bars)

    def _flush_failed(self, target: str, exc: Exception) -> None:
        self._metrics.flush_failures.labels(target).inc()
        if target not in self._failing:
            self._failing.add(target)
            self._log.error(f"market data flush to the {target} failing", error=describe(exc))

    def _flush_succeeded(self, target: str) -> None:
        if target in self._failing:
            self._failing.discard(target)
            self._log.info(f"market data flush to the {target} recovered")


@asynccontextmanager
async def _closing(stream: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """Close a venue stream (an async generator) when done with it, so the venue drops
    the subscription at once instead of when the generator is collected."""
    try:
        yield stream
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
