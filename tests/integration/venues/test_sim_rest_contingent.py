"""Stop-loss / take-profit orders, OCO order lists and cancel-replace on the simulated
venue over Binance's REST API, with plain signed requests: what each response shows and
what the balances are after."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.venues.sim_contingent_support import book, last_price, still_venue
from tests.integration.venues.sim_rest_support import BinanceClient, binance_error, open_account
from tradewind.venues.simulated.server.state import ServerState

D = Decimal


@pytest.fixture(scope="module")
def venue() -> Iterator[tuple[str, ServerState]]:
    with still_venue() as running:
        yield running


@pytest.fixture
def client(venue: tuple[str, ServerState]) -> Iterator[BinanceClient]:
    url, _ = venue
    client = BinanceClient(url, open_account(url, {"USDT": "10000", "BTC": "0.5"}))
    yield client
    client.close()


@pytest.fixture
def mover(venue: tuple[str, ServerState]) -> Iterator[BinanceClient]:
    """Another account, whose market orders move the price."""
    url, _ = venue
    client = BinanceClient(url, open_account(url, {"USDT": "1000000", "BTC": "20"}))
    yield client
    client.close()


def balances(client: BinanceClient) -> dict[str, tuple[Decimal, Decimal]]:
    account = client.signed("GET", "/api/v3/account").json()
    return {b["asset"]: (D(b["free"]), D(b["locked"])) for b in account["balances"]}


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def query(client: BinanceClient, order_id: int) -> dict[str, Any]:
    body: dict[str, Any] = ok(
        client.signed("GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": order_id})
    )
    return body


def sell_through(mover: BinanceClient, state: ServerState, levels: int) -> None:
    """A market sell that takes the top `levels` bid levels."""
    quantity = sum(level.quantity for level in book(state).bids[:levels])
    ok(mover.order(symbol="BTCUSDT", side="SELL", type="MARKET", quantity=str(quantity)))


def buy_through(mover: BinanceClient, state: ServerState, levels: int) -> None:
    quantity = sum(level.quantity for level in book(state).asks[:levels])
    ok(mover.order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity=str(quantity)))


def test_a_stop_limit_sell_waits_then_triggers_and_fills_under_its_order_id(
    client: BinanceClient, mover: BinanceClient, venue: tuple[str, ServerState]
) -> None:
    _, state = venue
    bids = book(state).bids
    stop, limit = bids[1].price, bids[4].price
    assert stop < last_price(state)
    placed = ok(client.order(
        symbol="BTCUSDT", side="SELL", type="STOP_LOSS_LIMIT", timeInForce="GTC",
        quantity="0.001", price=str(limit), stopPrice=str(stop), newOrderRespType="RESULT",
    ))  # fmt: skip
    assert (placed["type"], placed["status"], placed["workingTime"]) == (
        "STOP_LOSS_LIMIT",
        "NEW",
        -1,
    )
    assert D(placed["stopPrice"]) == stop and placed["orderListId"] == -1
    assert balances(client)["BTC"] == (D("0.499"), D("0.001"))
    [waiting] = ok(client.signed("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"}))
    assert waiting["isWorking"] is False and D(waiting["stopPrice"]) == stop

    sell_through(mover, state, 2)  # prints at the second bid level: the stop price
    done = query(client, placed["orderId"])
    assert done["status"] == "FILLED" and done["type"] == "STOP_LOSS_LIMIT"
    assert done["isWorking"] is True and done["workingTime"] >= done["time"]
    usdt_free, usdt_locked = balances(client)["USDT"]
    assert balances(client)["BTC"] == (D("0.499"), D("0"))
    assert usdt_locked == 0
    assert usdt_free == D("10000") + D(done["cummulativeQuoteQty"]) * D("0.999")


def test_a_stop_that_would_trigger_at_once_is_refused(
    client: BinanceClient, venue: tuple[str, ServerState]
) -> None:
    _, state = venue
    above = last_price(state) + D("100")
    response = client.order(
        symbol="BTCUSDT", side="SELL", type="STOP_LOSS", quantity="0.001", stopPrice=str(above)
    )
    assert binance_error(response) == (400, -2010, "Order would trigger immediately.")
    assert balances(client)["BTC"] == (D("0.5"), D("0"))


def test_a_take_profit_answers_ack_by_default_and_cancels_releasing_its_hold(
    client: BinanceClient, venue: tuple[str, ServerState]
) -> None:
    _, state = venue
    below = (last_price(state) * D("0.9")).quantize(D("0.01"))
    placed = ok(client.order(
        symbol="BTCUSDT", side="BUY", type="TAKE_PROFIT_LIMIT", timeInForce="GTC",
        quantity="0.01", price=str(below), stopPrice=str(below),
    ))  # fmt: skip
    assert set(placed) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    assert balances(client)["USDT"] == (D("10000") - below * D("0.01"), below * D("0.01"))
    canceled = ok(client.signed(
        "DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]}
    ))  # fmt: skip
    assert canceled["status"] == "CANCELED" and canceled["type"] == "TAKE_PROFIT_LIMIT"
    assert D(canceled["stopPrice"]) == below
    assert balances(client)["USDT"] == (D("10000"), D("0"))


def test_a_sell_oco_holds_once_is_listed_and_cancels_whole(
    client: BinanceClient, venue: tuple[str, ServerState]
) -> None:
    _, state = venue
    last = last_price(state)
    high, low = (last * D("1.1")).quantize(D("0.01")), (last * D("0.9")).quantize(D("0.01"))
    placed = ok(client.signed("POST", "/api/v3/orderList/oco", {
        "symbol": "BTCUSDT", "side": "SELL", "quantity": "0.002", "listClientOrderId": "exit-1",
        "aboveType": "LIMIT_MAKER", "abovePrice": str(high), "aboveClientOrderId": "tp-1",
        "belowType": "STOP_LOSS", "belowStopPrice": str(low), "belowClientOrderId": "sl-1",
    }))  # fmt: skip
    assert (placed["contingencyType"], placed["listStatusType"], placed["listOrderStatus"]) == (
        "OCO",
        "EXEC_STARTED",
        "EXECUTING",
    )
    stop, maker = placed["orderReports"]
    assert (stop["type"], stop["workingTime"], D(stop["stopPrice"])) == ("STOP_LOSS", -1, low)
    assert (maker["type"], maker["clientOrderId"]) == ("LIMIT_MAKER", "tp-1")
    assert stop["orderListId"] == maker["orderListId"] == placed["orderListId"]
    assert [o["clientOrderId"] for o in placed["orders"]] == ["sl-1", "tp-1"]
    assert balances(client)["BTC"] == (D("0.498"), D("0.002"))  # held once for both legs

    list_id = placed["orderListId"]
    by_id = ok(client.signed("GET", "/api/v3/orderList", {"orderListId": list_id}))
    by_cid = ok(client.signed("GET", "/api/v3/orderList", {"origClientOrderId": "exit-1"}))
    assert by_id == by_cid and "orderReports" not in by_id
    assert [o["orderListId"] for o in ok(client.signed("GET", "/api/v3/openOrderList"))] == [
        list_id
    ]
    leg = query(client, stop["orderId"])
    assert leg["orderListId"] == list_id and leg["isWorking"] is False

    canceled = ok(client.signed(
        "DELETE", "/api/v3/orderList", {"symbol": "BTCUSDT", "orderListId": list_id}
    ))  # fmt: skip
    assert canceled["listOrderStatus"] == "ALL_DONE"
    assert [r["status"] for r in canceled["orderReports"]] == ["CANCELED", "CANCELED"]
    assert balances(client)["BTC"] == (D("0.5"), D("0"))
    assert ok(client.signed("GET", "/api/v3/openOrderList")) == []
    [listed] = ok(client.signed("GET", "/api/v3/allOrderList"))
    assert listed["listStatusType"] == "ALL_DONE"
    again = client.signed(
        "DELETE", "/api/v3/orderList", {"symbol": "BTCUSDT", "orderListId": list_id}
    )
    assert binance_error(again)[:2] == (400, -2011)


def test_a_buy_oco_on_the_deprecated_endpoint_triggers_its_stop_leg(
    client: BinanceClient, mover: BinanceClient, venue: tuple[str, ServerState]
) -> None:
    _, state = venue
    asks = book(state).asks
    last = last_price(state)
    stop, stop_limit = asks[1].price, asks[6].price
    below = (last * D("0.9")).quantize(D("0.01"))
    placed = ok(client.signed("POST", "/api/v3/order/oco", {
        "symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": str(below),
        "stopPrice": str(stop), "stopLimitPrice": str(stop_limit),
        "stopLimitTimeInForce": "GTC",
    }))  # fmt: skip
    stop_leg, maker_leg = placed["orderReports"]
    assert (stop_leg["type"], maker_leg["type"]) == ("STOP_LOSS_LIMIT", "LIMIT_MAKER")
    # One hold, the dearer leg's.
    assert balances(client)["USDT"][1] == stop_limit * D("0.001")

    buy_through(mover, state, 2)  # prints at the second ask level: the stop price
    after = ok(client.signed("GET", "/api/v3/orderList", {"orderListId": placed["orderListId"]}))
    assert after["listStatusType"] == "ALL_DONE"
    assert query(client, maker_leg["orderId"])["status"] == "EXPIRED"
    triggered = query(client, stop_leg["orderId"])
    assert triggered["status"] == "FILLED" and triggered["isWorking"] is True
    usdt_free, usdt_locked = balances(client)["USDT"]
    assert usdt_locked == 0
    assert usdt_free == D("10000") - D(triggered["cummulativeQuoteQty"])
    assert balances(client)["BTC"][0] == D("0.5") + D("0.001") * D("0.999")
    # The leg's trades name its list, as Binance's myTrades does.
    trades = ok(client.signed("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT"}))
    legs = [t for t in trades if t["orderId"] == stop_leg["orderId"]]
    assert legs and all(t["orderListId"] == placed["orderListId"] for t in legs)
    assert all(t["orderListId"] == -1 for t in trades if t not in legs)


def test_oco_refusals_carry_binances_codes(
    client: BinanceClient, venue: tuple[str, ServerState]
) -> None:
    _, state = venue
    last = last_price(state)
    high, low = (
        str((last * D("1.1")).quantize(D("0.01"))),
        str((last * D("0.9")).quantize(D("0.01"))),
    )
    base = {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.001"}
    wrong_side = client.signed("POST", "/api/v3/orderList/oco", {
        **base, "aboveType": "STOP_LOSS", "aboveStopPrice": high,
        "belowType": "LIMIT_MAKER", "belowPrice": low,
    })  # fmt: skip
    assert binance_error(wrong_side) == (
        400,
        -1197,
        "A stop loss order in a sell OCO must be below.",
    )
    bad_prices = client.signed("POST", "/api/v3/orderList/oco", {
        **base, "aboveType": "LIMIT_MAKER", "abovePrice": high,
        "belowType": "STOP_LOSS", "belowStopPrice": str((last * D("1.05")).quantize(D("0.01"))),
    })  # fmt: skip
    assert binance_error(bad_prices) == (
        400,
        -2010,
        "The relationship of the prices for the orders is not correct.",
    )
    no_price = client.signed("POST", "/api/v3/orderList/oco", {
        **base, "aboveType": "LIMIT_MAKER", "belowType": "STOP_LOSS", "belowStopPrice": low,
    })  # fmt: skip
    assert binance_error(no_price)[:2] == (400, -1102)
    assert balances(client)["BTC"] == (D("0.5"), D("0"))


def resting_bid(client: BinanceClient, price: str, **extra: str) -> dict[str, Any]:
    body: dict[str, Any] = ok(client.order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.001",
        price=price, **extra,
    ))  # fmt: skip
    return body


def test_cancel_replace_swaps_a_resting_order(client: BinanceClient) -> None:
    first = resting_bid(client, "20000.00")
    replaced = ok(client.signed("POST", "/api/v3/order/cancelReplace", {
        "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "0.002", "price": "21000.00", "cancelReplaceMode": "STOP_ON_FAILURE",
        "cancelOrderId": first["orderId"], "newClientOrderId": "swapped",
    }))  # fmt: skip
    assert (replaced["cancelResult"], replaced["newOrderResult"]) == ("SUCCESS", "SUCCESS")
    assert replaced["cancelResponse"]["status"] == "CANCELED"
    assert replaced["newOrderResponse"]["clientOrderId"] == "swapped"
    assert balances(client)["USDT"] == (D("10000") - D("42"), D("42"))


def test_cancel_replace_reports_partial_and_total_failures(
    client: BinanceClient, venue: tuple[str, ServerState]
) -> None:
    _, state = venue
    new_order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                 "quantity": "0.001", "price": "20000.00"}  # fmt: skip
    stopped = client.signed("POST", "/api/v3/order/cancelReplace", {
        **new_order, "cancelReplaceMode": "STOP_ON_FAILURE", "cancelOrderId": 987654,
    })  # fmt: skip
    assert stopped.status_code == 400
    assert stopped.json() == {
        "code": -2022, "msg": "Order cancel-replace failed.",
        "data": {
            "cancelResult": "FAILURE", "newOrderResult": "NOT_ATTEMPTED",
            "cancelResponse": {"code": -2011, "msg": "Unknown order sent."},
            "newOrderResponse": None,
        },
    }  # fmt: skip
    allowed = client.signed("POST", "/api/v3/order/cancelReplace", {
        **new_order, "cancelReplaceMode": "ALLOW_FAILURE", "cancelOrderId": 987654,
    })  # fmt: skip
    assert allowed.status_code == 409 and allowed.json()["code"] == -2021
    assert allowed.json()["data"]["newOrderResult"] == "SUCCESS"

    resting = resting_bid(client, "19000.00")
    taking = str(book(state).asks[0].price)
    half = client.signed("POST", "/api/v3/order/cancelReplace", {
        **new_order, "type": "LIMIT_MAKER", "timeInForce": "", "price": taking,
        "cancelReplaceMode": "STOP_ON_FAILURE", "cancelOrderId": resting["orderId"],
    })  # fmt: skip
    assert half.status_code == 409
    data = half.json()["data"]
    assert (data["cancelResult"], data["newOrderResult"]) == ("SUCCESS", "FAILURE")
    assert data["newOrderResponse"] == {
        "code": -2010,
        "msg": "Order would immediately match and take.",
    }
    assert query(client, resting["orderId"])["status"] == "CANCELED"
    assert balances(client)["USDT"][1] == D("20")  # the ALLOW_FAILURE order rests
