"""Trading on the simulated venue over Binance's REST API: placing, filling, querying and
cancelling orders, and every refusal a client must handle."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.venues.sim_rest_support import (
    BinanceClient,
    binance_error,
    open_account,
    running_venue,
)

FAR_BELOW = "20000.00"  # a BTCUSDT bid that rests (the synthetic market is near 30000)


@pytest.fixture(scope="module")
def venue_url() -> Iterator[str]:
    with running_venue() as (url, _):
        yield url


@pytest.fixture
def client(venue_url: str) -> Iterator[BinanceClient]:
    client = BinanceClient(venue_url, open_account(venue_url, {"USDT": "10000", "BTC": "0.5"}))
    yield client
    client.close()


def resting_buy(client: BinanceClient, **extra: str) -> dict[str, Any]:
    response = client.order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.001",
        price=FAR_BELOW, **extra,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def balances(client: BinanceClient) -> dict[str, tuple[Decimal, Decimal]]:
    account = client.signed("GET", "/api/v3/account").json()
    return {b["asset"]: (Decimal(b["free"]), Decimal(b["locked"])) for b in account["balances"]}


def test_limit_order_rests_locks_funds_and_is_found_by_either_id(client: BinanceClient) -> None:
    placed = resting_buy(client, newClientOrderId="rest-1")
    assert placed["status"] == "NEW" and placed["clientOrderId"] == "rest-1"
    assert placed["price"] == "20000.00000000" and placed["fills"] == []
    assert balances(client)["USDT"] == (Decimal("9980"), Decimal("20"))
    by_id = client.signed(
        "GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]}
    )
    by_client_id = client.signed(
        "GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "rest-1"}
    )
    assert by_id.json() == by_client_id.json()
    assert by_id.json()["isWorking"] is True
    open_orders = client.signed("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"}).json()
    assert [o["orderId"] for o in open_orders] == [placed["orderId"]]


def test_cancel_by_client_order_id_frees_funds_and_names_both_ids(client: BinanceClient) -> None:
    resting_buy(client, newClientOrderId="to-cancel")
    canceled = client.signed(
        "DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "to-cancel"}
    )
    body = canceled.json()
    assert body["status"] == "CANCELED"
    assert body["origClientOrderId"] == "to-cancel" and body["clientOrderId"] != "to-cancel"
    assert balances(client)["USDT"] == (Decimal("10000"), Decimal("0"))
    again = client.signed(
        "DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "to-cancel"}
    )
    assert binance_error(again) == (400, -2011, "Unknown order sent.")


def test_market_buy_fills_and_shows_in_my_trades_and_balances(client: BinanceClient) -> None:
    response = client.order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
    order = response.json()
    assert order["status"] == "FILLED" and order["type"] == "MARKET"
    fills = order["fills"]
    assert sum(Decimal(f["qty"]) for f in fills) == Decimal("0.01")
    assert {f["commissionAsset"] for f in fills} == {"BTC"}
    fee = sum(Decimal(f["commission"]) for f in fills)
    assert fee == Decimal("0.00001")  # 0.1 % of what was bought
    trades = client.signed("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT"}).json()
    assert {t["orderId"] for t in trades} == {order["orderId"]}
    assert all(t["isBuyer"] and not t["isMaker"] for t in trades)
    assert [t["id"] for t in trades] == [f["tradeId"] for f in fills]
    spent = Decimal(order["cummulativeQuoteQty"])
    held = balances(client)
    assert held["BTC"] == (Decimal("0.5") + Decimal("0.01") - fee, Decimal(0))
    assert held["USDT"] == (Decimal("10000") - spent, Decimal(0))


def test_the_account_update_time_is_its_last_balance_change(client: BinanceClient) -> None:
    """Binance's `updateTime`: when the balances last changed, not when they were read;
    every trade at or before it is in them (the platform's books rely on it)."""
    opened = client.signed("GET", "/api/v3/account").json()["updateTime"]
    assert client.signed("GET", "/api/v3/account").json()["updateTime"] == opened
    order = client.order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01").json()
    trades = client.signed("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT"}).json()
    changed = client.signed("GET", "/api/v3/account").json()["updateTime"]
    assert changed == max(t["time"] for t in trades) == order["transactTime"] >= opened
    assert client.signed("GET", "/api/v3/account").json()["updateTime"] == changed


