"""The portfolio service's books: a balances reading taken while orders moved (unsettled)
and not dated by the venue gives books without a starting point one, and is ignored by
books that have one; else a fill that was already in the reading, arriving after it,
counts twice (the chaos suite's Kafka run: a DCA account showing two to six buys the
venue never made, after a twin took the account over with intents queued). A dated
reading (`as_of_ns`) is taken whenever it comes: the books sort out the fills around it."""

from __future__ import annotations

from decimal import Decimal

from tradewind.domain.events import BalanceUpdate, Fill, TradeTick
from tradewind.domain.model import Instrument, Liquidity, Side
from tradewind.services.portfolio.books import AccountBooks, SkipReason

D = Decimal
ACCOUNT = "acct-1"
BTC_USDT = Instrument.parse("sim", "BTC/USDT")
ETH_USDT = Instrument.parse("sim", "ETH/USDT")
T0 = 1_700_000_000_000_000_000


def reading(
    ts_ns: int, *, settled: bool, as_of_ns: int | None = None, **totals: str
) -> list[BalanceUpdate]:
    return [
        BalanceUpdate(
            account_id=ACCOUNT,
            venue="sim",
            asset=asset,
            free=D(total),
            locked=D(0),
            ts_ns=ts_ns,
            settled=settled,
            as_of_ns=as_of_ns,
        )
        for asset, total in totals.items()
    ]


def buy(trade_id: str, quantity: str = "0.001", price: str = "20000", *, ts_ns: int = T0) -> Fill:
    return Fill(
        account_id=ACCOUNT,
        client_order_id=f"tw-{trade_id}",
        venue_order_id=f"v-{trade_id}",
        trade_id=trade_id,
        instrument=BTC_USDT,
        side=Side.BUY,
        price=D(price),
        quantity=D(quantity),
        fee=D(0),
        fee_asset="USDT",
        liquidity=Liquidity.TAKER,
        ts_ns=ts_ns,
    )


def books() -> AccountBooks:
    held = AccountBooks()
    held.open(ACCOUNT, "sim", "USDT")
    return held


def apply(held: AccountBooks, updates: list[BalanceUpdate]) -> list[SkipReason | None]:
    return [held.apply_balance(update) for update in updates]


def test_an_unsettled_reading_gives_new_books_their_starting_point_every_asset_of_it() -> None:
    held = books()
    assert apply(held, reading(T0, settled=False, USDT="1000")) == [None]
    assert held.portfolios[ACCOUNT].balances() == {"USDT": D("1000")}


def test_a_fill_in_an_unsettled_reading_and_arriving_after_it_counts_once() -> None:
    held = books()
    apply(held, reading(T0, settled=True, USDT="1000"))
    assert held.apply_fill(buy("t-1")) is None  # 20 USDT for 0.001 BTC
    # A twin took over: its first reading holds t-1 and t-2 (orders were moving), and
    # t-2's fill reaches the books after it.
    after = reading(T0 + 1, settled=False, USDT="960", BTC="0.002")
    assert apply(held, after) == [SkipReason.UNSETTLED, SkipReason.UNSETTLED]
    assert held.apply_fill(buy("t-2")) is None
    assert held.portfolios[ACCOUNT].balances() == {"USDT": D("960"), "BTC": D("0.002")}


def test_a_settled_reading_still_sets_the_books_to_the_venue() -> None:
    held = books()
    apply(held, reading(T0, settled=True, USDT="1000"))
    held.apply_fill(buy("t-1"))
    # A deposit the platform did not make: the next settled reading books it.
    assert apply(held, reading(T0 + 1, settled=True, USDT="1480", BTC="0.001")) == [None, None]
    assert held.portfolios[ACCOUNT].balances() == {"USDT": D("1480"), "BTC": D("0.001")}


def test_a_reading_that_says_when_it_was_taken_sorts_out_late_fills_and_stale_readings() -> None:
    held = books()
    apply(held, reading(T0, settled=True, as_of_ns=T0, USDT="1000"))
    assert held.apply_fill(buy("t-1", ts_ns=T0 + 1)) is None
    # Unsettled (orders moved while it was read) but dated: it holds t-1 and t-2, and
    # the books take it; t-2's fill, arriving after it, is recognised as in it.
    after = reading(T0 + 9, settled=False, as_of_ns=T0 + 2, USDT="960", BTC="0.002")
    assert apply(held, after) == [None, None]
    assert held.apply_fill(buy("t-2", ts_ns=T0 + 2)) is SkipReason.IN_BALANCES
    assert held.apply_fill(buy("t-3", ts_ns=T0 + 3)) is None
    # A reading from before t-3 (a slow twin's) would undo it: refused.
    late = reading(T0 + 10, settled=True, as_of_ns=T0 + 2, USDT="960", BTC="0.002")
    assert apply(held, late) == [SkipReason.STALE, SkipReason.STALE]
    assert held.portfolios[ACCOUNT].balances() == {"USDT": D("940"), "BTC": D("0.003")}


