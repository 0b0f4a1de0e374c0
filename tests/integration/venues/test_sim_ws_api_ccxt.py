"""Unmodified ccxt pro (4.5.90) trading over the simulated venue's WebSocket API: every
spot `*_ws` method ccxt's binance offers (`create_order_ws`, `edit_order_ws`,
`cancel_order_ws`, `cancel_all_orders_ws`, `fetch_order_ws`, `fetch_open_orders_ws`,
`fetch_orders_ws`, `fetch_balance_ws`, `fetch_my_trades_ws`, `fetch_trades_ws`,
`fetch_ohlcv_ws`), with every URL re-hosted as docs/venues/ccxt-binance-protocol.md
describes. (`fetch_order_book_ws` and `fetch_ticker_ws` are futures-only in ccxt.)"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import ccxt.pro  # type: ignore[import-untyped]
import pytest

from tests.integration.venues.sim_rest_support import open_account, running_venue

BTC = "BTC/USDT"


@pytest.fixture(scope="module")
def venue_url() -> Iterator[str]:
    with running_venue() as (url, _):
        yield url


@pytest.fixture
async def binance(venue_url: str) -> AsyncIterator[Any]:
    account = open_account(venue_url, {"USDT": "10000", "BTC": "0.01"})
    exchange = ccxt.pro.binance(
        {
            "apiKey": account.api_key,
            "secret": account.secret,
            "enableRateLimit": False,
            "options": {
                "defaultType": "spot",
                "fetchMarkets": {"types": ["spot"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
                "adjustForTimeDifference": False,
            },
        }
    )
    ws_url = venue_url.replace("http://", "ws://", 1)
    api = exchange.urls["api"]
    for key, url in list(api.items()):
        if isinstance(url, str):
            api[key] = venue_url + urlsplit(url).path
    for key, url in list(api["ws"].items()):
        if isinstance(url, str):
            api["ws"][key] = ws_url + urlsplit(url).path
    for key, url in list(api["ws"]["ws-api"].items()):
        api["ws"]["ws-api"][key] = ws_url + urlsplit(url).path
    try:
        await exchange.load_markets()
        yield exchange
    finally:
        await exchange.close()


async def _held(binance: Any, asset: str) -> tuple[Decimal, Decimal]:
    """(free, locked) of `asset`, from `fetch_balance_ws` (Binance's `account.status`).
    Read from `info`, the reply's `result`: ccxt 4.5.90 parses a spot `account.status`
    as a futures one (`parse_balance_custom` without `type="spot"` looks for `assets`),
    so its unified balance is empty against Binance itself too."""
    balance = await binance.fetch_balance_ws()
    (entry,) = [b for b in balance["info"]["balances"] if b["asset"] == asset]
    return Decimal(entry["free"]), Decimal(entry["locked"])


async def test_ccxt_pro_places_edits_queries_and_cancels_orders_over_the_ws_api(
    binance: Any,
) -> None:
    assert await _held(binance, "USDT") == (Decimal(10000), Decimal(0))
    bid = await binance.create_order_ws(BTC, "limit", "buy", 0.01, 20000, {"clientOrderId": "wsb"})
    assert (bid["status"], bid["clientOrderId"], bid["price"]) == ("open", "wsb", 20000)
    assert await _held(binance, "USDT") == (Decimal(9800), Decimal(200))

    fetched = await binance.fetch_order_ws(bid["id"], BTC)
    assert (fetched["id"], fetched["status"], fetched["amount"]) == (bid["id"], "open", 0.01)
    assert [o["id"] for o in await binance.fetch_open_orders_ws(BTC)] == [bid["id"]]

    moved = await binance.edit_order_ws(bid["id"], BTC, "limit", "buy", 0.01, 21000)
    assert moved["status"] == "open" and moved["price"] == 21000 and moved["id"] != bid["id"]
    assert (await binance.fetch_order_ws(bid["id"], BTC))["status"] == "canceled"
    assert await _held(binance, "USDT") == (Decimal(9790), Decimal(210))

    canceled = await binance.cancel_order_ws(moved["id"], BTC)
    assert canceled["status"] == "canceled"
    assert await _held(binance, "USDT") == (Decimal(10000), Decimal(0))
    assert await binance.fetch_open_orders_ws(BTC) == []
    with pytest.raises(ccxt.OrderNotFound):
        await binance.fetch_order_ws("987654321", BTC)
    with pytest.raises(ccxt.OrderNotFound):
        await binance.cancel_order_ws(moved["id"], BTC)


async def test_ccxt_pro_market_order_fills_and_its_trades_and_balances_agree(
    binance: Any,
) -> None:
    bought = await binance.create_order_ws(BTC, "market", "buy", 0.002)
    assert bought["status"] == "closed" and bought["filled"] == 0.002
    cost = Decimal(str(bought["cost"]))
    fee = sum((Decimal(str(t["fee"]["cost"])) for t in bought["trades"]), Decimal(0))
    assert {t["fee"]["currency"] for t in bought["trades"]} == {"BTC"}
    assert await _held(binance, "USDT") == (Decimal(10000) - cost, Decimal(0))
    btc_free, btc_used = await _held(binance, "BTC")
    # commissions show rounded up to 8 decimals, the free balance rounded down
    slack = Decimal("1e-8") * (len(bought["trades"]) - 1)
    assert btc_used == 0 and Decimal(0) <= btc_free - (Decimal("0.012") - fee) <= slack

    mine = await binance.fetch_my_trades_ws(BTC)
    assert {t["order"] for t in mine} == {bought["id"]}
    assert sum((Decimal(str(t["amount"])) for t in mine), Decimal(0)) == Decimal("0.002")
    orders = await binance.fetch_orders_ws(BTC)
    assert [(o["id"], o["status"]) for o in orders] == [(bought["id"], "closed")]
    assert [o["id"] for o in await binance.fetch_closed_orders_ws(BTC)] == [bought["id"]]

    with pytest.raises(ccxt.InsufficientFunds):
        await binance.create_order_ws(BTC, "limit", "buy", 1, 20000)
    assert await _held(binance, "USDT") == (Decimal(10000) - cost, Decimal(0))


async def test_ccxt_pro_stop_orders_hold_funds_until_canceled_all_at_once(
    binance: Any,
) -> None:
    stop = await binance.create_order_ws(
        BTC, "limit", "sell", 0.004, 10000, {"stopLossPrice": 10001}
    )
    assert stop["status"] == "open"
    shown = await binance.fetch_order_ws(stop["id"], BTC)
    assert shown["triggerPrice"] == 10001 and shown["info"]["type"] == "STOP_LOSS_LIMIT"
    take_profit = await binance.create_order_ws(
        BTC, "market", "sell", 0.003, None, {"takeProfitPrice": 90000}
    )
    assert (await binance.fetch_order_ws(take_profit["id"], BTC))["info"]["type"] == "TAKE_PROFIT"
    assert await _held(binance, "BTC") == (Decimal("0.003"), Decimal("0.007"))

    canceled = await binance.cancel_all_orders_ws(BTC)
    assert {o["id"] for o in canceled} == {stop["id"], take_profit["id"]}
    assert await _held(binance, "BTC") == (Decimal("0.01"), Decimal(0))


async def test_ccxt_pro_reads_candles_and_public_trades_over_the_ws_api(binance: Any) -> None:
    candles = await binance.fetch_ohlcv_ws(BTC, "1h", limit=3)
    assert len(candles) == 3 and candles[0][0] < candles[1][0] < candles[2][0]
    assert all(low <= high for _, _, high, low, _, _ in candles)
    trades = await binance.fetch_trades_ws(BTC, limit=5)
    # Binance's trades.historical rows carry no symbol, so ccxt leaves it None
    assert len(trades) == 5 and all(t["price"] > 0 and t["amount"] > 0 for t in trades)
    ids = [int(t["id"]) for t in trades]
    assert ids == sorted(ids)