def test_market_order_by_quote_amount_spends_at_most_that_amount(client: BinanceClient) -> None:
    response = client.order(symbol="BTCUSDT", side="BUY", type="MARKET", quoteOrderQty="100")
    order = response.json()
    assert order["origQuoteOrderQty"] == "100.00000000"
    assert Decimal("99") < Decimal(order["cummulativeQuoteQty"]) <= Decimal("100")


def test_marketable_limit_sell_takes_liquidity_immediately(client: BinanceClient) -> None:
    response = client.order(
        symbol="BTCUSDT", side="SELL", type="LIMIT", timeInForce="IOC", quantity="0.002",
        price="25000.00", newOrderRespType="RESULT",
    )  # fmt: skip
    order = response.json()
    assert order["status"] == "FILLED" and order["timeInForce"] == "IOC"
    assert "fills" not in order
    assert Decimal(order["cummulativeQuoteQty"]) > Decimal("50")  # sold near 30000, not 25000


def test_ack_response_carries_only_the_identifiers(client: BinanceClient) -> None:
    placed = resting_buy(client, newOrderRespType="ACK")
    assert set(placed) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}


def test_order_counts_are_reported_on_new_orders(client: BinanceClient) -> None:
    response = client.order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.001",
        price=FAR_BELOW,
    )  # fmt: skip
    assert int(response.headers["X-MBX-ORDER-COUNT-10S"]) == 1
    assert int(response.headers["X-MBX-ORDER-COUNT-1D"]) == 1
    assert int(response.headers["X-MBX-USED-WEIGHT-1M"]) >= 1


@pytest.mark.parametrize(
    ("quantity", "price", "message"),
    [
        ("0.001", "20000.001", "Filter failure: PRICE_FILTER"),
        ("0.0000001", FAR_BELOW, "Filter failure: LOT_SIZE"),
        ("0.0001", FAR_BELOW, "Filter failure: NOTIONAL"),
        ("0.001", "1000000.01", "Filter failure: PRICE_FILTER"),  # maxPrice 1000000
        ("10", "999999.99", "Filter failure: NOTIONAL"),  # maxNotional 9000000
    ],
    ids=[
        "price-off-tick",
        "quantity-off-step",
        "notional-too-small",
        "price-above-max",
        "notional-above-max",
    ],
)
def test_orders_breaking_a_filter_are_refused(
    client: BinanceClient, quantity: str, price: str, message: str
) -> None:
    response = client.order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity=quantity,
        price=price,
    )  # fmt: skip
    assert binance_error(response) == (400, -1013, message)


def test_order_beyond_the_balance_is_refused(client: BinanceClient) -> None:
    response = client.order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="1",
        price=FAR_BELOW,
    )  # fmt: skip
    assert binance_error(response) == (
        400,
        -2010,
        "Account has insufficient balance for requested action.",
    )


def test_limit_maker_that_would_take_is_refused(client: BinanceClient) -> None:
    response = client.order(
        symbol="BTCUSDT", side="BUY", type="LIMIT_MAKER", quantity="0.001", price="40000.00"
    )
    assert binance_error(response) == (400, -2010, "Order would immediately match and take.")


def test_reused_client_order_id_is_a_duplicate(client: BinanceClient) -> None:
    resting_buy(client, newClientOrderId="once")
    again = client.order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.001",
        price=FAR_BELOW, newClientOrderId="once",
    )  # fmt: skip
    assert binance_error(again) == (400, -2010, "Duplicate order sent.")