def test_balances_waiting_for_a_price_that_fills_overtook_are_dropped() -> None:
    held = books()
    apply(held, reading(T0, settled=True, as_of_ns=T0, USDT="1000"))
    # ETH arrived (a transfer) but has no price yet: the reading waits for one ...
    eth = reading(T0 + 1, settled=True, as_of_ns=T0 + 1, ETH="1")
    assert apply(held, eth) == [SkipReason.UNPRICED]
    assert held.apply_fill(buy("t-1", ts_ns=T0 + 2)) is None  # ... a newer trade is booked
    tick = TradeTick(ETH_USDT, D("2000"), D(1), Side.BUY, "e-1", ts_ns=T0 + 3)
    held.mark(tick)
    # The waiting reading is older than that trade: refused once, then no longer waiting.
    assert held.revalue(T0 + 3)[2] == [SkipReason.STALE]
    assert held.revalue(T0 + 4)[2] == []
    assert held.portfolios[ACCOUNT].balances() == {"USDT": D("980"), "BTC": D("0.001")}


def eth_tick(price: str, ts_ns: int) -> TradeTick:
    return TradeTick(ETH_USDT, D(price), D(1), Side.BUY, f"e-{ts_ns}", ts_ns=ts_ns)


def test_a_waiting_balance_is_booked_when_its_mark_comes_and_not_retried_before() -> None:
    held = books()
    apply(held, reading(T0, settled=True, as_of_ns=T0, USDT="1000"))
    assert apply(held, reading(T0 + 1, settled=True, as_of_ns=T0 + 1, ETH="1")) == [
        SkipReason.UNPRICED
    ]
    held.mark(TradeTick(BTC_USDT, D("20000"), D(1), Side.BUY, "b-1", ts_ns=T0 + 2))
    assert held.revalue(T0 + 2)[2] == []  # another symbol's mark: ETH still waits
    held.mark(eth_tick("2000", T0 + 3))
    assert held.revalue(T0 + 3)[2] == [None]
    assert held.portfolios[ACCOUNT].balances() == {"USDT": D("1000"), "ETH": D("1")}
    held.mark(eth_tick("2100", T0 + 4))
    assert held.revalue(T0 + 4)[2] == []  # booked: no longer waiting


def test_balances_restored_waiting_are_retried_against_marks_already_known() -> None:
    held = books()
    apply(held, reading(T0, settled=True, as_of_ns=T0, USDT="1000"))
    waiting = reading(T0 + 1, settled=True, as_of_ns=T0 + 1, ETH="1")
    assert apply(held, waiting) == [SkipReason.UNPRICED]
    state, unpriced = held.stored(ACCOUNT)
    assert unpriced == waiting
    # Another instance takes the account over: ETH's mark came before the books did.
    twin = AccountBooks()
    twin.mark(eth_tick("2000", T0 + 2))
    assert twin.revalue(T0 + 2)[2] == []
    twin.restore(state, unpriced)
    assert twin.revalue(T0 + 3)[2] == [None]
    assert twin.portfolios[ACCOUNT].balances() == {"USDT": D("1000"), "ETH": D("1")}


def test_a_forgotten_or_restored_accounts_waiting_balances_wait_no_more() -> None:
    held = books()
    apply(held, reading(T0, settled=True, as_of_ns=T0, USDT="1000"))
    apply(held, reading(T0 + 1, settled=True, as_of_ns=T0 + 1, ETH="1"))
    state, _ = held.stored(ACCOUNT)
    held.restore(state, [])  # newer books without it: nothing of the old waits
    held.mark(eth_tick("2000", T0 + 2))
    assert held.revalue(T0 + 2)[2] == []
    apply(held, reading(T0 + 3, settled=True, as_of_ns=T0 + 3, BTC="1"))
    held.forget(ACCOUNT)
    held.mark(TradeTick(BTC_USDT, D("20000"), D(1), Side.BUY, "b-1", ts_ns=T0 + 4))
    assert held.revalue(T0 + 4) == ([], 0, [])
