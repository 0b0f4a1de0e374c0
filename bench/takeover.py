"""Take-over time: how long the partitions of a consumer killed with SIGKILL go unread.

`python bench/takeover.py [--url URL ...] [--runs N] [--json [FILE]]`

Two members of one consumer group share a topic's partitions: A in a child process, B
here. Once each reads its half, A is killed (-9: no lease given back, no LeaveGroup)
while one event per partition is published every 20 ms. The take-over time is from the
kill to the first event B handles on a partition that was A's. Without --url it measures
Redis Streams at 127.0.0.1:6379 and a private Tansu (Kafka protocol) broker, each with
the bus's default timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from decimal import Decimal

from tradewind.benchmarks.command_line import OneLineErrorParser
from tradewind.benchmarks.report import add_json_option, bench_report, write_report
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.factory import open_bus
from tradewind.bus.tansu import local_kafka_broker
from tradewind.domain.events import TradeTick
from tradewind.domain.model import Instrument, Side

PARTITIONS = 8
PUBLISH_EVERY_S = 0.02

# The child: subscribe, say which partitions it reads whenever that changes, run forever.
MEMBER = """
import asyncio, sys
from tradewind.bus.factory import open_bus

async def main(url, topic, group, partitions):
    bus = open_bus(url, partitions=int(partitions))
    await bus.start()
    async def handle(batch):
        pass
    subscription = await bus.subscribe([topic], group, handle)
    seen = None
    while True:
        owned = sorted(subscription.partitions())
        if owned != seen:
            print("owns", ",".join(map(str, owned)), flush=True)
            seen = owned
        await asyncio.sleep(0.05)

asyncio.run(main(*sys.argv[1:]))
"""


def tick(key: str, seq: int) -> Envelope:
    payload = TradeTick(
        instrument=Instrument.parse("sim", "BTC/USDT"),
        price=Decimal("100"),
        quantity=Decimal("1"),
        aggressor=Side.BUY,
        trade_id=str(seq),
        ts_ns=time.time_ns(),
    )
    return envelope(payload, key)


async def one_take_over(url: str) -> float:
    """Seconds from A's SIGKILL to B's first event on one of A's partitions."""
    topic, group = f"takeover.{uuid.uuid4().hex[:8]}", f"g{uuid.uuid4().hex[:8]}"
    bus = open_bus(url, partitions=PARTITIONS)
    await bus.start()
    keys = keys_per_partition(bus.partition_of)
    handled_at: dict[int, float] = {}
    watched: set[int] = set()  # A's partitions, once A is killed
    watched_event: list[asyncio.Event] = []

    async def handle(batch: Sequence[Envelope]) -> None:
        now = time.monotonic()
        for event in batch:
            partition = bus.partition_of(event.key)
            handled_at.setdefault(partition, now)
            if partition in watched:
                watched_event[0].set()

    a_partitions_reached = asyncio.Event()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        MEMBER,
        url,
        topic,
        group,
        str(PARTITIONS),
        stdout=asyncio.subprocess.PIPE,
    )
    claims = Claims(child)
    try:
        async with asyncio.timeout(60):
            await claims.changed.wait()
        subscription = await bus.subscribe([topic], group, handle)
        async with asyncio.timeout(60):  # until A and B split the partitions
            while not split(set(subscription.partitions()), claims.owned):  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # B's partitions change without a signal
        a_owns = set(claims.owned)
        publishing = asyncio.create_task(publish_steadily(bus, topic, keys))
        await asyncio.sleep(0.5)
        handled_at.clear()
        watched.update(a_owns)
        watched_event.append(a_partitions_reached)
        child.kill()  # SIGKILL
        killed_at = time.monotonic()
        async with asyncio.timeout(120):
            await a_partitions_reached.wait()
        took = min(handled_at[p] for p in a_owns & set(handled_at)) - killed_at
        publishing.cancel()
        await subscription.stop()
        return took
    finally:
        claims.stop()
        if child.returncode is None:
            child.kill()
        await child.wait()
        await bus.close()


def split(b_owns: set[int], a_owns: set[int]) -> bool:
    """Whether A and B read disjoint, non-empty halves that cover every partition."""
    whole = b_owns | a_owns == set(range(PARTITIONS))
    return bool(a_owns) and bool(b_owns) and b_owns.isdisjoint(a_owns) and whole


def keys_per_partition(partition_of: object) -> dict[int, str]:
    keys: dict[int, str] = {}
    n = 0
    while len(keys) < PARTITIONS:
        key = f"account-{n}"
        keys.setdefault(partition_of(key), key)  # type: ignore[operator]
        n += 1
    return keys


async def publish_steadily(bus: object, topic: str, keys: dict[int, str]) -> None:
    seq = 0
    while True:
        for key in keys.values():
            seq += 1
            await bus.publish(topic, tick(key, seq))  # type: ignore[attr-defined]
        await asyncio.sleep(PUBLISH_EVERY_S)


class Claims:
    """What the child last said it reads, kept up to date by a task reading its pipe."""

    def __init__(self, child: asyncio.subprocess.Process) -> None:
        self.owned: set[int] = set()
        self.changed = asyncio.Event()
        self._task = asyncio.create_task(self._read(child))

    async def _read(self, child: asyncio.subprocess.Process) -> None:
        assert child.stdout is not None
        async for raw in child.stdout:
            line = raw.decode()
            if line.startswith("owns"):
                numbers = line.split()[1:]
                self.owned = {int(n) for n in numbers[0].split(",")} if numbers else set()
                self.changed.set()

    def stop(self) -> None:
        self._task.cancel()


@contextlib.contextmanager
def resolved(urls: Sequence[str]) -> Iterator[list[str]]:
    """`kafka://local` replaced by a private Tansu broker for the run."""
    with contextlib.ExitStack() as stack:
        out = []
        for url in urls:
            if url.startswith("kafka://local"):
                address = stack.enter_context(local_kafka_broker())
                url = url.replace("kafka://local", f"kafka://{address}")
            out.append(url)
        yield out


def main() -> None:
    parser = OneLineErrorParser(description=__doc__)
    parser.add_argument("--url", action="append", help="bus URL; repeat for several")
    parser.add_argument("--runs", type=int, default=3)
    add_json_option(parser)
    args = parser.parse_args()
    prefix = f"takeover{uuid.uuid4().hex[:6]}"
    urls = args.url or [f"redis://127.0.0.1:6379/0?prefix={prefix}", "kafka://local"]
    figures: dict[str, float] = {}
    with resolved(urls) as live:
        for shown, url in zip(urls, live, strict=True):
            times = [asyncio.run(one_take_over(url)) for _ in range(args.runs)]
            bus = shown.split("://", 1)[0]
            figures[f"take_over_median_s{{bus={bus}}}"] = statistics.median(times)
            figures[f"take_over_max_s{{bus={bus}}}"] = max(times)
            if args.json:
                continue
            print(
                f"{shown}: take-over {statistics.median(times):.2f} s median, "
                f"{max(times):.2f} s max over {len(times)} runs "
                f"({', '.join(f'{t:.2f}' for t in times)})"
            )
    if args.json:
        write_report(
            bench_report("takeover", figures, {"urls": urls, "runs": args.runs}), args.json
        )


if __name__ == "__main__":
    main()
