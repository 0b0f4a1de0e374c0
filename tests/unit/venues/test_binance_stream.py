"""Binance's user-data-stream executionReport read into the fill it carries
(`venues/binance/stream.py`): a TRADE report gives its execution with every amount exact
from the message's strings; a report of no trade (NEW, CANCELED, …) or one that cannot
be read exactly gives none, so its fills are read apart instead of guessed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tradewind.domain.model import Liquidity
from tradewind.venues.binance import PROFILE
from tradewind.venues.binance.stream import execution_fill
from tradewind.venues.simulated.profile import OVER_HTTP

D = Decimal


def report(**overrides: Any) -> dict[str, Any]:
    """A spot executionReport (Binance's user data stream documentation's fields): a
    resting limit buy's second fill, as the maker, commission in BNB."""
    message: dict[str, Any] = {
        "e": "executionReport", "E": 1700000000201, "s": "BTCUSDT", "c": "tw-abc",
        "S": "BUY", "o": "LIMIT", "f": "GTC", "q": "0.00300000", "p": "29999.99000000",
        "P": "0.00000000", "F": "0.00000000", "g": -1, "C": "", "x": "TRADE",
        "X": "PARTIALLY_FILLED", "r": "NONE", "i": 4293153, "l": "0.00123457",
        "z": "0.00223457", "L": "29999.99000000", "n": "0.00002963", "N": "BNB",
        "T": 1700000000199, "t": 987654, "I": 8641984, "w": True, "m": True, "M": True,
        "O": 1700000000123, "Z": "67.03709658", "Y": "37.03708765", "Q": "0.00000000",
        "W": 1700000000123, "V": "EXPIRE_MAKER",
    }  # fmt: skip
    message.update(overrides)
    return message


def test_a_trade_report_carries_its_execution_exactly() -> None:
    fill = execution_fill(report())
    assert fill is not None
    assert (fill.trade_id, fill.venue_order_id, fill.ts_ms) == ("987654", "4293153", 1700000000199)
    # The message's strings, digit for digit; the quote is the venue's Y (what it moved),
    # not price x quantity (37.0370876543).
    assert fill.price == D("29999.99000000") and fill.quantity == D("0.00123457")
    assert fill.quote_quantity == D("37.03708765")
    assert (fill.fee, fill.fee_asset) == (D("0.00002963"), "BNB")
    assert fill.liquidity is Liquidity.MAKER


def test_a_taker_execution_is_the_takers() -> None:
    fill = execution_fill(report(m=False, X="FILLED", n="0.00000123", N="BTC"))
    assert fill is not None
    assert fill.liquidity is Liquidity.TAKER
    assert (fill.fee, fill.fee_asset) == (D("0.00000123"), "BTC")


@pytest.mark.parametrize(
    "execution_type",
    ["NEW", "CANCELED", "REPLACED", "REJECTED", "EXPIRED", "TRADE_PREVENTION", "AMENDMENT"],
)
def test_a_report_of_no_trade_carries_no_fill(execution_type: str) -> None:
    none_traded = {"l": "0.00000000", "L": "0.00000000", "n": "0", "N": None, "t": -1, "Y": "0"}
    assert execution_fill(report(x=execution_type, **none_traded)) is None
    # Even with the last trade's fields still set, only a TRADE report is one.
    assert execution_fill(report(x=execution_type)) is None


@pytest.mark.parametrize(
    "broken",
    [
        {"t": -1},  # no trade id
        {"t": "987654"},  # not Binance's integer id
        {"L": 29999.99},  # a float: not exact
        {"l": "0.00000000"},  # nothing executed
        {"L": "NaN"},
        {"n": "-0.1"},
        {"T": None},
        {"e": "ORDER_TRADE_UPDATE"},  # not a spot executionReport
    ],
)
def test_a_trade_report_that_cannot_be_read_exactly_carries_no_fill(
    broken: dict[str, Any],
) -> None:
    assert execution_fill(report(**broken)) is None


def test_a_trade_report_without_its_quote_leaves_it_unsaid() -> None:
    without = report()
    del without["Y"]
    fill = execution_fill(without)
    assert fill is not None and fill.quote_quantity is None


def test_no_commission_has_no_asset() -> None:
    fill = execution_fill(report(n="0", N=None))
    assert fill is not None and (fill.fee, fill.fee_asset) == (D(0), "")


def test_binance_and_the_simulator_speaking_its_api_read_the_stream_so() -> None:
    assert PROFILE.stream_fill is execution_fill
    assert OVER_HTTP.stream_fill is execution_fill  # ccxt's binance on the simulator
