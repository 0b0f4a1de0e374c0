"""The marketdata service against the in-process simulated exchange on the real memory
bus: its trades, bars and book diffs rebuild exactly what the exchange holds, the cache
holds the latest quotes, and a book that breaks or a stream that fails is resynced."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import msgspec
import pytest

from tests import waiting
from tradewind.bus import topics
from tradewind.bus.envelope import Envelope
from tradewind.bus.memory import MemoryBus
from tradewind.cache.memory import MemoryCache
from tradewind.domain.bars import BarBuilder
from tradewind.domain.events import Bar, BookLevel, OrderBookSnapshot, OrderBookUpdate, TradeTick
from tradewind.domain.l2_book import L2Book
from tradewind.domain.model import Instrument
from tradewind.errors import ConfigError, VenueUnavailable
from tradewind.runtime.logging import get_logger
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import Resources, ServiceContext
from tradewind.runtime.service_settings import MarketDataSettings
from tradewind.runtime.settings import Settings, load_settings
from tradewind.services.marketdata import MarketDataService, read_last_prices, read_tops_of_book
from tradewind.venues.directory import SimulatedVenues
from tradewind.venues.port import BookSnapshot, PublicTrade, Venue
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.inprocess import InProcessVenue
from tradewind.venues.simulated.liquidity import LiquidityConfig
from tradewind.venues.simulated.market import SyntheticMarket

BTC = Instrument.parse("sim", "BTC/USDT")
ETH = Instrument.parse("sim", "ETH/USDT")
DEPTH = 20


def fast_settings(**changes: object) -> MarketDataSettings:
    """Two symbols, 1 s bars, frequent snapshots and flushes, quick retries."""
    values: dict[str, object] = {
        "md_symbols": "BTC/USDT, sim:ETH/USDT",
        "bar_interval_s": 1,
        "md_book_depth": DEPTH,
        "md_snapshot_interval_s": 0.5,
        "md_cache_flush_s": 0.02,
        "md_bar_close_delay_s": 0.3,
        "md_retry_base_s": 0.01,
        "md_retry_cap_s": 0.05,
        **changes,
    }
    return MarketDataSettings.model_validate(values)


@dataclass
class Published:
    """Everything the service published on md.*, in order per topic."""

    trades: list[TradeTick] = field(default_factory=list)
    book: list[OrderBookSnapshot | OrderBookUpdate] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)

    async def take(self, batch: Sequence[Envelope]) -> None:
        for env in batch:
            event = env.payload
            if isinstance(event, TradeTick):
                self.trades.append(event)
            elif isinstance(event, OrderBookSnapshot | OrderBookUpdate):
                self.book.append(event)
            else:
                assert isinstance(event, Bar)
                self.bars.append(event)
            assert env.key == event.instrument.key

    def rebuilt_book(self, instrument: Instrument) -> L2Book | None:
        """The book a consumer builds from md.book: reset on snapshots, diffs applied
        (a gap would raise)."""
        book: L2Book | None = None
        for event in self.book:
            if event.instrument != instrument:
                continue
            if isinstance(event, OrderBookSnapshot):
                book = L2Book.from_snapshot(event)
            elif book is not None:
                book.apply(event)
        return book

    def snapshots(self, instrument: Instrument) -> list[OrderBookSnapshot]:
        return [
            e for e in self.book if isinstance(e, OrderBookSnapshot) and e.instrument == instrument
        ]


class Market:
    """A simulated exchange that trades briskly while `run` is on."""

    def __init__(self) -> None:
        self.exchange = SimulatedExchange(
            SyntheticMarket(seed=3), liquidity=LiquidityConfig(flow_per_s=25.0)
        )
        self.exchange.step()
        self._task: asyncio.Task[None] | None = None

    def run(self) -> None:
        async def step() -> None:
            while True:
                await asyncio.sleep(0.02)
                self.exchange.step()

        self._task = asyncio.create_task(step())

    async def freeze(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def depth(self, instrument: Instrument) -> Levels:
        """The exchange's own book: (bids, asks), best first, `DEPTH` levels per side."""
        depth = self.exchange.engine.depth(instrument.symbol, DEPTH)
        return list(depth.bids), list(depth.asks)


Levels = tuple[list[BookLevel], list[BookLevel]]


def levels_of(book: L2Book | None) -> Levels | None:
    if book is None:
        return None
    bids, asks = book.top(DEPTH)
    return [BookLevel(lv.price, lv.quantity) for lv in bids], list(asks)


def book_matches(
    published: Published, market: Market, instrument: Instrument
) -> Callable[[], bool]:
    """Whether the book rebuilt from md.book equals the exchange's, level for level."""
    return lambda: levels_of(published.rebuilt_book(instrument)) == market.depth(instrument)


