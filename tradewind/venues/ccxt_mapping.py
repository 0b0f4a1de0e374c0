"""Pure translations between ccxt's unified structures and the venue port's types.

No I/O here: `ccxt_venue.CcxtVenue` calls ccxt and hands the dicts it gets to these
functions, and the unit tests feed them ccxt-shaped dicts directly.

Money stays exact. ccxt parses the exchange's decimal strings into floats; a float read
from a decimal string of at most 15 significant digits prints back (`repr`) as that same
string, so `to_decimal` recovers it exactly. Where the raw exchange payload (`info`)
still holds the original string for a field, `exact` prefers it, after checking that it
is the very number ccxt reported, so a differently meant raw field can never leak in.
Which raw fields those are is the venue's (`VenueProfile.raw_fields`); a venue without
them (the generic profile) is read from ccxt's unified fields alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp
import ccxt.async_support as ccxt  # type: ignore[import-untyped]
import msgspec

from tradewind.domain.exact import EXACT
from tradewind.domain.model import Liquidity, OrderType, Side, TimeInForce
from tradewind.errors import (
    AuthenticationFailed,
    DuplicateClientOrderId,
    InsufficientFunds,
    OrderRejectedByVenue,
    RateLimited,
    UnknownOrder,
    VenueError,
    VenueUnavailable,
    VenueUnreached,
)
from tradewind.security.transport import describe_tls_error
from tradewind.venues.port import (
    Balance,
    Balances,
    BookSnapshot,
    Candle,
    Market,
    OrderRequest,
    PublicTrade,
    VenueFill,
    VenueOrder,
    VenueOrderStatus,
)
from tradewind.venues.profile import Refusal, VenueProfile

CcxtDict = Mapping[str, Any]

# ccxt.base.decimal_to_precision constants, as exchanges report them in `precisionMode`.
DECIMAL_PLACES = 2
SIGNIFICANT_DIGITS = 3
TICK_SIZE = 4

DEFAULT_RETRY_AFTER_S = 5.0
"""Wait this long after a rate-limit refusal that carried no `Retry-After` header."""

_ZERO = Decimal(0)
_MAX_MESSAGE = 500
_TIME_IN_FORCE = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}
_UNIFIED_STATUS = {
    "closed": VenueOrderStatus.FILLED,
    "canceled": VenueOrderStatus.CANCELED,
    "expired": VenueOrderStatus.EXPIRED,
    "rejected": VenueOrderStatus.REJECTED,
}


# -- numbers --------------------------------------------------------------------------


def to_decimal(value: Any) -> Decimal | None:
    """A ccxt number (float, int or numeric string) as a Decimal; None for None/''/NaN."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def exact(unified: Any, *raw_candidates: Any) -> Decimal | None:
    """`unified` (ccxt's parsed value) as a Decimal, taken from the first raw string that
    denotes the same number, so digits beyond a float's precision survive."""
    value = to_decimal(unified)
    if value is None:
        return None
    raw = _same_raw(value, raw_candidates)
    return value if raw is None else raw


def _same_raw(value: Decimal, raw_candidates: Iterable[Any]) -> Decimal | None:
    """The first raw string among `raw_candidates` that denotes `value` as a float does."""
    for raw in raw_candidates:
        candidate = to_decimal(raw) if isinstance(raw, str) else None
        if candidate is not None and float(candidate) == float(value):
            return candidate
    return None


def decimal_to_ccxt(value: Decimal) -> str:
    """A plain decimal string (never exponent notation) that ccxt accepts for amounts."""
    return format(value, "f")


def _info(item: CcxtDict) -> CcxtDict:
    info = item.get("info")
    return info if isinstance(info, Mapping) else {}


# -- markets --------------------------------------------------------------------------


