"""Availability zones on one machine (tradewind.chaos.zones): a zone reaches the servers
on the host's bridge address until it is cut; while cut, a connection stalls rather than
fails and a new one times out; once healed, the stalled connection goes on. A consumer
group split over two zones on the Redis Streams bus moves a cut zone's partitions to the
other zone and shares them again after the heal, losing no event. (It also finds the
cut member handling, after the heal, an event its twin had handled meanwhile: a read sent
before the cut whose reply TCP delivers after the heal, handed over although the lease
it was read under lapsed. Reported as an expected failure while the bus does so.)

Needs root (network namespaces) and, for the bus, Debian's redis-server: under CI=true
their absence fails the run."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from tests.servers import missing
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.redis_streams import RedisStreamsBus
from tradewind.bus.tansu import free_port, port_open
from tradewind.chaos.zones import Zone, Zones, ZonesUnavailable, availability_zones
from tradewind.domain.events import TradeTick
from tradewind.domain.model import Instrument, Side

PARTITIONS = 8
PUBLISH_EVERY_S = 0.02  # one event per partition this often
POLL_S = 0.05

# Inside a zone: connect to HOST:PORT within 1 s and say how it went.
PROBE = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
    print("connected")
except TimeoutError:
    print("timed out")
except OSError as exc:
    print("failed", exc)
"""

# Inside a zone: one connection to an echo server; per line read on stdin, send a ping
# and say whether anything came back within 1 s.
PINGER = """
import socket, sys
connection = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
connection.settimeout(1)
for _ in sys.stdin:
    try:
        connection.sendall(b"ping\\n")
        print("echo" if connection.recv(1000) else "closed", flush=True)
    except TimeoutError:
        print("stalled", flush=True)
    except OSError as exc:
        print("failed", exc, flush=True)
"""

# Inside a zone: a member of a consumer group on the Redis Streams bus. It prints
# "owns TIME P,P,..." whenever the partitions it reads change and appends
# "NAME PARTITION SEQ TIME" to LOG per event handled (one write per batch, O_APPEND, so
# the two members' lines keep the order they were handled in). TIME: time.monotonic(),
# one clock for every process of the machine.
MEMBER = """
import asyncio, os, sys, time
from tradewind.bus.redis_streams import RedisStreamsBus

async def main(url, topic, group, partitions, name, log_path):
    bus = RedisStreamsBus.from_url(url, partitions=int(partitions))
    await bus.start()
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    async def handle(batch):
        now = time.monotonic()
        lines = [f"{name} {bus.partition_of(e.key)} {e.payload.trade_id} {now}\\n" for e in batch]
        os.write(log, "".join(lines).encode())

    subscription = await bus.subscribe([topic], group, handle)
    seen = None
    while True:
        owned = sorted(subscription.partitions())
        if owned != seen:
            print("owns", time.monotonic(), ",".join(map(str, owned)), flush=True)
            seen = owned
        await asyncio.sleep(0.05)

asyncio.run(main(*sys.argv[1:]))
"""


@pytest.fixture
def zones() -> Iterator[Zones]:
    with contextlib.ExitStack() as stack:
        try:
            made = stack.enter_context(availability_zones(("a", "b")))
        except ZonesUnavailable as exc:
            missing(f"cannot make availability zones here: {exc}")
        yield made


async def until(condition: Callable[[], bool], what: str, polls: int = 600) -> None:
    """Poll `condition` every POLL_S, at most `polls` times; fail saying `what` never
    happened."""
    for _ in range(polls):
        if condition():
            return
        await asyncio.sleep(POLL_S)
    raise AssertionError(f"{what}: not after {polls} polls")


