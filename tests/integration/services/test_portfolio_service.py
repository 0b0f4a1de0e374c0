"""The portfolio service on the real memory bus: fed by the execution service trading on
the real simulated exchange (in process), its books equal the venue's balances asset by
asset; marks move equity; ticks are coalesced into a handful of revaluations; updates
reach portfolio.updates, the cache and the snapshot table."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import msgspec
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
from tradewind.bus.envelope import envelope
from tradewind.bus.memory import MemoryBus
from tradewind.bus.topics import MD_TRADE, ORDERS_APPROVED, ORDERS_EVENTS, PORTFOLIO_UPDATES
from tradewind.domain.events import (
    BalanceUpdate,
    Fill,
    OrderAccepted,
    OrderFilled,
    PortfolioUpdate,
    TradeTick,
)
from tradewind.domain.model import Instrument, Liquidity, Side
from tradewind.runtime.service_settings import PortfolioSettings
from tradewind.services.execution import ExecutionService
from tradewind.services.portfolio import PortfolioService, cache_key
from tradewind.store.database import Database
from tradewind.store.portfolio_snapshots import equity_history
from tradewind.venues.directory import SimulatedVenues
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket

D = Decimal
QUICK = PortfolioSettings(portfolio_flush_interval_s=0.05, portfolio_snapshot_interval_s=0.2)
BTC = Instrument.parse("sim", "BTC/USDT")
REVALUATIONS = "tradewind_portfolio_revaluations_total"
SKIPPED = "tradewind_portfolio_skipped_total"


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    exchange = SimulatedExchange(SyntheticMarket(seed=8))
    exchange.step()
    database = Database(f"sqlite:///{tmp_path / 'tradewind.db'}")
    await database.migrate()
    bus = MemoryBus(partitions=4)
    await bus.start()
    platform = Platform(bus, SimulatedVenues(exchange), database, make_encryptor())
    yield platform
    await platform.stop_all()
    await bus.close()
    await database.close()


async def stored_account(platform: Platform, **balances: str) -> tuple[str, str]:
    assert isinstance(platform.venues, SimulatedVenues) and platform.database is not None
    creds = platform.venues.exchange.create_account({a: D(v) for a, v in balances.items()})
    account_id = await store_account(
        platform.database, platform.encryptor, creds.api_key, creds.secret
    )
    return account_id, creds.account_id


def tick(price: str, trade_id: int = 1) -> TradeTick:
    return TradeTick(
        instrument=BTC,
        price=D(price),
        quantity=D("0.1"),
        aggressor=Side.BUY,
        trade_id=str(trade_id),
        ts_ns=time.time_ns(),
    )


def balance(account_id: str, asset: str, amount: str) -> BalanceUpdate:
    return BalanceUpdate(
        account_id=account_id,
        venue="sim",
        asset=asset,
        free=D(amount),
        locked=D(0),
        ts_ns=time.time_ns(),
    )


async def test_the_books_equal_the_venues_balances_after_a_sequence_of_fills(
    platform: Platform,
) -> None:
    account_id, venue_account = await stored_account(platform, USDT="10000")
    events = await Recorder.on(platform.bus, [ORDERS_EVENTS])
    portfolio = await platform.start(PortfolioService(QUICK))
    await platform.start(ExecutionService(FAST))
    trades = [
        intent(account_id, "i-1", Side.BUY, "0.05"),
        intent(account_id, "i-2", Side.BUY, "1", symbol="ETH/USDT"),
        intent(account_id, "i-3", Side.SELL, "0.02"),
        intent(account_id, "i-4", Side.BUY, "0.01"),
        intent(account_id, "i-5", Side.SELL, "0.5", symbol="ETH/USDT"),
        intent(account_id, "i-6", Side.BUY, "1", symbol="ETH/USDT", price="100"),  # rests
    ]
    for trade in trades:
        await platform.bus.publish(ORDERS_APPROVED, approved(trade))
    await events.wait_for(
        lambda r: len(r.payloads(OrderFilled)) == 5 and r.payloads(OrderAccepted),
        what="five fills and one resting order",
    )

    assert isinstance(portfolio, PortfolioService) and isinstance(platform.venues, SimulatedVenues)
    venue = platform.venues.exchange.engine.balances(venue_account)
    expected = {asset: b.free + b.locked for asset, b in venue.items()}
    assert expected["USDT"] < D("10000") and expected["BTC"] > 0 and expected["ETH"] > 0

    def books() -> dict[str, Decimal]:
        held = portfolio.books.portfolios[account_id].balances()
        return {asset: held.get(asset, D(0)) for asset in expected}

    await wait_until(lambda: books() == expected)
    books_now = portfolio.books.portfolios[account_id]
    assert books_now.net_contributions == D("10000")  # fills alone got there: no realignment
    assert len(events.payloads(Fill)) >= 5


async def test_marks_move_equity_and_updates_reach_the_bus_the_cache_and_snapshots(
    platform: Platform,
) -> None:
    account_id, _ = await stored_account(platform, USDT="10000")
    updates = await Recorder.on(platform.bus, [PORTFOLIO_UPDATES])
    portfolio = await platform.start(PortfolioService(QUICK))
    await platform.start(ExecutionService(FAST))
    await platform.bus.publish(
        ORDERS_APPROVED, approved(intent(account_id, "i-1", Side.BUY, "0.1"))
    )
    assert isinstance(portfolio, PortfolioService)
    await wait_until(lambda: account_id in portfolio.books.portfolios)
    await wait_until(lambda: portfolio.books.portfolios[account_id].position("BTC/USDT"))

    await platform.bus.publish(MD_TRADE, envelope(tick("40000.5"), BTC.key))
    books = portfolio.books.portfolios[account_id]
    await updates.wait_for(
        lambda r: any(
            u.unrealized_pnl == books.unrealized_pnl and u.equity > D("10000")
            for u in r.payloads(PortfolioUpdate)
        ),
        what="an update at the new mark",
    )
    position = books.position("BTC/USDT")
    assert position is not None and position.mark == D("40000.5")
    latest = updates.payloads(PortfolioUpdate)[-1]
    assert latest.equity == books.cash + position.quantity * D("40000.5")
    assert all(e.key == account_id for e in updates.events)

    [cached] = await platform.cache.get_many([cache_key(account_id)])
    assert cached is not None and msgspec.msgpack.decode(cached, type=PortfolioUpdate) == latest
    assert platform.database is not None

    async def snapshotted() -> int:
        assert platform.database is not None
        async with platform.database.read() as conn:
            return len(await equity_history(conn, account_id))

    try:
        async with asyncio.timeout(5):
            while not await snapshotted():  # noqa: ASYNC110 - a database row, no event
                await asyncio.sleep(0.05)
    except TimeoutError:
        pytest.fail("no snapshot written")
    [summary] = portfolio.admin_endpoints()["/portfolios"]()
    assert summary.account_id == account_id and summary.equity == latest.equity


async def test_the_update_a_fill_causes_goes_on_in_the_fills_trace(platform: Platform) -> None:
    # One order's path is one trace, from the market event to the user's portfolio.
    account_id, _ = await stored_account(platform, USDT="10000")
    updates = await Recorder.on(platform.bus, [PORTFOLIO_UPDATES])
    await platform.start(PortfolioService(QUICK))
    await platform.start(ExecutionService(FAST))
    trace = "ab" * 16  # the market event's id
    order = intent(account_id, "i-1", Side.BUY, "0.1")
    await platform.bus.publish(ORDERS_APPROVED, approved(order, trace_id=trace))
    await updates.wait_for(
        lambda r: any(e.trace_id == trace for e in r.events), what="an update in the trace"
    )


async def test_a_burst_of_ticks_costs_a_handful_of_revaluations(platform: Platform) -> None:
    portfolio = await platform.start(PortfolioService(QUICK))
    assert isinstance(portfolio, PortfolioService)
    account_id = "a-1"  # not in the store: valued in the default asset
    await platform.bus.publish_batch(
        ORDERS_EVENTS,
        [
            envelope(balance(account_id, "USDT", "1000"), account_id),
            envelope(balance(account_id, "BTC", "0.5"), account_id),  # no price yet
        ],
    )
    await wait_until(lambda: account_id in portfolio.books.portfolios)
    await asyncio.sleep(0.1)  # a flush or two with nothing to do
    before = platform.metric(REVALUATIONS)

    prices = [f"{30000 + i}.25" for i in range(1000)]
    await platform.bus.publish_batch(
        MD_TRADE, [envelope(tick(p, i), BTC.key) for i, p in enumerate(prices)]
    )
    books = portfolio.books.portfolios[account_id]
    await wait_until(lambda: books.equity == D("1000") + D("0.5") * D(prices[-1]), timeout_s=5)
    await asyncio.sleep(0.15)  # a few more flushes
    assert platform.metric(REVALUATIONS) - before <= 3
    assert books.balances() == {"USDT": D("1000"), "BTC": D("0.5")}


async def test_a_fill_on_a_pair_not_quoted_in_the_valuation_asset_is_skipped_and_counted(
    platform: Platform,
) -> None:
    portfolio = await platform.start(PortfolioService(QUICK))
    assert isinstance(portfolio, PortfolioService)
    account_id = "a-2"
    fill = Fill(
        account_id=account_id,
        client_order_id="tw-x",
        venue_order_id="1",
        trade_id="7",
        instrument=Instrument.parse("sim", "ETH/BTC"),
        side=Side.BUY,
        price=D("0.05"),
        quantity=D("1"),
        fee=D("0.001"),
        fee_asset="ETH",
        liquidity=Liquidity.TAKER,
        ts_ns=time.time_ns(),
    )
    await platform.bus.publish_batch(
        ORDERS_EVENTS,
        [
            envelope(balance(account_id, "USDT", "500"), account_id),
            envelope(fill, account_id),
        ],
    )
    skipped = "tradewind_portfolio_skipped_total"
    await wait_until(lambda: platform.metric(skipped, reason="unsupported_instrument") == 1)
    assert portfolio.books.portfolios[account_id].balances() == {"USDT": D("500")}


async def test_a_restarted_portfolio_continues_from_its_saved_books(platform: Platform) -> None:
    # Before: a restarted portfolio started empty, could not book the next sell
    # ("out_of_step") and showed wrong balances until execution's next reconciliation.
    account_id, venue_account = await stored_account(platform, USDT="10000")
    events = await Recorder.on(platform.bus, [ORDERS_EVENTS])
    first = await platform.start(PortfolioService(QUICK))
    await platform.start(ExecutionService(FAST))  # reconciles once, at its start only
    await platform.bus.publish(
        ORDERS_APPROVED, approved(intent(account_id, "i-1", Side.BUY, "0.05"))
    )
    await events.wait_for(lambda r: len(r.payloads(OrderFilled)) == 1, what="the buy")
    assert isinstance(first, PortfolioService)
    await wait_until(lambda: first.books.portfolios[account_id].balances().get("BTC"))
    await platform.stop(first)

    second = await platform.start(PortfolioService(QUICK))
    assert isinstance(second, PortfolioService) and isinstance(platform.venues, SimulatedVenues)
    for n, quantity in enumerate(("0.02", "0.01"), start=2):
        trade = intent(account_id, f"i-{n}", Side.SELL, quantity)
        await platform.bus.publish(ORDERS_APPROVED, approved(trade))
    await events.wait_for(lambda r: len(r.payloads(OrderFilled)) == 3, what="the sells")
    venue = platform.venues.exchange.engine.balances(venue_account)
    expected = {asset: b.free + b.locked for asset, b in venue.items() if b.free + b.locked}

    def books() -> dict[str, Decimal]:
        held = second.books.portfolios.get(account_id)
        return {a: v for a, v in held.balances().items() if v} if held else {}

    await wait_until(lambda: books() == expected)
    assert platform.metric(SKIPPED, reason="out_of_step") == 0
    assert second.books.portfolios[account_id].net_contributions == D("10000")


async def test_a_batch_delivered_again_after_a_crash_is_booked_once(platform: Platform) -> None:
    # The batch was saved but not acknowledged when the process died: it comes again, to
    # an instance that restored the books which already include it.
    account_id, _ = await stored_account(platform, USDT="10000")
    buy = Fill(
        account_id=account_id, client_order_id="tw-b", venue_order_id="1", trade_id="7",
        instrument=BTC, side=Side.BUY, price=D("100"), quantity=D("0.1"), fee=D(0),
        fee_asset="USDT", liquidity=Liquidity.TAKER, ts_ns=time.time_ns(),
    )  # fmt: skip
    # Set to the venue's 10,000, then the buy: applied again, the balance would set cash
    # back to 10,000 while the buy (a trade already booked) would not take it off again.
    batch = [envelope(balance(account_id, "USDT", "10000"), account_id), envelope(buy, account_id)]
    crashed = await platform.start(PortfolioService(QUICK))
    assert isinstance(crashed, PortfolioService)
    await crashed._on_account_events(batch)
    before = crashed.books.portfolios[account_id].to_state()
    await platform.stop(crashed)

    restarted = await platform.start(PortfolioService(QUICK))
    assert isinstance(restarted, PortfolioService)
    await restarted._on_account_events(batch)
    assert restarted.books.portfolios[account_id].to_state() == before
    assert restarted.books.portfolios[account_id].balances() == {
        "USDT": D("9990"), "BTC": D("0.1")
    }  # fmt: skip


async def cached_equity(platform: Platform, account_id: str) -> Decimal | None:
    [cached] = await platform.cache.get_many([cache_key(account_id)])
    return msgspec.msgpack.decode(cached, type=PortfolioUpdate).equity if cached else None


def buy_at_100(account_id: str, trade_id: str) -> Fill:
    """A buy of 0.1 BTC at 100 USDT, no fee."""
    return Fill(
        account_id=account_id, client_order_id="tw-b", venue_order_id="1", trade_id=trade_id,
        instrument=BTC, side=Side.BUY, price=D("100"), quantity=D("0.1"), fee=D(0),
        fee_asset="USDT", liquidity=Liquidity.TAKER, ts_ns=time.time_ns(),
    )  # fmt: skip


async def wait_for_cached_equity(platform: Platform, account_id: str, equity: str) -> None:
    try:
        async with asyncio.timeout(5):
            while await cached_equity(platform, account_id) != D(equity):  # noqa: ASYNC110 - the cache has no events
                await asyncio.sleep(0.02)
    except TimeoutError:
        seen = await cached_equity(platform, account_id)
        pytest.fail(f"the cached equity is {seen}, not {equity}")


async def test_an_account_that_moved_to_a_twin_and_back_is_valued_on_its_newest_books(
    platform: Platform,
) -> None:
    # Before: an instance kept the books of an account whose partition had left it, and
    # went on revaluing them as prices moved, overwriting the owner's valuation in the
    # cache with its old books; when the account came back after the twin's death, those
    # old books stood until the account's next event (the chaos suite's 2 accounts off by
    # a whole buy on Kafka).
    bus = platform.bus
    first = await platform.start(PortfolioService(QUICK))
    assert isinstance(first, PortfolioService)
    account_id = next(a for a in (uuid.uuid4().hex for _ in range(64)) if bus.partition_of(a) == 1)
    events = [balance(account_id, "USDT", "10000"), balance(account_id, "BTC", "0.05")]
    await bus.publish(MD_TRADE, envelope(tick("100"), BTC.key))
    await wait_until(lambda: first.books._marks.get("sim"))
    await bus.publish_batch(ORDERS_EVENTS, [envelope(e, account_id) for e in events])
    await wait_for_cached_equity(platform, account_id, "10005")  # 10,000 + 0.05 x 100

    # A twin joins and takes partition 1 (round robin); the account buys there.
    second = await platform.start(PortfolioService(QUICK))
    assert isinstance(second, PortfolioService)
    await bus.publish(ORDERS_EVENTS, envelope(buy_at_100(account_id, "7"), account_id))
    await wait_until(lambda: account_id in second.books.portfolios)
    await bus.publish(MD_TRADE, envelope(tick("110", trade_id=2), BTC.key))
    # 9,990 + 0.15 x 110; the first instance's old books would say 10,000 + 0.05 x 110.
    await wait_for_cached_equity(platform, account_id, "10006.5")

    # The twin dies; the account comes back, and the first instance values the books the
    # twin saved, at once and as prices move on, with no further event of the account.
    assert second._subscriptions
    for subscription in second._subscriptions:
        await subscription.kill()
    newest = {"USDT": D("9990"), "BTC": D("0.15")}
    await wait_until(lambda: first.books.portfolios.get(account_id) is not None)
    await wait_until(lambda: first.books.portfolios[account_id].balances() == newest)
    await bus.publish(MD_TRADE, envelope(tick("120", trade_id=3), BTC.key))
    await wait_for_cached_equity(platform, account_id, "10008")  # 9,990 + 0.15 x 120


async def test_an_instance_whose_partitions_lapsed_values_the_books_saved_meanwhile(
    platform: Platform,
) -> None:
    # Before: an instance that read no partition for a while (its Redis leases lapsed in
    # a zone cut; a twin read them meanwhile) kept its books, and when the partitions
    # came back it valued those stale books, as prices moved, until each account's next
    # event (the chaos runs' storms of reloads after a zone cut, and valuations older
    # than the owner's published with a newer time).
    bus = platform.bus
    assert isinstance(bus, MemoryBus)
    first = await platform.start(PortfolioService(QUICK))
    assert isinstance(first, PortfolioService)
    account_id = uuid.uuid4().hex
    events = [balance(account_id, "USDT", "10000"), balance(account_id, "BTC", "0.05")]
    await bus.publish(MD_TRADE, envelope(tick("100"), BTC.key))
    await wait_until(lambda: first.books._marks.get("sim"))
    await bus.publish_batch(ORDERS_EVENTS, [envelope(e, account_id) for e in events])
    await wait_for_cached_equity(platform, account_id, "10005")

    # A twin joins, and the first instance's leases lapse: the twin reads every partition
    # (as a lease lapse on Redis leaves them), and the account buys there.
    second = await platform.start(PortfolioService(QUICK))
    assert isinstance(second, PortfolioService)
    group = bus._topics[ORDERS_EVENTS].groups["portfolio"]
    group.owners = [second._subscriptions[0]] * len(group.owners)  # type: ignore[list-item]
    await wait_until(lambda: account_id not in first.books.portfolios)
    await bus.publish(ORDERS_EVENTS, envelope(buy_at_100(account_id, "8"), account_id))
    newest = {"USDT": D("9990"), "BTC": D("0.15")}
    await wait_until(lambda: account_id in second.books.portfolios)
    await wait_until(lambda: second.books.portfolios[account_id].balances() == newest)

    # The twin dies; the partitions come back to the first instance, which values the
    # books the twin saved with no further event of the account (its own stale books
    # would say 10,000 + 0.05 x 120 = 10,006).
    for subscription in second._subscriptions:
        await subscription.kill()
    await wait_until(lambda: first.books.portfolios.get(account_id) is not None)
    await wait_until(lambda: first.books.portfolios[account_id].balances() == newest)
    await bus.publish(MD_TRADE, envelope(tick("120", trade_id=3), BTC.key))
    await wait_for_cached_equity(platform, account_id, "10008")  # 9,990 + 0.15 x 120
