"""A strategy's view of its account moves with each fill by the amounts the venue moved:
the quote it reported (rounded to its precision), not price x quantity."""

from __future__ import annotations

import time
from decimal import Decimal

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from tradewind.bus.memory import MemoryBus
from tradewind.domain.events import Fill
from tradewind.domain.model import Instrument, Liquidity, OrderType, Side
from tradewind.services.strategy.account_view import AccountView
from tradewind.services.strategy.host import BotHost
from tradewind.services.strategy.metrics import StrategyMetrics
from tradewind.services.strategy.outbound import Outbound
from tradewind.services.strategy.roster import OrderRoutes
from tradewind.services.strategy.timers import TimerWheel
from tradewind.store.database import Database
from tradewind.strategies.api import Strategy
from tradewind.strategies.params import StrategyParams
from tradewind.venues.port import Market

D = Decimal
ETH_BTC = Instrument.parse("sim", "ETH/BTC")


def fill(side: Side, trade_id: str, quote: str | None) -> Fill:
    return Fill(
        account_id="a1", client_order_id=f"tw-{trade_id}", venue_order_id="1",
        trade_id=trade_id, instrument=ETH_BTC, side=side, price=D("0.09128012"),
        quantity=D("0.12345"), fee=D(0), fee_asset="BTC", liquidity=Liquidity.TAKER,
        ts_ns=time.time_ns(), quote_quantity=None if quote is None else D(quote),
    )  # fmt: skip


def test_a_fill_moves_the_quote_the_venue_reported() -> None:
    view = AccountView("a1", "sim", {}, {})
    view.apply_portfolio({"BTC": D("1")}, ts_ns=1)
    # 0.12345 x 0.09128012 = 0.0112685308140, which the venue moved as 0.01126853.
    assert view.apply_fill(fill(Side.BUY, "7", "0.01126853"))
    assert view.total("BTC") == D("0.98873147") and view.total("ETH") == D("0.12345")
    assert view.apply_fill(fill(Side.SELL, "8", "0.01126853"))
    assert view.total("BTC") == D("1") and view.total("ETH") == 0


def test_a_fill_without_a_reported_quote_moves_price_times_quantity() -> None:
    view = AccountView("a1", "sim", {}, {})
    view.apply_portfolio({"BTC": D("1")}, ts_ns=1)
    assert view.apply_fill(fill(Side.BUY, "7", None))
    assert view.total("BTC") == D("1") - D("0.0112685308140")


# -- the two clocks: a portfolio update's time against each fill's time -----------------
#
# Balances are the latest update's totals plus the fills executed after it was computed
# (`fill.ts_ns > update.ts_ns`); a fill at or before that time is taken as included.


def bought(trade_id: str, ts_ns: int, *, fee: str = "0", symbol: str = "ETH/BTC") -> Fill:
    """A buy of 1 base for 0.05 quote (as the venue reported it), executed at `ts_ns`."""
    instrument = Instrument.parse("sim", symbol)
    return Fill(
        account_id="a1", client_order_id=f"tw-{trade_id}", venue_order_id="1",
        trade_id=trade_id, instrument=instrument, side=Side.BUY, price=D("0.05"),
        quantity=D(1), fee=D(fee), fee_asset=instrument.base, liquidity=Liquidity.TAKER,
        ts_ns=ts_ns, quote_quantity=D("0.05"),
    )  # fmt: skip


def view_at(ts_ns: int, **balances: str) -> AccountView:
    view = AccountView("a1", "sim", {}, {})
    view.apply_portfolio({asset: D(amount) for asset, amount in balances.items()}, ts_ns)
    return view


def totals(view: AccountView) -> tuple[Decimal, Decimal]:
    return view.total("BTC"), view.total("ETH")


def test_a_fill_moves_the_balances_at_once_between_updates() -> None:
    view = view_at(100, BTC="1")
    assert view.apply_fill(bought("t1", 200))
    assert totals(view) == (D("0.95"), D(1))


