"""`PartitionLeases` against a real Redis: membership, the partition leases it claims,
renews, gives back and loses, as the Redis Streams consumer drives it (`tick` is one
heartbeat; `run` heartbeats until `halt`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from tradewind.bus.redis_leases import PartitionLeases, Unit

pytestmark = pytest.mark.servers

PARTITIONS = 4
GROUP = "readers"
TOPICS = ["md.book", "md.trade"]
ALL: set[Unit] = {(t, p) for t in TOPICS for p in range(PARTITIONS)}
# ids sort "a" < "b": with two members "a" deals partitions 0 and 2, "b" 1 and 3
EVEN: set[Unit] = {u for u in ALL if u[1] % 2 == 0}
ODD = ALL - EVEN


LeasesFactory = Callable[..., PartitionLeases]


@pytest.fixture
def member(redis: aioredis.Redis, prefix: str) -> LeasesFactory:
    """A member of GROUP on TOPICS, on this test's prefix."""

    def make(member_id: str, lease_ms: int = 5_000) -> PartitionLeases:
        return PartitionLeases(
            redis,
            prefix=prefix,
            topics=[*reversed(TOPICS), TOPICS[0]],  # order and repeats do not matter
            group=GROUP,
            partitions=PARTITIONS,
            member_id=member_id,
            lease_ms=lease_ms,
        )

    return make


def lease_key(prefix: str, unit: Unit) -> str:
    return f"{prefix}:lease:{unit[0]}:{GROUP}:{unit[1]}"


async def holders(redis: aioredis.Redis, prefix: str) -> dict[Unit, str | None]:
    """Who Redis says holds each unit's lease."""
    units = sorted(ALL)
    values = await redis.mget([lease_key(prefix, u) for u in units])
    return {u: None if v is None else v.decode() for u, v in zip(units, values, strict=True)}


#: A lease whose heartbeat (a third of it) comes long after pytest's timeout: what the
#: run tests see happen can only be the prompt path under test, never the periodic one.
HOUR_MS = 3_600_000


async def eventually(predicate: Callable[[], bool]) -> None:
    """Until `predicate()` holds. No deadline of its own: if it never holds, the test
    hangs into pytest's timeout, which fails it."""
    while not predicate():  # noqa: ASYNC110 - a plain predicate, polled
        await asyncio.sleep(0.02)


async def sleep_past(lease_ms: int) -> None:
    """Sleep until a lease of `lease_ms` granted just before has surely lapsed."""
    await asyncio.sleep(lease_ms / 1000 * 1.5)


# -- one member ------------------------------------------------------------------------


async def test_a_lone_member_claims_every_partition_of_every_topic(
    member: LeasesFactory, redis: aioredis.Redis, prefix: str
) -> None:
    a = member("a")
    assert a.readable() == [] and a.held == set() and a.settled

    await a.tick()

    assert a.wanted == ALL and a.held == ALL and a.settled
    assert a.changed.is_set()
    assert a.readable() == sorted(ALL)  # a stable order: topic, then partition
    assert await holders(redis, prefix) == dict.fromkeys(ALL, "a")
    assert a.take_acquired() == ALL
    assert a.take_acquired() == set()  # reported once
    assert all(a.term(u) > 0 for u in ALL)
    assert len({a.term(u) for u in ALL}) == len(ALL)  # one claim each


async def test_a_heartbeat_renews_the_leases_it_holds_without_claiming_them_again(
    member: LeasesFactory, redis: aioredis.Redis, prefix: str
) -> None:
    lease_ms = 1_000
    a = member("a", lease_ms)
    await a.tick()
    a.take_acquired()
    terms = {u: a.term(u) for u in ALL}
    a.changed.clear()
    await asyncio.sleep(lease_ms / 1000 * 0.6)
    key = lease_key(prefix, ("md.book", 0))
    before = await redis.pttl(key)

    await a.tick()

    assert await redis.pttl(key) > before
    assert a.held == ALL
    assert {u: a.term(u) for u in ALL} == terms
    assert a.take_acquired() == set()
    assert not a.changed.is_set()  # nothing moved
    await asyncio.sleep(lease_ms / 1000 * 0.6)  # past the first grant's end
    assert await holders(redis, prefix) == dict.fromkeys(ALL, "a")


