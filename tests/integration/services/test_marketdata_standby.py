"""Marketdata instances sharing the markets, on real buses (memory, Redis Streams, a
Kafka-protocol broker) and the in-process simulated exchange: each market is published
by exactly one instance, and when that one dies or stops a standby takes it over with a
book snapshot and a replay, so that consumers miss no trade and their books no update."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from tests.integration.services.test_marketdata import DEPTH, Market, levels_of
from tradewind.bus import topics
from tradewind.bus.envelope import Envelope
from tradewind.bus.factory import open_bus
from tradewind.bus.port import (
    DEFAULT_CONSUMER_OPTIONS,
    BatchHandler,
    Bus,
    ConsumerOptions,
    Subscription,
)
from tradewind.cache.memory import MemoryCache
from tradewind.domain.events import Bar, OrderBookSnapshot, OrderBookUpdate, TradeTick
from tradewind.domain.l2_book import L2Book
from tradewind.domain.model import Instrument
from tradewind.runtime.logging import get_logger
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import Resources, ServiceContext
from tradewind.runtime.service_settings import MarketDataSettings
from tradewind.runtime.settings import Settings
from tradewind.services.marketdata import MarketDataService
from tradewind.services.marketdata.leases import LEASES_GROUP
from tradewind.venues.directory import SimulatedVenues
from tradewind.venues.port import Venue
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.inprocess import InProcessVenue
from tradewind.venues.simulated.matching.results import Trade

pytestmark = pytest.mark.servers

PARTITIONS = 8  # the runtime's default, so topics a Kafka broker already has agree
WAIT_S = 40.0  # bound of every wait: Kafka (Tansu) takes a dead member over in ~4.5 s

BusFactory = Callable[[], Awaitable[Bus]]


@pytest.fixture(params=["memory", "redis", "kafka"])
async def new_bus(request: pytest.FixtureRequest) -> AsyncIterator[BusFactory]:
    """Makes started buses of one adapter: one per instance, as separate processes
    would have (the memory bus: one shared, as in one process)."""
    kind = request.param
    prefix = f"test{uuid.uuid4().hex[:12]}"
    if kind == "memory":
        shared = open_bus("memory://", partitions=PARTITIONS)
        url = None
    elif kind == "redis":
        url = f"{request.getfixturevalue('redis_url')}?prefix={prefix}&lease_ms=1500&block_ms=50"
    else:
        url = f"kafka://{request.getfixturevalue('kafka_bootstrap')}"
    buses: list[Bus] = []

    async def make() -> Bus:
        if url is None:
            if not buses:
                await shared.start()
                buses.append(shared)
            return shared
        bus = open_bus(url, partitions=PARTITIONS)
        await bus.start()
        buses.append(bus)
        return bus

    yield make
    for bus in reversed(buses):
        await bus.close()
    if kind == "redis":
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(request.getfixturevalue("redis_url"))
        keys = [k async for k in client.scan_iter(f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


class NamedVenues(SimulatedVenues):
    """The simulated exchange under a venue name of its own, so that a broker shared
    with other tests holds no market data of this test's markets."""

    def __init__(self, exchange: SimulatedExchange, name: str) -> None:
        super().__init__(exchange)
        self.name = name

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,)

    def public(self, venue: str) -> Venue:
        assert venue == self.name
        return InProcessVenue(self.exchange, "market-data", self.name)


class VenueTrades:
    """Every trade the exchange makes, by symbol: what consumers must all see."""

    def __init__(self) -> None:
        self.ids: dict[str, list[int]] = defaultdict(list)

    def on_trades(self, symbol: str, trades: list[Trade]) -> None:
        self.ids[symbol].extend(t.trade_id for t in trades)

    def on_depth(self, update: object) -> None:
        pass

    def on_order_updates(self, updates: object) -> None:
        pass

    def on_balances(self, account_id: str, assets: set[str], ts_ms: int) -> None:
        pass


