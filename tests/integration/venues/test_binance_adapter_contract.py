"""The `binance` adapter itself — the ccxt client `TRADEWIND_VENUES=bn=binance` builds,
with its own options, profile and ccxt rate limiter — passes the venue contract on the
simulated exchange (Binance's API), with only its URLs moved to the simulator: the
shared trading scenario gives what the in-process adapter gives, a resend of a client
order id is told apart as a duplicate (execution looks such an order up instead of
rejecting it), and the account's own order-count refusal as the account's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import pytest

from tests.integration.venues.scenario import QUANTITY, check_expected, trading_scenario
from tests.integration.venues.sim_rest_support import running_venue
from tradewind.domain.model import OrderType, Side
from tradewind.errors import DuplicateClientOrderId
from tradewind.venues import catalog
from tradewind.venues.binance import PROFILE
from tradewind.venues.ccxt_venue import CcxtVenue, rehosted_urls
from tradewind.venues.port import OrderRequest
from tradewind.venues.simulated.inprocess import InProcessVenue
from tradewind.venues.simulated.server.state import ServerState


@pytest.fixture(scope="module")
def venue_server() -> Iterator[tuple[str, ServerState]]:
    with running_venue() as (url, state):
        yield url, state


@pytest.fixture
async def binance(venue_server: tuple[str, ServerState]) -> AsyncIterator[CcxtVenue]:
    """The `binance` adapter's session for a fresh account holding 10,000 USDT, every
    URL of it moved to the simulator (nothing else changed)."""
    url, state = venue_server
    creds = state.exchange.create_account({"USDT": Decimal("10000")})
    (spec,) = catalog.parse_venues("bn=binance")
    venue = catalog.exchange_for(spec, creds.api_key, creds.secret)
    exchange = venue.exchange
    exchange.urls["api"] = rehosted_urls(exchange.urls["api"], url, url.replace("http", "ws"))
    assert venue.profile is PROFILE and exchange.enableRateLimit
    yield venue
    await venue.close()


async def test_the_binance_adapter_passes_the_trading_scenario(
    venue_server: tuple[str, ServerState], binance: CcxtVenue
) -> None:
    _, state = venue_server
    seen = await trading_scenario(binance, "adapter1")
    check_expected(seen)
    twin = state.exchange.create_account({"USDT": Decimal("10000")})
    in_process = await trading_scenario(InProcessVenue(state.exchange, twin.account_id), "mem2")
    keys = ("market", "open", "market_order", "fills", "placement_fills", "canceled",
            "looked_up", "btc")  # fmt: skip
    for key in keys:
        assert seen[key] == in_process[key], key
    assert seen["placement_fills"] == (QUANTITY, True)


async def test_a_resent_client_order_id_is_a_duplicate_not_a_rejection(
    binance: CcxtVenue,
) -> None:
    book = await binance.fetch_order_book("BTC/USDT", 5)
    far_bid = (book.bids[0][0] * Decimal("0.8")).quantize(Decimal("0.01"))
    request = OrderRequest(
        client_order_id="adapter-dup-1",
        symbol="BTC/USDT",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal("0.001"),
        price=far_bid,
    )
    await binance.place_order(request)
    with pytest.raises(DuplicateClientOrderId):
        await binance.place_order(request)
