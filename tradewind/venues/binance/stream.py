"""The executions Binance's user data stream reports: an `executionReport` whose execution
type `x` is TRADE carries one fill of the order, with its trade id (`t`), last executed
quantity and price (`l`, `L`), the quote it moved (`Y`), the commission (`n`, in asset
`N`), whether the order was the maker (`m`) and the trade's time (`T`). Read here from
the message's own decimal strings (ccxt keeps the message as the update's `info`), so
the fill is booked exactly as `myTrades` would report it, without asking for it."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from tradewind.domain.model import Liquidity
from tradewind.venues.profile import StreamFill


def execution_fill(report: Mapping[str, Any]) -> StreamFill | None:
    """The fill a spot `executionReport` carries; None for a report of no trade (NEW,
    CANCELED, EXPIRED, …), for any other message, and for one missing a field or with a
    field that is not an exact positive amount: its fill is then read apart
    (`myTrades`), never guessed."""
    if report.get("e") != "executionReport" or report.get("x") != "TRADE":
        return None
    trade_id, order_id, ts_ms = report.get("t"), report.get("i"), report.get("T")
    if not (_is_id(trade_id) and _is_id(order_id) and isinstance(ts_ms, int)):
        return None
    price, quantity = _amount(report.get("L")), _amount(report.get("l"))
    fee = _amount(report.get("n"))
    if price is None or quantity is None or fee is None or not (price > 0 and quantity > 0):
        return None
    quote = _amount(report.get("Y"))
    asset = report.get("N")
    return StreamFill(
        trade_id=str(trade_id),
        venue_order_id=str(order_id),
        price=price,
        quantity=quantity,
        quote_quantity=quote if quote else None,  # "0" or absent: not said
        fee=fee,
        fee_asset=asset if isinstance(asset, str) else "",  # null with no commission
        liquidity=Liquidity.MAKER if report.get("m") is True else Liquidity.TAKER,
        ts_ms=ts_ms,
    )


def _is_id(value: Any) -> bool:
    """A trade or order id as Binance sends it: a non-negative integer (`t` is -1 in a
    report of no trade)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _amount(value: Any) -> Decimal | None:
    """A decimal string of the message as an exact, finite, non-negative Decimal; None
    for anything else (a number parsed into a float is refused: not exact)."""
    if not isinstance(value, str):
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None
