"""Binance spot WebSocket payloads, built from what the simulated exchange reports.

Pure: no I/O, no clock (times are passed in, ms since the Unix epoch). Each payload is a
msgspec Struct whose field names say what they hold and whose wire names are Binance's
one-letter keys; `encode` turns one into the JSON text sent to every subscriber, once per
event. Numbers are written as the REST API writes them (`formatting.fixed`); balances and
commissions with Binance's 8 decimals (`free_amount`, `locked_amount`,
`commission_amount`). The ticker streams' payloads are in `stream_ticker_payloads`.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import msgspec

from tradewind.domain.events import BookLevel
from tradewind.domain.model import OrderType, TimeInForce
from tradewind.venues.simulated.exchange import OrderUpdate
from tradewind.venues.simulated.history import Kline
from tradewind.venues.simulated.matching import (
    BalanceSnapshot,
    BookTicker,
    MatchingOrderStatus,
    OrderListSnapshot,
    Trade,
)
from tradewind.venues.simulated.server.formatting import (
    SELF_TRADE_PREVENTION,
    commission_amount,
    fixed,
    free_amount,
    locked_amount,
    wire_time_in_force,
)
from tradewind.venues.simulated.server.order_views import wire_order_type

_encoder = msgspec.json.Encoder()
_ZERO = fixed(Decimal(0))
_NO_COMMISSION = "0"  # Binance's `n` of a report without a trade


def encode(payload: msgspec.Struct) -> str:
    """The JSON text of one payload (what a text frame carries)."""
    return _encoder.encode(payload).decode()


def _levels(levels: Iterable[BookLevel]) -> list[tuple[str, str]]:
    return [(fixed(level.price), fixed(level.quantity)) for level in levels]


class TradeEvent(msgspec.Struct, frozen=True, gc=False):
    """`<symbol>@trade`."""

    event_type: str = msgspec.field(name="e")
    event_ms: int = msgspec.field(name="E")
    symbol: str = msgspec.field(name="s")
    trade_id: int = msgspec.field(name="t")
    price: str = msgspec.field(name="p")
    quantity: str = msgspec.field(name="q")
    trade_ms: int = msgspec.field(name="T")
    buyer_is_maker: bool = msgspec.field(name="m")
    ignore: bool = msgspec.field(name="M")


class AggTradeEvent(msgspec.Struct, frozen=True, gc=False):
    """`<symbol>@aggTrade`: every fill is its own aggregate (first = last trade id)."""

    event_type: str = msgspec.field(name="e")
    event_ms: int = msgspec.field(name="E")
    symbol: str = msgspec.field(name="s")
    agg_id: int = msgspec.field(name="a")
    price: str = msgspec.field(name="p")
    quantity: str = msgspec.field(name="q")
    first_trade_id: int = msgspec.field(name="f")
    last_trade_id: int = msgspec.field(name="l")
    trade_ms: int = msgspec.field(name="T")
    buyer_is_maker: bool = msgspec.field(name="m")
    ignore: bool = msgspec.field(name="M")


def trade_event(wire_symbol: str, trade: Trade, event_ms: int) -> TradeEvent:
    return TradeEvent(
        "trade", event_ms, wire_symbol, trade.trade_id, fixed(trade.price),
        fixed(trade.quantity), trade.time_ms, trade.is_buyer_maker, True,
    )  # fmt: skip


def agg_trade_event(wire_symbol: str, trade: Trade, event_ms: int) -> AggTradeEvent:
    tid = trade.trade_id
    return AggTradeEvent(
        "aggTrade", event_ms, wire_symbol, tid, fixed(trade.price),
        fixed(trade.quantity), tid, tid, trade.time_ms, trade.is_buyer_maker, True,
    )  # fmt: skip


class DepthUpdateEvent(msgspec.Struct, frozen=True, gc=False):
    """`<symbol>@depth[@100ms]`: levels changed by update ids first..final; quantities
    are the level's new total, "0" removes it."""

    event_type: str = msgspec.field(name="e")
    event_ms: int = msgspec.field(name="E")
    symbol: str = msgspec.field(name="s")
    first_update_id: int = msgspec.field(name="U")
    final_update_id: int = msgspec.field(name="u")
    bids: list[tuple[str, str]] = msgspec.field(name="b")
    asks: list[tuple[str, str]] = msgspec.field(name="a")


