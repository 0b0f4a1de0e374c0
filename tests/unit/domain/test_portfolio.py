"""Portfolio accounting: average cost, realised and unrealised PnL, fees in any asset,
transfers and reconciliation, and the equity identity, exactly."""

from __future__ import annotations

import itertools
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import msgspec
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tradewind.domain.events import BalanceUpdate, Fill, PortfolioUpdate
from tradewind.domain.exact import EXACT
from tradewind.domain.model import Instrument, Liquidity, Side
from tradewind.domain.portfolio import (
    InsufficientHoldings,
    InvalidFill,
    MissingPrice,
    Portfolio,
    PortfolioError,
    UnsupportedInstrument,
    quote_is_rounding,
)
from tradewind.domain.portfolio_state import REMEMBERED_TRADES, PortfolioState

D = Decimal
VENUE = "sim"
T0 = 1_700_000_000_000_000_000  # ns
BTC_USDT = Instrument.parse(VENUE, "BTC/USDT")
ETH_USDT = Instrument.parse(VENUE, "ETH/USDT")
BNB_USDT = Instrument.parse(VENUE, "BNB/USDT")
ETH_BTC = Instrument.parse(VENUE, "ETH/BTC")
_trade_ids = itertools.count(1)


def portfolio(usdt: str = "10000", valuation_asset: str = "USDT") -> Portfolio:
    """An account funded with `usdt` of its valuation asset."""
    books = Portfolio("acct-1", VENUE, valuation_asset)
    if D(usdt):
        books.deposit(valuation_asset, D(usdt))
    return books


def fill(
    side: Side,
    quantity: str,
    price: str,
    *,
    instrument: Instrument = BTC_USDT,
    fee: str = "0",
    fee_asset: str | None = None,
    trade_id: str | None = None,
    account_id: str = "acct-1",
    quote_quantity: str | None = None,
) -> Fill:
    return Fill(
        account_id=account_id,
        client_order_id="tw-order",
        venue_order_id="v-1",
        trade_id=trade_id or f"t-{next(_trade_ids)}",
        instrument=instrument,
        side=side,
        price=D(price),
        quantity=D(quantity),
        fee=D(fee),
        fee_asset=fee_asset or instrument.quote,
        liquidity=Liquidity.TAKER,
        ts_ns=T0,
        quote_quantity=None if quote_quantity is None else D(quote_quantity),
    )


def buy(quantity: str, price: str, **kwargs: object) -> Fill:
    return fill(Side.BUY, quantity, price, **kwargs)  # type: ignore[arg-type]


def sell(quantity: str, price: str, **kwargs: object) -> Fill:
    return fill(Side.SELL, quantity, price, **kwargs)  # type: ignore[arg-type]


def F(value: Decimal) -> Fraction:
    """Exact: the tests' own arithmetic must not round either (the default context
    keeps 28 digits)."""
    return Fraction(value)


def assert_identity(books: Portfolio) -> None:
    assert F(books.equity) == (
        F(books.net_contributions) + F(books.realized_pnl) + F(books.unrealized_pnl) - F(books.fees)
    )


# -- buying, selling, average cost ----------------------------------------------------


def test_a_buy_moves_cash_into_a_position_at_cost() -> None:
    books = portfolio("10000")
    assert books.apply_fill(buy("2", "1500", instrument=ETH_USDT))
    eth = books.positions["ETH/USDT"]
    assert (books.cash, eth.quantity, eth.cost_basis, eth.average_cost) == (
        D(7000),
        D(2),
        D(3000),
        D(1500),
    )
    assert books.equity == D(10000)


def test_buying_more_re_averages_the_cost() -> None:
    books = portfolio()
    books.apply_fill(buy("1", "100"))
    books.apply_fill(buy("3", "200"))
    assert books.positions["BTC/USDT"].average_cost == D(175)


def test_selling_part_of_a_position_realises_pnl_at_average_cost() -> None:
    books = portfolio()
    books.apply_fill(buy("1", "100"))
    books.apply_fill(buy("1", "200"))
    books.apply_fill(sell("0.5", "300"))
    btc = books.positions["BTC/USDT"]
    assert books.realized_pnl == D("0.5") * (300 - 150)
    assert (btc.quantity, btc.average_cost, btc.realized_pnl) == (D("1.5"), D(150), D(75))
    assert_identity(books)


