"""What the simulated exchange's Coinbase Advanced Trade WebSocket sends, as Coinbase
documents it (docs.cdp.coinbase.com, Advanced Trade WebSocket channels; ccxt.pro
`coinbase` reads the same fields). Pure: values in, JSON-ready dicts and texts out.

Every message is one envelope, numbered per connection:
`{"channel", "client_id": "", "timestamp", "sequence_num", "events": [...]}`; the
events are encoded once per message and the envelope per connection
(`envelope`), so fanning one book change out to many clients encodes it once.
Prices and sizes are strings of their exact Decimal; times are RFC 3339 with up to
nine fractional digits, as Coinbase's Go servers print them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import msgspec

from tradewind.domain.events import BookLevel
from tradewind.domain.model import OrderType, Side, TimeInForce
from tradewind.domain.time_units import EPOCH, NS_PER_S
from tradewind.venues.simulated.kline import Kline
from tradewind.venues.simulated.matching import MatchingOrderStatus, OrderSnapshot, Trade
from tradewind.venues.simulated.server.coinbase.orders import iso_time

_ZERO = Decimal(0)

#: Coinbase's `status` of an order on the user channel, by the engine's status. A
#: partially filled order is still OPEN there; an IOC/FOK/market remainder the book
#: could not fill ends EXPIRED.
ORDER_STATUS: dict[MatchingOrderStatus, str] = {
    MatchingOrderStatus.NEW: "OPEN",
    MatchingOrderStatus.PARTIALLY_FILLED: "OPEN",
    MatchingOrderStatus.FILLED: "FILLED",
    MatchingOrderStatus.CANCELED: "CANCELLED",
    MatchingOrderStatus.EXPIRED: "EXPIRED",
    MatchingOrderStatus.EXPIRED_IN_MATCH: "EXPIRED",
    MatchingOrderStatus.REJECTED: "FAILED",
}

_TIME_IN_FORCE = {
    TimeInForce.GTC: "GOOD_UNTIL_CANCELLED",
    TimeInForce.IOC: "IMMEDIATE_OR_CANCEL",
    TimeInForce.FOK: "FILL_OR_KILL",
}


def product_id(symbol: str) -> str:
    """Coinbase's product id of an engine symbol: "BTC/USD" -> "BTC-USD"."""
    return symbol.replace("/", "-")


def amount(value: Decimal) -> str:
    """A price or size as Coinbase writes it: plain digits, no exponent."""
    return format(value, "f")