async def probe(zone: Zone, host: str, port: int) -> str:
    """From inside `zone`, a fresh connection to host:port: "connected", "timed out" or
    "failed" and the reason."""
    child = await asyncio.create_subprocess_exec(
        *zone.wrap([sys.executable, "-c", PROBE, host, str(port)]),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(30):
        out, _ = await child.communicate()
    return out.decode().strip()


@contextlib.asynccontextmanager
async def echo_server(host: str) -> AsyncIterator[int]:
    """A line echo server on `host`; yields its port."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while line := await reader.readline():
                writer.write(line)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, host, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


class Pinger:
    """PINGER running in a zone."""

    def __init__(self, child: asyncio.subprocess.Process) -> None:
        self.child = child

    async def ping(self) -> str:
        assert self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.write(b"\n")
        async with asyncio.timeout(30):
            await self.child.stdin.drain()
            return (await self.child.stdout.readline()).decode().strip()


@contextlib.asynccontextmanager
async def pinger(zone: Zone, host: str, port: int) -> AsyncIterator[Pinger]:
    child = await asyncio.create_subprocess_exec(
        *zone.wrap([sys.executable, "-c", PINGER, host, str(port)]),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        yield Pinger(child)
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()


async def test_a_cut_zone_stalls_and_goes_on_once_healed(zones: Zones) -> None:
    a, b, host = zones["a"], zones["b"], zones.host_address
    async with echo_server(host) as port, pinger(a, host, port) as held:
        assert await probe(a, host, port) == "connected"
        assert await held.ping() == "echo"

        zones.cut(a)
        assert await probe(a, host, port) == "timed out"
        assert await held.ping() == "stalled", "a cut connection must stall, not fail"
        assert await probe(b, host, port) == "connected", "a cut must not touch zone b"

        zones.heal(a)
        # The held connection goes on as it was: the stalled pings arrive when TCP
        # retransmits (its back-off grew during the cut), and nothing was reset.
        answers = [await held.ping()]
        for _ in range(30):
            if answers[-1] != "stalled":
                break
            answers.append(await held.ping())
        assert answers[-1] == "echo", f"after the heal: {answers}"
        assert await probe(a, host, port) == "connected"

        zones.cut_all_but(b)
        assert await probe(a, host, port) == "timed out"
        assert await probe(b, host, port) == "connected"
        zones.heal(a)
        assert await probe(a, host, port) == "connected"


def ip_names(*args: str) -> set[str]:
    """Link or namespace names from `ip -j ARGS`."""
    ip = shutil.which("ip", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin") or "ip"
    out = subprocess.run([ip, "-j", *args], capture_output=True, text=True, check=True).stdout
    return {entry.get("ifname") or entry["name"] for entry in json.loads(out or "[]")}


# A run that is killed before it can clean up: it makes zones and waits to be killed.
KILLED_RUN = """
import time
from tradewind.chaos.zones import availability_zones
with availability_zones(("a", "b")) as zones:
    print(zones.bridge, *(z.port for z in zones), *(z.namespace for z in zones), flush=True)
    time.sleep(600)
"""


async def test_zones_are_removed_after_an_error_and_after_a_killed_run(zones: Zones) -> None:
    with pytest.raises(RuntimeError), availability_zones(("x",)) as failing:
        names = {failing.bridge, failing["x"].port, failing["x"].namespace}
        assert names <= ip_names("link", "show") | ip_names("netns", "list")
        raise RuntimeError("the test failed")
    assert not names & (ip_names("link", "show") | ip_names("netns", "list"))

    killed = await asyncio.create_subprocess_exec(
        sys.executable, "-c", KILLED_RUN, stdout=asyncio.subprocess.PIPE
    )
    assert killed.stdout is not None
    try:
        async with asyncio.timeout(30):
            left = set((await killed.stdout.readline()).decode().split())
    finally:
        killed.kill()  # SIGKILL: no clean-up runs
        await killed.wait()
    assert len(left) == 5, "the killed run made no zones"
    assert left <= ip_names("link", "show") | ip_names("netns", "list")
    ours = {zones.bridge, *(z.port for z in zones), *(z.namespace for z in zones)}
    with availability_zones(("y",)):
        present = ip_names("link", "show") | ip_names("netns", "list")
        assert not left & present, f"left by the killed run: {left & present}"
        assert ours <= present, "a live run's zones were removed"


@contextlib.contextmanager
def redis_server(host: str, directory: Path) -> Iterator[str]:
    """A private redis-server listening on `host` only, keeping nothing; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis-server is not installed (Debian: apt-get install redis-server)")
    assert binary is not None
    port = free_port()
    log_path = directory / "redis.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [binary, "--bind", host, "--port", str(port), "--save", "", "--appendonly", "no",
             "--protected-mode", "no", "--dir", str(directory)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            for _ in range(100):
                if port_open(host, port, 0.2):
                    break
                assert proc.poll() is None, f"redis-server exited: {log_path.read_text()}"
                time.sleep(0.1)
            else:
                raise AssertionError("redis-server did not listen after 100 polls")
            yield f"redis://{host}:{port}/0"
        finally:
            proc.terminate()
            proc.wait(10)


@dataclass
class Member:
    """MEMBER running in a zone; `owned` is what it last said it reads, `said` every
    such line as (monotonic time, partitions)."""

    name: str
    child: asyncio.subprocess.Process
    owned: set[int] = field(default_factory=set)
    said: list[tuple[float, set[int]]] = field(default_factory=list)

    async def follow(self) -> None:
        assert self.child.stdout is not None
        async for raw in self.child.stdout:
            words = raw.decode().split()
            if words and words[0] == "owns":
                self.owned = {int(p) for p in words[2].split(",")} if len(words) > 2 else set()
                self.said.append((float(words[1]), set(self.owned)))


@contextlib.asynccontextmanager
async def member(
    zone: Zone, url: str, topic: str, group: str, log: Path, logs: Path
) -> AsyncIterator[Member]:
    with (logs / f"member-{zone.name}.log").open("w") as stderr:
        child = await asyncio.create_subprocess_exec(
            *zone.wrap([sys.executable, "-c", MEMBER, url, topic, group, str(PARTITIONS),
                        zone.name, str(log)]),
            stdout=asyncio.subprocess.PIPE, stderr=stderr,
        )  # fmt: skip
        running = Member(zone.name, child)
        following = asyncio.create_task(running.follow())
        try:
            yield running
        finally:
            following.cancel()
            if child.returncode is None:
                child.kill()
            await child.wait()


@dataclass(frozen=True)
class Handled:
    member: str
    partition: int
    seq: int
    at: float  # time.monotonic() in the member


def handled(log: Path) -> list[Handled]:
    """Every event handled so far, in the order the members handled them."""
    if not log.exists():
        return []
    *lines, _unfinished = log.read_text().split("\n")  # a batch being written may show half
    rows = [line.split() for line in lines]
    return [Handled(m, int(p), int(s), float(t)) for m, p, s, t in rows]


def stale_runs(events: list[Handled]) -> list[str]:
    """Per partition, the runs (events one member handled in a row, each the one
    published after the one before) that brought nothing newer than what was handled
    before them: a member handling, out of order, events its twin had already handled.
    At-least-once alone never makes one: a new owner that handles again what its
    predecessor left unacknowledged goes on to newer events in the same run."""
    found = []
    for partition in range(PARTITIONS):
        newest = 0
        runs: list[list[Handled]] = []
        for event in (e for e in events if e.partition == partition):
            last = runs[-1][-1] if runs else None
            if last is None or last.member != event.member or last.seq + 1 != event.seq:
                runs.append([])
            runs[-1].append(event)
        for run in runs:
            if run[-1].seq <= newest:
                found.append(f"{run[0].member} on {partition}: {run[0].seq}..{run[-1].seq}")
            newest = max(newest, run[-1].seq)
    return found


class Publisher:
    """One event per partition every PUBLISH_EVERY_S until stopped; `published` holds the
    last `seq` published (stored by Redis) per partition, counting from 1."""

    def __init__(self, bus: RedisStreamsBus, topic: str) -> None:
        self.published: dict[int, int] = {}
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._publish(bus, topic))

    def newest(self) -> int:
        return max(self.published.values(), default=0)

    async def stop(self) -> dict[int, int]:
        """Finish the batch in flight, stop; what was published."""
        self._stopping.set()
        await self._task
        return dict(self.published)

    async def _publish(self, bus: RedisStreamsBus, topic: str) -> None:
        keys: dict[int, str] = {}
        for n in range(1000):
            keys.setdefault(bus.partition_of(f"account-{n}"), f"account-{n}")
        assert len(keys) == PARTITIONS
        btc = Instrument.parse("sim", "BTC/USDT")
        seq = 0
        while not self._stopping.is_set():
            seq += 1
            batch: list[Envelope] = []
            for key in keys.values():
                payload = TradeTick(
                    instrument=btc, price=Decimal(100), quantity=Decimal(1),
                    aggressor=Side.BUY, trade_id=str(seq), ts_ns=time.time_ns(),
                )  # fmt: skip
                batch.append(envelope(payload, key))
            await bus.publish_batch(topic, batch)
            self.published = dict.fromkeys(keys, seq)
            await asyncio.sleep(PUBLISH_EVERY_S)


