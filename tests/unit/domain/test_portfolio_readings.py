"""Venue balances that say when they were taken (`BalanceUpdate.as_of_ns`, Binance's
`updateTime`) against fills that arrive in any order around them: each trade counts
once, and no reading undoes a trade or a newer reading (the third long chaos run on Redis
Streams: an account's books one buy above the venue, a fill that was in a balances
reading arriving after it from the execution twin)."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradewind.domain.events import BalanceUpdate, Fill
from tradewind.domain.model import Instrument, Liquidity, Side
from tradewind.domain.portfolio import Portfolio, StaleBalances

D = Decimal
MS = 1_000_000
T0 = 1_700_000_000_000 * MS
BTC_USDT = Instrument.parse("sim", "BTC/USDT")
PRICE = D("20000")
START = D("100000")
LOT = D("0.001")


def buy(n: int, quantity: Decimal = LOT, *, ts_ns: int | None = None) -> Fill:
    """Trade `n`, made at the venue at T0 + n ms."""
    return Fill(
        account_id="acct-1",
        client_order_id=f"tw-{n}",
        venue_order_id=f"v-{n}",
        trade_id=str(n),
        instrument=BTC_USDT,
        side=Side.BUY,
        price=PRICE,
        quantity=quantity,
        fee=D(0),
        fee_asset="USDT",
        liquidity=Liquidity.TAKER,
        ts_ns=T0 + n * MS if ts_ns is None else ts_ns,
    )


def reading(usdt: Decimal, btc: Decimal, as_of_ns: int | None) -> list[BalanceUpdate]:
    return [
        BalanceUpdate(
            account_id="acct-1",
            venue="sim",
            asset=asset,
            free=total,
            locked=D(0),
            ts_ns=T0,
            as_of_ns=as_of_ns,
        )
        for asset, total in (("USDT", usdt), ("BTC", btc))
    ]


def after(*trades: int, quantity: Decimal = LOT) -> list[BalanceUpdate]:
    """The venue's balances read just after `trades` (each a buy of `quantity`)."""
    bought = quantity * len(trades)
    return reading(START - bought * PRICE, bought, T0 + max(trades, default=0) * MS)


def apply(books: Portfolio, updates: list[BalanceUpdate]) -> None:
    for update in updates:
        books.apply_balance_update(update, price=PRICE)


def holdings(books: Portfolio) -> tuple[Decimal, Decimal]:
    balances = books.balances()
    return balances.get("USDT", D(0)), balances.get("BTC", D(0))


def started() -> Portfolio:
    books = Portfolio("acct-1", "sim", "USDT")
    apply(books, after())
    return books


def test_a_fill_the_balances_already_hold_is_not_booked_again() -> None:
    books = started()
    assert books.apply_fill(buy(1))
    apply(books, after(1, 2))  # the twin's reading holds trade 2 ...
    assert books.in_balances(buy(2))
    assert not books.apply_fill(buy(2))  # ... whose fill arrives after it
    assert holdings(books) == (START - D("40"), D("0.002"))
    assert books.apply_fill(buy(3))  # traded after the reading: new
    assert holdings(books) == (START - D("60"), D("0.003"))


def test_a_trade_in_the_same_millisecond_as_the_reading_is_in_it() -> None:
    books = started()
    apply(books, after(1))
    assert books.in_balances(buy(1))
    assert not books.in_balances(buy(1, ts_ns=T0 + 1 * MS + 1))


def test_balances_read_before_a_booked_fill_are_refused() -> None:
    books = started()
    assert books.apply_fill(buy(2))
    with pytest.raises(StaleBalances, match="older than what the books hold"):
        books.apply_balance_update(after(1)[0], price=PRICE)
    assert holdings(books) == (START - D("20"), D("0.001"))


def test_balances_older_than_the_last_reading_are_refused() -> None:
    books = started()
    apply(books, after(1, 2))
    with pytest.raises(StaleBalances):
        books.apply_balance_update(after(1)[0], price=PRICE)
    assert holdings(books) == (START - D("40"), D("0.002"))


def test_the_assets_of_one_reading_all_apply() -> None:
    books = started()
    apply(books, after(1, 2))  # USDT then BTC, both as of trade 2
    assert holdings(books) == (START - D("40"), D("0.002"))


def test_balances_that_do_not_say_when_and_fills_without_a_time_are_as_before() -> None:
    books = started()
    apply(books, reading(START - D("20"), D("0.001"), None))
    assert books.apply_fill(buy(7, ts_ns=0))  # no venue time: booked
    assert books.apply_fill(buy(8))  # a reading without a time says nothing about it
    assert holdings(books) == (START - D("60"), D("0.003"))


def test_what_the_books_know_of_readings_survives_a_restore() -> None:
    books = started()
    apply(books, after(1, 2))
    restored = Portfolio.from_state(books.to_state())
    assert not restored.apply_fill(buy(2))
    with pytest.raises(StaleBalances):
        restored.apply_balance_update(after(1)[0], price=PRICE)
    assert holdings(restored) == (START - D("40"), D("0.002"))


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[Decimal], list[list[Fill] | list[BalanceUpdate]]]:
    """Trades 1..n (buys), the venue's balances read after some of them, and every fill
    and reading delivered in any order after the first reading (each fill at least once,
    some twice): what two execution instances publishing into one partition can do."""
    quantities = draw(
        st.lists(st.integers(1, 50).map(lambda q: D(q) / 1000), min_size=1, max_size=12)
    )
    n = len(quantities)
    cuts = draw(st.lists(st.integers(0, n), max_size=6))
    readings = []
    for k in cuts:
        bought = sum(quantities[:k], D(0))
        readings.append(reading(START - bought * PRICE, bought, T0 + k * MS))
    fills = [buy(i + 1, q) for i, q in enumerate(quantities)]
    again = draw(st.lists(st.sampled_from(fills), max_size=4))
    units: list[list[Fill] | list[BalanceUpdate]] = [[f] for f in fills + again]
    units += readings
    order = draw(st.permutations(units))
    return quantities, [after(), *order]


@settings(max_examples=300)
@given(deliveries())
def test_in_any_delivery_order_the_books_end_equal_to_the_venue(
    case: tuple[list[Decimal], list[list[Fill] | list[BalanceUpdate]]],
) -> None:
    quantities, delivered = case
    books = Portfolio("acct-1", "sim", "USDT")
    for unit in delivered:
        for event in unit:
            if isinstance(event, Fill):
                books.apply_fill(event)
            else:
                with contextlib.suppress(StaleBalances):
                    books.apply_balance_update(event, price=PRICE)
    bought = sum(quantities, D(0))
    assert holdings(books) == (START - bought * PRICE, bought)