def test_unknown_orders_cannot_be_queried_or_cancelled(client: BinanceClient) -> None:
    query = client.signed("GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": 999_999})
    assert binance_error(query) == (400, -2013, "Order does not exist.")
    cancel = client.signed("DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": 999_999})
    assert binance_error(cancel) == (400, -2011, "Unknown order sent.")
    neither = client.signed("GET", "/api/v3/order", {"symbol": "BTCUSDT"})
    assert binance_error(neither) == (
        400,
        -1102,
        "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
    )


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        (
            {"type": "LIMIT", "quantity": "0.001", "price": FAR_BELOW},
            -1102,
            "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
        ),
        (
            {"type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001"},
            -1102,
            "Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
        ),
        (
            {"type": "MARKET"},
            -1102,
            "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
        ),
        (
            {"type": "MARKET", "quantity": "0.001", "price": FAR_BELOW},
            -1106,
            "Parameter 'price' sent when not required.",
        ),
        (
            {"type": "STOP_LOSS", "quantity": "0.001"},
            -1102,
            "Mandatory parameter 'stopPrice' was not sent, was empty/null, or malformed.",
        ),
        (
            {"type": "STOP_LOSS_LIMIT", "quantity": "0.001", "stopPrice": "40000", "price": "1"},
            -1102,
            "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
        ),
        (
            {"type": "TAKE_PROFIT", "quantity": "0.001", "trailingDelta": "100"},
            -2010,
            "Trailing stop orders are not supported for this symbol.",
        ),
        (
            {
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.001",
                "price": FAR_BELOW,
                "stopPrice": "1",
            },
            -1106,
            "Parameter 'stopPrice' sent when not required.",
        ),
        ({"type": "TRAILING_STOP_MARKET", "quantity": "0.001"}, -1116, "Invalid orderType."),
        (
            {"type": "LIMIT", "timeInForce": "GTD", "quantity": "0.001", "price": FAR_BELOW},
            -1115,
            "Invalid timeInForce.",
        ),
        (
            {"type": "MARKET", "quantity": "1e-3"},
            -1100,
            "Illegal characters found in parameter 'quantity'; legal range is "
            "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
        ),
    ],
    ids=[
        "no-tif",
        "no-price",
        "no-quantity",
        "price-on-market",
        "stop-without-stop-price",
        "stop-limit-without-tif",
        "trailing-delta",
        "stop-price-on-limit",
        "unknown-type",
        "gtd",
        "exponent",
    ],
)
def test_malformed_orders_are_refused_before_reaching_the_engine(
    client: BinanceClient, params: dict[str, str], code: int, message: str
) -> None:
    response = client.order(symbol="BTCUSDT", side="BUY", **params)
    assert binance_error(response) == (400, code, message)


def test_invalid_side_and_symbol_are_refused(client: BinanceClient) -> None:
    side = client.order(symbol="BTCUSDT", side="HOLD", type="MARKET", quantity="0.001")
    assert binance_error(side) == (400, -1117, "Invalid side.")
    symbol = client.order(symbol="BTCEUR", side="BUY", type="MARKET", quantity="0.001")
    assert binance_error(symbol) == (400, -1121, "Invalid symbol.")


def test_test_order_validates_without_placing(client: BinanceClient) -> None:
    fine = client.signed(
        "POST", "/api/v3/order/test",
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
         "quantity": "0.001", "price": FAR_BELOW},
    )  # fmt: skip
    assert fine.json() == {}
    assert client.signed("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"}).json() == []
    off_step = client.signed(
        "POST", "/api/v3/order/test",
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.0000001"},
    )  # fmt: skip
    assert binance_error(off_step) == (400, -1013, "Filter failure: LOT_SIZE")


def test_cancel_all_open_orders_then_none_are_left(client: BinanceClient) -> None:
    first, second = resting_buy(client), resting_buy(client)
    canceled = client.signed("DELETE", "/api/v3/openOrders", {"symbol": "BTCUSDT"}).json()
    assert sorted(o["orderId"] for o in canceled) == sorted([first["orderId"], second["orderId"]])
    assert all(o["status"] == "CANCELED" for o in canceled)
    nothing = client.signed("DELETE", "/api/v3/openOrders", {"symbol": "BTCUSDT"})
    assert binance_error(nothing) == (400, -2011, "Unknown order sent.")


def test_all_orders_lists_open_filled_and_cancelled_orders(client: BinanceClient) -> None:
    resting = resting_buy(client)
    filled = client.order(symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.001").json()
    client.signed("DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": resting["orderId"]})
    orders = client.signed("GET", "/api/v3/allOrders", {"symbol": "BTCUSDT"}).json()
    assert [(o["orderId"], o["status"]) for o in orders] == [
        (resting["orderId"], "CANCELED"),
        (filled["orderId"], "FILLED"),
    ]


def test_user_data_stream_listen_key_lifecycle(client: BinanceClient) -> None:
    assert client.account is not None
    headers = {"X-MBX-APIKEY": client.account.api_key}
    key = client.http.post("/api/v3/userDataStream", headers=headers).json()["listenKey"]
    assert client.http.post("/api/v3/userDataStream", headers=headers).json() == {"listenKey": key}
    kept = client.http.put("/api/v3/userDataStream", params={"listenKey": key}, headers=headers)
    assert kept.json() == {}
    closed = client.http.request(
        "DELETE", "/api/v3/userDataStream", content=f"listenKey={key}", headers=headers
    )
    assert closed.json() == {}
    gone = client.http.put("/api/v3/userDataStream", params={"listenKey": key}, headers=headers)
    assert binance_error(gone) == (400, -1125, "This listenKey does not exist.")