def market_from_ccxt(market: CcxtDict, precision_mode: int) -> Market:
    """A ccxt market as the port's `Market`; tick and step come from `precision`, read as
    a tick (TICK_SIZE) or as a number of decimals (DECIMAL_PLACES)."""
    symbol = market["symbol"]
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    tick = _increment(precision.get("price"), precision_mode, symbol, "price")
    step = _increment(precision.get("amount"), precision_mode, symbol, "amount")
    min_quantity = to_decimal((limits.get("amount") or {}).get("min"))
    min_notional = to_decimal((limits.get("cost") or {}).get("min"))
    return Market(
        symbol=symbol,
        base=market["base"],
        quote=market["quote"],
        tick_size=tick,
        step_size=step,
        min_quantity=min_quantity if min_quantity else step,
        min_notional=min_notional or _ZERO,
        taker_fee=to_decimal(market.get("taker")),
    )


def _increment(precision: Any, mode: int, symbol: str, what: str) -> Decimal:
    value = to_decimal(precision)
    if value is None:
        raise ValueError(f"{symbol}: the venue reports no {what} precision")
    if mode == TICK_SIZE:
        return value
    if mode == DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(value))
    raise ValueError(
        f"{symbol}: precision mode {mode} (significant digits) has no fixed {what} increment"
    )


def is_tradable_spot(market: CcxtDict) -> bool:
    return bool(market.get("spot")) and market.get("active") is not False


# -- orders ---------------------------------------------------------------------------


def order_arguments(
    request: OrderRequest,
    *,
    profile: VenueProfile | None = None,
) -> tuple[str, str, str, str | None, dict[str, Any]]:
    """`(type, side, amount, price, params)` for ccxt's `create_order`, the client order
    id under the profile's `client_order_id_param`. A market order gets no price (ccxt
    would turn amount x price into a quote-quantity order, whose fills need not add up
    to the quantity); a market buy gets the profile's `market_buy_params`, if any."""
    param = "clientOrderId" if profile is None else profile.client_order_id_param
    params: dict[str, Any] = {param: request.client_order_id}
    price = None
    amount = decimal_to_ccxt(request.quantity)
    buying_at_market = request.order_type is OrderType.MARKET and request.side is Side.BUY
    if buying_at_market and profile is not None and profile.market_buy_params is not None:
        params.update(profile.market_buy_params(amount))
    if request.order_type is OrderType.LIMIT:
        if request.price is None:
            raise ValueError(f"{request.client_order_id}: a limit order needs a price")
        price = decimal_to_ccxt(request.price)
        if request.time_in_force is TimeInForce.GTX:
            params["postOnly"] = True
        else:
            params["timeInForce"] = request.time_in_force.value
    return (
        request.order_type.value.lower(),
        request.side.value.lower(),
        amount,
        price,
        params,
    )


def _raw(info: CcxtDict, profile: VenueProfile, name: str) -> list[Any]:
    """The raw payload's values of the field `name`, in the profile's order."""
    return [info.get(key) for key in profile.raw(name)]


def order_from_ccxt(
    order: CcxtDict, *, profile: VenueProfile, with_fills: bool = False
) -> VenueOrder:
    """A ccxt order (REST answer or `watch_orders` update) as a `VenueOrder`; with
    `with_fills`, the executions the answer carries too (`placement_fills`)."""
    info = _info(order)
    # ccxt passes some venues' own spelling through (Coinbase's user channel: "Market").
    kind = str(order.get("type") or "").lower()
    order_type = OrderType.MARKET if kind == "market" else OrderType.LIMIT
    quantity = exact(order.get("amount"), *_raw(info, profile, "order.quantity")) or _ZERO
    filled = exact(order.get("filled"), *_raw(info, profile, "order.filled")) or _ZERO
    cost = exact(order.get("cost"), *_raw(info, profile, "order.cost"))
    price = exact(order.get("price"), *_raw(info, profile, "order.price"))
    # The venue's own exact average where it sends one (Coinbase's average_filled_price),
    # else what the fills cost over what filled.
    reported = to_decimal(order.get("average"))
    raw_average = _raw(info, profile, "order.average")
    average = None if reported is None else _same_raw(reported, raw_average)
    if average is None:
        average = cost / filled if filled and cost else reported
    # Where the venue answers a cancel with the order's own client id in a raw field.
    own_id = next(filter(None, _raw(info, profile, "order.client_order_id")), None)
    client_order_id = own_id or order.get("clientOrderId") or ""
    updated = order.get("lastUpdateTimestamp") or order.get("lastTradeTimestamp")
    report = VenueOrder(
        client_order_id=str(client_order_id),
        venue_order_id=str(order.get("id") or ""),
        symbol=order["symbol"],
        side=Side(str(order["side"]).upper()),
        order_type=order_type,
        time_in_force=_time_in_force(order, order_type),
        status=order_status(order, filled, profile),
        quantity=quantity,
        filled_quantity=filled,
        price=price if order_type is OrderType.LIMIT and price else None,
        average_price=average or None,
        updated_ms=int(updated or order.get("timestamp") or 0),
    )
    if not with_fills:
        return report
    fills = placement_fills(order, report, profile)
    return msgspec.structs.replace(report, fills=fills) if fills else report