class Tap:
    """One instance's view of the real bus, noting what it published and the lease
    subscription it made, so the test can tell the instances apart."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self.published: list[tuple[str, Envelope]] = []
        self.leases: Subscription | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bus, name)

    async def publish(self, topic: str, event: Envelope) -> None:
        await self.publish_batch(topic, [event])

    async def publish_batch(self, topic: str, events: Sequence[Envelope]) -> None:
        await self._bus.publish_batch(topic, events)
        self.published.extend((topic, e) for e in events)

    async def subscribe(
        self,
        topic_names: Sequence[str],
        group: str,
        handler: BatchHandler,
        options: ConsumerOptions = DEFAULT_CONSUMER_OPTIONS,
    ) -> Subscription:
        subscription = await self._bus.subscribe(topic_names, group, handler, options)
        if group == LEASES_GROUP:
            self.leases = subscription
        return subscription

    def keys(self, topic: str, since: int = 0) -> set[str]:
        return {e.key for t, e in self.published[since:] if t == topic}

    def snapshots(self, key: str, since: int = 0) -> int:
        return sum(
            isinstance(e.payload, OrderBookSnapshot) and e.key == key
            for _, e in self.published[since:]
        )


class WrittenCache(MemoryCache):
    """The in-memory cache, noting which keys were written."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[str] = []

    async def put_many(self, items: Mapping[str, bytes], ttl_s: float | None = None) -> None:
        await super().put_many(items, ttl_s)
        self.written.extend(items)


@dataclass
class Consumer:
    """What a consumer of md.* sees, as one group."""

    trades: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    book: dict[str, list[OrderBookSnapshot | OrderBookUpdate]] = field(
        default_factory=lambda: defaultdict(list)
    )
    bars: dict[str, list[Bar]] = field(default_factory=lambda: defaultdict(list))

    async def take(self, batch: Sequence[Envelope]) -> None:
        for env in batch:
            event = env.payload
            if isinstance(event, TradeTick):
                self.trades[env.key].append(int(event.trade_id))
            elif isinstance(event, OrderBookSnapshot | OrderBookUpdate):
                self.book[env.key].append(event)
            elif isinstance(event, Bar):
                self.bars[env.key].append(event)

    def rebuilt_book(self, key: str) -> L2Book | None:
        """Reset on snapshots, diffs applied: a diff that does not follow raises."""
        book: L2Book | None = None
        for event in self.book[key]:
            if isinstance(event, OrderBookSnapshot):
                book = L2Book.from_snapshot(event)
            elif book is not None:
                book.apply(event)
        return book


@dataclass
class Instance:
    service: MarketDataService
    tap: Tap
    cache: WrittenCache
    metrics: RuntimeMetrics

    def metric(self, name: str) -> float:
        return sum(
            sample.value
            for metric in self.metrics.registry.collect()
            for sample in metric.samples
            if sample.name == name
        )

    def partitions(self) -> frozenset[int]:
        return self.tap.leases.partitions() if self.tap.leases else frozenset()


def settings() -> MarketDataSettings:
    """Every market, 1 s bars, no periodic snapshots (so a snapshot means a sync or a
    take-over), quick flushes and retries."""
    return MarketDataSettings(
        md_symbols="",
        bar_interval_s=1,
        md_book_depth=DEPTH,
        md_snapshot_interval_s=3600,
        md_cache_flush_s=0.02,
        md_bar_close_delay_s=0.3,
        md_retry_base_s=0.01,
        md_retry_cap_s=0.05,
    )


async def start_instance(bus: Bus, venues: NamedVenues) -> Instance:
    tap, cache, metrics = Tap(bus), WrittenCache(), RuntimeMetrics()
    service = MarketDataService(settings())
    ctx = ServiceContext(
        Settings(),
        cast(Bus, tap),
        get_logger("tradewind.services.marketdata", service=service.name),
        metrics,
        Resources(venues=venues, cache=cache),
    )
    await service.start(ctx)
    return Instance(service, tap, cache, metrics)