async def wait_until(condition: Callable[[], object], timeout_s: float = 10.0) -> None:
    await waiting.wait_until(condition, timeout_s, poll_s=0.02)


@dataclass
class Running:
    service: MarketDataService
    published: Published
    cache: MemoryCache
    metrics: RuntimeMetrics

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def bus() -> AsyncIterator[MemoryBus]:
    bus = MemoryBus(partitions=2)
    await bus.start()
    yield bus
    await bus.close()


async def start_marketdata(
    bus: MemoryBus, venues: SimulatedVenues, settings: MarketDataSettings
) -> Running:
    published = Published()
    await bus.subscribe([topics.MD_TRADE, topics.MD_BOOK, topics.MD_BAR], "test", published.take)
    metrics = RuntimeMetrics()
    cache = MemoryCache()
    service = MarketDataService(settings)
    ctx = ServiceContext(
        Settings(),
        bus,
        get_logger("tradewind.services.marketdata", service=service.name),
        metrics,
        Resources(venues=venues, cache=cache),
    )
    await service.start(ctx)
    return Running(service, published, cache, metrics)


async def test_trades_bars_and_book_diffs_rebuild_the_exchange_and_the_cache_is_current(
    bus: MemoryBus,
) -> None:
    market = Market()
    md = await start_marketdata(bus, SimulatedVenues(market.exchange), fast_settings())
    await wait_until(lambda: md.service.ready)
    market.run()
    await wait_until(lambda: len({b.open_ns for b in md.published.bars}) >= 2)
    await market.freeze()
    published = md.published
    for instrument in (BTC, ETH):
        await wait_until(book_matches(published, market, instrument))

    assert {t.instrument for t in published.trades} == {BTC, ETH}  # the filter holds
    assert {e.instrument for e in published.book} == {BTC, ETH}
    assert any(isinstance(e, OrderBookUpdate) for e in published.book)
    assert len(published.snapshots(BTC)) >= 2  # the first, then periodic ones
    for instrument in (BTC, ETH):
        ticks = [t for t in published.trades if t.instrument == instrument]
        ids = [int(t.trade_id) for t in ticks]
        assert ids == sorted(set(ids))  # each trade once, in order
        # Every published bar is exactly what the published trades make.
        builder = BarBuilder(instrument, 1)
        expected = [bar for tick in ticks if (bar := builder.add_trade(tick)) is not None]
        expected += [bar for bar in [builder.close_due(2**62)] if bar is not None]
        bars = [b for b in published.bars if b.instrument == instrument]
        assert bars and bars == expected[: len(bars)]

    await wait_until(lambda: md.metric("tradewind_md_trades_total", venue="sim") >= 1)
    last_btc = [t for t in published.trades if t.instrument == BTC][-1]
    btc_book = published.rebuilt_book(BTC)
    assert btc_book is not None

    async def cache_is_current() -> bool:
        prices = await read_last_prices(md.cache, [BTC, ETH])
        tops = await read_tops_of_book(md.cache, [BTC])
        return (
            prices.get(BTC) is not None
            and prices[BTC].price == last_btc.price
            and prices[BTC].ts_ns == last_btc.ts_ns
            and BTC in tops
            and (tops[BTC].bid, tops[BTC].ask) == (btc_book.best_bid(), btc_book.best_ask())
        )

    try:
        async with asyncio.timeout(5):
            while not await cache_is_current():  # noqa: ASYNC110 (polls the cache)
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError("the cache never caught up") from None
    assert (await read_last_prices(md.cache, [Instrument.parse("sim", "SOL/USDT")])) == {}

    await md.service.stop()
    await bus.wait_until_idle(5)  # the bars its stop flushed reach our subscriber too
    assert md.metric("tradewind_md_streams_live", venue="sim", stream="trades") == 0
    assert md.metric("tradewind_md_streams_live", venue="sim", stream="book") == 0
    assert md.metric("tradewind_md_bars_total", venue="sim") == len(published.bars)


