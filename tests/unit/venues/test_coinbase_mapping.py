"""What the coinbase profile makes of ccxt's `coinbase`: how an order goes out, and how
Coinbase's refusals that ccxt leaves unclassified read (no network: ccxt-shaped values)."""

from __future__ import annotations

from decimal import Decimal

import ccxt.async_support as ccxt  # type: ignore[import-untyped]

from tradewind.domain.model import OrderType, Side
from tradewind.errors import OrderRejectedByVenue, UnknownOrder, VenueError
from tradewind.venues import ccxt_mapping as m
from tradewind.venues.binance import PROFILE as BINANCE
from tradewind.venues.coinbase import PROFILE as COINBASE
from tradewind.venues.port import OrderRequest

D = Decimal


def order(order_type: OrderType, side: Side = Side.BUY) -> OrderRequest:
    price = D("30000.01") if order_type is OrderType.LIMIT else None
    return OrderRequest(
        client_order_id="cid-1",
        symbol="BTC/USD",
        side=side,
        order_type=order_type,
        quantity=D("0.001"),
        price=price,
    )


def test_the_client_order_id_goes_as_coinbases_own_field() -> None:
    *_, params = m.order_arguments(order(OrderType.LIMIT), profile=COINBASE)
    assert params == {"client_order_id": "cid-1", "timeInForce": "GTC"}
    *_, params = m.order_arguments(order(OrderType.LIMIT), profile=BINANCE)
    assert params["clientOrderId"] == "cid-1"


def test_a_market_buy_on_coinbase_is_of_its_exact_base_size() -> None:
    kind, side, amount, price, params = m.order_arguments(order(OrderType.MARKET), profile=COINBASE)
    assert (kind, side, amount, price) == ("market", "buy", "0.001", None)
    assert params["order_configuration"] == {"market_market_ioc": {"base_size": "0.001"}}
    assert params["createMarketBuyOrderRequiresPrice"] is False
    sell = m.order_arguments(order(OrderType.MARKET, Side.SELL), profile=COINBASE)
    assert sell[3] is None and "order_configuration" not in sell[4]  # ccxt sends base_size
    binance = m.order_arguments(order(OrderType.MARKET), profile=BINANCE)
    assert binance[3] is None and "order_configuration" not in binance[4]


def test_coinbases_unmapped_refusals_are_told_apart_by_the_profile() -> None:
    not_found = ccxt.ExchangeError(
        'coinbase {"error":"NOT_FOUND","message":"order with this orderID was not found"}'
    )
    assert isinstance(m.venue_error_from_ccxt("cb", not_found, profile=COINBASE), UnknownOrder)
    refused = ccxt.ExchangeError(
        'coinbase {"success":false,"error_response":{"error":"INVALID_LIMIT_PRICE_POST_ONLY",'
        '"new_order_failure_reason":"INVALID_LIMIT_PRICE_POST_ONLY"}}'
    )
    placing = m.venue_error_from_ccxt("cb", refused, profile=COINBASE, placing_order=True)
    assert isinstance(placing, OrderRejectedByVenue)
    later = m.venue_error_from_ccxt("cb", refused, profile=COINBASE)
    assert type(later) is VenueError  # only a placement's refusal rejects the order


def test_an_order_of_the_user_channel_spelling_its_type_capitalised_is_a_market_order() -> None:
    ws_order = {
        "id": "o-1", "clientOrderId": "cid-1", "symbol": "BTC/USD", "side": "buy",
        "type": "Market", "status": "closed", "amount": 0.001, "filled": 0.001,
        "average": 30000.5, "info": {"status": "FILLED", "avg_price": "30000.5"},
    }  # fmt: skip
    report = m.order_from_ccxt(ws_order, profile=COINBASE)
    assert report.order_type is OrderType.MARKET and report.average_price == D("30000.5")


def test_a_user_channel_update_carries_no_fills_its_executions_are_read_apart() -> None:
    """Coinbase's `user` channel says what an order's fills add up to, not any one of
    them (no trade id): the update carries none (none made up from the totals), and the
    order misses what it shows filled, for `fetch_my_fills` to read."""
    info = {
        "order_id": "o-1", "client_order_id": "cid-1", "cumulative_quantity": "0.002",
        "leaves_quantity": "0", "avg_price": "30000.5", "total_fees": "0.12",
        "status": "FILLED", "product_id": "BTC-USD", "order_side": "BUY",
        "order_type": "Limit", "limit_price": "30000.5", "filled_value": "60.001",
        "number_of_fills": "2",
    }  # fmt: skip
    ws_order = {
        "id": "o-1", "clientOrderId": "cid-1", "symbol": "BTC/USD", "side": "buy",
        "type": "Limit", "status": "closed", "amount": 0.002, "filled": 0.002,
        "average": 30000.5, "price": 30000.5, "trades": None, "info": info,
    }  # fmt: skip
    assert COINBASE.stream_fill is None
    report = m.order_from_stream(ws_order, profile=COINBASE)
    assert report.filled_quantity == D("0.002") and report.fills == ()
    # Binance's reader finds no executionReport in it either.
    assert m.order_from_stream(ws_order, profile=BINANCE).fills == ()
