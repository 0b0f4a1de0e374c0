"""The Binance WebSocket API (`/ws-api/v3`) of the simulated venue, against the real server
(REST and WebSocket on one port) with a hand-written client that frames and signs
requests as web-socket-api.md shows: results, balances after each order flow, Binance's
errors with their HTTP-equivalent status, and rate limits shared with REST."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.integration.venues.sim_rest_support import (
    BinanceClient,
    open_account,
    running_venue,
)
from tests.integration.venues.sim_ws_api_support import (
    WsApiClient,
    error_of,
    now_ms,
    weight_used,
)
from tradewind.venues.simulated.server.weights import RateLimit

HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def venue_url() -> Iterator[str]:
    with running_venue() as (url, _):
        yield url


def _order_limits(reply: dict[str, object]) -> dict[str, int]:
    limits = reply["rateLimits"]
    assert isinstance(limits, list)
    return {
        f"{x['intervalNum']}{x['interval']}": x["count"]
        for x in limits
        if x["rateLimitType"] == "ORDERS"
    }


def _assert_less_fees(
    balance: tuple[Decimal, Decimal], before_fees: Decimal, fills: list[dict[str, str]]
) -> None:
    """`balance` is (free, 0) with free = `before_fees` less the fills' commissions. Each
    commission is shown rounded up to 8 decimals and the free balance rounded down (the
    ledger keeps more), so with n fills free may exceed that by up to n - 1 units of
    10**-8, never fall short of it."""
    free, locked = balance
    paid = sum((Decimal(f["commission"]) for f in fills), Decimal(0))
    assert locked == 0
    assert Decimal(0) <= free - (before_fees - paid) <= Decimal("1e-8") * (len(fills) - 1)


# -- public methods --------------------------------------------------------------------


async def test_public_methods_answer_what_their_rest_endpoints_answer(venue_url: str) -> None:
    rest = BinanceClient(venue_url)
    async with WsApiClient.connect(venue_url, open_account(venue_url, {})) as api:
        pong = await api.call("ping")
        assert pong["status"] == 200 and pong["result"] == {}
        assert [x["rateLimitType"] for x in pong["rateLimits"]] == ["REQUEST_WEIGHT"]
        server_time = await api.result("v3/time")  # a version prefix is allowed
        assert abs(server_time["serverTime"] - now_ms()) < 5_000

        info = await api.result("exchangeInfo", {"symbols": ["BTCUSDT", "ETHUSDT"]})
        rest_info = rest.public("/api/v3/exchangeInfo", symbols='["BTCUSDT","ETHUSDT"]').json()
        assert info["symbols"] == rest_info["symbols"]
        assert info["rateLimits"] == rest_info["rateLimits"]

        # closed candles of the back-history: the same rows on both sides
        end_ms = now_ms() - 3 * HOUR_MS
        candles = {"symbol": "BTCUSDT", "interval": "1h", "endTime": end_ms, "limit": 3}
        klines = await api.result("klines", candles)
        assert len(klines) == 3 and klines == rest.public("/api/v3/klines", **candles).json()
        assert await api.result("uiKlines", candles) == klines

        depth = await api.result("depth", {"symbol": "BTCUSDT", "limit": 5})
        assert len(depth["bids"]) == len(depth["asks"]) == 5
        assert Decimal(depth["bids"][0][0]) < Decimal(depth["asks"][0][0])
        price = await api.result("ticker.price", {"symbol": "BTCUSDT"})
        assert price["symbol"] == "BTCUSDT" and Decimal(price["price"]) > 0
        prices = await api.result("ticker.price", {"symbols": ["ETHUSDT", "BTCUSDT"]})
        assert [p["symbol"] for p in prices] == ["ETHUSDT", "BTCUSDT"]
        book = await api.result("ticker.book", {"symbol": "ETHUSDT"})
        assert Decimal(book["bidPrice"]) < Decimal(book["askPrice"])
        mini = await api.result("ticker.24hr", {"symbol": "BTCUSDT", "type": "MINI"})
        assert set(mini) == set(
            rest.public("/api/v3/ticker/24hr", symbol="BTCUSDT", type="MINI").json()
        )
        average = await api.result("avgPrice", {"symbol": "BTCUSDT"})
        assert average["mins"] == 5 and Decimal(average["price"]) > 0
        trades = await api.result("trades.recent", {"symbol": "BTCUSDT", "limit": 3})
        assert len(trades) == 3 and {"id", "price", "qty", "isBuyerMaker"} <= set(trades[0])

        assert error_of(await api.call("depth", {"symbol": "NOPEUSDT"})) == (
            400, -1121, "Invalid symbol."
        )  # fmt: skip
        assert error_of(await api.call("klines", {"symbol": "BTCUSDT"}))[:2] == (400, -1102)
        assert error_of(await api.call("klines", {"symbol": "BTCUSDT", "interval": "7m"}))[:2] == (
            400,
            -1120,
        )
    rest.close()


async def test_frames_that_are_not_requests_are_refused_with_1135(venue_url: str) -> None:
    async with WsApiClient.connect(venue_url, open_account(venue_url, {})) as api:
        garbled = await api.send_frame("{not json")
        assert garbled["id"] is None and error_of(garbled)[:2] == (400, -1135)
        not_an_object = await api.send_frame('{"id": 7, "method": "time", "params": [1]}')
        assert not_an_object["id"] == 7
        assert error_of(not_an_object) == (
            400, -1135, "Invalid 'params' in JSON request; expected an object."
        )  # fmt: skip
        unknown = await api.call("order.teleport")
        assert error_of(unknown) == (400, -1020, "This operation is not supported.")
        assert "rateLimits" not in unknown


# -- orders and balances ---------------------------------------------------------------


async def test_limit_order_is_placed_queried_listed_and_canceled_with_its_hold(
    venue_url: str,
) -> None:
    account = open_account(venue_url, {"USDT": "10000"})
    async with WsApiClient.connect(venue_url, account) as api:
        placed = await api.call(
            "order.place",
            {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
             "price": "20000.00", "quantity": "0.01000000", "newClientOrderId": "ws-bid-1"},
            signed=True,
        )  # fmt: skip
        assert placed["status"] == 200
        order = placed["result"]
        assert (order["status"], order["type"], order["clientOrderId"]) == (
            "NEW", "LIMIT", "ws-bid-1"
        )  # fmt: skip
        assert order["fills"] == []  # LIMIT answers FULL by default
        assert _order_limits(placed) == {"10SECOND": 1, "1DAY": 1}
        assert [x["rateLimitType"] for x in placed["rateLimits"]] == [
            "ORDERS", "ORDERS", "REQUEST_WEIGHT"
        ]  # fmt: skip
        assert (await api.balances())["USDT"] == (Decimal(9800), Decimal(200))

        by_id = {"symbol": "BTCUSDT", "orderId": order["orderId"]}
        status = await api.result("order.status", by_id, signed=True)
        assert (status["status"], status["isWorking"], status["price"]) == (
            "NEW", True, "20000.00000000"
        )  # fmt: skip
        listed = await api.result("openOrders.status", {"symbol": "BTCUSDT"}, signed=True)
        assert listed == [status]
        everything = await api.result("openOrders.status", signed=True)
        assert [o["orderId"] for o in everything] == [order["orderId"]]

        canceled = await api.result(
            "order.cancel",
            {"symbol": "BTCUSDT", "origClientOrderId": "ws-bid-1", "newClientOrderId": "bye"},
            signed=True,
        )
        assert (canceled["status"], canceled["origClientOrderId"], canceled["clientOrderId"]) == (
            "CANCELED", "ws-bid-1", "bye"
        )  # fmt: skip
        assert (await api.balances())["USDT"] == (Decimal(10000), Decimal(0))
        assert await api.result("openOrders.status", {"symbol": "BTCUSDT"}, signed=True) == []

        again = await api.call("order.cancel", by_id, signed=True)
        assert error_of(again) == (400, -2011, "Unknown order sent.")
        missing = await api.call(
            "order.status", {"symbol": "BTCUSDT", "orderId": 999_999_999}, signed=True
        )
        assert error_of(missing) == (400, -2013, "Order does not exist.")
        history = await api.result("allOrders", {"symbol": "BTCUSDT"}, signed=True)
        assert [(o["orderId"], o["status"]) for o in history] == [(order["orderId"], "CANCELED")]


async def test_market_orders_fill_against_the_book_and_move_both_balances(
    venue_url: str,
) -> None:
    account = open_account(venue_url, {"USDT": "10000", "BTC": "1"})
    async with WsApiClient.connect(venue_url, account) as api:
        bought = await api.result(
            "order.place",
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quoteOrderQty": "100"},
            signed=True,
        )
        assert bought["status"] == "FILLED" and bought["fills"]
        base = Decimal(bought["executedQty"])
        assert {f["commissionAsset"] for f in bought["fills"]} == {"BTC"}
        cost = Decimal(bought["cummulativeQuoteQty"])
        balances = await api.balances()
        assert balances["USDT"] == (Decimal(10000) - cost, Decimal(0))
        _assert_less_fees(balances["BTC"], 1 + base, bought["fills"])

        sold = await api.result(
            "order.place",
            {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.002",
             "newOrderRespType": "RESULT"},
            signed=True,
        )  # fmt: skip
        assert sold["status"] == "FILLED" and "fills" not in sold
        proceeds = Decimal(sold["cummulativeQuoteQty"])
        trades = await api.result(
            "myTrades", {"symbol": "BTCUSDT", "orderId": sold["orderId"]}, signed=True
        )
        assert {t["commissionAsset"] for t in trades} == {"USDT"}
        balances = await api.balances()
        _assert_less_fees(balances["BTC"], 1 + base - Decimal("0.002"), bought["fills"])
        _assert_less_fees(balances["USDT"], Decimal(10000) - cost + proceeds, trades)


async def test_stop_orders_rest_untriggered_and_hold_what_they_would_sell(
    venue_url: str,
) -> None:
    account = open_account(venue_url, {"BTC": "1"})
    async with WsApiClient.connect(venue_url, account) as api:
        stop = await api.call(
            "order.place",
            {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS_LIMIT",
             "timeInForce": "GTC", "quantity": "0.1", "price": "10000", "stopPrice": "10001"},
            signed=True,
        )  # fmt: skip
        assert stop["status"] == 200
        assert set(stop["result"]) == {  # other types answer ACK by default
            "symbol", "orderId", "orderListId", "clientOrderId", "transactTime"
        }  # fmt: skip
        assert (await api.balances())["BTC"] == (Decimal("0.9"), Decimal("0.1"))
        status = await api.result(
            "order.status",
            {"symbol": "BTCUSDT", "orderId": stop["result"]["orderId"]},
            signed=True,
        )
        assert (status["type"], status["stopPrice"], status["isWorking"]) == (
            "STOP_LOSS_LIMIT", "10001.00000000", False
        )  # fmt: skip
        assert status["workingTime"] == -1

        take_profit = await api.result(
            "order.place",
            {"symbol": "BTCUSDT", "side": "SELL", "type": "TAKE_PROFIT", "quantity": "0.2",
             "stopPrice": "90000", "newOrderRespType": "RESULT"},
            signed=True,
        )  # fmt: skip
        assert (take_profit["type"], take_profit["stopPrice"], take_profit["status"]) == (
            "TAKE_PROFIT", "90000.00000000", "NEW"
        )  # fmt: skip
        assert (await api.balances())["BTC"] == (Decimal("0.7"), Decimal("0.3"))

        priced = await api.call(
            "order.place",
            {"symbol": "BTCUSDT", "side": "SELL", "type": "TAKE_PROFIT", "quantity": "0.2",
             "stopPrice": "90000", "price": "90000"},
            signed=True,
        )  # fmt: skip
        assert error_of(priced) == (400, -1106, "Parameter 'price' sent when not required.")
        no_stop = await api.call(
            "order.place",
            {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS", "quantity": "0.2"},
            signed=True,
        )
        assert error_of(no_stop)[:2] == (400, -1102)

        canceled = await api.result("openOrders.cancelAll", {"symbol": "BTCUSDT"}, signed=True)
        assert {o["type"] for o in canceled} == {"STOP_LOSS_LIMIT", "TAKE_PROFIT"}
        assert (await api.balances())["BTC"] == (Decimal(1), Decimal(0))


async def test_order_test_validates_without_placing_and_weighs_20_with_commissions(
    venue_url: str,
) -> None:
    account = open_account(venue_url, {"USDT": "100"})
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
    async with WsApiClient.connect(venue_url, account) as api:
        plain = await api.call("order.test", order, signed=True)
        assert plain["result"] == {}
        rates = await api.call("order.test", {**order, "computeCommissionRates": True}, signed=True)
        assert rates["result"]["standardCommissionForOrder"] == {
            "maker": "0.00100000", "taker": "0.00100000"
        }  # fmt: skip
        assert weight_used(rates) == weight_used(plain) + 20
        assert await api.result("openOrders.status", signed=True) == []
        assert (await api.balances())["USDT"] == (Decimal(100), Decimal(0))
        bad = await api.call("order.test", {**order, "quantity": "0.0000001"}, signed=True)
        assert error_of(bad)[:2] == (400, -1013)


async def test_refused_order_is_binances_2010_and_leaves_the_balance(venue_url: str) -> None:
    account = open_account(venue_url, {"USDT": "50"})
    async with WsApiClient.connect(venue_url, account) as api:
        too_big = await api.call(
            "order.place",
            {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
             "price": "20000", "quantity": "1"},
            signed=True,
        )  # fmt: skip
        assert error_of(too_big) == (
            400, -2010, "Account has insufficient balance for requested action."
        )  # fmt: skip
        assert _order_limits(too_big) == {"10SECOND": 1, "1DAY": 1}  # counted, as Binance
        assert (await api.balances())["USDT"] == (Decimal(50), Decimal(0))
        bad_lot = await api.call(
            "order.place",
            {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
             "price": "20000", "quantity": "0.0000001"},
            signed=True,
        )  # fmt: skip
        assert error_of(bad_lot)[:2] == (400, -1013)
        bad_side = await api.call(
            "order.place",
            {"symbol": "BTCUSDT", "side": "HOLD", "type": "MARKET", "quantity": "0.001"},
            signed=True,
        )
        assert error_of(bad_side) == (400, -1117, "Invalid side.")


async def test_cancel_replace_reports_each_part_and_a_failed_part_in_data(
    venue_url: str,
) -> None:
    account = open_account(venue_url, {"USDT": "1000"})
    async with WsApiClient.connect(venue_url, account) as api:
        bid = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
               "quantity": "0.01"}  # fmt: skip
        first = await api.result("order.place", {**bid, "price": "20000"}, signed=True)
        replaced = await api.call(
            "order.cancelReplace",
            {**bid, "price": "21000", "cancelReplaceMode": "STOP_ON_FAILURE",
             "cancelOrderId": first["orderId"]},
            signed=True,
        )  # fmt: skip
        assert replaced["status"] == 200
        result = replaced["result"]
        assert (result["cancelResult"], result["newOrderResult"]) == ("SUCCESS", "SUCCESS")
        assert result["cancelResponse"]["orderId"] == first["orderId"]
        assert (await api.balances())["USDT"] == (Decimal(790), Decimal(210))

        failed = await api.call(
            "order.cancelReplace",
            {**bid, "price": "22000", "cancelReplaceMode": "ALLOW_FAILURE",
             "cancelOrderId": first["orderId"]},
            signed=True,
        )  # fmt: skip
        assert error_of(failed) == (409, -2021, "Order cancel-replace partially failed.")
        data = failed["error"]["data"]
        assert (data["cancelResult"], data["newOrderResult"]) == ("FAILURE", "SUCCESS")
        assert data["cancelResponse"] == {"code": -2011, "msg": "Unknown order sent."}
        assert (await api.balances())["USDT"] == (Decimal(570), Decimal(430))


async def test_oco_is_placed_as_two_orders_held_once_and_canceled_whole(venue_url: str) -> None:
    account = open_account(venue_url, {"BTC": "1"})
    async with WsApiClient.connect(venue_url, account) as api:
        placed = await api.call(
            "orderList.place.oco",
            {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.1",
             "aboveType": "LIMIT_MAKER", "abovePrice": "90000",
             "belowType": "STOP_LOSS_LIMIT", "belowStopPrice": "10001", "belowPrice": "10000",
             "belowTimeInForce": "GTC", "listClientOrderId": "ws-oco"},
            signed=True,
        )  # fmt: skip
        assert placed["status"] == 200, placed
        oco = placed["result"]
        assert (oco["contingencyType"], oco["listOrderStatus"]) == ("OCO", "EXECUTING")
        assert {r["type"] for r in oco["orderReports"]} == {"LIMIT_MAKER", "STOP_LOSS_LIMIT"}
        assert _order_limits(placed) == {"10SECOND": 2, "1DAY": 2}  # an OCO counts twice
        assert (await api.balances())["BTC"] == (Decimal("0.9"), Decimal("0.1"))

        by_client_id = {"origClientOrderId": "ws-oco"}
        status = await api.result("orderList.status", by_client_id, signed=True)
        assert status["orderListId"] == oco["orderListId"] and "orderReports" not in status
        assert await api.result("openOrderLists.status", signed=True) == [status]
        canceled = await api.result(
            "orderList.cancel",
            {"symbol": "BTCUSDT", "orderListId": oco["orderListId"]},
            signed=True,
        )
        assert canceled["listOrderStatus"] == "ALL_DONE"
        assert {r["status"] for r in canceled["orderReports"]} == {"CANCELED"}
        assert (await api.balances())["BTC"] == (Decimal(1), Decimal(0))
        history = await api.result("allOrderLists", signed=True)
        assert [x["listStatusType"] for x in history] == ["ALL_DONE"]


async def test_listen_key_methods_take_the_api_key_alone(venue_url: str) -> None:
    account = open_account(venue_url, {})
    async with WsApiClient.connect(venue_url, account) as api:
        key_only = {"apiKey": account.api_key}
        started = await api.result("userDataStream.start", key_only)
        listen_key = started["listenKey"]
        assert await api.result("userDataStream.ping", {**key_only, "listenKey": listen_key}) == {}
        assert await api.result("userDataStream.stop", {**key_only, "listenKey": listen_key}) == {}
        gone = await api.call("userDataStream.ping", {**key_only, "listenKey": listen_key})
        assert error_of(gone) == (400, -1125, "This listenKey does not exist.")


# -- authentication --------------------------------------------------------------------


async def test_signed_requests_are_refused_as_binance_refuses_them(venue_url: str) -> None:
    account = open_account(venue_url, {"USDT": "100"})
    read_only = open_account(venue_url, {"USDT": "100"}, trade=False)
    async with WsApiClient.connect(venue_url, account) as api:
        wrong_secret = await api.call("account.status", signed=True, secret="x" * 64)
        assert error_of(wrong_secret) == (400, -1022, "Signature for this request is not valid.")
        unsigned = await api.call("account.status", {"apiKey": account.api_key})
        assert error_of(unsigned)[:2] == (400, -1102)
        no_key = await api.call("account.status", {"timestamp": now_ms()})
        assert error_of(no_key) == (
            400, -1102, "Mandatory parameter 'apiKey' was not sent, was empty/null, or malformed."
        )  # fmt: skip
        unknown_key = await api.call("account.status", signed=True, api_key="A" * 64)
        assert error_of(unknown_key) == (
            401, -2015, "Invalid API-key, IP, or permissions for action."
        )  # fmt: skip
        malformed_key = await api.call("account.status", signed=True, api_key="no spaces!")
        assert error_of(malformed_key) == (401, -2014, "API-key format invalid.")
        stale = await api.call("account.status", {"timestamp": now_ms() - 60_000}, signed=True)
        assert error_of(stale)[:2] == (400, -1021)
        wide = await api.call("account.status", {"recvWindow": 70_000}, signed=True)
        assert error_of(wide)[:2] == (400, -1131)

    async with WsApiClient.connect(venue_url, read_only) as reader:
        assert (await reader.balances())["USDT"] == (Decimal(100), Decimal(0))
        trade = await reader.call(
            "order.place",
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quoteOrderQty": "10"},
            signed=True,
        )
        assert error_of(trade)[:2] == (401, -2015)


async def test_session_logon_refuses_an_hmac_key(venue_url: str) -> None:
    # Binance: "Only Ed25519 keys are supported for this feature" (logon with an Ed25519
    # key, and requests unsigned after it: tests/integration/venues/test_sim_ed25519.py).
    account = open_account(venue_url, {"USDT": "1000"})
    async with WsApiClient.connect(venue_url, account) as api:
        logon = await api.call("session.logon", signed=True)
        assert error_of(logon)[:2] == (400, -1022)
        status = await api.result("session.status")
        assert status["apiKey"] is None and status["returnRateLimits"] is True
        unsigned = await api.call("account.status", {"timestamp": now_ms()})
        assert error_of(unsigned)[:2] == (400, -1102)  # not logged on: apiKey is needed


# -- rate limits -----------------------------------------------------------------------


async def _at_start_of_a_minute() -> None:
    """Wait, if need be, so that what follows runs inside one minute window."""
    into_minute_ms = now_ms() % 60_000
    if into_minute_ms > 50_000:
        await asyncio.sleep((60_000 - into_minute_ms) / 1000 + 0.05)


async def test_weights_are_counted_with_rests_and_shown_unless_hidden() -> None:
    with running_venue() as (url, _):
        rest = BinanceClient(url)
        account = open_account(url, {"USDT": "1000"})
        await _at_start_of_a_minute()
        async with WsApiClient.connect(url, account, "?returnRateLimits=false") as quiet:
            used = int(rest.public("/api/v3/time").headers["X-MBX-USED-WEIGHT-1M"])
            assert used >= 3  # connecting weighs 2, the REST call 1
            assert "rateLimits" not in await quiet.call("time")
            shown = await quiet.call("depth", {"symbol": "BTCUSDT", "returnRateLimits": True})
            assert weight_used(shown) == used + 1 + 5  # time 1, depth (limit 100) 5
            status = await quiet.result("session.status")
            assert status["returnRateLimits"] is False
            after = int(rest.public("/api/v3/time").headers["X-MBX-USED-WEIGHT-1M"])
            assert after == weight_used(shown) + 2 + 1  # session.status 2, this call 1
        rest.close()


async def test_ws_api_requests_past_the_weight_limit_are_429_then_418() -> None:
    limits = (RateLimit("REQUEST_WEIGHT", "MINUTE", 1, 40), RateLimit("ORDERS", "SECOND", 10, 5))
    with running_venue(rate_limits=limits) as (url, _):
        account = open_account(url, {"USDT": "1000"})
        await _at_start_of_a_minute()
        async with WsApiClient.connect(url, account) as api:
            assert (await api.call("account.status", signed=True))["status"] == 200  # 2 + 20
            heavy = await api.call("account.status", signed=True)  # 42 > 40
            status, code, _ = error_of(heavy)
            assert (status, code) == (429, -1003)
            assert heavy["error"]["data"]["retryAfter"] > heavy["error"]["data"]["serverTime"]
            assert weight_used(heavy) == 22
            banned = await api.call("ping")  # did not back off
            assert error_of(banned)[:2] == (418, -1003)
            rest = BinanceClient(url)
            assert rest.public("/api/v3/ping").status_code == 418  # one limiter for both
            rest.close()


async def test_orders_count_against_the_accounts_limit_over_rest_and_ws_api() -> None:
    limits = (RateLimit("REQUEST_WEIGHT", "MINUTE", 1, 6000), RateLimit("ORDERS", "SECOND", 10, 2))
    with running_venue(rate_limits=limits) as (url, _):
        account = open_account(url, {"USDT": "1000"})
        rest = BinanceClient(url, account)
        bid = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
               "price": "20000", "quantity": "0.001"}  # fmt: skip
        async with WsApiClient.connect(url, account) as api:
            for _ in range(10):  # both orders inside one 10-second window
                if now_ms() % 10_000 < 7_000:
                    break
                await asyncio.sleep(0.5)
            assert rest.order(**bid).status_code == 200
            second = await api.call("order.place", bid, signed=True)
            assert _order_limits(second) == {"10SECOND": 2}
            third = await api.call("order.place", bid, signed=True)
            assert error_of(third) == (
                429, -1015, "Too many new orders; current limit is 2 orders per 10 SECOND."
            )  # fmt: skip
        rest.close()