def depth_update_event(
    wire_symbol: str,
    first_update_id: int,
    final_update_id: int,
    bids: Iterable[BookLevel],
    asks: Iterable[BookLevel],
    event_ms: int,
) -> DepthUpdateEvent:
    return DepthUpdateEvent(
        "depthUpdate", event_ms, wire_symbol, first_update_id, final_update_id,
        _levels(bids), _levels(asks),
    )  # fmt: skip


class PartialDepthEvent(msgspec.Struct, frozen=True, gc=False):
    """`<symbol>@depth<N>[@100ms]`: the top N levels, as Binance spot sends them."""

    last_update_id: int = msgspec.field(name="lastUpdateId")
    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]


def partial_depth_event(
    last_update_id: int, bids: Iterable[BookLevel], asks: Iterable[BookLevel]
) -> PartialDepthEvent:
    return PartialDepthEvent(last_update_id, _levels(bids), _levels(asks))


class BookTickerEvent(msgspec.Struct, frozen=True, gc=False):
    """`<symbol>@bookTicker`: best bid and ask; an empty side shows "0"."""

    update_id: int = msgspec.field(name="u")
    symbol: str = msgspec.field(name="s")
    bid_price: str = msgspec.field(name="b")
    bid_quantity: str = msgspec.field(name="B")
    ask_price: str = msgspec.field(name="a")
    ask_quantity: str = msgspec.field(name="A")


def book_ticker_event(wire_symbol: str, ticker: BookTicker) -> BookTickerEvent:
    def text(value: Decimal | None) -> str:
        return _ZERO if value is None else fixed(value)

    return BookTickerEvent(
        ticker.update_id, wire_symbol, text(ticker.bid_price), text(ticker.bid_quantity),
        text(ticker.ask_price), text(ticker.ask_quantity),
    )  # fmt: skip


class KlineBody(msgspec.Struct, frozen=True, gc=False):
    """The candle of a kline event: `f`/`L` its first and last trade ids (-1 if nothing
    traded), `V`/`Q` what takers bought in it (base and quote asset)."""

    open_ms: int = msgspec.field(name="t")
    close_ms: int = msgspec.field(name="T")
    symbol: str = msgspec.field(name="s")
    interval: str = msgspec.field(name="i")
    first_trade_id: int = msgspec.field(name="f")
    last_trade_id: int = msgspec.field(name="L")
    open: str = msgspec.field(name="o")
    close: str = msgspec.field(name="c")
    high: str = msgspec.field(name="h")
    low: str = msgspec.field(name="l")
    volume: str = msgspec.field(name="v")
    trades: int = msgspec.field(name="n")
    closed: bool = msgspec.field(name="x")
    quote_volume: str = msgspec.field(name="q")
    taker_buy_volume: str = msgspec.field(name="V")
    taker_buy_quote_volume: str = msgspec.field(name="Q")
    ignore: str = msgspec.field(name="B")


class KlineEvent(msgspec.Struct, frozen=True, gc=False):
    """`<symbol>@kline_<interval>`."""

    event_type: str = msgspec.field(name="e")
    event_ms: int = msgspec.field(name="E")
    symbol: str = msgspec.field(name="s")
    kline: KlineBody = msgspec.field(name="k")


