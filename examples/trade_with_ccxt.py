"""Trade on the simulated exchange with plain, unmodified ccxt.

    .venv/bin/tradewind venue serve --port 8765 &
    curl -s -X POST localhost:8765/sim/v1/accounts \\
         -H 'content-type: application/json' -d '{"balances": {"USDT": "10000"}}'
    .venv/bin/python examples/trade_with_ccxt.py API_KEY API_SECRET [http://127.0.0.1:8765]

Everything below is ordinary ccxt; only the URLs point at the simulator.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import NoReturn
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


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a bad argument prints one line, `PROG: error: MESSAGE`, and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")


def http_url(value: str) -> str:
    """`value` if it is http(s)://host[:port], without a trailing /."""
    try:
        parts = urlsplit(value)
        valid = (
            parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and parts.port != 0  # ValueError if the port is not a number below 65536
            and parts.username is None
            and parts.path in ("", "/")
            and not (parts.query or parts.fragment)
        )
    except ValueError:
        valid = False
    if not valid:
        raise argparse.ArgumentTypeError(f"{value!r} is not an http(s)://host[:port] URL")
    return value.rstrip("/")


def parse_arguments() -> argparse.Namespace:
    parser = OneLineErrorParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("api_key", metavar="API_KEY", help="the account's API key")
    parser.add_argument("api_secret", metavar="API_SECRET", help="the account's API secret")
    parser.add_argument(
        "venue",
        metavar="VENUE_URL",
        nargs="?",
        type=http_url,
        default="http://127.0.0.1:8765",
        help="the simulated exchange (default: %(default)s)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    args = parse_arguments()
    try:
        asyncio.run(main(args.api_key, args.api_secret, args.venue))
    except ccxt.ExchangeNotAvailable as exc:
        if not isinstance(exc.__cause__, OSError):  # the venue answered: not a connection issue
            raise
        sys.exit(
            f"trade_with_ccxt.py: error: cannot reach {args.venue} ({exc.__cause__}); is the "
            "simulated exchange running? Start it with `./dev up` or `tradewind venue serve`"
        )