def test_selling_the_whole_position_leaves_it_flat_with_no_cost() -> None:
    books = portfolio()
    books.apply_fill(buy("2", "100"))
    books.apply_fill(sell("2", "90"))
    btc = books.positions["BTC/USDT"]
    assert (btc.quantity, btc.cost_basis, btc.average_cost) == (D(0), D(0), D(0))
    assert books.realized_pnl == D(-20)
    assert books.unrealized_pnl == 0
    assert books.balances() == {"USDT": D(9980)}


def test_a_position_reopened_after_going_flat_starts_a_fresh_average() -> None:
    books = portfolio()
    books.apply_fill(buy("1", "100"))
    books.apply_fill(sell("1", "120"))
    books.apply_fill(buy("1", "80"))
    btc = books.positions["BTC/USDT"]
    assert (btc.average_cost, btc.mark, btc.realized_pnl) == (D(80), D(80), D(20))


def test_closing_a_position_releases_exactly_its_remaining_cost() -> None:
    books = portfolio()
    for price in ("1", "1", "2"):  # average cost 4/3: no finite decimal
        books.apply_fill(buy("1", price))
    for _ in range(3):
        books.apply_fill(sell("1", "3"))
    assert books.realized_pnl == 9 - 4  # the thirds rounded in between cancel out
    assert books.positions["BTC/USDT"].cost_basis == 0


def test_long_decimals_multiply_without_rounding() -> None:
    books = portfolio("100000")
    books.apply_fill(buy("0.123456789012345678", "12345.678901234567"))
    expected = D(100000) - D("0.123456789012345678") * D("12345.678901234567")
    assert Fraction(books.cash) == 100000 - Fraction("0.123456789012345678") * Fraction(
        "12345.678901234567"
    )
    assert books.cash != expected  # the default 28-digit context would have rounded


def test_a_sell_larger_than_the_position_is_refused_naming_it() -> None:
    books = portfolio()
    books.apply_fill(buy("1", "100"))
    with pytest.raises(InsufficientHoldings, match=r"acct-1: sell 1\.5 .* needs 1\.5 BTC, 1 held"):
        books.apply_fill(sell("1.5", "100"))
    assert books.positions["BTC/USDT"].quantity == 1


def test_a_buy_the_cash_cannot_pay_is_refused_and_changes_nothing() -> None:
    books = portfolio("100")
    before = books.snapshot(ts_ns=T0)
    with pytest.raises(InsufficientHoldings, match="needs 1 USDT more"):
        books.apply_fill(buy("1", "100", fee="1"))
    assert books.snapshot(ts_ns=T0) == before
    assert "BTC/USDT" not in books.positions


def test_a_duplicate_fill_is_ignored() -> None:
    books = portfolio()
    trade = buy("1", "100", trade_id="t-1")
    assert books.apply_fill(trade)
    assert not books.apply_fill(trade)
    assert (books.cash, books.positions["BTC/USDT"].quantity) == (D(9900), D(1))


def test_the_same_trade_id_on_another_symbol_is_another_trade() -> None:
    books = portfolio()
    assert books.apply_fill(buy("1", "100", trade_id="7"))
    assert books.apply_fill(buy("1", "10", trade_id="7", instrument=ETH_USDT))


# -- fees -----------------------------------------------------------------------------


def test_fee_in_quote_asset_reduces_cash() -> None:
    books = portfolio()
    books.apply_fill(buy("1", "100"))
    books.apply_fill(sell("1", "100", fee="0.1", fee_asset="USDT"))
    assert (books.cash, books.fees, books.realized_pnl) == (D("9999.9"), D("0.1"), D(0))
    assert books.equity == books.net_contributions + books.realized_pnl - books.fees


def test_fee_in_base_asset_reduces_the_position() -> None:
    books = portfolio()
    books.apply_fill(buy("1", "100", fee="0.001", fee_asset="BTC"))
    btc = books.positions["BTC/USDT"]
    assert (btc.quantity, btc.average_cost, btc.cost_basis) == (D("0.999"), D(100), D("99.9"))
    assert books.fees == D("0.1")  # valued at the fill price
    assert books.cash == D(9900)
    assert books.equity == D("9999.9")
    assert_identity(books)


def test_fee_in_base_asset_on_a_sell_gives_up_more_units_at_the_fill_price() -> None:
    books = portfolio()
    books.apply_fill(buy("2", "100"))
    books.apply_fill(sell("1", "150", fee="0.01", fee_asset="BTC"))
    btc = books.positions["BTC/USDT"]
    assert (btc.quantity, books.cash) == (D("0.99"), D(9950))
    assert books.fees == D("1.5")
    assert books.realized_pnl == D("1.01") * 50
    assert_identity(books)