def placement_fills(
    order: CcxtDict, report: VenueOrder, profile: VenueProfile
) -> tuple[VenueFill, ...]:
    """The executions a placement's answer carries (ccxt's `trades` of the order: Binance's
    `newOrderRespType=FULL` fills), as fills of `report`'s order: each with its trade id,
    exact price, quantity and fee, taker (it executed as the order arrived), at the
    order's time, moving the quote the venue's rounding gives (`VenueProfile.quote_of`;
    None where unknown). Empty if the answer carries none, or one without a trade id
    (then they are read apart, as before)."""
    trades = order.get("trades") or ()
    fills: list[VenueFill] = []
    for trade in trades:
        if not isinstance(trade, Mapping) or not trade.get("id"):
            return ()
        price, quantity, fee, fee_asset = _fill_amounts(trade, profile)
        fills.append(
            VenueFill(
                trade_id=str(trade["id"]),
                venue_order_id=report.venue_order_id,
                client_order_id=report.client_order_id,
                symbol=report.symbol,
                side=report.side,
                price=price,
                quantity=quantity,
                quote_quantity=profile.quote_of(price, quantity),
                fee=fee,
                fee_asset=fee_asset,
                liquidity=Liquidity.TAKER,
                ts_ms=int(trade.get("timestamp") or order.get("timestamp") or report.updated_ms),
            )
        )
    return tuple(fills)


def order_from_stream(
    order: CcxtDict, *, profile: VenueProfile, currency_code: Callable[[str], str] = str
) -> VenueOrder:
    """A ccxt `watch_orders` update as a `VenueOrder`, carrying the executions it reports
    where the venue's stream says them (`stream_fills`)."""
    report = order_from_ccxt(order, profile=profile)
    fills = stream_fills(order, report, profile, currency_code)
    return msgspec.structs.replace(report, fills=fills) if fills else report


def stream_fills(
    order: CcxtDict,
    report: VenueOrder,
    profile: VenueProfile,
    currency_code: Callable[[str], str] = str,
) -> tuple[VenueFill, ...]:
    """The executions of `report`'s order that a `watch_orders` update tells, each read
    by the profile's `stream_fill` from a raw message: those of the trades ccxt kept with
    the order (`trades`, each with its message as `info`: every execution the stream
    reported since it first saw the order, so two that came between two reads of the
    stream are both here) and the update's own message (its latest execution, which may
    be the first the stream saw of the order). Each trade once, oldest first. The fee's
    asset is the venue's id put into ccxt's currency code (`currency_code`, as ccxt's
    trades name it). Empty without the hook or an execution: an update whose executed
    quantity they do not cover has the rest read apart (`Venue.fetch_my_fills`)."""
    read = profile.stream_fill
    if read is None:
        return ()
    messages = [_info(trade) for trade in order.get("trades") or () if isinstance(trade, Mapping)]
    messages.append(_info(order))
    fills: dict[str, VenueFill] = {}
    for message in messages:
        execution = read(message)
        if (
            execution is None
            or execution.trade_id in fills
            or execution.venue_order_id != report.venue_order_id
        ):
            continue
        quote = execution.quote_quantity
        fills[execution.trade_id] = VenueFill(
            trade_id=execution.trade_id,
            venue_order_id=report.venue_order_id,
            client_order_id=report.client_order_id,
            symbol=report.symbol,
            side=report.side,
            price=execution.price,
            quantity=execution.quantity,
            quote_quantity=profile.quote_of(execution.price, execution.quantity)
            if quote is None
            else quote,
            fee=execution.fee,
            fee_asset=currency_code(execution.fee_asset) if execution.fee_asset else "",
            liquidity=execution.liquidity,
            ts_ms=execution.ts_ms,
        )
    return tuple(fills.values())


