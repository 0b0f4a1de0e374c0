"""The simulated venue's public Binance endpoints over real HTTP: shapes, parameters,
weights and the errors of bad requests."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.integration.venues.sim_rest_support import BinanceClient, binance_error, running_venue


@pytest.fixture(scope="module")
def client() -> Iterator[BinanceClient]:
    with running_venue() as (url, _):
        client = BinanceClient(url)
        client.wait_for_trades()
        yield client
        client.close()


def test_ping_and_time_answer_like_binance(client: BinanceClient) -> None:
    assert client.public("/api/v3/ping").json() == {}
    server_time = client.public("/api/v3/time").json()["serverTime"]
    assert isinstance(server_time, int) and server_time > 1_500_000_000_000


def test_exchange_info_lists_spot_symbols_with_filters_and_binance_rate_limits(
    client: BinanceClient,
) -> None:
    info = client.public("/api/v3/exchangeInfo").json()
    assert info["rateLimits"] == [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
        {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
        {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
    ]
    btc = next(s for s in info["symbols"] if s["symbol"] == "BTCUSDT")
    assert (btc["status"], btc["baseAsset"], btc["quoteAsset"]) == ("TRADING", "BTC", "USDT")
    assert btc["orderTypes"] == [
        "LIMIT", "LIMIT_MAKER", "MARKET",
        "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT",
    ]  # fmt: skip
    assert (btc["ocoAllowed"], btc["cancelReplaceAllowed"]) == (True, True)
    assert btc["allowTrailingStop"] is False
    assert btc["isSpotTradingAllowed"] is True
    assert btc["permissionSets"] == [["SPOT"]]
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert set(filters) == {"PRICE_FILTER", "LOT_SIZE", "NOTIONAL"}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert Decimal(filters["NOTIONAL"]["minNotional"]) == 5


def test_exchange_info_for_one_symbol_and_for_an_unknown_one(client: BinanceClient) -> None:
    one = client.public("/api/v3/exchangeInfo", symbol="ETHUSDT").json()
    assert [s["symbol"] for s in one["symbols"]] == ["ETHUSDT"]
    assert binance_error(client.public("/api/v3/exchangeInfo", symbol="NOPEUSDT")) == (
        400,
        -1121,
        "Invalid symbol.",
    )


def test_depth_honours_limit_and_charges_weight_by_limit(client: BinanceClient) -> None:
    small = client.public("/api/v3/depth", symbol="BTCUSDT", limit=3)
    used_after_small = int(small.headers["X-MBX-USED-WEIGHT-1M"])
    large = client.public("/api/v3/depth", symbol="BTCUSDT", limit=1000)
    used_after_large = int(large.headers["X-MBX-USED-WEIGHT-1M"])
    book = small.json()
    assert len(book["bids"]) == 3 and len(book["asks"]) == 3
    assert isinstance(book["lastUpdateId"], int)
    best_bid, best_ask = Decimal(book["bids"][0][0]), Decimal(book["asks"][0][0])
    assert best_bid < best_ask
    assert used_after_large - used_after_small in (50, 50 - 60_000)  # unless a minute turned


def test_trades_and_klines_describe_the_market_that_traded(client: BinanceClient) -> None:
    trades = client.public("/api/v3/trades", symbol="BTCUSDT", limit=5).json()
    assert 1 <= len(trades) <= 5
    assert set(trades[0]) == {
        "id",
        "price",
        "qty",
        "quoteQty",
        "time",
        "isBuyerMaker",
        "isBestMatch",
    }
    klines = client.public("/api/v3/klines", symbol="BTCUSDT", interval="1m").json()
    assert klines and len(klines[-1]) == 12
    open_ms, high, low = klines[-1][0], Decimal(klines[-1][2]), Decimal(klines[-1][3])
    assert open_ms % 60_000 == 0 and low <= high


def test_klines_with_an_unknown_interval_are_refused(client: BinanceClient) -> None:
    response = client.public("/api/v3/klines", symbol="BTCUSDT", interval="7m")
    assert binance_error(response) == (400, -1120, "Invalid interval.")


def test_aggregate_trades_carry_trade_id_ranges(client: BinanceClient) -> None:
    aggregated = client.public("/api/v3/aggTrades", symbol="BTCUSDT").json()
    assert aggregated and all(a["f"] <= a["l"] for a in aggregated)


def test_tickers_for_one_symbol_are_objects_and_for_all_are_lists(client: BinanceClient) -> None:
    price = client.public("/api/v3/ticker/price", symbol="BTCUSDT").json()
    assert price["symbol"] == "BTCUSDT" and Decimal(price["price"]) > 0
    book = client.public("/api/v3/ticker/bookTicker", symbol="BTCUSDT").json()
    assert Decimal(book["bidPrice"]) < Decimal(book["askPrice"])
    day = client.public("/api/v3/ticker/24hr", symbol="BTCUSDT").json()
    assert {"lastPrice", "bidQty", "volume", "count", "openTime"} <= set(day)
    assert "time" not in day  # ccxt reads a "time" key as a futures ticker
    everything = client.public("/api/v3/ticker/24hr").json()
    assert {t["symbol"] for t in everything} >= {"BTCUSDT", "ETHUSDT"}
    some = client.public("/api/v3/ticker/price", symbols='["BTCUSDT","ETHUSDT"]').json()
    assert [t["symbol"] for t in some] == ["BTCUSDT", "ETHUSDT"]


def test_missing_and_duplicate_parameters_are_refused_with_binance_codes(
    client: BinanceClient,
) -> None:
    assert binance_error(client.public("/api/v3/depth")) == (
        400,
        -1102,
        "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
    )
    duplicate = client.http.get("/api/v3/depth?symbol=BTCUSDT&symbol=ETHUSDT")
    assert binance_error(duplicate) == (400, -1101, "Duplicate values for a parameter detected.")
    bad_limit = client.public("/api/v3/depth", symbol="BTCUSDT", limit="ten")
    assert binance_error(bad_limit)[:2] == (400, -1100)
