"""Trade on the simulated exchange with plain, unmodified ccxt.

    .venv/bin/tradewind venue serve --port 8765 &
    curl -s -X POST localhost:8765/sim/v1/accounts \\
         -H 'content-type: application/json' -d '{"balances": {"USDT": "10000"}}'
    .venv/bin/python examples/trade_with_ccxt.py API_KEY API_SECRET [http://127.0.0.1:8765]

Everything below is ordinary ccxt; only the URLs point at the simulator.
"""

from __future__ import annotations

import asyncio
import sys
from urllib.parse import urlsplit

import ccxt.pro


def simulated_binance(base: str, api_key: str, secret: str) -> ccxt.pro.binance:
    ws = base.replace("http", "ws", 1)
    exchange = ccxt.pro.binance(
        {
            "apiKey": api_key,
            "secret": secret,
            "options": {
                "defaultType": "spot",
                "fetchMarkets": {"types": ["spot"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
                "fetchOpenOrders": {"warnWithoutSymbol": False},
            },
        }
    )
    api = exchange.urls["api"]
    for key, url in list(api.items()):
        if isinstance(url, str):
            api[key] = base + urlsplit(url).path
    for key, url in list(api["ws"].items()):
        if isinstance(url, str):
            api["ws"][key] = ws + urlsplit(url).path
    for key, url in list(api["ws"]["ws-api"].items()):
        api["ws"]["ws-api"][key] = ws + urlsplit(url).path
    return exchange


async def main(api_key: str, secret: str, base: str) -> None:
    exchange = simulated_binance(base, api_key, secret)
    try:
        await exchange.load_markets()
        ticker = await exchange.fetch_ticker("BTC/USDT")
        print(f"BTC/USDT last {ticker['last']}  bid {ticker['bid']}  ask {ticker['ask']}")
        order = await exchange.create_order("BTC/USDT", "market", "buy", 0.01)
        print(f"market buy: {order['status']}, filled {order['filled']} at {order['average']}")
        limit = await exchange.create_order(
            "BTC/USDT", "limit", "sell", 0.005, ticker["ask"] * 1.01
        )
        print(f"limit sell resting: {limit['status']} id {limit['id']}")
        balance = await exchange.fetch_balance()
        print(f"BTC {balance['BTC']}  USDT {balance['USDT']}")
        await exchange.cancel_order(limit["id"], "BTC/USDT")
        trades = await exchange.watch_trades("BTC/USDT")
        print(f"live trades: {len(trades)}, last at {trades[-1]['price']}")
    finally:
        await exchange.close()


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    asyncio.run(
        main(
            sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "http://127.0.0.1:8765"
        )
    )