def test_an_update_computed_after_a_fill_replaces_it_without_counting_it_twice() -> None:
    view = view_at(100, BTC="1")
    view.apply_fill(bought("t1", 200))
    view.apply_portfolio({"BTC": D("0.95"), "ETH": D(1)}, ts_ns=300)  # includes t1
    assert totals(view) == (D("0.95"), D(1))


def test_an_update_computed_before_a_fill_gets_the_fill_again_on_top() -> None:
    view = view_at(100, BTC="1")
    view.apply_fill(bought("t1", 200))
    view.apply_portfolio({"BTC": D(1)}, ts_ns=150)  # newer than 100, but before t1
    assert totals(view) == (D("0.95"), D(1))


def test_a_fill_with_its_fee_is_applied_again_on_top_of_an_earlier_update() -> None:
    view = view_at(100, BTC="1")
    view.apply_fill(bought("t1", 200, fee="0.001"))
    view.apply_portfolio({"BTC": D(1)}, ts_ns=150)
    assert totals(view) == (D("0.95"), D("0.999"))


def test_an_update_at_the_same_time_as_the_taken_one_replaces_it() -> None:
    view = view_at(100, BTC="1")
    view.apply_portfolio({"BTC": D(2)}, ts_ns=100)
    assert view.total("BTC") == 2


def test_an_update_older_than_the_one_taken_is_ignored() -> None:
    view = view_at(300, BTC="1")
    view.apply_fill(bought("t1", 400))
    view.apply_portfolio({"BTC": D(7)}, ts_ns=200)  # delivered late
    assert totals(view) == (D("0.95"), D(1))


def test_a_fill_no_later_than_the_update_is_taken_as_included_in_it() -> None:
    # The heuristic's limit, pinned: the update is trusted to hold every fill executed
    # by its time, even one it missed; only the next update can bring such a fill in.
    view = view_at(200, BTC="1")
    assert view.apply_fill(bought("t1", 200))  # same instant: included
    assert view.apply_fill(bought("t2", 150))
    assert totals(view) == (D(1), D(0))
    view.apply_portfolio({"BTC": D("0.95"), "ETH": D(1)}, ts_ns=300)
    assert view.apply_fill(bought("t1", 200)) is False  # known, even though not booked


def test_a_fill_an_update_confirmed_is_not_applied_again_by_later_updates() -> None:
    view = view_at(100, BTC="1")
    view.apply_fill(bought("t1", 200))
    view.apply_portfolio({"BTC": D("0.95"), "ETH": D(1)}, ts_ns=300)
    view.apply_portfolio({"BTC": D("0.5"), "ETH": D(3)}, ts_ns=400)
    assert totals(view) == (D("0.5"), D(3))


def test_a_fill_delivered_twice_moves_the_balances_once_even_across_an_update() -> None:
    view = view_at(100, BTC="1")
    assert view.apply_fill(bought("t1", 200))
    assert view.apply_fill(bought("t1", 200)) is False
    view.apply_portfolio({"BTC": D(1)}, ts_ns=150)
    assert view.apply_fill(bought("t1", 200)) is False
    assert totals(view) == (D("0.95"), D(1))


def test_the_same_trade_id_on_another_market_is_another_fill() -> None:
    view = view_at(100, BTC="1")
    assert view.apply_fill(bought("t1", 200))
    assert view.apply_fill(bought("t1", 200, symbol="SOL/BTC"))
    assert view.total("BTC") == D("0.90")
    assert view.total("ETH") == view.total("SOL") == 1


# -- free balances: total less what the hosted bots' open orders lock --------------------

MARKETS = {
    "ETH/BTC": Market("ETH/BTC", "ETH", "BTC", D("0.00001"), D("0.001"), D("0.001"), D(0)),
    "SOL/BTC": Market("SOL/BTC", "SOL", "BTC", D("0.00001"), D("0.001"), D("0.001"), D(0)),
}