async def eventually(condition: Callable[[], object], what: str) -> None:
    try:
        async with asyncio.timeout(WAIT_S):
            while not condition():  # noqa: ASYNC110 (polls state several tasks change)
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


@dataclass
class Setup:
    market: Market
    venue: str
    keys: set[str]
    venue_trades: VenueTrades
    consumer: Consumer
    instances: list[Instance]

    def symbol(self, key: str) -> str:
        return key.split(":", 1)[1]

    def settled(self) -> bool:
        """Every lease partition read by exactly one instance, and every market
        published by the instance that reads its partition."""
        parts = [i.partitions() for i in self.instances]
        if any(not p for p in parts) or set().union(*parts) != set(range(PARTITIONS)):
            return False
        if sum(len(p) for p in parts) != PARTITIONS:
            return False
        for instance, owned in zip(self.instances, parts, strict=True):
            bus = instance.tap
            expected = sorted(k for k in self.keys if bus.partition_of(k) in owned)
            if instance.service.publishing() != expected:
                return False
        return True

    def no_trade_missing(self, key: str) -> None:
        """Consumers saw each venue trade of `key` from the first they saw to the
        venue's last."""
        seen = set(self.consumer.trades[key])
        venue = self.venue_trades.ids[self.symbol(key)]
        first = min(seen)
        missing = [i for i in venue if i >= first and i not in seen]
        assert missing == [], f"{key}: consumers never saw trades {missing[:20]}"

    def book_matches(self, key: str) -> bool:
        levels = self.market.depth(Instrument.parse(self.venue, self.symbol(key)))
        return levels_of(self.consumer.rebuilt_book(key)) == levels


async def two_instances(new_bus: BusFactory) -> Setup:
    market = Market()
    venue = f"sim{uuid.uuid4().hex[:8]}"
    venue_trades = VenueTrades()
    market.exchange.add_listener(venue_trades)
    keys = {f"{venue}:{symbol}" for symbol in market.exchange.specs}
    consumer = Consumer()
    reader = await new_bus()
    md_topics = [topics.MD_TRADE, topics.MD_BOOK, topics.MD_BAR]
    await reader.subscribe(md_topics, f"consumer-{uuid.uuid4().hex[:8]}", consumer.take)
    venues = NamedVenues(market.exchange, venue)
    first = await start_instance(await new_bus(), venues)
    second = await start_instance(await new_bus(), venues)
    setup = Setup(market, venue, keys, venue_trades, consumer, [first, second])
    await eventually(lambda: all(i.service.ready for i in setup.instances), "both ready")
    await eventually(setup.settled, "the lease partitions shared and followed")
    return setup


async def test_each_market_is_published_by_exactly_one_instance(new_bus: BusFactory) -> None:
    setup = await two_instances(new_bus)
    first, second = setup.instances
    marks = [len(i.tap.published) for i in setup.instances]
    written = [len(i.cache.written) for i in setup.instances]
    setup.market.run()
    await eventually(
        lambda: all(len(setup.consumer.bars[k]) >= 2 for k in setup.keys), "two bars a market"
    )
    await setup.market.freeze()
    assert setup.settled()  # nothing moved meanwhile
    for topic in (topics.MD_TRADE, topics.MD_BOOK, topics.MD_BAR):
        by_first = first.tap.keys(topic, marks[0])
        by_second = second.tap.keys(topic, marks[1])
        assert by_first.isdisjoint(by_second), topic
        assert by_first <= set(first.service.publishing()), topic
        assert by_second <= set(second.service.publishing()), topic
    assert first.tap.keys(topics.MD_TRADE, marks[0]) | second.tap.keys(
        topics.MD_TRADE, marks[1]
    ) == set(setup.keys)
    for instance, since in zip(setup.instances, written, strict=True):  # quotes alike
        markets = {key.split(":", 2)[-1] for key in instance.cache.written[since:]}
        assert markets <= set(instance.service.publishing())
        assert instance.metric("tradewind_md_active_markets") == len(instance.service.publishing())
    for key in setup.keys:  # each trade once
        ids = setup.consumer.trades[key]
        assert len(ids) == len(set(ids)), key
    for instance in setup.instances:
        await instance.service.stop()