def _time_in_force(order: CcxtDict, order_type: OrderType) -> TimeInForce:
    if order_type is OrderType.MARKET:
        return TimeInForce.IOC  # fills what it can at once, as the in-process venue reports
    if order.get("postOnly") or order.get("timeInForce") in ("PO", "GTX"):
        return TimeInForce.GTX
    return _TIME_IN_FORCE.get(str(order.get("timeInForce")), TimeInForce.GTC)


def order_status(order: CcxtDict, filled: Decimal, profile: VenueProfile) -> VenueOrderStatus:
    """The venue's own status from the raw payload when the profile knows it, else from
    ccxt's unified status; an open order is NEW or PARTIALLY_FILLED by what filled."""
    info = _info(order)
    raw = next(filter(None, (info.get(key) for key in profile.status_fields)), None)
    if isinstance(raw, str) and raw in profile.statuses:
        status = profile.statuses[raw]
    else:
        status = _UNIFIED_STATUS.get(str(order.get("status")))
    if status is not None:
        return status
    return VenueOrderStatus.PARTIALLY_FILLED if filled > 0 else VenueOrderStatus.NEW


# -- trades ---------------------------------------------------------------------------


def fill_from_ccxt(trade: CcxtDict, client_order_id: str, *, profile: VenueProfile) -> VenueFill:
    """One of the account's trades (ccxt `fetch_my_trades`) with the quote quantity the
    venue moved (`_quote_quantity`); ccxt's trades do not carry the client order id, so
    the caller looks it up by `trade['order']`."""
    price, quantity, fee, fee_asset = _fill_amounts(trade, profile)
    return VenueFill(
        trade_id=str(trade["id"]),
        venue_order_id=str(trade.get("order") or ""),
        client_order_id=client_order_id,
        symbol=trade["symbol"],
        side=Side(str(trade["side"]).upper()),
        price=price,
        quantity=quantity,
        quote_quantity=_quote_quantity(trade, price, quantity, profile),
        fee=fee,
        fee_asset=fee_asset,
        liquidity=Liquidity.MAKER if trade.get("takerOrMaker") == "maker" else Liquidity.TAKER,
        ts_ms=int(trade.get("timestamp") or 0),
    )


def _fill_amounts(trade: CcxtDict, profile: VenueProfile) -> tuple[Decimal, Decimal, Decimal, str]:
    """A ccxt trade's price, quantity and fee, exact (from the venue's raw strings where
    they are the same numbers), and the fee's asset."""
    info = _info(trade)
    price = _required(exact(trade.get("price"), *_raw(info, profile, "fill.price")), "price")
    quantity = _required(
        exact(trade.get("amount"), *_raw(info, profile, "fill.quantity")), "amount"
    )
    fee = trade.get("fee") or {}
    fee_cost = exact(fee.get("cost"), *_raw(info, profile, "fill.fee")) or _ZERO
    return price, quantity, fee_cost, str(fee.get("currency") or "")


