"""Unmodified ccxt `coinbase` reads the simulated venue's Coinbase market data: markets,
currencies, order books, tickers, candles and trades, public and signed."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import ccxt.async_support as ccxt  # type: ignore[import-untyped]
import httpx

from tests.integration.venues.coinbase.support import USD_PAIRS, coinbase_client
from tradewind.venues.simulated.server.state import ServerState


async def test_load_markets_lists_the_usd_and_usdc_pairs_with_the_engines_filters(
    venue_url: str, venue_state: ServerState
) -> None:
    async with coinbase_client(venue_url) as exchange:  # no key: public routes only
        markets = await exchange.load_markets()
    assert sorted(markets) == sorted(USD_PAIRS)
    btc = markets["BTC/USD"]
    filters = venue_state.exchange.specs["BTC/USD"].filters
    assert btc["id"] == "BTC-USD" and btc["spot"] and btc["active"]
    assert Decimal(str(btc["precision"]["price"])) == filters.tick_size
    assert Decimal(str(btc["precision"]["amount"])) == filters.step_size
    assert Decimal(str(btc["limits"]["amount"]["min"])) == filters.min_qty
    assert Decimal(str(btc["limits"]["cost"]["min"])) == Decimal(1)  # Coinbase's USD minimum
    assert {"BTC", "ETH", "SOL", "USD", "USDC"} <= set(exchange.currencies)
    assert exchange.currencies["USD"]["type"] == "fiat"
    assert exchange.currencies["BTC"]["type"] == "crypto"


async def test_signed_load_markets_reads_the_accounts_fee_tier(
    coinbase: ccxt.coinbase, venue_state: ServerState
) -> None:
    maker, taker = venue_state.exchange.fees, venue_state.exchange.fees
    market = coinbase.markets["ETH/USD"]
    assert Decimal(str(market["maker"])) == maker
    assert Decimal(str(market["taker"])) == taker


async def test_order_book_is_the_engines_book(
    coinbase: ccxt.coinbase, venue_state: ServerState
) -> None:
    book = await coinbase.fetch_order_book("BTC/USD", 5)
    assert 0 < len(book["bids"]) <= 5 and 0 < len(book["asks"]) <= 5
    assert book["bids"][0][0] < book["asks"][0][0]
    assert book["bids"] == sorted(book["bids"], reverse=True)
    depth = venue_state.exchange.engine.depth("BTC/USD", 50)
    engine_prices = {float(level.price) for level in depth.bids + depth.asks}
    # The house requotes between the two reads; most levels are still the same.
    seen = [price for price, _ in book["bids"] + book["asks"]]
    assert sum(price in engine_prices for price in seen) >= len(seen) // 2


async def test_ticker_has_last_trade_and_best_bid_and_ask(coinbase: ccxt.coinbase) -> None:
    ticker = await coinbase.fetch_ticker("BTC/USD")
    assert ticker["symbol"] == "BTC/USD"
    assert ticker["bid"] is not None and ticker["ask"] is not None
    assert ticker["bid"] < ticker["ask"]
    assert ticker["last"] is not None and ticker["last"] > 0


async def test_tickers_come_from_the_products_list(coinbase: ccxt.coinbase) -> None:
    tickers = await coinbase.fetch_tickers(["BTC/USD", "ETH/USDC"])
    assert set(tickers) == {"BTC/USD", "ETH/USDC"}
    assert all(t["last"] is not None and t["last"] > 0 for t in tickers.values())


async def test_candles_are_the_venues_klines_oldest_first(coinbase: ccxt.coinbase) -> None:
    candles = await coinbase.fetch_ohlcv("BTC/USD", "5m", limit=20)
    assert 1 < len(candles) <= 20
    opens = [c[0] for c in candles]
    assert opens == sorted(opens) and len(set(opens)) == len(opens)
    assert all(b - a == 300_000 for a, b in pairwise(opens))
    for _, open_, high, low, close, volume in candles:
        assert low <= min(open_, close) <= max(open_, close) <= high and volume >= 0


def test_candles_refuse_more_than_350_at_once(venue_url: str) -> None:
    response = httpx.get(
        f"{venue_url}/api/v3/brokerage/market/products/BTC-USD/candles",
        params={"granularity": "ONE_MINUTE", "start": 0, "end": 60 * 400},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "INVALID_ARGUMENT"


async def test_public_trades_are_the_venues_trades_newest_last_in_ccxt(
    coinbase: ccxt.coinbase, venue_state: ServerState
) -> None:
    trades = await coinbase.fetch_trades("BTC/USD", limit=10)
    assert 0 < len(trades) <= 10
    times = [t["timestamp"] for t in trades]
    assert times == sorted(times)
    recent = {str(t.trade_id) for t in venue_state.exchange.history.recent_trades("BTC/USD", 500)}
    assert {t["id"] for t in trades} <= recent
    assert all(t["side"] in ("buy", "sell") for t in trades)


async def test_signed_market_data_routes_answer_like_the_public_ones(
    coinbase: ccxt.coinbase,
) -> None:
    book = await coinbase.fetch_order_book("ETH/USD", 3, {"usePrivate": True})
    assert book["bids"] and book["asks"]
    best = await coinbase.fetch_bids_asks(["ETH/USD"])
    assert best["ETH/USD"]["bid"] < best["ETH/USD"]["ask"]
    ticker = await coinbase.fetch_ticker("ETH/USD", {"usePrivate": True})
    assert ticker["last"] is not None


async def test_server_time_is_now(coinbase: ccxt.coinbase) -> None:
    v2 = await coinbase.fetch_time()
    v3 = await coinbase.fetch_time({"method": "v3PublicGetBrokerageTime"})
    assert abs(v3 - v2) < 60_000  # both read the same clock, a second apart at most
    assert abs(v2 - coinbase.milliseconds()) < 60_000


def test_an_unknown_product_is_a_coinbase_404(venue_url: str) -> None:
    response = httpx.get(f"{venue_url}/api/v3/brokerage/market/products/DOGE-USD")
    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "NOT_FOUND" and "DOGE-USD" in body["message"]
