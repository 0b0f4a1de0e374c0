"""The live screen's figures are honest: tick->order counts from when trading started
(an intent caused by market data from before it is a strategy catching up, not latency),
only intents answering the tick (not those answering the order's fill, which carry the
same trace), over a stated window; the busiest bots are the ones that sent the most
orders."""

from __future__ import annotations

import time
from decimal import Decimal

import msgspec
import pytest
from rich.console import Console

from tradewind.bus.envelope import Envelope, envelope
from tradewind.demo import status
from tradewind.demo.status import LatencySample, StatusBoard, render
from tradewind.domain.commands import OrderIntent
from tradewind.domain.events import Fill, PortfolioUpdate, TradeTick
from tradewind.domain.model import Instrument, Liquidity, OrderType, Side

BTC = Instrument.parse("sim", "BTC/USDT")


def market_event(ts_ns: int) -> Envelope:
    tick = TradeTick(instrument=BTC, price=Decimal(1), quantity=Decimal(1), trade_id="1",
                     aggressor=Side.BUY, ts_ns=ts_ns)  # fmt: skip
    return msgspec.structs.replace(envelope(tick, "sim:BTC/USDT"), ts_ns=ts_ns)


def intent_caused_by(cause: Envelope, account_id: str, ts_ns: int) -> Envelope:
    intent = OrderIntent(account_id=account_id, bot_id="b", intent_id=str(ts_ns), instrument=BTC,
                         side=Side.BUY, order_type=OrderType.MARKET, quantity=Decimal(1),
                         ts_ns=ts_ns)  # fmt: skip
    return msgspec.structs.replace(envelope(intent, account_id, cause.event_id), ts_ns=ts_ns)


def fill_of(order: Envelope, ts_ns: int) -> Envelope:
    """The fill of `order`'s order, carrying its trace as execution sends it."""
    intent = order.payload
    assert isinstance(intent, OrderIntent)
    fill = Fill(account_id=intent.account_id, client_order_id=intent.intent_id, venue_order_id="1",
                trade_id=str(ts_ns), instrument=BTC, side=intent.side, price=Decimal(1),
                quantity=intent.quantity, fee=Decimal(0), fee_asset="USDT",
                liquidity=Liquidity.MAKER, ts_ns=ts_ns)  # fmt: skip
    return msgspec.structs.replace(envelope(fill, intent.account_id, order.trace_id), ts_ns=ts_ns)


async def test_latency_counts_from_the_first_intent_not_from_old_market_data() -> None:
    board = StatusBoard()
    now = time.time_ns()
    stale = market_event(now - 26_000_000_000)  # 26 s before trading started
    await board._on_market([stale])
    await board._on_intents([intent_caused_by(stale, "a1", now)])
    assert board.latency_percentiles() == (None, None)
    fresh = market_event(now + 1_000_000)
    await board._on_market([fresh])
    await board._on_intents([intent_caused_by(fresh, "a1", now + 1_500_000)])
    assert board.latency_percentiles() == (500.0, 500.0)


@pytest.mark.parametrize("fill_seen_first", [True, False], ids=["fill-first", "intent-first"])
async def test_an_order_answering_a_fill_is_not_tick_to_order_latency(
    fill_seen_first: bool,
) -> None:
    # A grid bot: a tick places an order; it rests 10 s and fills; the bot answers the
    # fill with a counter-order, under the tick's trace (the fill carries it).
    board = StatusBoard()
    board.trading_started_ns = 0  # trading runs already
    now = time.time_ns()
    tick = market_event(now)
    await board._on_market([tick])
    order = intent_caused_by(tick, "a1", now + 200_000)
    await board._on_intents([order])
    fill = fill_of(order, now + 10_000_000_000)
    counter_order = intent_caused_by(tick, "a1", now + 10_000_300_000)
    if fill_seen_first:
        await board._on_order_events([fill])
        await board._on_intents([counter_order])
    else:  # the board's subscriptions run apart: the order event may come in second
        await board._on_intents([counter_order])
        await board._on_order_events([fill])
    assert board.intents == 2 and board.fills == 1
    assert board.latency_percentiles() == (200.0, 200.0)


async def test_latency_percentiles_cover_only_the_stated_window() -> None:
    board = StatusBoard()
    board.trading_started_ns = 0
    long_ago = time.monotonic() - status.LATENCY_WINDOW_S - 1
    board.latencies.append(LatencySample(long_ago, 9e6, "t1", 1))
    board.latencies.append(LatencySample(time.monotonic(), 100.0, "t2", 2))
    board.latencies.append(LatencySample(time.monotonic(), 300.0, "t3", 3))
    assert board.latency_percentiles() == (300.0, 300.0)


async def test_the_screen_names_its_windows_and_the_busiest_bots() -> None:
    board = StatusBoard()
    board.trading_started_ns = 0  # trading runs already
    now = time.time_ns()
    cause = market_event(now)
    await board._on_market([cause])
    await board._on_intents(
        [intent_caused_by(cause, "a1", now + n) for n in range(1, 4)]
        + [intent_caused_by(cause, "a2", now + 10)]
    )
    assert [account for account, _ in board.busiest()] == ["a1", "a2"]
    console = Console(record=True, width=120)
    console.print(render(board, 2, None, {"a1": "grid (demo-1)"}))
    screen = console.export_text()
    assert "grid (demo-1): 3 orders" in screen and "a2: 1 orders" in screen
    assert f"(last {status.RATE_WINDOW_S:.0f} s)" in screen
    assert f"(last {status.LATENCY_WINDOW_S:.0f} s)" in screen


def valuation(account: str, ts_ns: int, equity: str, realized: str = "0") -> Envelope:
    update = PortfolioUpdate(
        account_id=account, valuation_asset="USDT", equity=Decimal(equity), cash=Decimal(equity),
        realized_pnl=Decimal(realized), unrealized_pnl=Decimal(0), fees=Decimal(0), balances={},
        ts_ns=ts_ns,
    )  # fmt: skip
    return envelope(update, account)


async def test_the_platform_is_valued_as_the_sum_of_each_accounts_latest_valuation() -> None:
    board = StatusBoard()
    minute = 60 * 1_000_000_000
    t0 = 1_800_000_000 * 1_000_000_000
    await board._on_portfolio([valuation("a1", t0, "1000"), valuation("a2", t0, "3000")])
    # a1 replaces its own valuation twice in one batch: only its latest counts.
    await board._on_portfolio(
        [valuation("a1", t0 + minute, "1100", "100"), valuation("a1", t0 + minute, "1200", "200")]
    )
    series = board.platform["USDT"]
    assert series.equity == Decimal(4200)
    # A new account's money is a deposit to the platform, not a return.
    await board._on_portfolio([valuation("a3", t0 + 2 * minute, "5000")])
    await board._on_portfolio([valuation("a2", t0 + 3 * minute, "2800", "-200")])
    assert series.equity == Decimal(9000)
    figures = series.analytics(t0 + 3 * minute)
    assert figures is not None
    # 4000 -> 4200 (+5 %), then 9200 -> 9000 with 5000 deposited in between.
    assert figures.total_return == pytest.approx(1.05 * (9000 / 9200) - 1)