class FaultyVenue(InProcessVenue):
    """The real in-process venue with one fault injected into BTC/USDT's streams, after
    `after` deliveries: `rewind` reports the book's update id going backwards (as when
    the venue restarts its sequence), `fail` drops the book stream's connection, and
    `replay` drops the trade stream's connection and repeats its last batch on the
    reconnect (as ccxt's trade cache can)."""

    def __init__(self, exchange: SimulatedExchange, fault: str, after: int) -> None:
        super().__init__(exchange, "market-data")
        self._fault = fault
        self._after = after
        self._last_trades: list[PublicTrade] = []
        self.injected = 0

    async def watch_trades(self, symbol: str) -> AsyncIterator[list[PublicTrade]]:
        faulty = self._fault == "replay" and symbol == BTC.symbol
        if faulty and self.injected:
            yield self._last_trades
        delivered = 0
        async for trades in super().watch_trades(symbol):
            delivered += 1
            yield trades
            if faulty and delivered == self._after and not self.injected:
                self.injected += 1
                self._last_trades = trades
                raise VenueUnavailable(self.name, "connection reset by peer")

    async def watch_order_book(self, symbol: str) -> AsyncIterator[BookSnapshot]:
        delivered = 0
        async for snapshot in super().watch_order_book(symbol):
            delivered += 1
            if symbol == BTC.symbol and delivered == self._after and not self.injected:
                self.injected += 1
                if self._fault == "fail":
                    raise VenueUnavailable(self.name, "connection reset by peer")
                assert snapshot.update_id is not None
                yield msgspec.structs.replace(snapshot, update_id=snapshot.update_id - 1_000)
                continue
            yield snapshot


class FaultyVenues(SimulatedVenues):
    def __init__(self, exchange: SimulatedExchange, fault: str, after: int) -> None:
        super().__init__(exchange)
        self.venue = FaultyVenue(exchange, fault, after)

    def public(self, venue: str) -> Venue:
        return self.venue


@pytest.mark.parametrize(
    ("fault", "reason"), [("rewind", "sequence_reset"), ("fail", "stream_error")]
)
async def test_a_broken_book_sequence_or_a_failed_stream_triggers_a_resync(
    bus: MemoryBus, fault: str, reason: str
) -> None:
    market = Market()
    venues = FaultyVenues(market.exchange, fault, after=5)
    md = await start_marketdata(bus, venues, fast_settings(md_snapshot_interval_s=3600))
    market.run()
    await wait_until(lambda: venues.venue.injected)
    # After the resync a second snapshot goes out and the diffs go on from it.
    await wait_until(lambda: len(md.published.snapshots(BTC)) >= 2)
    await asyncio.sleep(0.2)
    await market.freeze()
    await wait_until(book_matches(md.published, market, BTC))
    assert len(md.published.snapshots(BTC)) == 2
    assert md.metric("tradewind_md_book_resyncs_total", venue="sim", reason=reason) == 1
    failures = md.metric("tradewind_md_stream_failures_total", venue="sim", stream="book")
    assert failures == (1 if fault == "fail" else 0)
    [status] = [s for s in md.service.streams() if s.symbol == "BTC/USDT" and s.stream == "book"]
    assert status.failures == 1 and status.live
    await md.service.stop()


async def test_trades_repeated_after_a_reconnect_are_published_once(bus: MemoryBus) -> None:
    market = Market()
    venues = FaultyVenues(market.exchange, "replay", after=3)
    md = await start_marketdata(bus, venues, fast_settings())
    market.run()
    await wait_until(lambda: md.metric("tradewind_md_duplicate_trades_total", venue="sim") >= 1)
    await wait_until(lambda: sum(t.instrument == BTC for t in md.published.trades) > 6)
    await market.freeze()
    await md.service.stop()
    ids = [int(t.trade_id) for t in md.published.trades if t.instrument == BTC]
    assert ids == sorted(set(ids))
    assert md.metric("tradewind_md_stream_failures_total", venue="sim", stream="trades") == 1


async def test_no_venues_is_a_config_error(bus: MemoryBus) -> None:
    service = MarketDataService(fast_settings())
    ctx = ServiceContext(Settings(), bus, get_logger("t"), RuntimeMetrics())
    with pytest.raises(ConfigError, match="TRADEWIND_VENUE_URLS"):
        await service.start(ctx)


def test_a_malformed_symbol_filter_is_refused() -> None:
    with pytest.raises(ValueError, match="VENUE:BASE/QUOTE"):
        MarketDataSettings(md_symbols="BTCUSDT")
    settings = MarketDataSettings(md_symbols="BTC/USDT, kraken:ETH/USD")
    assert settings.wants("sim", "BTC/USDT") and settings.wants("kraken", "ETH/USD")
    assert not settings.wants("sim", "ETH/USD")
    assert MarketDataSettings().wants("sim", "anything/ELSE")


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("TRADEWIND_BAR_INTERVAL_S", "0", "greater than or equal to 1"),
        ("TRADEWIND_MD_SYMBOLS", "BTC/USDT,ETH", "expected BASE/QUOTE or VENUE:BASE/QUOTE"),
    ],
)
def test_a_bad_setting_in_the_environment_is_a_config_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=problem) as raised:
        load_settings()
    assert raised.value.setting == variable