async def test_readable_is_empty_once_the_leases_may_have_lapsed_without_a_heartbeat(
    member: LeasesFactory,
) -> None:
    lease_ms = 300
    a = member("a", lease_ms)
    await a.tick()
    assert a.readable() == sorted(ALL)

    await sleep_past(lease_ms)

    assert a.readable() == []  # fenced locally, before any heartbeat says so
    assert a.held == ALL  # what it believes it holds is only corrected by a heartbeat


# -- two members -----------------------------------------------------------------------


async def test_a_joining_member_waits_until_the_holder_gives_its_partitions_back(
    member: LeasesFactory, redis: aioredis.Redis, prefix: str
) -> None:
    a, b = member("a"), member("b")
    await a.tick()
    generation = await redis.get(a.generation_key)

    await b.tick()

    assert await redis.get(a.generation_key) != generation  # members changed
    assert b.wanted == ODD and b.held == set() and not b.settled
    assert b.readable() == []
    assert b.take_acquired() == set()

    await a.tick()
    assert a.wanted == EVEN and a.held == ALL and not a.settled
    assert a.readable() == sorted(EVEN)  # keeps reading only what is still its own

    await b.tick()
    assert b.held == set(), "b claimed a partition a still holds"

    a.changed.clear()
    await a.release(a.held - a.wanted)
    assert a.held == EVEN and a.settled and a.changed.is_set()

    await b.tick()
    assert b.held == ODD and b.settled and b.readable() == sorted(ODD)
    assert b.take_acquired() == ODD
    assert await holders(redis, prefix) == {u: "a" if u in EVEN else "b" for u in ALL}


async def test_a_partition_goes_with_its_number_across_topics(member: LeasesFactory) -> None:
    a, b, c = member("a"), member("b"), member("c")
    for leases in (a, b, c, a, b):
        await leases.tick()

    for leases in (a, b, c):
        numbers = {p for _, p in leases.wanted}
        assert leases.wanted == {(t, p) for t in TOPICS for p in numbers}
    assert a.wanted | b.wanted | c.wanted == ALL
    assert not (a.wanted & b.wanted or a.wanted & c.wanted or b.wanted & c.wanted)


async def test_a_silent_members_leases_lapse_and_another_takes_them_over(
    member: LeasesFactory, redis: aioredis.Redis, prefix: str
) -> None:
    lease_ms = 800
    a, b = member("a", lease_ms), member("b", lease_ms)
    await a.tick()
    await b.tick()
    assert b.held == set()

    await sleep_past(lease_ms)  # a stops heartbeating (a crash)
    await b.tick()

    assert b.wanted == ALL and b.held == ALL
    assert b.take_acquired() == ALL  # their pending entries must be read first
    assert await holders(redis, prefix) == dict.fromkeys(ALL, "b")


async def test_a_member_that_comes_back_after_its_leases_lapsed_learns_it_lost_them(
    member: LeasesFactory, redis: aioredis.Redis, prefix: str
) -> None:
    lease_ms = 800
    a, b = member("a", lease_ms), member("b", lease_ms)
    await a.tick()
    a.take_acquired()  # as its consumer does before each read
    await sleep_past(lease_ms)
    await b.tick()  # a has gone: b takes everything
    b_terms = {u: b.term(u) for u in ALL}

    a.changed.clear()
    await a.tick()  # a was only paused; it rejoins

    assert a.held == set(), "a still thinks it holds leases b took over"
    assert a.wanted == EVEN and a.readable() == []
    assert a.changed.is_set()
    assert await holders(redis, prefix) == dict.fromkeys(ALL, "b")

    await b.tick()
    await b.release(b.held - b.wanted)
    await a.tick()
    assert a.held == EVEN and a.take_acquired() == EVEN
    assert {u: b.term(u) for u in ODD} == {u: b_terms[u] for u in ODD}


