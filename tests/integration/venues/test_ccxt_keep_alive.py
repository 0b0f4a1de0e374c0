"""The ccxt venue across HTTP keep-alive races (issue #20, item 5): a request written on a
pooled connection just as the server closes it is never answered.

The client keeps no connection idle as long as a server with uvicorn's default idle
timeout does, so it never writes on one the server is closing. Should a server close
earlier all the same, a read (GET) or a cancel (DELETE) is sent once more at once by
aiohttp (RFC 9112 section 9.3.1: idempotent methods only); an order (POST) is not: its
outcome is unknown, and execution looks it up by client order id. The race is played
deterministically by `KeepAliveRaceProxy` in front of the real simulated exchange;
unmodified ccxt `binance`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal

import pytest

from tests.integration.venues.keep_alive_race import UVICORN_DEFAULT_IDLE_S, KeepAliveRaceProxy
from tests.integration.venues.sim_rest_support import running_venue
from tradewind.domain.model import OrderType, Side
from tradewind.errors import UnknownOrder, VenueUnavailable
from tradewind.venues.ccxt_venue import CcxtVenue
from tradewind.venues.port import OrderRequest, VenueOrderStatus
from tradewind.venues.simulated.client import ccxt_session
from tradewind.venues.simulated.server.state import ServerState


@dataclass
class RaceSetup:
    venue: CcxtVenue
    proxy: KeepAliveRaceProxy


@pytest.fixture(scope="module")
def venue_server() -> Iterator[tuple[str, ServerState]]:
    with running_venue() as served:
        yield served


@asynccontextmanager
async def venue_behind_proxy(
    venue_server: tuple[str, ServerState], idle_close_s: float | None = None
) -> AsyncIterator[RaceSetup]:
    url, state = venue_server
    proxy = KeepAliveRaceProxy(url, idle_close_s=idle_close_s)
    await proxy.start()
    creds = state.exchange.create_account({"USDT": Decimal("10000")})
    venue = ccxt_session(proxy.url, url.replace("http://", "ws://"), creds.api_key, creds.secret)
    venue.exchange.enableRateLimit = False
    try:
        yield RaceSetup(venue, proxy)
    finally:
        await venue.close()
        await proxy.close()


@pytest.fixture
async def racing(venue_server: tuple[str, ServerState]) -> AsyncIterator[RaceSetup]:
    """A funded account's venue behind a proxy that drops requests when told to."""
    async with venue_behind_proxy(venue_server) as setup:
        yield setup


@pytest.fixture
async def behind_uvicorn_idle_timeout(
    venue_server: tuple[str, ServerState],
) -> AsyncIterator[RaceSetup]:
    """… behind a proxy that, like a uvicorn server with its default idle timeout, has
    closed any connection idle that long by the time a request arrives on it."""
    async with venue_behind_proxy(venue_server, idle_close_s=UVICORN_DEFAULT_IDLE_S) as setup:
        yield setup


def market_buy(client_order_id: str) -> OrderRequest:
    return OrderRequest(
        client_order_id=client_order_id,
        symbol="BTC/USDT",
        side=Side.BUY,
        order_type=OrderType.MARKET,
        quantity=Decimal("0.001"),
    )


def resting_buy(client_order_id: str) -> OrderRequest:
    """A limit buy far below the market: it stays open."""
    return OrderRequest(
        client_order_id=client_order_id,
        symbol="BTC/USDT",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal("0.02"),
        price=Decimal("1000"),
    )


async def test_a_connection_idle_as_long_as_a_uvicorn_server_keeps_one_is_not_reused(
    behind_uvicorn_idle_timeout: RaceSetup,
) -> None:
    venue, proxy = behind_uvicorn_idle_timeout.venue, behind_uvicorn_idle_timeout.proxy
    await venue.load_markets()
    await asyncio.sleep(UVICORN_DEFAULT_IDLE_S + 0.3)
    order = await venue.place_order(market_buy("after-idle-1"))
    assert order.status is VenueOrderStatus.FILLED
    assert proxy.dropped == 0
    assert proxy.connections == 2, "the order went on a new connection"


Read = Callable[[CcxtVenue], Awaitable[object]]
READS: dict[str, Read] = {
    "fetch_order": lambda venue: venue.fetch_order("BTC/USDT", "placed-1"),
    "fetch_open_orders": lambda venue: venue.fetch_open_orders("BTC/USDT"),
    "fetch_balances": lambda venue: venue.fetch_balances(),
    "fetch_my_fills": lambda venue: venue.fetch_my_fills("BTC/USDT"),
    "fetch_order_book": lambda venue: venue.fetch_order_book("BTC/USDT"),
}


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
async def test_a_read_whose_connection_closes_unanswered_is_sent_once_more(
    racing: RaceSetup, read: Read
) -> None:
    await racing.venue.place_order(market_buy("placed-1"))
    racing.proxy.drop_next_reused_request()
    assert await read(racing.venue) is not None
    assert racing.proxy.dropped == 1


async def test_loading_markets_whose_connection_closes_unanswered_is_sent_once_more(
    racing: RaceSetup,
) -> None:
    await racing.venue.call_raw("public_get_ping")  # leaves a connection to reuse
    racing.proxy.drop_next_reused_request()
    markets = await racing.venue.load_markets()
    assert "BTC/USDT" in markets
    assert racing.proxy.dropped == 1


async def test_an_order_whose_connection_closes_unanswered_is_unknown_and_not_resent(
    racing: RaceSetup,
) -> None:
    venue, proxy = racing.venue, racing.proxy
    await venue.place_order(market_buy("placed-1"))
    proxy.drop_next_reused_request()
    with pytest.raises(VenueUnavailable):
        await venue.place_order(market_buy("crossed-the-close"))
    assert proxy.dropped == 1
    with pytest.raises(UnknownOrder):  # the venue never saw it, and it was not resent
        await venue.fetch_order("BTC/USDT", "crossed-the-close")


async def test_a_cancel_whose_connection_closes_unanswered_is_sent_once_more_and_cancels(
    racing: RaceSetup,
) -> None:
    """A cancel is a DELETE, which aiohttp, like a read, sends once more. Safe: had the
    first one cancelled the order, the second is refused as an unknown order, and
    execution then looks the order up."""
    venue, proxy = racing.venue, racing.proxy
    await venue.place_order(resting_buy("resting-1"))
    proxy.drop_next_reused_request()
    canceled = await venue.cancel_order("BTC/USDT", "resting-1")
    assert canceled.status is VenueOrderStatus.CANCELED
    assert proxy.dropped == 1


async def test_the_venue_closes_the_http_session_it_made_for_ccxt(racing: RaceSetup) -> None:
    await racing.venue.fetch_balances()
    session = racing.venue.exchange.session
    assert session is not None and not session.closed
    await racing.venue.close()
    assert session.closed and racing.venue.exchange.session is None