def test_fee_in_a_third_asset_is_valued_at_its_mark_and_reduces_that_position() -> None:
    books = portfolio()
    books.apply_fill(buy("10", "300", instrument=BNB_USDT))
    books.revalue({"BNB/USDT": D(310)})
    books.apply_fill(buy("1", "100", fee="0.01", fee_asset="BNB"))
    bnb = books.positions["BNB/USDT"]
    assert (bnb.quantity, books.fees, bnb.realized_pnl) == (D("9.99"), D("3.1"), D("0.1"))
    assert_identity(books)


def test_a_fee_in_an_asset_not_held_is_refused() -> None:
    books = portfolio()
    with pytest.raises(InsufficientHoldings, match="fee in BNB, none held"):
        books.apply_fill(buy("1", "100", fee="0.01", fee_asset="BNB"))
    assert books.cash == D(10000)


def test_a_maker_rebate_is_a_negative_fee_in_quote() -> None:
    books = portfolio()
    books.apply_fill(buy("1", "100", fee="-0.01"))
    assert (books.cash, books.fees) == (D("9900.01"), D("-0.01"))


def test_a_negative_fee_in_another_asset_is_refused() -> None:
    with pytest.raises(InvalidFill, match=r"fee -0\.01 BTC"):
        portfolio().apply_fill(buy("1", "100", fee="-0.01", fee_asset="BTC"))


# -- what a fill must be --------------------------------------------------------------


def test_a_fill_quoted_in_another_asset_is_unsupported() -> None:
    with pytest.raises(UnsupportedInstrument, match="values in USDT, the pair is quoted in BTC"):
        portfolio().apply_fill(buy("1", "0.05", instrument=ETH_BTC))


def test_a_fill_for_another_account_is_refused() -> None:
    with pytest.raises(InvalidFill, match="is for acct-2"):
        portfolio().apply_fill(buy("1", "100", account_id="acct-2"))


def test_a_btc_valued_account_books_btc_quoted_markets() -> None:
    books = portfolio("2", valuation_asset="BTC")
    books.apply_fill(buy("10", "0.05", instrument=ETH_BTC, fee="0.01", fee_asset="ETH"))
    books.revalue({"ETH/BTC": D("0.06")})
    assert (books.cash, books.equity) == (D("1.5"), D("1.5") + D("9.99") * D("0.06"))
    assert books.snapshot(ts_ns=T0).balances == {"BTC": D("1.5"), "ETH": D("9.99")}
    assert_identity(books)


# -- the venue's quote quantity -------------------------------------------------------
# ETH/BTC as Binance lists it: tick 10^-8, step 10^-5, so price x quantity has up to 13
# decimals and the venue moves it rounded down to 10^-8 (`quoteQty`).


def test_a_buy_pays_the_venues_quote_quantity_and_the_units_cost_that() -> None:
    books = portfolio("1", valuation_asset="BTC")
    books.apply_fill(buy("0.12345", "0.09128012", instrument=ETH_BTC, quote_quantity="0.01126853"))
    eth = books.positions["ETH/BTC"]
    assert books.cash == D("0.98873147")  # not 1 - 0.0112685308140
    assert (eth.quantity, eth.cost_basis) == (D("0.12345"), D("0.01126853"))
    assert books.net_contributions == 1
    assert_identity(books)


def test_a_sell_receives_the_venues_quote_quantity_and_realises_its_rounding() -> None:
    books = portfolio("1", valuation_asset="BTC")
    books.apply_fill(buy("0.1", "0.09", instrument=ETH_BTC))  # 0.009: nothing to round
    books.apply_fill(sell("0.05432", "0.09118888", instrument=ETH_BTC, quote_quantity="0.00495337"))
    eth = books.positions["ETH/BTC"]
    assert books.cash == D("0.991") + D("0.00495337")
    assert books.realized_pnl == eth.realized_pnl == D("0.00495337") - D("0.05432") * D("0.09")
    assert_identity(books)


def test_a_buyers_fee_in_base_leaves_the_rounding_in_the_cost_of_the_units_received() -> None:
    books = portfolio("1", valuation_asset="BTC")
    trade = buy(
        "0.12345", "0.09128012", instrument=ETH_BTC, fee="0.00012345", fee_asset="ETH",
        quote_quantity="0.01126853",
    )  # fmt: skip
    books.apply_fill(trade)
    eth = books.positions["ETH/BTC"]
    assert books.fees == D("0.00012345") * D("0.09128012")  # the fee at the fill price
    assert eth.cost_basis == D("0.01126853") - books.fees  # what was paid, less the fee
    assert (books.cash, eth.quantity) == (D("0.98873147"), D("0.12332655"))
    assert_identity(books)


