"""Fills of a resting order come with the order stream's updates: the ccxt adapter over
the simulated exchange's Binance API (unmodified ccxt `binance`, its user data stream's
executionReport) and the in-process adapter report the same thing of a limit order that
rests and is filled later by another account, each fill the very one the account's
trades read apart (`fetch_my_fills`) give, to the digit."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.integration.venues.scenario import QUANTITY, resting_fill_scenario
from tests.integration.venues.sim_rest_support import running_still_venue
from tradewind.domain.model import Liquidity, Side
from tradewind.venues.port import VenueOrderStatus
from tradewind.venues.simulated.client import ccxt_session
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.inprocess import InProcessVenue
from tradewind.venues.simulated.market import SyntheticMarket
from tradewind.venues.simulated.server.state import ServerState


@pytest.fixture(scope="module")
def still_venue() -> Iterator[tuple[str, ServerState]]:
    with running_still_venue() as served:
        yield served


async def test_a_resting_orders_fill_comes_on_the_stream_over_ccxt_as_in_process(
    still_venue: tuple[str, ServerState],
) -> None:
    url, state = still_venue
    ws = url.replace("http://", "ws://")
    buyer = state.exchange.create_account({"USDT": Decimal("10000")})
    seller = state.exchange.create_account({"BTC": Decimal("1")})
    maker = ccxt_session(url, ws, buyer.api_key, buyer.secret)
    taker = ccxt_session(url, ws, seller.api_key, seller.secret)
    try:
        over_http = await resting_fill_scenario(maker, taker, "http1")
    finally:
        await maker.close()
        await taker.close()

    exchange = SimulatedExchange(SyntheticMarket(seed=9))
    exchange.step()  # quoted once, then still
    twin_buyer = exchange.create_account({"USDT": Decimal("10000")})
    twin_seller = exchange.create_account({"BTC": Decimal("1")})
    in_process = await resting_fill_scenario(
        InProcessVenue(exchange, twin_buyer.account_id),
        InProcessVenue(exchange, twin_seller.account_id),
        "mem1",
    )

    assert over_http == in_process
    assert over_http["statuses"] == [
        (VenueOrderStatus.NEW, Decimal(0), 0),
        (VenueOrderStatus.FILLED, QUANTITY, 1),  # the TRADE report, with its execution
    ]
    assert over_http["fill"] == (Side.BUY, QUANTITY, Liquidity.MAKER, "BTC")
    assert over_http["venue_order_id"]