@pytest.mark.parametrize("ending", ["killed", "stopped"])
async def test_a_standby_takes_over_with_a_snapshot_and_no_trade_missing(
    new_bus: BusFactory, ending: str
) -> None:
    setup = await two_instances(new_bus)
    market = setup.market
    market.run()
    await eventually(
        lambda: all(len(setup.consumer.trades[k]) >= 3 for k in setup.keys), "trades flowing"
    )
    # The instance publishing BTC goes; the other takes its markets over.
    btc = f"{setup.venue}:BTC/USDT"
    victim, survivor = sorted(setup.instances, key=lambda i: btc not in i.service.publishing())
    moved = victim.service.publishing()
    assert btc in moved
    mark = len(survivor.tap.published)
    seen_before = {k: len(setup.consumer.trades[k]) for k in moved}
    if ending == "killed":
        await victim.service.kill()
    else:
        await victim.service.stop()
    await eventually(lambda: survivor.service.publishing() == sorted(setup.keys), "take-over")
    await eventually(
        lambda: all(survivor.tap.snapshots(k, mark) >= 1 for k in moved), "take-over snapshots"
    )
    await eventually(
        lambda: all(len(setup.consumer.trades[k]) >= seen_before[k] + 5 for k in moved),
        "trades after the take-over",
    )
    await market.freeze()
    last = {k: setup.venue_trades.ids[setup.symbol(k)][-1] for k in setup.keys}
    await eventually(
        lambda: all(last[k] in setup.consumer.trades[k] for k in setup.keys),
        "every venue trade reached the consumers",
    )
    for key in setup.keys:
        setup.no_trade_missing(key)
        await eventually(lambda key=key: setup.book_matches(key), f"the book of {key}")
    assert survivor.metric("tradewind_md_takeovers_total") >= len(moved)
    assert survivor.metric("tradewind_md_active_markets") == len(setup.keys)
    await survivor.service.stop()
    assert survivor.metric("tradewind_md_active_markets") == 0


@pytest.mark.parametrize("new_bus", ["memory", "redis"], indirect=True)
async def test_a_lone_instance_publishes_every_market_from_its_start(
    new_bus: BusFactory,
) -> None:
    market = Market()
    venue = f"sim{uuid.uuid4().hex[:8]}"
    keys = sorted(f"{venue}:{symbol}" for symbol in market.exchange.specs)
    consumer = Consumer()
    reader = await new_bus()
    md_topics = [topics.MD_TRADE, topics.MD_BOOK, topics.MD_BAR]
    await reader.subscribe(md_topics, f"consumer-{uuid.uuid4().hex[:8]}", consumer.take)
    lone = await start_instance(await new_bus(), NamedVenues(market.exchange, venue))
    # The group assigned every partition before the start returned: no wait at all.
    assert lone.partitions() == frozenset(range(PARTITIONS))
    await eventually(lambda: lone.service.ready, "markets loaded")
    assert lone.service.publishing() == keys  # active for each market as it is made
    await eventually(lambda: all(consumer.book[k] for k in keys), "a snapshot a market")
    for key in keys:  # the first book event is the sync's snapshot, the only one
        assert isinstance(consumer.book[key][0], OrderBookSnapshot)
        assert lone.tap.snapshots(key) == 1
    assert lone.metric("tradewind_md_takeovers_total") == 0
    assert lone.metric("tradewind_md_active_markets") == len(keys)
    await lone.service.stop()