def handled_since(log: Path, who: str, partitions: set[int], after: int) -> bool:
    """Whether member `who` handled an event newer than `after` on each of `partitions`."""
    seen = {e.partition for e in handled(log) if e.member == who and e.seq > after}
    return partitions <= seen


def handled_up_to(log: Path, published: dict[int, int]) -> bool:
    """Whether the newest event of every partition was handled."""
    newest = dict.fromkeys(published, 0)
    for e in handled(log):
        newest[e.partition] = max(newest[e.partition], e.seq)
    return newest == published


@pytest.mark.servers
async def test_a_cut_zones_partitions_move_to_the_other_zone_and_come_back(
    zones: Zones, tmp_path: Path
) -> None:
    everything = set(range(PARTITIONS))
    topic, group = f"zones.{uuid.uuid4().hex[:8]}", "g"
    log = tmp_path / "handled.log"
    with redis_server(zones.host_address, tmp_path) as url:
        bus = RedisStreamsBus.from_url(url, partitions=PARTITIONS)
        await bus.start()
        try:
            async with (
                member(zones["a"], url, topic, group, log, tmp_path) as a,
                member(zones["b"], url, topic, group, log, tmp_path) as b,
            ):

                def split() -> bool:
                    return bool(a.owned) and bool(b.owned) and a.owned | b.owned == everything

                await until(split, "the zones' members did not share the partitions")
                assert not a.owned & b.owned
                publisher = Publisher(bus, topic)
                try:
                    a_had = set(a.owned)
                    await until(lambda: handled_since(log, "a", a_had, 50), "a handled little")
                    await until(lambda: handled_since(log, "b", b.owned, 50), "b handled little")

                    zones.cut("a")
                    cut_at, newest = time.monotonic(), publisher.newest()
                    await until(lambda: b.owned == everything, "b did not take a's partitions")
                    await until(
                        lambda: handled_since(log, "b", a_had, newest), "b handled none of a's"
                    )
                    await until(lambda: not a.owned, "a went on reading, cut off from its leases")
                    took = min(
                        e.at
                        for e in handled(log)
                        if e.member == "b" and e.partition in a_had and e.at > cut_at
                    )
                    a_stopped = min(t for t, owned in a.said if t > cut_at and not owned)
                    print(f"\ncut: b handled a's partitions {took - cut_at:.2f} s after the cut; "
                          f"a stopped reading {a_stopped - cut_at:.2f} s after it")  # fmt: skip

                    zones.heal("a")
                    heal_at, newest = time.monotonic(), publisher.newest()
                    await until(split, "the partitions were not shared again after the heal")
                    await until(lambda: handled_since(log, "a", a.owned, newest), "a is idle")
                    print(f"heal: partitions shared again and a handling "
                          f"{time.monotonic() - heal_at:.2f} s after the heal")  # fmt: skip
                finally:
                    published = await publisher.stop()
                await until(lambda: handled_up_to(log, published), "the last events not handled")
        finally:
            await bus.close()

    events = handled(log)
    seen = {(e.partition, e.seq) for e in events}
    lost = [(p, s) for p, last in published.items() for s in range(1, last + 1)
            if (p, s) not in seen]  # fmt: skip
    assert lost == [], f"{len(lost)} events never handled, e.g. {lost[:5]}"
    stale = stale_runs(events)
    print(f"{len(seen)} events, {len(events) - len(seen)} handled more than once; "
          f"stale runs: {stale or 'none'}")  # fmt: skip
    # A read a's member sent just before the cut returns after the heal (TCP retransmits
    # it): the bus must drop it, as the lease it was read under lapsed and b has handled
    # its entries since (seen in most runs before the bus checked).
    assert stale == [], f"the cut member handled events its twin had handled: {stale}"