def test_a_fee_of_every_unit_bought_is_valued_at_what_was_paid_and_leaves_no_cost() -> None:
    books = portfolio("1", valuation_asset="BTC")
    books.apply_fill(
        buy("0.00001", "0.09128013", instrument=ETH_BTC, fee="0.00001", fee_asset="ETH",
            quote_quantity="0.00000091")
    )  # fmt: skip
    eth = books.positions["ETH/BTC"]
    assert (eth.quantity, eth.cost_basis, books.fees) == (D(0), D(0), D("0.00000091"))
    assert books.cash == 1 - D("0.00000091")
    assert_identity(books)


def test_a_quote_quantity_equal_to_price_times_quantity_books_as_without_one() -> None:
    with_it, without = portfolio(), portfolio()
    with_it.apply_fill(buy("2", "100", quote_quantity="200", fee="0.2", trade_id="1"))
    with_it.apply_fill(sell("0.5", "130", quote_quantity="65.0", fee="0.065", trade_id="2"))
    without.apply_fill(buy("2", "100", fee="0.2", trade_id="1"))
    without.apply_fill(sell("0.5", "130", fee="0.065", trade_id="2"))
    assert with_it.to_state() == without.to_state()


@pytest.mark.parametrize("amount", ["-0.5", "NaN", "sNaN", "Infinity", "-Infinity"])
def test_a_quote_quantity_negative_or_not_finite_is_refused(amount: str) -> None:
    books = portfolio()
    with pytest.raises(InvalidFill, match=rf"trade t-9 on BTC/USDT: quote quantity {amount}$"):
        books.apply_fill(buy("1", "100", quote_quantity=amount, trade_id="t-9"))
    assert books.balances() == {"USDT": D(10000)}


def test_a_quote_quantity_further_than_a_rounding_is_refused_naming_both_numbers() -> None:
    books = portfolio("1", valuation_asset="BTC")
    trade = buy("0.12345", "0.09128012", instrument=ETH_BTC, quote_quantity="0.01126852")
    with pytest.raises(
        InvalidFill,
        match=r"quote quantity 0\.01126852 is not a rounding of 0\.12345 x 0\.09128012 = "
        r"0\.0112685308140",
    ):
        books.apply_fill(trade)
    assert books.balances() == {"BTC": D(1)}
    assert "ETH/BTC" not in books.positions


@pytest.mark.parametrize(
    ("amount", "notional", "rounding"),
    [
        ("0.01126853", "0.0112685308140", True),  # Binance: down to 10^-8
        ("0.01126854", "0.0112685308140", True),  # up
        ("0.011268530000", "0.0112685308140", True),  # padded with zeros
        ("0.01126852", "0.0112685308140", False),  # a whole unit below the floor
        ("0.01126855", "0.0112685308140", False),
        ("0", "0.000000009", True),  # dust, rounded down to nothing
        ("0E-8", "0.000000009", True),
        ("0E-8", "0.00000001", False),  # "0.00000000": zero to 10^-8
        ("0.00000002", "0.000000009", False),
        ("150", "150.3", True),  # a quote asset in whole units
        ("151", "150.3", True),
        ("152", "150.3", False),
        ("1.5E+2", "150.3", True),  # exponent notation: still at most a whole unit
        ("2E+2", "150.3", False),
        ("12345678.12345679", "12345678.123456780", True),  # through a float: 17 digits
        ("12345678.12347679", "12345678.12345678", False),
    ],
)
def test_a_rounding_is_under_a_unit_of_the_amounts_last_place_or_float_noise(
    amount: str, notional: str, rounding: bool
) -> None:
    assert quote_is_rounding(D(amount), D(notional)) is rounding