def rfc3339(ns: int) -> str:
    """`ns` since the epoch as RFC 3339 in UTC with the fraction's trailing zeros cut
    ("2023-02-09T20:32:50.714964855Z"), as Go's RFC3339Nano."""
    seconds, fraction = divmod(ns, NS_PER_S)
    text = (EPOCH + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    if fraction:
        text += "." + f"{fraction:09d}".rstrip("0")
    return text + "Z"


def go_time(ns: int, monotonic_s: float) -> str:
    """A heartbeat's `current_time`: Go's `time.Time.String()` of a wall clock reading
    ("2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105")."""
    seconds, fraction = divmod(ns, NS_PER_S)
    wall = (EPOCH + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")
    return f"{wall}.{fraction:09d} +0000 UTC m=+{monotonic_s:.9f}"


def encode_events(events: Sequence[object]) -> str:
    return msgspec.json.encode(events).decode()


def envelope(channel: str, timestamp: str, sequence_num: int, events_json: str) -> str:
    """One message as sent: the events (already encoded) in Coinbase's envelope."""
    return (
        f'{{"channel":"{channel}","client_id":"","timestamp":"{timestamp}",'
        f'"sequence_num":{sequence_num},"events":{events_json}}}'
    )


def error_message(message: str, reason: str | None = None) -> str:
    """Coinbase's refusal of a request: `{"type": "error", "message": ...}` (e.g.
    "authentication failure" for a bad JWT), with what was wrong as `reason`."""
    error = {"type": "error", "message": message}
    if reason is not None:
        error["reason"] = reason
    return msgspec.json.encode(error).decode()


# -- market data --------------------------------------------------------------------------


def l2_event(
    kind: str, product: str, bids: Iterable[BookLevel], asks: Iterable[BookLevel], time: str
) -> dict[str, object]:
    """A `l2_data` event: the whole book (`kind` "snapshot") or the levels that changed
    ("update"), each with its new total size ("0": the level is gone)."""
    updates = [_level("bid", level, time) for level in bids]
    updates += [_level("offer", level, time) for level in asks]
    return {"type": kind, "product_id": product, "updates": updates}


def _level(side: str, level: BookLevel, time: str) -> dict[str, str]:
    return {
        "side": side,
        "event_time": time,
        "price_level": amount(level.price),
        "new_quantity": amount(level.quantity),
    }


def market_trades_event(kind: str, trades: Sequence[Trade]) -> dict[str, object]:
    """A `market_trades` event; `trades` oldest first are sent newest first, as Coinbase.

    `side` is the side of the resting (maker) order, as Coinbase's match feed defines it:
    a trade against a resting sell prints "SELL" (an up-tick)."""
    return {"type": kind, "trades": [_market_trade(t) for t in reversed(trades)]}


def _market_trade(trade: Trade) -> dict[str, str]:
    return {
        "trade_id": str(trade.trade_id),
        "product_id": product_id(trade.symbol),
        "price": amount(trade.price),
        "size": amount(trade.quantity),
        "side": trade.maker_side.value,
        "time": rfc3339(trade.ts_ns),
    }


@dataclass(frozen=True)
class TickerFigures:
    """One product's ticker: the last price, the rolling 24 hours and 52 weeks, and the
    top of the book (None where that side is empty). Quote asset; volume in base."""

    product: str
    price: Decimal
    volume_24h: Decimal
    low_24h: Decimal
    high_24h: Decimal
    low_52w: Decimal
    high_52w: Decimal
    change_24h_percent: Decimal
    best_bid: Decimal | None
    best_bid_quantity: Decimal | None
    best_ask: Decimal | None
    best_ask_quantity: Decimal | None


def ticker_event(kind: str, figures: Sequence[TickerFigures], *, batch: bool) -> dict[str, object]:
    """A `ticker` event, or a `ticker_batch` one (`batch`: without the top of the book,
    as Coinbase's production feed sends it)."""
    return {"type": kind, "tickers": [_ticker(f, batch=batch) for f in figures]}


def _ticker(figures: TickerFigures, *, batch: bool) -> dict[str, str]:
    ticker = {
        "type": "ticker",
        "product_id": figures.product,
        "price": amount(figures.price),
        "volume_24_h": amount(figures.volume_24h),
        "low_24_h": amount(figures.low_24h),
        "high_24_h": amount(figures.high_24h),
        "low_52_w": amount(figures.low_52w),
        "high_52_w": amount(figures.high_52w),
        "price_percent_chg_24_h": amount(figures.change_24h_percent),
    }
    if not batch:
        ticker.update(
            best_bid=_optional(figures.best_bid),
            best_bid_quantity=_optional(figures.best_bid_quantity),
            best_ask=_optional(figures.best_ask),
            best_ask_quantity=_optional(figures.best_ask_quantity),
        )
    return ticker


def _optional(value: Decimal | None) -> str:
    return "" if value is None else amount(value)


def candles_event(kind: str, product: str, candles: Sequence[Kline]) -> dict[str, object]:
    """A `candles` event: five-minute candles, `start` in seconds since the epoch."""
    return {
        "type": kind,
        "candles": [
            {
                "start": str(k.open_ms // 1000),
                "high": amount(k.high),
                "low": amount(k.low),
                "open": amount(k.open),
                "close": amount(k.close),
                "volume": amount(k.volume),
                "product_id": product,
            }
            for k in candles
        ],
    }


def heartbeat_event(current_time: str, counter: int) -> dict[str, object]:
    """A `heartbeats` event; the counter is an integer, as Coinbase's production feed
    sends it (its AsyncAPI specification)."""
    return {"current_time": current_time, "heartbeat_counter": counter}


def subscriptions_event(subscriptions: dict[str, list[str]]) -> dict[str, object]:
    """The `subscriptions` acknowledgement: every channel the connection is subscribed
    to now, with its product ids (`{}` once it unsubscribed from everything)."""
    return {"subscriptions": subscriptions}


# -- the user channel ---------------------------------------------------------------------


@dataclass(frozen=True)
class OrderFills:
    """What one order's fills add up to as of one update: their count, and the fees in
    the quote asset (Coinbase charges fees in the quote currency; a fee the engine took
    in the base asset is valued at its fill's price)."""

    count: int = 0
    fees: Decimal = _ZERO


def user_order(
    order: OrderSnapshot,
    order_id: str,
    status: MatchingOrderStatus,
    executed: Decimal,
    filled_value: Decimal,
    fills: OrderFills,
) -> dict[str, str]:
    """One order on the `user` channel as of one update: `executed` (base) and
    `filled_value` (quote) are its cumulative fills then, `status` its status then."""
    open_ = status in (MatchingOrderStatus.NEW, MatchingOrderStatus.PARTIALLY_FILLED)
    ordered = order.quantity
    leaves = ordered - executed if open_ else _ZERO
    average = filled_value / executed if executed else _ZERO
    completion = executed / ordered * 100 if ordered else _ZERO
    is_buy = order.side is Side.BUY
    after_fees = filled_value + fills.fees if is_buy else filled_value - fills.fees
    hold = _ZERO
    if open_ and order.order_type is OrderType.LIMIT:
        hold = leaves * order.price if is_buy else leaves
    message = {
        "order_id": order_id,
        "client_order_id": order.client_order_id,
        "cumulative_quantity": amount(executed),
        "leaves_quantity": amount(leaves),
        "avg_price": amount(_plain(average)),
        "total_fees": amount(fills.fees),
        "status": ORDER_STATUS[status],
        "product_id": product_id(order.symbol),
        "product_type": "SPOT",
        "creation_time": iso_time(order.created_ns),  # as REST's created_time
        "order_side": order.side.value,
        "order_type": _order_type(order),
        "limit_price": amount(order.price) if order.order_type is OrderType.LIMIT else "",
        "stop_price": amount(order.stop_price) if order.stop_type is not None else "",
        "filled_value": amount(filled_value),
        "number_of_fills": str(fills.count),
        "completion_percentage": amount(_plain(completion)),
        "total_value_after_fees": amount(after_fees),
        "outstanding_hold_amount": amount(hold),
        "time_in_force": _TIME_IN_FORCE.get(order.time_in_force or TimeInForce.IOC, ""),
        "trigger_status": _trigger_status(order),
        "post_only": "false",
        "cancel_reason": "",
        "reject_reason": "",
        "retail_portfolio_id": "",
        "risk_managed_by": "UNKNOWN_RISK_MANAGEMENT_TYPE",
        "contract_expiry_type": "UNKNOWN_CONTRACT_EXPIRY_TYPE",
    }
    return message


def user_event(kind: str, orders: list[dict[str, str]]) -> dict[str, object]:
    """A `user` event; a snapshot also carries the (always empty, spot-only) futures
    positions."""
    event: dict[str, object] = {"type": kind, "orders": orders}
    if kind == "snapshot":
        event["positions"] = {"perpetual_futures_positions": [], "expiring_futures_positions": []}
    return event


def _order_type(order: OrderSnapshot) -> str:
    """Coinbase's user-channel spelling ("Limit", "Market", "Stop Limit", "Stop")."""
    limit = order.order_type is OrderType.LIMIT
    if order.stop_type is not None:
        return "Stop Limit" if limit else "Stop"
    return "Limit" if limit else "Market"


def _trigger_status(order: OrderSnapshot) -> str:
    if order.stop_type is None:
        return "INVALID_ORDER_TYPE"
    return "STOP_TRIGGERED" if order.is_working else "STOP_PENDING"


def _plain(value: Decimal) -> Decimal:
    """A quotient without its trailing zeros (28 significant digits at most)."""
    return value.normalize() if value else _ZERO