def hosted_view(prices: dict[str, Decimal] | None = None) -> tuple[AccountView, BotHost]:
    """A view (2 BTC, 3 ETH) and one hosted bot that places orders through it."""
    view = AccountView("a1", "sim", MARKETS, prices if prices is not None else {})
    view.apply_portfolio({"BTC": D(2), "ETH": D(3)}, ts_ns=1)
    outbound = Outbound(
        MemoryBus(), Database("sqlite+aiosqlite://"), OrderRoutes(),
        StrategyMetrics(CollectorRegistry()),
    )  # fmt: skip
    strategy = _Idle(_IdleParams())
    host = BotHost("b1", strategy, view, outbound, TimerWheel())
    view.hosts.append(host)
    return view, host


class _IdleParams(StrategyParams, frozen=True):
    pass


class _Idle(Strategy):
    name = "idle"
    Params = _IdleParams

    def symbols(self) -> tuple[str, ...]:
        return tuple(MARKETS)


def test_open_orders_lock_what_they_may_still_spend() -> None:
    view, host = hosted_view({"SOL/BTC": D("0.002")})
    assert view.free_balances() == {"BTC": D(2), "ETH": D(3)}  # then counted as they come
    host.submit(Side.SELL, "ETH/BTC", D("1.5"), order_type=OrderType.LIMIT, price=D("0.06"))
    host.submit(Side.BUY, "ETH/BTC", D(10), order_type=OrderType.LIMIT, price=D("0.04"))
    host.submit(Side.BUY, "SOL/BTC", D(100), order_type=OrderType.MARKET)  # at 0.002
    assert view.free_balances() == {"BTC": D("1.4"), "ETH": D("1.5")}
    view.orders_changed()  # a recount agrees with the running count
    assert view.free_balances() == {"BTC": D("1.4"), "ETH": D("1.5")}


def test_a_partly_filled_order_locks_only_its_remainder() -> None:
    view, host = hosted_view()
    host.submit(Side.BUY, "ETH/BTC", D(10), order_type=OrderType.LIMIT, price=D("0.1"))
    [(client_order_id, order)] = host.orders.items()
    host.orders[client_order_id] = msgspec.structs.replace(order, filled_quantity=D(4))
    view.orders_changed()
    assert view.free_balances()["BTC"] == D("1.4")


def test_a_market_buy_without_a_price_yet_locks_nothing() -> None:
    view, host = hosted_view()
    host.submit(Side.BUY, "SOL/BTC", D(100), order_type=OrderType.MARKET)
    assert view.free_balances()["BTC"] == 2


def test_free_balance_never_goes_below_zero() -> None:
    view, host = hosted_view()
    host.submit(Side.BUY, "ETH/BTC", D(100), order_type=OrderType.LIMIT, price=D("0.05"))
    assert view.free_balances()["BTC"] == 0
    host.submit(Side.BUY, "ETH/BTC", D(1), order_type=OrderType.LIMIT, price=D("0.05"))
    assert view.free_balances()["BTC"] == 0
    view.orders_changed()
    assert view.free_balances()["BTC"] == 0


ORDERS = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.sampled_from(sorted(MARKETS)),
        st.decimals(min_value="0.001", max_value="5", places=3),
        st.none() | st.decimals(min_value="0.00001", max_value="0.5", places=5),
    ),
    max_size=12,
)


@settings(max_examples=100, deadline=None)
@given(orders=ORDERS)
def test_the_running_count_of_locked_funds_agrees_with_a_recount(
    orders: list[tuple[Side, str, Decimal, Decimal | None]],
) -> None:
    # A grid reads its balances between each of its orders: each new order is taken off
    # the free balance without a recount, and must come to what a recount says.
    view, host = hosted_view({"ETH/BTC": D("0.05")})
    for side, symbol, quantity, price in orders:
        view.free_balances()
        order_type = OrderType.MARKET if price is None else OrderType.LIMIT
        host.submit(side, symbol, quantity, order_type=order_type, price=price)
    running = view.free_balances()
    view.orders_changed()
    assert running == view.free_balances()