class VenueLedger:
    """A spot account as Binance keeps it, in whole 10^-8 of each asset: a fill's quote
    is price x quantity rounded down; the buyer pays its fee in the base asset, the
    seller in the quote asset, each rounded down too."""

    def __init__(self, btc: Decimal) -> None:
        self.units = {"BTC": int(btc * 10**8), "ETH": 0}

    def trade(self, side: Side, quantity: Decimal, price: Decimal, rate: Decimal) -> Fill:
        unit = D("1e-8")
        quote = EXACT.multiply(quantity, price).quantize(unit, ROUND_DOWN)
        if side is Side.BUY:
            fee, fee_asset = (quantity * rate).quantize(unit, ROUND_DOWN), "ETH"
            self.units["BTC"] -= int(quote / unit)
            self.units["ETH"] += int((quantity - fee) / unit)
        else:
            fee, fee_asset = (quote * rate).quantize(unit, ROUND_DOWN), "BTC"
            self.units["ETH"] -= int(quantity / unit)
            self.units["BTC"] += int((quote - fee) / unit)
        return fill(
            side, str(quantity), str(price), instrument=ETH_BTC, fee=str(fee),
            fee_asset=fee_asset, quote_quantity=str(quote),
        )  # fmt: skip

    def balances(self) -> dict[str, Decimal]:
        return {asset: D(units).scaleb(-8) for asset, units in self.units.items()}


@settings(max_examples=150)
@given(st.data())
def test_books_fed_the_venues_quote_quantities_equal_its_balances_on_a_fine_pair(
    data: st.DataObject,
) -> None:
    # Tick x step is 10^-13 of BTC: price x quantity alone would drift from the venue by
    # up to 10^-8 a fill, until a reconciliation booked the drift as a transfer.
    books = portfolio("1", valuation_asset="BTC")
    venue = VenueLedger(D(1))
    for _ in range(data.draw(st.integers(1, 30), label="fills")):
        price = D(data.draw(st.integers(5_000_000, 15_000_000), label="price ticks")).scaleb(-8)
        held = venue.units["ETH"] // 1000  # whole steps of 10^-5
        if held and data.draw(st.booleans(), label="sell"):
            side, steps = Side.SELL, data.draw(st.integers(1, held))
        else:
            affordable = int(venue.units["BTC"] * D("0.5") / price) // 1000
            if not affordable:
                continue
            side, steps = Side.BUY, data.draw(st.integers(1, affordable))
        rate = data.draw(st.sampled_from([D(0), D("0.001"), D("0.00075")]))
        assert books.apply_fill(venue.trade(side, D(steps).scaleb(-5), price, rate))
        held_in_books = {"ETH": D(0), **books.balances()}
        assert held_in_books == venue.balances()
        assert books.net_contributions == 1  # nothing booked as a transfer
        assert books.reset_from_venue(venue.balances()) is False
        assert_identity(books)
        assert all(p.cost_basis >= 0 for p in books.positions.values())


# -- marks ----------------------------------------------------------------------------


def test_revalue_marks_positions_and_says_whether_equity_changed() -> None:
    books = portfolio()
    books.apply_fill(buy("2", "100"))
    assert books.revalue({"BTC/USDT": D(110), "DOGE/USDT": D(1)})
    assert not books.revalue({"BTC/USDT": D(110)})
    assert (books.unrealized_pnl, books.equity) == (D(20), D(10020))


def test_unrealised_pnl_is_quantity_times_mark_minus_average_cost() -> None:
    books = portfolio()
    books.apply_fill(buy("1", "100", instrument=ETH_USDT))
    books.apply_fill(buy("3", "200", instrument=ETH_USDT))
    books.apply_fill(buy("1", "1000"))
    books.revalue({"ETH/USDT": D(180), "BTC/USDT": D(900)})
    assert books.unrealized_pnl == 4 * (180 - 175) + 1 * (900 - 1000)
    assert books.positions["ETH/USDT"].unrealized_pnl == D(20)


def test_revaluing_a_flat_position_does_not_change_equity() -> None:
    books = portfolio()
    books.apply_fill(buy("1", "100"))
    books.apply_fill(sell("1", "100"))
    assert not books.revalue({"BTC/USDT": D(150)})
    assert books.positions["BTC/USDT"].mark == D(150)


def test_revalue_refuses_a_price_that_is_not_positive() -> None:
    books = portfolio()
    books.apply_fill(buy("1", "100"))
    with pytest.raises(PortfolioError, match="price 0 of BTC/USDT is not > 0"):
        books.revalue({"BTC/USDT": D(0)})


# -- deposits, withdrawals, reconciliation --------------------------------------------


def test_a_deposit_of_another_asset_is_costed_at_its_price() -> None:
    books = portfolio("0")
    books.deposit("BTC", D("0.5"), price=D(60000))
    btc = books.positions["BTC/USDT"]
    assert (btc.quantity, btc.average_cost, btc.mark) == (D("0.5"), D(60000), D(60000))
    assert books.net_contributions == books.equity == D(30000)
    assert books.unrealized_pnl == 0


