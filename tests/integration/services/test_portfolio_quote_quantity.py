"""The portfolio service books a fill's cash as the venue moved it: on ETH/BTC (tick
10^-8 x step 10^-5) the simulated exchange settles price x quantity rounded down to
10^-8, and after several fills, fed by the execution service trading there in process
or over HTTP through ccxt, the books equal the venue's balances to the last digit with
nothing booked as a transfer."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.services.execution_support import (
    FAST,
    Platform,
    Recorder,
    approved,
    intent,
    make_encryptor,
    store_account,
)
from tests.waiting import wait_until
from tradewind.bus.memory import MemoryBus
from tradewind.bus.topics import ORDERS_APPROVED, ORDERS_EVENTS
from tradewind.domain.events import BalanceUpdate, Fill, OrderFilled
from tradewind.domain.model import Side
from tradewind.runtime.service_settings import PortfolioSettings
from tradewind.services.execution import ExecutionService
from tradewind.services.portfolio import PortfolioService
from tradewind.store.database import Database
from tradewind.venues.directory import CcxtVenues, SimulatedVenues
from tradewind.venues.port import VenueDirectory
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket, SyntheticSpec
from tradewind.venues.simulated.server.serve import serving_in_thread
from tradewind.venues.simulated.server.state import ServerState

D = Decimal
QUICK = PortfolioSettings(portfolio_flush_interval_s=0.05, portfolio_snapshot_interval_s=0.2)
SKIPPED = "tradewind_portfolio_skipped_total"
#: BTC-quoted near 0.09: the simulated exchange lists it with tick 10^-8, step 10^-5.
FINE_PAIR = {"ETH/BTC": SyntheticSpec(D("0.0912345"))}


@dataclass
class FinePair:
    platform: Platform
    exchange: SimulatedExchange


@pytest.fixture(params=["in_process", "over_http"])
async def fine_pair(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FinePair]:
    exchange = SimulatedExchange(SyntheticMarket(FINE_PAIR, seed=8))
    exchange.step()
    spec = exchange.specs["ETH/BTC"].filters
    assert (spec.tick_size, spec.step_size) == (D("1e-8"), D("1e-5"))
    database = Database(f"sqlite:///{tmp_path / 'tradewind.db'}")
    await database.migrate()
    bus = MemoryBus(partitions=4)
    await bus.start()
    with contextlib.ExitStack() as served:
        venues: VenueDirectory = SimulatedVenues(exchange)
        if request.param == "over_http":
            url = served.enter_context(serving_in_thread(ServerState(exchange)))
            venues = CcxtVenues({"sim": url})
        platform = Platform(bus, venues, database, make_encryptor())
        yield FinePair(platform, exchange)
        await platform.stop_all()
    await bus.close()
    await database.close()


async def test_the_books_equal_the_venues_balances_to_the_last_digit_on_a_fine_pair(
    fine_pair: FinePair,
) -> None:
    platform, exchange = fine_pair.platform, fine_pair.exchange
    creds = exchange.create_account({"BTC": D("1")})
    assert platform.database is not None
    account_id = await store_account(
        platform.database, platform.encryptor, creds.api_key, creds.secret, valuation_asset="BTC"
    )
    events = await Recorder.on(platform.bus, [ORDERS_EVENTS])
    portfolio = await platform.start(PortfolioService(QUICK))
    await platform.start(ExecutionService(FAST))
    await events.wait_for(lambda r: r.payloads(BalanceUpdate), what="the session's balances")
    trades = [
        ("i-1", Side.BUY, "0.12345"),
        ("i-2", Side.BUY, "0.33331"),
        ("i-3", Side.SELL, "0.05432"),
        ("i-4", Side.BUY, "0.07777"),
        ("i-5", Side.SELL, "0.21211"),
    ]
    for intent_id, side, quantity in trades:
        order = intent(account_id, intent_id, side, quantity, symbol="ETH/BTC")
        await platform.bus.publish(ORDERS_APPROVED, approved(order))
    await events.wait_for(
        lambda r: len(r.payloads(OrderFilled)) == len(trades), timeout_s=20, what="the fills"
    )

    fills = events.payloads(Fill)
    assert fills and all(f.quote_quantity is not None for f in fills)
    # The pair is finer than the venue's 10^-8: price x quantity alone would be off.
    assert any(f.quote_quantity != f.price * f.quantity for f in fills)
    venue = exchange.engine.balances(creds.account_id)
    expected = {asset: b.free + b.locked for asset, b in venue.items()}
    assert isinstance(portfolio, PortfolioService)

    def books() -> dict[str, Decimal]:
        held = portfolio.books.portfolios[account_id].balances()
        return {asset: held.get(asset, D(0)) for asset in expected}

    await wait_until(lambda: books() == expected)
    books_now = portfolio.books.portfolios[account_id]
    assert books_now.net_contributions == D("1")  # fills alone got there: no transfer
    assert books_now.reset_from_venue(expected) is False
    assert platform.metric(SKIPPED, reason="invalid") == 0