def _quote_quantity(
    trade: CcxtDict, price: Decimal, quantity: Decimal, profile: VenueProfile
) -> Decimal | None:
    """The quote amount the venue moved for `trade` (ccxt's `cost`): the venue's raw
    string (Binance: `quoteQty` in REST, `Y` in an executionReport), when it is that
    number. Without one, a `cost` that is price x quantity as far as a float can tell
    stands for the product (ccxt computes `cost` so when the venue sends none): rounded
    as the venue rounds it (`quote_of`) where its fills never carry the amount (no raw
    field: Coinbase) and its profile knows the rounding, else exact; any other `cost` is
    the venue's own. None when ccxt has no `cost`."""
    cost = to_decimal(trade.get("cost"))
    if cost is None:
        return None
    info = _info(trade)
    raw = _same_raw(cost, _raw(info, profile, "fill.quote_quantity"))
    if raw is not None:
        return raw
    notional = EXACT.multiply(price, quantity)
    if float(notional) != float(cost):
        return cost
    rounded = None if profile.raw("fill.quote_quantity") else profile.quote_of(price, quantity)
    return notional if rounded is None else rounded


def public_trade_from_ccxt(trade: CcxtDict, *, profile: VenueProfile) -> PublicTrade:
    """A public trade; ccxt's `side` of a public trade is the taker's (the aggressor)."""
    info = _info(trade)
    price = exact(trade.get("price"), *_raw(info, profile, "trade.price"))
    quantity = exact(trade.get("amount"), *_raw(info, profile, "trade.quantity"))
    return PublicTrade(
        trade_id=str(trade["id"]),
        symbol=trade["symbol"],
        price=_required(price, "price"),
        quantity=_required(quantity, "amount"),
        aggressor=Side(str(trade["side"]).upper()),
        ts_ms=int(trade.get("timestamp") or 0),
    )


def _required(value: Decimal | None, field: str) -> Decimal:
    if value is None:
        raise ValueError(f"ccxt trade without {field}")
    return value


# -- books and balances ---------------------------------------------------------------


def candle_from_ccxt(row: Sequence[Any], venue: str) -> Candle:
    """A ccxt OHLCV row `[open ms, open, high, low, close, volume]`."""
    values = [to_decimal(v) for v in row[1:6]]
    if len(row) < 6 or any(v is None for v in values):
        raise VenueError(venue, f"a candle it sent is incomplete: {list(row)!r}")
    open_, high, low, close, volume = (v for v in values if v is not None)
    return Candle(open_ms=int(row[0]), open=open_, high=high, low=low, close=close, volume=volume)


def book_from_ccxt(book: CcxtDict, symbol: str, depth: int, now_ms: int) -> BookSnapshot:
    """The best `depth` levels of a ccxt order book (REST or the one `watch_order_book`
    keeps); `now_ms` stands in when the venue gave no timestamp."""
    return BookSnapshot(
        symbol=symbol,
        bids=_levels(book.get("bids") or (), depth),
        asks=_levels(book.get("asks") or (), depth),
        update_id=book.get("nonce"),
        ts_ms=int(book.get("timestamp") or now_ms),
    )


def _levels(side: Iterable[Any], depth: int) -> tuple[tuple[Decimal, Decimal], ...]:
    levels: list[tuple[Decimal, Decimal]] = []
    for level in side:
        if len(levels) == depth:
            break
        price, quantity = to_decimal(level[0]), to_decimal(level[1])
        if price is not None and quantity is not None:
            levels.append((price, quantity))
    return tuple(levels)


_BALANCE_KEYS = frozenset({"info", "free", "used", "total", "debt", "timestamp", "datetime"})


def balances_from_ccxt(balance: CcxtDict, *, profile: VenueProfile) -> Balances:
    """Per-asset free/locked from ccxt's `fetch_balance` (assets with nothing are left
    out), as of the venue's time of the account's last change where its raw payload has
    one (`balances.as_of`; ccxt's `timestamp` is not that on every exchange, so only the
    raw field counts). The raw rows (`balances.rows`: asset, free, locked) give exact
    amounts."""
    info = _info(balance)
    update_time = next(filter(None, _raw(info, profile, "balances.as_of")), None)
    as_of_ms = int(update_time) if isinstance(update_time, int | str) and update_time else None
    raw_rows = next(filter(None, _raw(info, profile, "balances.rows")), None)
    raw = (
        {r.get("asset"): r for r in raw_rows if isinstance(r, Mapping)}
        if isinstance(raw_rows, list)
        else {}
    )
    result = {}
    for asset, account in balance.items():
        if asset in _BALANCE_KEYS or not isinstance(account, Mapping):
            continue
        row = raw.get(asset, {})
        free = exact(account.get("free"), row.get("free")) or _ZERO
        locked = exact(account.get("used"), row.get("locked")) or _ZERO
        if free or locked:
            result[asset] = Balance(asset, free, locked)
    return Balances(result, as_of_ms=as_of_ms)