def test_a_deposit_with_no_price_to_value_it_raises_missing_price() -> None:
    with pytest.raises(MissingPrice, match="1 ETH arrived"):
        portfolio().deposit("ETH", D(1))


def test_withdrawing_an_asset_removes_it_at_average_cost_without_realising() -> None:
    books = portfolio()
    books.apply_fill(buy("2", "100"))
    books.revalue({"BTC/USDT": D(150)})
    books.withdraw("BTC", D(1))
    assert (books.realized_pnl, books.net_contributions) == (D(0), D(9900))
    assert books.positions["BTC/USDT"].average_cost == D(100)
    assert_identity(books)


def test_withdrawing_more_than_is_held_is_refused() -> None:
    books = portfolio("100")
    with pytest.raises(InsufficientHoldings, match="withdrawal of 101 USDT, 100 held"):
        books.withdraw("USDT", D(101))
    with pytest.raises(InsufficientHoldings, match="none held"):
        books.withdraw("BTC", D(1))


def test_reset_from_venue_books_each_difference_as_a_transfer() -> None:
    books = portfolio("1000")
    books.apply_fill(buy("1", "100"))
    books.revalue({"BTC/USDT": D(120)})
    assert books.reset_from_venue({"USDT": D(950), "BTC": D(3)})
    assert books.balances() == {"USDT": D(950), "BTC": D(3)}
    btc = books.positions["BTC/USDT"]
    assert btc.cost_basis == 100 + 2 * 120  # the units that arrived are valued at the mark
    assert books.net_contributions == 1000 + 50 + 240
    assert not books.reset_from_venue({"USDT": D(950), "BTC": D(3)})
    assert_identity(books)


def test_reset_from_venue_zeroes_what_the_venue_does_not_list() -> None:
    books = portfolio("1000")
    books.apply_fill(buy("1", "100"))
    books.reset_from_venue({"ETH": D(2)}, {"ETH/USDT": D(1500)})
    assert books.balances() == {"USDT": D(0), "ETH": D(2)}
    assert_identity(books)


def test_reset_from_venue_names_every_asset_it_cannot_price_and_changes_nothing() -> None:
    books = portfolio("1000")
    with pytest.raises(MissingPrice, match=r"cannot value DOGE \(price None\), ETH"):
        books.reset_from_venue({"USDT": D(5), "ETH": D(1), "DOGE": D(10)})
    assert books.balances() == {"USDT": D(1000)}


def test_a_balance_update_sets_one_asset_to_free_plus_locked() -> None:
    books = portfolio("1000")
    books.apply_fill(buy("1", "100"))
    update = BalanceUpdate(
        account_id="acct-1", venue=VENUE, asset="USDT", free=D(800), locked=D(50), ts_ns=T0
    )
    assert books.apply_balance_update(update)
    assert books.balances() == {"USDT": D(850), "BTC": D(1)}  # other assets untouched


# -- events ---------------------------------------------------------------------------


def test_the_snapshot_reports_equity_pnl_fees_and_balances() -> None:
    books = portfolio("1000")
    books.apply_fill(buy("2", "100", fee="0.2"))
    books.apply_fill(sell("1", "130", fee="0.13"))
    books.revalue({"BTC/USDT": D(120)})
    assert books.snapshot(ts_ns=T0) == PortfolioUpdate(
        account_id="acct-1",
        valuation_asset="USDT",
        equity=D("929.67") + 120,
        cash=D("929.67"),
        realized_pnl=D(30),
        unrealized_pnl=D(20),
        fees=D("0.33"),
        balances={"USDT": D("929.67"), "BTC": D(1)},
        ts_ns=T0,
        traded=D(330),  # 200 bought, 130 sold: the turnover's numerator
    )
    # What was traded survives a restore, and a repeated fill does not add to it.
    restored = Portfolio.from_state(books.to_state())
    assert restored.traded == D(330)
    last = sell("1", "120", trade_id="t-again")
    assert restored.apply_fill(last) and not restored.apply_fill(last)
    assert restored.traded == D(450)


def test_a_position_update_carries_quantity_and_average_cost() -> None:
    books = portfolio()
    books.apply_fill(buy("4", "25"))
    event = books.position_update("BTC/USDT", ts_ns=T0)
    assert event is not None
    assert (event.instrument, event.quantity, event.average_cost) == (BTC_USDT, D(4), D(25))
    assert books.position_update("ETH/USDT", ts_ns=T0) is None


