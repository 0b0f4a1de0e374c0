"""The ccxt venue adapter against the simulated exchange over HTTP and WebSocket: the
shared trading scenario gives the same results as through the in-process adapter, and
the watch streams deliver live updates. Unmodified ccxt `binance`, no mocks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.venues.scenario import check_expected, trading_scenario
from tests.integration.venues.sim_rest_support import running_venue
from tradewind.domain.model import OrderType, Side
from tradewind.errors import InsufficientFunds, UnknownOrder, VenueUnavailable
from tradewind.venues.ccxt_venue import CcxtVenue
from tradewind.venues.directory import CcxtVenues
from tradewind.venues.port import OrderRequest, VenueOrderStatus
from tradewind.venues.simulated.client import ccxt_session
from tradewind.venues.simulated.inprocess import InProcessVenue
from tradewind.venues.simulated.server.state import ServerState


@pytest.fixture(scope="module")
def venue_server() -> Iterator[tuple[str, ServerState]]:
    with running_venue() as (url, state):
        yield url, state


@pytest.fixture
async def funded(venue_server: tuple[str, ServerState]) -> AsyncIterator[tuple[CcxtVenue, str]]:
    """A ccxt venue for a fresh account holding 10,000 USDT; yields it and its account id."""
    url, state = venue_server
    creds = state.exchange.create_account({"USDT": Decimal("10000")})
    venue = ccxt_session(url, url.replace("http://", "ws://"), creds.api_key, creds.secret)
    venue.exchange.enableRateLimit = False
    yield venue, creds.account_id
    await venue.close()


async def test_the_trading_scenario_over_ccxt_matches_the_in_process_adapter(
    venue_server: tuple[str, ServerState], funded: tuple[CcxtVenue, str]
) -> None:
    _, state = venue_server
    venue, _ = funded
    over_http = await trading_scenario(venue, "http1")
    check_expected(over_http)
    twin = state.exchange.create_account({"USDT": Decimal("10000")})
    in_process = await trading_scenario(InProcessVenue(state.exchange, twin.account_id), "mem1")
    check_expected(in_process)
    for key in ("market", "open", "market_order", "fills", "canceled", "looked_up", "btc"):
        assert over_http[key] == in_process[key], key
    assert over_http["limit"][:3] == in_process["limit"][:3]


async def test_insufficient_funds_and_unknown_orders_map_to_tradewind_errors(
    funded: tuple[CcxtVenue, str],
) -> None:
    venue, _ = funded
    with pytest.raises(InsufficientFunds) as refused:
        await venue.place_order(
            OrderRequest(
                client_order_id="too-big",
                symbol="BTC/USDT",
                side=Side.BUY,
                order_type=OrderType.LIMIT,
                quantity=Decimal("10"),
                price=Decimal("20000"),
            )
        )
    assert refused.value.code == -2010
    with pytest.raises(UnknownOrder):
        await venue.cancel_order("BTC/USDT", "never-placed")


async def test_an_order_whose_response_failed_is_found_by_its_client_order_id(
    venue_server: tuple[str, ServerState], funded: tuple[CcxtVenue, str]
) -> None:
    _, state = venue_server
    venue, _ = funded
    state.faults.fail_after_accept = 1
    request = OrderRequest(
        client_order_id="unknown-outcome-1",
        symbol="BTC/USDT",
        side=Side.BUY,
        order_type=OrderType.MARKET,
        quantity=Decimal("0.001"),
    )
    with pytest.raises(VenueUnavailable):
        await venue.place_order(request)
    found = await venue.fetch_order("BTC/USDT", "unknown-outcome-1")
    assert found.status is VenueOrderStatus.FILLED and found.filled_quantity == Decimal("0.001")


async def test_watch_orders_trades_and_book_receive_live_updates(
    funded: tuple[CcxtVenue, str],
) -> None:
    venue, _ = funded
    trades = venue.watch_trades("ETH/USDT")
    books = venue.watch_order_book("ETH/USDT")
    orders = venue.watch_orders()
    first_trades = await asyncio.wait_for(anext(trades), 20)
    assert first_trades and all(t.symbol == "ETH/USDT" for t in first_trades)
    book = await asyncio.wait_for(anext(books), 20)
    assert book.bids[0][0] < book.asks[0][0]
    # The user-data subscription is ready at a moment ccxt does not expose: place small
    # orders until one is reported back, rather than guess a delay.
    next_orders = asyncio.ensure_future(anext(orders))
    placed: list[str] = []
    for attempt in range(40):
        placed.append(f"watched-{attempt}")
        await venue.place_order(
            OrderRequest(
                client_order_id=placed[-1],
                symbol="ETH/USDT",
                side=Side.BUY,
                order_type=OrderType.MARKET,
                quantity=Decimal("0.01"),
            )
        )
        done, _ = await asyncio.wait({next_orders}, timeout=0.5)
        if done:
            break
    update = next_orders.result()
    reported = [o for o in update if o.client_order_id in placed]
    assert reported, "the account's own order was not reported on the user data stream"
    assert reported[0].status in (VenueOrderStatus.NEW, VenueOrderStatus.FILLED)
    for stream in (trades, books, orders):
        await stream.aclose()


@pytest.mark.parametrize(("interval_s", "count"), [(300, 20), (5, 30), (120, 10)])
async def test_candles_over_ccxt_are_the_in_process_adapters(
    venue_server: tuple[str, ServerState],
    funded: tuple[CcxtVenue, str],
    interval_s: int,
    count: int,
) -> None:
    # The synthetic market has two days of back-history: 5-minute candles, and the finer
    # widths built from its trades. A bar closing between two calls may add one.
    _, state = venue_server
    venue, account_id = funded
    in_process = InProcessVenue(state.exchange, account_id)
    before = await in_process.fetch_candles("BTC/USDT", interval_s, count)
    over_http = await venue.fetch_candles("BTC/USDT", interval_s, count)
    after = await in_process.fetch_candles("BTC/USDT", interval_s, count)
    assert over_http in (before, after)
    assert len(over_http) == count
    opens = [c.open_ms for c in over_http]
    assert opens == sorted(set(opens)) and all(o % (interval_s * 1000) == 0 for o in opens)
    assert opens[-1] + interval_s * 1000 <= time.time_ns() // 1_000_000  # closed bars only
    assert all(c.low <= min(c.open, c.close) and c.high >= max(c.open, c.close) for c in over_http)


async def test_a_caller_cancelled_while_the_markets_load_leaves_the_others_waiting(
    venue_server: tuple[str, ServerState], funded: tuple[CcxtVenue, str]
) -> None:
    """ccxt has every concurrent caller await one shared task loading the markets: one
    caller cancelled (its own timeout) cancelled it for all, and the others got a
    CancelledError their task was never asked, which ended the execution service's
    session opening and its consumer as if stopped. Now the others wait on: here the
    hung venue answers 504 at last, and they get that, as a venue error."""
    _, state = venue_server
    venue, _ = funded
    state.faults.hang_s = 1.0
    state.faults.timeout_until_ms = int(time.time() * 1000) + 500
    try:
        impatient = asyncio.create_task(venue.fetch_balances())
        patient = asyncio.create_task(venue.fetch_open_orders("BTC/USDT"))
        await asyncio.sleep(0.3)  # both wait on the markets' first request
        impatient.cancel()
        outcome = (await asyncio.gather(patient, return_exceptions=True))[0]
    finally:
        state.faults.clear()
    assert isinstance(outcome, VenueUnavailable), repr(outcome)
    assert await venue.fetch_open_orders("BTC/USDT") == [], "the markets load again"


async def test_the_sessions_of_a_venue_load_its_markets_once(
    venue_server: tuple[str, ServerState],
) -> None:
    """A platform opens a session per account, all at once when it starts; the venue's
    market list (Binance's exchangeInfo, 20 request weight) is read once for all of them."""
    url, state = venue_server
    directory = CcxtVenues({"sim": url})
    sessions = []
    for _ in range(5):
        creds = state.exchange.create_account({"USDT": Decimal("100")})
        sessions.append(directory.session("sim", creds.api_key, creds.secret))
    loads: list[str] = []
    for session in sessions:
        assert isinstance(session, CcxtVenue)
        load = session.exchange.load_markets

        async def counted(*args: object, load: Any = load, **kwargs: object) -> Any:
            loads.append("exchangeInfo")
            return await load(*args, **kwargs)

        session.exchange.load_markets = counted
    try:
        readings = await asyncio.gather(*(s.fetch_balances() for s in sessions))
        assert all(r.assets["USDT"].free == Decimal("100") for r in readings)
        assert loads == ["exchangeInfo"]
        listed = [await s.load_markets() for s in sessions]
        assert all(markets == listed[0] for markets in listed) and "BTC/USDT" in listed[0]
    finally:
        await asyncio.gather(*(s.close() for s in sessions))


async def test_each_answer_hands_the_venues_usage_report_to_the_observer(
    funded: tuple[CcxtVenue, str],
) -> None:
    """The weight the venue says the address spent this minute reaches the observer after
    every call, a refusal's included (execution paces by it: `VenueGate.observe_usage`)."""
    venue, _ = funded
    reports: list[int] = []

    def observe(headers: Any) -> None:
        used = {k.lower(): v for k, v in headers.items()}.get("x-mbx-used-weight-1m")
        if used is not None:
            reports.append(int(used))

    venue.on_usage(observe)
    await venue.fetch_balances()  # weight 20
    assert reports and reports[-1] >= 20
    seen = len(reports)
    with pytest.raises(UnknownOrder):
        await venue.fetch_order("BTC/USDT", "tw-no-such-order")
    assert len(reports) > seen and reports[-1] >= reports[seen - 1]