# -- errors ---------------------------------------------------------------------------


def venue_error_from_ccxt(
    venue: str,
    exc: Exception,
    *,
    profile: VenueProfile,
    placing_order: bool = False,
    retry_after_s: float | None = None,
    last_body: str | None = None,
    secret: str | None = None,
) -> VenueError:
    """The Tradewind error for a ccxt exception. With `placing_order`, a refusal ccxt only
    knows as a bad request (e.g. Binance -1013 NOTIONAL) is an `OrderRejectedByVenue`.
    `last_body` is the last HTTP body ccxt read (`exchange.last_http_response`): the
    profile's `error_code` may recover the venue's code from there. The
    message never contains `secret`."""
    message = _scrub(str(exc), secret) or type(exc).__name__
    code = profile.error_code(message, last_body)
    refusal = profile.refusal(code, message)
    if refusal is Refusal.DUPLICATE_CLIENT_ID:
        return DuplicateClientOrderId(venue, message, code)
    if isinstance(exc, ccxt.InsufficientFunds):
        return InsufficientFunds(venue, message, code)
    if isinstance(exc, ccxt.OrderNotFound) or refusal is Refusal.UNKNOWN_ORDER:
        return UnknownOrder(venue, message)
    if isinstance(exc, ccxt.InvalidOrder):
        return OrderRejectedByVenue(venue, message, code)
    if placing_order and refusal is Refusal.ORDER_REFUSED:
        return OrderRejectedByVenue(venue, message, code)
    if isinstance(exc, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
        wait = DEFAULT_RETRY_AFTER_S if retry_after_s is None else retry_after_s
        per_account = refusal is Refusal.ACCOUNT_RATE_LIMITED
        return RateLimited(venue, message, wait, per_account=per_account)
    if isinstance(exc, ccxt.InvalidNonce):
        return VenueUnavailable(venue, f"clock skew with the venue: {message}")
    if isinstance(exc, ccxt.AuthenticationError):
        return AuthenticationFailed(venue, message)
    if isinstance(exc, ccxt.OperationFailed):
        if never_written(exc):
            return VenueUnreached(venue, f"{message}: the request was never written")
        tls_problem = describe_tls_error(exc)  # ccxt keeps only the URL in its message
        if tls_problem is not None:
            message = f"{message}: {tls_problem}"
        return VenueUnavailable(venue, message)
    if placing_order and (isinstance(exc, ccxt.BadRequest) or code is not None):
        return OrderRejectedByVenue(venue, message, code)
    return VenueError(venue, message)


def never_written(exc: BaseException) -> bool:
    """Whether `exc` (or a cause, as ccxt raises its errors `from` aiohttp's) is aiohttp
    refusing to write a request on a connection already closing. aiohttp writes a request's
    head and body in one write, so that refusal means nothing of it left."""
    cause: BaseException | None = exc
    for _ in range(10):  # never round a cycle of causes
        if cause is None:
            return False
        if isinstance(cause, aiohttp.ClientConnectionResetError) and _CLOSING in str(cause):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


_CLOSING = "Cannot write to closing transport"


def retry_after_s(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds form); None when absent."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


def _scrub(message: str, secret: str | None) -> str:
    if secret:
        message = message.replace(secret, "***")
    return message if len(message) <= _MAX_MESSAGE else message[:_MAX_MESSAGE] + "…"