async def test_release_deletes_only_leases_still_its_own(
    member: LeasesFactory, redis: aioredis.Redis, prefix: str
) -> None:
    lease_ms = 800
    a, b = member("a", lease_ms), member("b", lease_ms)
    await a.tick()
    await sleep_past(lease_ms)
    await b.tick()

    await a.release(ALL)  # late: a has not heartbeaten since its leases lapsed

    assert a.held == set()
    assert await holders(redis, prefix) == dict.fromkeys(ALL, "b")


async def test_release_of_units_not_held_is_a_no_op(
    member: LeasesFactory, redis: aioredis.Redis, prefix: str
) -> None:
    a = member("a")
    await a.tick()
    await a.release({("md.book", 0)})
    a.changed.clear()

    await a.release({("md.book", 0), ("elsewhere", 9)})

    assert not a.changed.is_set()
    assert a.held == ALL - {("md.book", 0)}
    assert (await holders(redis, prefix))[("md.book", 0)] is None


async def test_a_lease_given_back_and_claimed_again_is_a_new_term(member: LeasesFactory) -> None:
    a = member("a")
    unit: Unit = ("md.trade", 1)
    assert a.term(unit) == 0
    await a.tick()
    first = a.term(unit)
    a.take_acquired()

    await a.release({unit})
    await a.tick()

    assert unit in a.held
    assert a.term(unit) > first  # a read sent under the old term must be dropped
    assert a.take_acquired() == {unit}


async def test_leaving_hands_every_partition_over_at_once(
    member: LeasesFactory, redis: aioredis.Redis, prefix: str
) -> None:
    lease_ms = 60_000  # far longer than the test: only leaving can free them
    a, b = member("a", lease_ms), member("b", lease_ms)
    await a.tick()
    await b.tick()
    generation = await redis.get(a.generation_key)

    await a.leave()

    assert a.held == set() and a.wanted == set() and a.readable() == []
    assert await redis.get(a.generation_key) != generation
    assert await holders(redis, prefix) == dict.fromkeys(ALL)
    await b.tick()
    assert b.wanted == ALL and b.held == ALL


# -- run, notice, halt -----------------------------------------------------------------


@contextlib.asynccontextmanager
async def running(leases: PartitionLeases) -> AsyncIterator[asyncio.Task[None]]:
    """`leases.run()` as a task, halted (and awaited) on the way out."""
    task = asyncio.create_task(leases.run())
    try:
        yield task
    finally:
        leases.halt()
        await task


async def test_run_heartbeats_at_once_when_noticed_of_a_new_generation(
    member: LeasesFactory,
) -> None:
    a = member("a", lease_ms=HOUR_MS)  # a heartbeat every 20 min unless woken
    async with running(a) as task:
        await asyncio.sleep(0.3)
        assert a.held == set()  # run waits for its first heartbeat

        a.notice(b"1")

        await eventually(lambda: a.held == ALL)
    assert task.done() and task.exception() is None


async def test_run_claims_quickly_while_unsettled_and_halt_ends_it(
    member: LeasesFactory, redis: aioredis.Redis, prefix: str
) -> None:
    a, b = member("a", HOUR_MS), member("b", HOUR_MS)
    await a.tick()
    await b.tick()  # b wants ODD, which a holds
    async with running(b) as task:
        await a.tick()
        await a.release(a.held - a.wanted)

        # by a claim while unsettled (every 0.1 s), not a heartbeat (a third of the lease)
        await eventually(lambda: b.held == ODD)
    assert task.done() and task.exception() is None
    assert await holders(redis, prefix) == {u: "a" if u in EVEN else "b" for u in ALL}