# -- properties: random flows of fills, prices and transfers --------------------------

INSTRUMENTS = (BTC_USDT, ETH_USDT, BNB_USDT)
START_CASH = D(1_000_000)


def decimals(data: st.DataObject, low: int, high: int, max_places: int) -> Decimal:
    """A Decimal in [low, high) with 0..max_places decimal places."""
    places = data.draw(st.integers(0, max_places))
    return D(data.draw(st.integers(low * 10**places, high * 10**places - 1))).scaleb(-places)


class Reference:
    """The same books kept with Fractions, so no Decimal context can round them."""

    def __init__(self) -> None:
        self.cash = Fraction(START_CASH)
        self.fees = Fraction(0)
        self.quantity = {i.base: Fraction(0) for i in INSTRUMENTS}

    def book(self, trade: Fill, marks: dict[str, Decimal]) -> None:
        q, p, f = Fraction(trade.quantity), Fraction(trade.price), Fraction(trade.fee)
        sign = 1 if trade.side is Side.BUY else -1
        quote = q * p if trade.quote_quantity is None else Fraction(trade.quote_quantity)
        self.cash -= sign * quote
        self.quantity[trade.instrument.base] += sign * q
        if trade.fee_asset == "USDT":
            self.cash -= f
            self.fees += f
        else:
            self.quantity[trade.fee_asset] -= f
            fee_price = trade.price if trade.fee_asset == trade.instrument.base else None
            self.fees += f * Fraction(fee_price or marks[f"{trade.fee_asset}/USDT"])


def draw_fill(data: st.DataObject, books: Portfolio) -> Fill | None:
    instrument = data.draw(st.sampled_from(INSTRUMENTS))
    price = decimals(data, 1, 100_000, 8)
    rate = data.draw(st.sampled_from([D(0), D("0.001"), D("0.00075")]))
    fee_asset = data.draw(st.sampled_from(["USDT", instrument.base, "BNB"]))
    position = books.positions.get(instrument.symbol)
    held = position.quantity if position else D(0)
    if data.draw(st.booleans()) or not held:
        side = Side.BUY
        affordable = books.cash / price * D("0.9")
        quantity = (affordable * decimals(data, 0, 1, 3)).quantize(D("1e-8"), ROUND_DOWN)
    else:
        side = Side.SELL
        quantity = (held * decimals(data, 0, 1, 3) * D("0.99")).quantize(D("1e-8"), ROUND_DOWN)
    if quantity <= 0:
        return None
    if fee_asset == "USDT":
        fee = (quantity * price * rate).quantize(D("1e-8"))
    else:
        fee = (quantity * rate).quantize(D("1e-12"), ROUND_DOWN)
    bnb = books.positions.get("BNB/USDT")
    if fee_asset == "BNB" != instrument.base and (bnb is None or bnb.quantity < fee):
        fee_asset, fee = "USDT", D(0)
    fee_kind = (
        "quote" if fee_asset == "USDT" else "base" if fee_asset == instrument.base else "other"
    )
    event(f"{side} with fee in {fee_kind} asset")
    # The venue's quote quantity, rounded to 10^-8 as Binance (down) or another venue
    # (up, to nearest) would; or none reported.
    rounding = data.draw(st.sampled_from([None, ROUND_DOWN, ROUND_CEILING, ROUND_HALF_EVEN]))
    notional = EXACT.multiply(quantity, price)
    quote = None if rounding is None else str(notional.quantize(D("1e-8"), rounding))
    return fill(
        side,
        str(quantity),
        str(price),
        instrument=instrument,
        fee=str(fee),
        fee_asset=fee_asset,
        quote_quantity=quote,
    )


