"""A process's stream openings at a venue that limits them: one at a time, an interval apart
on the clock as it is when each is granted, shared by every session of the venue."""

from __future__ import annotations

import asyncio
import itertools
import time

from tradewind.venues.ccxt_venue import CcxtVenue, SharedMarkets
from tradewind.venues.coinbase import PROFILE as COINBASE
from tradewind.venues.coinbase.limits import PUBLIC_REQUESTS_PACED_PER_S, STREAM_OPENINGS_PER_S
from tradewind.venues.simulated.client import ccxt_session
from tradewind.venues.stream_pacing import StreamPacer


async def test_turns_come_in_the_order_they_were_asked_for() -> None:
    pacer = StreamPacer(1000.0)
    opened: list[int] = []

    async def open_stream(n: int) -> None:
        await pacer.turn()
        opened.append(n)

    await asyncio.gather(*(open_stream(n) for n in range(5)))
    assert opened == [0, 1, 2, 3, 4]
    assert pacer.interval_s == 0.001


async def test_turns_are_apart_on_the_clock_even_after_the_loop_stalled() -> None:
    """Ten turns asked for at once, the loop then blocked for longer than all of them
    take: they are still granted an interval apart, not in one burst."""
    pacer = StreamPacer(100.0)  # 10 ms apart
    loop = asyncio.get_running_loop()
    granted: list[float] = []

    async def open_stream() -> None:
        await pacer.turn()
        granted.append(loop.time())

    tasks = [asyncio.create_task(open_stream()) for _ in range(10)]
    await asyncio.sleep(0)  # the first turn is granted, the others wait
    time.sleep(0.2)  # noqa: ASYNC251 (a stall of the event loop, on purpose)
    await asyncio.gather(*tasks)
    gaps = [b - a for a, b in itertools.pairwise(granted)]
    assert len(granted) == 10
    assert all(gap >= pacer.interval_s * 0.99 for gap in gaps[1:]), gaps
    assert sum(1 for gap in gaps if gap < pacer.interval_s * 0.99) <= 1  # right after it


async def test_a_venue_without_a_stream_limit_opens_streams_at_once() -> None:
    pacer = StreamPacer(None)
    assert pacer.interval_s == 0.0
    await asyncio.gather(*(pacer.turn() for _ in range(100)))


async def test_every_session_of_a_venue_in_a_process_shares_one_pacer_at_its_limit() -> None:
    shared = SharedMarkets()
    sessions = [
        ccxt_session("http://127.0.0.1:1", "ws://127.0.0.1:1", "", "", api="coinbase",
                     markets=shared)
        for _ in range(2)
    ]  # fmt: skip
    try:
        assert isinstance(sessions[0], CcxtVenue)
        assert shared.streams is not None
        assert shared.streams.interval_s == 1 / STREAM_OPENINGS_PER_S
        assert COINBASE.stream_openings_per_s == STREAM_OPENINGS_PER_S
        assert all(s._streams is shared.streams for s in sessions)
    finally:
        for session in sessions:
            await session.close()


def test_public_request_turns_are_shared_by_the_address_requests_leave_from() -> None:
    shared = SharedMarkets()
    default_route = shared.public_requests(None, PUBLIC_REQUESTS_PACED_PER_S)
    assert shared.public_requests(None, PUBLIC_REQUESTS_PACED_PER_S) is default_route
    assert shared.public_requests("127.0.0.2", PUBLIC_REQUESTS_PACED_PER_S) is not default_route
    assert default_route.interval_s == 1 / PUBLIC_REQUESTS_PACED_PER_S
    assert COINBASE.public_requests_per_s == PUBLIC_REQUESTS_PACED_PER_S
