"""The simulated venue's further public Binance endpoints over real HTTP: exchangeInfo's
maxima, old trades, the average price, every kline interval and time zone, the
rolling-window and trading-day tickers, and Binance's error body for unknown routes."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.venues.sim_rest_support import (
    BinanceClient,
    binance_error,
    open_account,
    running_venue,
)

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
INTERVALS = (
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d",
    "1w", "1M",
)  # fmt: skip


@pytest.fixture(scope="module")
def client() -> Iterator[BinanceClient]:
    with running_venue() as (url, _):
        client = BinanceClient(url, open_account(url, {"USDT": "10000", "BTC": "0.5"}))
        client.wait_for_trades()
        for side in ("BUY", "SELL", "BUY"):  # a few trades of known sides
            placed = client.order(symbol="BTCUSDT", side=side, type="MARKET", quantity="0.001")
            assert placed.status_code == 200, placed.text
        time.sleep(1.1)  # their second has closed
        yield client
        client.close()


def used_weight(response: Any) -> int:
    return int(response.headers["X-MBX-USED-WEIGHT-1M"])


def weight_of(client: BinanceClient, path: str, **params: str | int) -> int:
    """The weight one call is charged (unless a minute turns between the two calls)."""
    before = used_weight(client.public("/api/v3/ping"))
    after = used_weight(client.public(path, **params))
    return after - before if after > before else after  # else the window restarted


# -- exchangeInfo -----------------------------------------------------------------------


def test_exchange_info_publishes_real_maxima(client: BinanceClient) -> None:
    info = client.public("/api/v3/exchangeInfo").json()
    for symbol in info["symbols"]:
        filters = {f["filterType"]: f for f in symbol["filters"]}
        price = filters["PRICE_FILTER"]
        assert Decimal(price["maxPrice"]) == Decimal(price["tickSize"]) * 10**8
        assert filters["NOTIONAL"]["maxNotional"] == "9000000.00000000"
        assert Decimal(filters["LOT_SIZE"]["maxQty"]) > 0
    btc = next(s for s in info["symbols"] if s["symbol"] == "BTCUSDT")
    assert btc["filters"][0]["maxPrice"] == "1000000.00000000"


# -- trades and the average price -------------------------------------------------------


def test_historical_trades_need_no_key_and_page_forward_from_an_id(client: BinanceClient) -> None:
    recent = client.public("/api/v3/trades", symbol="BTCUSDT", limit=10).json()
    latest = client.public("/api/v3/historicalTrades", symbol="BTCUSDT", limit=3)
    assert latest.status_code == 200  # security NONE: no X-MBX-APIKEY needed
    assert len(latest.json()) == 3 and set(latest.json()[0]) == set(recent[0])
    first = recent[0]["id"]
    page = client.public("/api/v3/historicalTrades", symbol="BTCUSDT", fromId=first, limit=4)
    assert [t["id"] for t in page.json()] == [first, first + 1, first + 2, first + 3]
    assert page.json()[:4] == recent[:4]
    assert weight_of(client, "/api/v3/historicalTrades", symbol="BTCUSDT") == 25
    assert binance_error(client.public("/api/v3/historicalTrades", symbol="NOPE")) == (
        400,
        -1121,
        "Invalid symbol.",
    )
    not_an_id = client.public("/api/v3/historicalTrades", symbol="BTCUSDT", fromId="x")
    assert binance_error(not_an_id)[:2] == (400, -1100)


def test_average_price_is_over_five_minutes_up_to_the_last_trade(client: BinanceClient) -> None:
    last_before = client.public("/api/v3/trades", symbol="BTCUSDT", limit=1).json()[-1]["time"]
    average = client.public("/api/v3/avgPrice", symbol="BTCUSDT").json()
    last_after = client.public("/api/v3/trades", symbol="BTCUSDT", limit=1).json()[-1]["time"]
    assert set(average) == {"mins", "price", "closeTime"} and average["mins"] == 5
    assert len(average["price"].partition(".")[2]) == 8
    printed = client.public("/api/v3/trades", symbol="BTCUSDT", limit=1000).json()
    prices = [Decimal(t["price"]) for t in printed]
    assert min(prices) <= Decimal(average["price"]) <= max(prices)
    assert last_before <= average["closeTime"] <= last_after
    assert weight_of(client, "/api/v3/avgPrice", symbol="BTCUSDT") == 2


# -- klines -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v3/klines", "/api/v3/uiKlines"])
@pytest.mark.parametrize("interval", INTERVALS)
def test_every_binance_interval_is_served(client: BinanceClient, path: str, interval: str) -> None:
    rows = client.public(path, symbol="BTCUSDT", interval=interval).json()
    assert rows and all(len(row) == 12 for row in rows)
    opens = [datetime.fromtimestamp(row[0] / 1000, UTC) for row in rows]
    if interval == "1w":
        assert all(o.weekday() == 0 and (o.hour, o.minute) == (0, 0) for o in opens)
        assert all(row[6] - row[0] + 1 == 7 * DAY_MS for row in rows)
    elif interval == "1M":
        assert all((o.day, o.hour, o.minute) == (1, 0, 0) for o in opens)
    elif interval == "3d":
        assert all(row[0] % (3 * DAY_MS) == 0 for row in rows)
    elif interval == "1s":
        assert all(row[6] - row[0] == 999 for row in rows)


def test_ui_klines_are_the_klines(client: BinanceClient) -> None:
    klines = client.public("/api/v3/klines", symbol="BTCUSDT", interval="1s").json()
    ui = client.public("/api/v3/uiKlines", symbol="BTCUSDT", interval="1s").json()
    assert ui[: len(klines) - 1] == klines[:-1]  # the newest may have traded in between
    assert weight_of(client, "/api/v3/uiKlines", symbol="BTCUSDT", interval="1m") == 2


def test_taker_buy_volumes_and_counts_agree_with_the_trades(client: BinanceClient) -> None:
    trades = client.public("/api/v3/trades", symbol="BTCUSDT", limit=1000).json()
    now_ms = time.time_ns() // 1_000_000
    by_second: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for trade in trades:
        by_second[trade["time"] - trade["time"] % 1000].append(trade)
    # Live seconds and the back-history's alike: its 1-second candles are built from its
    # trades.
    seconds = sorted(by_second)
    if len(trades) == 1000:
        seconds = seconds[1:]  # the oldest second may have lost trades to the cap
    checked = [s for s in seconds if s + 1000 < now_ms]  # seconds that have ended
    assert checked
    candles: dict[int, list[Any]] = {}
    taker_bought = False
    for second in checked:
        if second not in candles:  # quiet seconds have klines too: page on from here
            rows = client.public(
                "/api/v3/klines", symbol="BTCUSDT", interval="1s", startTime=second, limit=1000
            ).json()
            candles.update((row[0], row) for row in rows)
        row, printed = candles[second], by_second[second]
        buys = [t for t in printed if not t["isBuyerMaker"]]
        taker_bought = taker_bought or bool(buys)
        assert row[8] == len(printed)
        assert Decimal(row[5]) == sum(Decimal(t["qty"]) for t in printed)
        assert Decimal(row[9]) == sum((Decimal(t["qty"]) for t in buys), Decimal(0))
        assert Decimal(row[10]) == sum((Decimal(t["quoteQty"]) for t in buys), Decimal(0))
    assert taker_bought  # the fixture's market buys, at least


def test_a_time_zone_moves_candle_boundaries(client: BinanceClient) -> None:
    days = client.public("/api/v3/klines", symbol="BTCUSDT", interval="1d", timeZone="8").json()
    assert all(row[0] % DAY_MS == 16 * HOUR_MS for row in days)
    hours = client.public(
        "/api/v3/klines", symbol="BTCUSDT", interval="1h", timeZone="05:45"
    ).json()
    assert all(row[0] % HOUR_MS == 15 * 60_000 for row in hours)
    assert binance_error(
        client.public("/api/v3/klines", symbol="BTCUSDT", interval="1d", timeZone="15")
    ) == (400, -1130, "Data sent for parameter 'timeZone' is not valid.")


def test_kline_refusals_use_binance_codes(client: BinanceClient) -> None:
    assert binance_error(client.public("/api/v3/uiKlines", symbol="BTCUSDT", interval="2w")) == (
        400,
        -1120,
        "Invalid interval.",
    )
    assert binance_error(client.public("/api/v3/klines", symbol="BTCUSDT"))[:2] == (400, -1102)
    assert binance_error(client.public("/api/v3/klines", symbol="NOPE", interval="1m"))[:2] == (
        400,
        -1121,
    )


# -- tickers ----------------------------------------------------------------------------

FULL = {
    "symbol", "priceChange", "priceChangePercent", "weightedAvgPrice", "openPrice",
    "highPrice", "lowPrice", "lastPrice", "volume", "quoteVolume", "openTime", "closeTime",
    "firstId", "lastId", "count",
}  # fmt: skip
MINI = FULL - {"priceChange", "priceChangePercent", "weightedAvgPrice"}


def test_rolling_window_ticker_starts_on_the_minute_and_counts_its_trades(
    client: BinanceClient,
) -> None:
    before_ms = time.time_ns() // 1_000_000
    ticker = client.public("/api/v3/ticker", symbol="BTCUSDT", windowSize="2m").json()
    trades = client.public("/api/v3/trades", symbol="BTCUSDT", limit=1000).json()
    assert set(ticker) == FULL
    assert ticker["openTime"] % 60_000 == 0
    assert 0 <= ticker["closeTime"] - 2 * 60_000 - ticker["openTime"] < 60_000
    assert ticker["closeTime"] >= before_ms
    in_window = [t for t in trades if ticker["openTime"] <= t["time"] <= ticker["closeTime"]]
    assert ticker["firstId"] == in_window[0]["id"]
    assert ticker["lastId"] in {t["id"] for t in in_window}
    assert ticker["count"] == ticker["lastId"] - ticker["firstId"] + 1


def test_rolling_window_ticker_for_several_symbols_mini(client: BinanceClient) -> None:
    tickers = client.public(
        "/api/v3/ticker", symbols='["BTCUSDT","ETHUSDT"]', windowSize="1h", type="MINI"
    )
    assert [t["symbol"] for t in tickers.json()] == ["BTCUSDT", "ETHUSDT"]
    assert all(set(t) == MINI for t in tickers.json())
    assert weight_of(client, "/api/v3/ticker", symbols='["BTCUSDT","ETHUSDT"]') == 8


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({}, (-1102, "Param 'symbol' or 'symbols' must be sent, but both were empty/null!")),
        (
            {"symbol": "BTCUSDT", "windowSize": "8d"},
            (-1130, "Data sent for parameter 'windowSize' is not valid."),
        ),
        ({"symbol": "BTCUSDT", "type": "HALF"}, (-1139, "Invalid ticker type.")),
        (
            {"symbols": "[" + ",".join(f'"S{i}"' for i in range(101)) + "]"},
            (-1101, "Too many values sent for parameter 'symbols', maximum allowed up to 100."),
        ),
        (
            {"symbol": "BTCUSDT", "symbolStatus": "HALT"},
            (-1220, "The symbol's status does not match the requested symbolStatus."),
        ),
        ({"symbol": "NOPEUSDT"}, (-1121, "Invalid symbol.")),
    ],
)
def test_rolling_window_ticker_refusals(
    client: BinanceClient, params: dict[str, str], error: tuple[int, str]
) -> None:
    assert binance_error(client.public("/api/v3/ticker", **params)) == (400, *error)


def test_trading_day_ticker_covers_the_day_in_its_time_zone(client: BinanceClient) -> None:
    utc = client.public("/api/v3/ticker/tradingDay", symbol="BTCUSDT").json()
    assert set(utc) == FULL
    assert utc["openTime"] % DAY_MS == 0 and utc["closeTime"] == utc["openTime"] + DAY_MS - 1
    assert utc["count"] >= 3 and Decimal(utc["volume"]) > 0
    shifted = client.public(
        "/api/v3/ticker/tradingDay", symbols='["BTCUSDT"]', timeZone="-1:30", type="MINI"
    ).json()
    assert isinstance(shifted, list) and set(shifted[0]) == MINI
    assert shifted[0]["openTime"] % DAY_MS == 90 * 60_000  # 00:00 at UTC-1:30
    assert binance_error(
        client.public("/api/v3/ticker/tradingDay", symbol="BTCUSDT", timeZone="+15")
    )[:2] == (400, -1130)
    assert weight_of(client, "/api/v3/ticker/tradingDay", symbol="BTCUSDT") == 4


def test_symbol_status_filters_ticker_lists_and_refuses_one_symbol(client: BinanceClient) -> None:
    halted = client.public("/api/v3/ticker/price", symbols='["BTCUSDT"]', symbolStatus="HALT")
    assert halted.json() == []
    trading = client.public("/api/v3/ticker/24hr", symbol="BTCUSDT", symbolStatus="TRADING")
    assert trading.json()["symbol"] == "BTCUSDT"
    broken = client.public("/api/v3/depth", symbol="BTCUSDT", symbolStatus="BREAK")
    assert binance_error(broken)[:2] == (400, -1220)
    unknown = client.public("/api/v3/depth", symbol="BTCUSDT", symbolStatus="x")
    assert binance_error(unknown) == (400, -1122, "Invalid symbolStatus.")


def test_day_ticker_trade_ids_come_from_the_trades(client: BinanceClient) -> None:
    day = client.public("/api/v3/ticker/24hr", symbol="BTCUSDT").json()
    trades = client.public("/api/v3/trades", symbol="BTCUSDT", limit=1000).json()
    assert day["lastId"] <= trades[-1]["id"] and day["lastId"] in {t["id"] for t in trades}
    assert day["count"] == day["lastId"] - day["firstId"] + 1


# -- routes Binance does not have ------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v3/nothing", "/sapi/v1/nothing", "/api/v9/ping", "/sim/v1/nothing", "/"]
)
def test_an_unknown_route_answers_binance_error_body(client: BinanceClient, path: str) -> None:
    assert binance_error(client.http.get(path)) == (404, -1020, "This operation is not supported.")


def test_an_unknown_method_answers_binance_error_body(client: BinanceClient) -> None:
    response = client.http.post("/api/v3/ping")
    assert binance_error(response) == (405, -1020, "This operation is not supported.")
    assert response.headers["Allow"] == "GET"


def test_futures_exchange_info_lists_nothing(client: BinanceClient) -> None:
    for path in ("/fapi/v1/exchangeInfo", "/dapi/v1/exchangeInfo"):
        info = client.http.get(path).json()
        assert info["symbols"] == [] and info["timezone"] == "UTC"