def kline_event(
    wire_symbol: str, interval: str, kline: Kline, closed: bool, event_ms: int
) -> KlineEvent:
    body = KlineBody(
        kline.open_ms, kline.close_ms, wire_symbol, interval, kline.first_trade_id,
        kline.last_trade_id, fixed(kline.open), fixed(kline.close), fixed(kline.high),
        fixed(kline.low), fixed(kline.volume), kline.trades, closed,
        fixed(kline.quote_volume), fixed(kline.taker_buy_volume),
        fixed(kline.taker_buy_quote_volume), "0",
    )  # fmt: skip
    return KlineEvent("kline", event_ms, wire_symbol, body)


class ExecutionReport(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """User data stream: one change of one order (Binance `executionReport`)."""

    event_type: str = msgspec.field(name="e")
    event_ms: int = msgspec.field(name="E")
    symbol: str = msgspec.field(name="s")
    client_order_id: str = msgspec.field(name="c")
    side: str = msgspec.field(name="S")
    order_type: str = msgspec.field(name="o")
    time_in_force: str = msgspec.field(name="f")
    quantity: str = msgspec.field(name="q")
    price: str = msgspec.field(name="p")
    stop_price: str = msgspec.field(name="P")
    iceberg_quantity: str = msgspec.field(name="F")
    order_list_id: int = msgspec.field(name="g")
    original_client_order_id: str = msgspec.field(name="C")
    execution_type: str = msgspec.field(name="x")
    status: str = msgspec.field(name="X")
    reject_reason: str = msgspec.field(name="r")
    order_id: int = msgspec.field(name="i")
    last_quantity: str = msgspec.field(name="l")
    executed_quantity: str = msgspec.field(name="z")
    last_price: str = msgspec.field(name="L")
    commission: str = msgspec.field(name="n")
    commission_asset: str | None = msgspec.field(name="N")
    transaction_ms: int = msgspec.field(name="T")
    trade_id: int = msgspec.field(name="t")
    execution_id: int = msgspec.field(name="I")
    is_working: bool = msgspec.field(name="w")
    is_maker: bool = msgspec.field(name="m")
    ignore: bool = msgspec.field(name="M")
    created_ms: int = msgspec.field(name="O")
    cumulative_quote: str = msgspec.field(name="Z")
    last_quote: str = msgspec.field(name="Y")
    quote_order_quantity: str = msgspec.field(name="Q")
    self_trade_prevention: str = msgspec.field(name="V")
    working_ms: int | None = msgspec.field(default=None, name="W")


def execution_report(wire_symbol: str, update: OrderUpdate, execution_id: int) -> ExecutionReport:
    """The executionReport of `update`; `execution_id` is Binance's `I` (any unique int).

    A stop order's reports carry its stop price `P` and, until it is triggered, `w`
    false and no `W`; an OCO leg's carry the list's id in `g`.
    """
    order, trade = update.order, update.trade
    rests = (
        order.order_type is OrderType.LIMIT
        and order.time_in_force in (TimeInForce.GTC, TimeInForce.GTX)
        and order.is_working
    )
    working = rests and update.status in (
        MatchingOrderStatus.NEW,
        MatchingOrderStatus.PARTIALLY_FILLED,
    )
    if trade is None:
        last_quantity = last_price = last_quote = _ZERO
        commission, commission_asset = _NO_COMMISSION, None
        transaction_ms, trade_id, is_maker = update.ts_ms, -1, False
    else:
        last_quantity = fixed(trade.quantity)
        last_price = fixed(trade.price)
        last_quote = fixed(trade.quote_quantity)
        fee, commission_asset = trade.fee_for(update.account_id)
        commission = commission_amount(fee)
        transaction_ms, trade_id = trade.time_ms, trade.trade_id
        is_maker = trade.maker_order_id == order.order_id
    canceled = update.execution_type == "CANCELED"
    return ExecutionReport(
        event_type="executionReport",
        event_ms=update.ts_ms,
        symbol=wire_symbol,
        client_order_id=order.client_order_id,
        side=order.side.value,
        order_type=wire_order_type(order),
        time_in_force=wire_time_in_force(order),
        quantity=fixed(order.quantity),
        price=fixed(order.price),
        stop_price=fixed(order.stop_price),
        iceberg_quantity=_ZERO,
        order_list_id=order.order_list_id,
        original_client_order_id=order.client_order_id if canceled else "",
        execution_type=update.execution_type,
        status=update.status.value,
        reject_reason="NONE",
        order_id=order.order_id,
        last_quantity=last_quantity,
        executed_quantity=fixed(update.executed_quantity),
        last_price=last_price,
        commission=commission,
        commission_asset=commission_asset,
        transaction_ms=transaction_ms,
        trade_id=trade_id,
        execution_id=execution_id,
        is_working=working,
        is_maker=is_maker,
        ignore=True,
        created_ms=order.created_ms,
        cumulative_quote=fixed(update.cumulative_quote),
        last_quote=last_quote,
        quote_order_quantity=fixed(order.quote_order_quantity),
        self_trade_prevention=SELF_TRADE_PREVENTION,
        working_ms=order.working_ms if rests else None,
    )


class ListStatusOrder(msgspec.Struct, frozen=True, gc=False):
    symbol: str = msgspec.field(name="s")
    order_id: int = msgspec.field(name="i")
    client_order_id: str = msgspec.field(name="c")


class ListStatusEvent(msgspec.Struct, frozen=True, gc=False):
    """User data stream: an order list (OCO) changed status (Binance `listStatus`)."""

    event_type: str = msgspec.field(name="e")
    event_ms: int = msgspec.field(name="E")
    symbol: str = msgspec.field(name="s")
    order_list_id: int = msgspec.field(name="g")
    contingency_type: str = msgspec.field(name="c")
    list_status_type: str = msgspec.field(name="l")
    list_order_status: str = msgspec.field(name="L")
    reject_reason: str = msgspec.field(name="r")
    list_client_order_id: str = msgspec.field(name="C")
    transaction_ms: int = msgspec.field(name="T")
    orders: list[ListStatusOrder] = msgspec.field(name="O")


def list_status_event(
    wire_symbol: str, order_list: OrderListSnapshot, event_ms: int
) -> ListStatusEvent:
    orders = [
        ListStatusOrder(wire_symbol, o.order_id, o.client_order_id) for o in order_list.orders
    ]
    return ListStatusEvent(
        "listStatus", event_ms, wire_symbol, order_list.order_list_id,
        order_list.contingency_type, order_list.list_status_type,
        order_list.list_order_status, "NONE", order_list.list_client_order_id,
        order_list.transaction_ms, orders,
    )  # fmt: skip


class AssetPosition(msgspec.Struct, frozen=True, gc=False):
    asset: str = msgspec.field(name="a")
    free: str = msgspec.field(name="f")
    locked: str = msgspec.field(name="l")


class AccountPositionEvent(msgspec.Struct, frozen=True, gc=False):
    """User data stream: the changed assets' balances (Binance `outboundAccountPosition`)."""

    event_type: str = msgspec.field(name="e")
    event_ms: int = msgspec.field(name="E")
    updated_ms: int = msgspec.field(name="u")
    balances: list[AssetPosition] = msgspec.field(name="B")


def account_position_event(
    balances: Iterable[BalanceSnapshot], updated_ms: int, event_ms: int
) -> AccountPositionEvent:
    positions = [
        AssetPosition(b.asset, free_amount(b.free), locked_amount(b.locked)) for b in balances
    ]
    return AccountPositionEvent("outboundAccountPosition", event_ms, updated_ms, positions)


class ListenKeyExpiredEvent(msgspec.Struct, frozen=True, gc=False):
    """User data stream: the listen key expired or was closed; no more events follow."""

    event_type: str = msgspec.field(name="e")
    event_ms: int = msgspec.field(name="E")
    listen_key: str = msgspec.field(name="listenKey")


def listen_key_expired_event(listen_key: str, event_ms: int) -> ListenKeyExpiredEvent:
    return ListenKeyExpiredEvent("listenKeyExpired", event_ms, listen_key)