@settings(max_examples=150)
@given(st.data())
def test_equity_moves_by_realised_plus_unrealised_minus_fees_exactly(data: st.DataObject) -> None:
    books = Portfolio("acct-1", VENUE, "USDT")
    books.deposit("USDT", START_CASH)
    reference = Reference()
    equity_start = books.equity
    marks: dict[str, Decimal] = {}
    booked: list[Fill] = []
    for _ in range(data.draw(st.integers(1, 30), label="steps")):
        action = data.draw(st.sampled_from(["fill", "fill", "mark", "duplicate"]))
        if action == "fill":
            trade = draw_fill(data, books)
            if trade is None:
                continue
            reference.book(trade, marks)
            assert books.apply_fill(trade)
            booked.append(trade)
            for symbol, position in books.positions.items():
                marks[symbol] = position.mark
        elif action == "mark":
            symbol = data.draw(st.sampled_from([i.symbol for i in INSTRUMENTS]))
            price = decimals(data, 1, 100_000, 8)
            changed = books.revalue({symbol: price})
            held = books.positions.get(symbol)
            assert changed == bool(held and held.quantity and marks.get(symbol) != price)
            if held:
                marks[symbol] = price
        elif booked:
            before = books.snapshot(ts_ns=T0)
            assert not books.apply_fill(data.draw(st.sampled_from(booked)))
            assert books.snapshot(ts_ns=T0) == before

        positions = books.positions.values()
        assert F(books.equity) == F(books.cash) + sum(F(p.quantity) * F(p.mark) for p in positions)
        assert F(books.equity) - F(equity_start) == (
            F(books.realized_pnl) + F(books.unrealized_pnl) - F(books.fees)
        )
        assert Fraction(books.cash) == reference.cash
        assert Fraction(books.fees) == reference.fees
        assert books.cash >= 0
        for position in books.positions.values():
            assert Fraction(position.quantity) == reference.quantity[position.instrument.base]
            assert position.quantity >= 0
            assert position.cost_basis >= 0


@settings(max_examples=100)
@given(st.data())
def test_equity_is_contributions_plus_pnl_minus_fees_through_transfers(
    data: st.DataObject,
) -> None:
    books = Portfolio("acct-1", VENUE, "USDT")
    books.deposit("USDT", START_CASH)
    for _ in range(data.draw(st.integers(1, 25), label="steps")):
        action = data.draw(st.sampled_from(["fill", "mark", "deposit", "withdraw", "reset"]))
        asset = data.draw(st.sampled_from(["USDT", "BTC", "ETH"]))
        if action == "fill":
            trade = draw_fill(data, books)
            if trade is not None:
                books.apply_fill(trade)
        elif action == "mark":
            books.revalue({f"{asset}/USDT": decimals(data, 1, 100_000, 8)})
        elif action == "deposit":
            books.deposit(asset, decimals(data, 1, 1000, 8), price=decimals(data, 1, 10**5, 4))
        elif action == "withdraw":
            held = books.balances().get(asset, D(0))
            amount = (held * decimals(data, 0, 1, 4)).quantize(D("1e-8"), ROUND_DOWN)
            if amount > 0:
                books.withdraw(asset, amount)
        else:
            venue = {a: q for a, q in books.balances().items() if a != asset}
            venue[asset] = decimals(data, 0, 1000, 8)
            price = decimals(data, 1, 10**5, 4)
            books.reset_from_venue(venue, {f"{asset}/USDT": price})
            assert books.balances().get(asset, D(0)) == venue[asset]
        assert_identity(books)
        assert all(amount >= 0 for amount in books.balances().values())


@settings(max_examples=100)
@given(st.data())
def test_books_stored_and_restored_are_the_same_books(data: st.DataObject) -> None:
    # A restarted portfolio service continues from stored books: every figure must come
    # back to the last digit, and a trade it booked recently must not book twice.
    books = Portfolio("acct-1", VENUE, "USDT")
    books.deposit("USDT", START_CASH)
    booked: list[Fill] = []
    for _ in range(data.draw(st.integers(1, 25), label="steps")):
        if data.draw(st.booleans(), label="fill or mark"):
            trade = draw_fill(data, books)
            if trade is not None and books.apply_fill(trade):
                booked.append(trade)
        else:
            symbol = data.draw(st.sampled_from([i.symbol for i in INSTRUMENTS]))
            books.revalue({symbol: decimals(data, 1, 100_000, 8)})
    stored = msgspec.msgpack.encode(books.to_state())
    restored = Portfolio.from_state(msgspec.msgpack.decode(stored, type=PortfolioState))
    assert restored.snapshot(ts_ns=T0) == books.snapshot(ts_ns=T0)
    assert restored.net_contributions == books.net_contributions
    for symbol, position in books.positions.items():
        again = restored.positions[symbol]
        assert (again.quantity, again.cost_basis, again.mark, again.realized_pnl) == (
            position.quantity, position.cost_basis, position.mark, position.realized_pnl,
        )  # fmt: skip
    for trade in booked[-REMEMBERED_TRADES:]:
        assert not restored.apply_fill(trade)
    assert_identity(restored)
