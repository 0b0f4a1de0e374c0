"""Bus benchmark: publish -> handler throughput and latency, per adapter and batch size.

Two phases per (adapter, batch size):
- throughput: publish `events` pre-built events in batches as fast as the bus takes
  them while one consumer group handles them; events/s = events / (first publish ->
  last event handled). Building the events is excluded (about 1 us each, measured by
  `tests`' envelope timing); encoding/decoding is included for Redis and Kafka.
- latency: one batch at a time, the next published when the previous was handled;
  per event, handler time - envelope creation time (same wall clock, ns), p50/p99.
Publisher and consumer share one process and one event loop.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from tradewind.benchmarks.report import bench_report, case_figures
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.factory import open_bus
from tradewind.bus.port import ConsumerOptions
from tradewind.domain.events import TradeTick
from tradewind.domain.model import Instrument, Side

_INSTRUMENT = Instrument.parse("bench", "BTC/USDT")


@dataclass(frozen=True)
class BusResult:
    adapter: str
    batch: int
    events: int
    events_per_s: float
    latency_p50_us: float
    latency_p99_us: float


def _events(count: int, keys: int = 64) -> list[Envelope]:
    tick = TradeTick(
        instrument=_INSTRUMENT,
        price=Decimal("27000.50"),
        quantity=Decimal("0.0125"),
        aggressor=Side.BUY,
        trade_id="1",
        ts_ns=0,
    )
    names = [f"key-{k}" for k in range(keys)]
    return [envelope(tick, names[i % keys]) for i in range(count)]


def _percentile(sorted_values: Sequence[int], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(q * len(sorted_values)))
    return float(sorted_values[index])


async def _throughput(url: str, batch: int, count: int) -> float:
    bus = open_bus(url)
    await bus.start()
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    events = _events(count)
    done = asyncio.Event()
    handled = 0

    async def handler(got: Sequence[Envelope]) -> None:
        nonlocal handled
        handled += len(got)
        if handled >= count:
            done.set()

    await bus.subscribe([topic], "bench", handler, ConsumerOptions(max_batch=max(batch, 1000)))
    await asyncio.sleep(0.5)  # let the group form before the clock starts
    started = time.perf_counter()
    if batch == 1:
        for env in events:
            await bus.publish(topic, env)
    else:
        for i in range(0, count, batch):
            await bus.publish_batch(topic, events[i : i + batch])
    await asyncio.wait_for(done.wait(), timeout=600)
    elapsed = time.perf_counter() - started
    await bus.close()
    return count / elapsed


async def _latency(url: str, batch: int, rounds: int) -> tuple[float, float]:
    bus = open_bus(url)
    await bus.start()
    topic = f"bench-lat-{uuid.uuid4().hex[:8]}"
    latencies: list[int] = []
    arrived = asyncio.Event()
    expected = 0

    async def handler(got: Sequence[Envelope]) -> None:
        nonlocal expected
        now = time.time_ns()
        latencies.extend(now - env.ts_ns for env in got)
        expected -= len(got)
        if expected <= 0:
            arrived.set()

    await bus.subscribe([topic], "bench", handler, ConsumerOptions(max_batch=max(batch, 1000)))
    await asyncio.sleep(0.5)
    keys = [f"key-{k}" for k in range(64)]
    for r in range(rounds):
        arrived.clear()
        expected = batch
        payload = _events(1)[0].payload
        fresh = [envelope(payload, keys[(r + i) % 64]) for i in range(batch)]
        if batch == 1:
            await bus.publish(topic, fresh[0])
        else:
            await bus.publish_batch(topic, fresh)
        await asyncio.wait_for(arrived.wait(), timeout=30)
    await bus.close()
    latencies.sort()
    return _percentile(latencies, 0.50) / 1000, _percentile(latencies, 0.99) / 1000


async def run_bus_benchmark(
    urls: dict[str, str], batches: Sequence[int], events: dict[int, int], rounds: int
) -> list[BusResult]:
    """Measure every adapter in `urls` (name -> URL) at every batch size."""
    results = []
    for name, url in urls.items():
        for batch in batches:
            count = events[batch]
            rate = await _throughput(url, batch, count)
            p50, p99 = await _latency(url, batch, rounds)
            results.append(BusResult(name, batch, count, rate, p50, p99))
    return results


def render_table(results: Sequence[BusResult]) -> str:
    lines = [
        "| adapter | batch | events | events/s | p50 latency (us) | p99 latency (us) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.adapter} | {r.batch} | {r.events:,} | {r.events_per_s:,.0f} "
            f"| {r.latency_p50_us:,.0f} | {r.latency_p99_us:,.0f} |"
        )
    return "\n".join(lines)


def bus_report(results: Sequence[BusResult]) -> dict[str, Any]:
    """The results as a bench report (`tradewind.benchmarks.report`)."""
    rows = [asdict(r) for r in results]
    names = ("events_per_s", "latency_p50_us", "latency_p99_us")
    return bench_report("bus", case_figures(rows, ("adapter", "batch"), names), {"results": rows})


def render_json(results: Sequence[BusResult]) -> str:
    return json.dumps(bus_report(results))


DEFAULT_URLS = ("memory://", "redis://127.0.0.1:6379/0", "kafka://local")


def run(urls: Sequence[str], *, as_json: bool, events: int | None, rounds: int) -> str:
    """Run the benchmark for `urls` and return the table or the JSON object."""
    results = measure(urls, events=events, rounds=rounds)
    return render_json(results) if as_json else render_table(results)


def measure(urls: Sequence[str], *, events: int | None, rounds: int) -> list[BusResult]:
    """Run the benchmark for `urls`.

    `kafka://local` starts a private Tansu broker for the run. Redis runs use a fresh
    key prefix and delete their keys afterwards. `events` overrides the default counts
    (`_default_counts`).
    """
    import contextlib

    from tradewind.bus.tansu import local_kafka_broker

    with contextlib.ExitStack() as stack:
        named: dict[str, str] = {}
        prefixes: list[tuple[str, str]] = []
        for url in urls:
            scheme = url.split("://", 1)[0]
            if url == "kafka://local":
                url = f"kafka://{stack.enter_context(local_kafka_broker())}"
            if scheme in ("redis", "rediss"):
                prefix = f"bench{uuid.uuid4().hex[:8]}"
                prefixes.append((url, prefix))
                url = f"{url}{'&' if '?' in url else '?'}prefix={prefix}"
            named[scheme] = url
        results: list[BusResult] = []
        for name, url in named.items():
            counts = {1: events, 100: events} if events else _default_counts(name)
            results += asyncio.run(run_bus_benchmark({name: url}, (1, 100), counts, rounds))
        for url, prefix in prefixes:
            asyncio.run(_delete_keys(url, prefix))
    return results


def _default_counts(adapter: str) -> dict[int, int]:
    """Events per run by batch size: enough for a steady rate, short enough to wait for."""
    if adapter == "memory":
        return {1: 200_000, 100: 2_000_000}
    return {1: 20_000, 100: 200_000}


async def _delete_keys(url: str, prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url.split("?", 1)[0])
    keys = [k async for k in client.scan_iter(f"{prefix}:*", count=1000)]
    for i in range(0, len(keys), 1000):
        await client.delete(*keys[i : i + 1000])
    await client.aclose()
