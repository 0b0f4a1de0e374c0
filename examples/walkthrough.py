"""A newcomer's first session with a running platform (`./dev up`), end to end:

    .venv/bin/python examples/walkthrough.py [GATEWAY_URL] [VENUE_URL] [DATABASE_FILE]

(defaults: http://127.0.0.1:8000, http://127.0.0.1:8765, .tradewind/embedded.db)

1. register and log in at the gateway;
2. open a funded account on the simulated exchange (its faucet) and connect its API key
   and secret to the platform;
3. create a DCA bot on it and start it;
4. watch the portfolio move over the WebSocket stream;
5. look at the stored key in the database: only ciphertext.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import uuid
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import httpx
import websockets


async def main(gateway: str, venue: str, database_file: str) -> None:
    api = f"{gateway}/api/v1"
    async with httpx.AsyncClient(timeout=20) as http:
        email = f"newcomer-{uuid.uuid4().hex[:6]}@example.com"
        password = "a long passphrase, 2 kinds"
        registered = await http.post(
            f"{api}/auth/register", json={"email": email, "password": password}
        )
        registered.raise_for_status()
        login = await http.post(f"{api}/auth/login", json={"email": email, "password": password})
        login.raise_for_status()
        token = login.json()["access_token"]
        auth = {"authorization": f"Bearer {token}"}
        print(f"1. registered and logged in as {email}")

        markets = (await http.get(f"{venue}/api/v3/exchangeInfo")).json()["symbols"]
        quote = markets[0]["quoteAsset"]
        symbol = f"{markets[0]['baseAsset']}/{quote}"
        funding = {"BTC": "1"} if quote == "BTC" else {quote: "10000"}
        keys = (await http.post(f"{venue}/sim/v1/accounts", json={"balances": funding})).json()
        connected = await http.post(
            f"{api}/accounts",
            headers=auth,
            json={
                "venue": "sim",
                "api_key": keys["api_key"],
                "api_secret": keys["api_secret"],
                "label": "my first account",
                "valuation_asset": quote,
            },
        )
        connected.raise_for_status()
        account = connected.json()
        print(f"2. connected account {account['id']} (key shown as {account['api_key']})")

        amount = "0.01" if quote == "BTC" else "50"
        bot = await http.post(
            f"{api}/bots",
            headers=auth,
            json={
                "account_id": account["id"],
                "strategy": "dca",
                "params": {"symbol": symbol, "quote_amount": amount, "interval_s": 2},
            },
        )
        bot.raise_for_status()
        bot_id = bot.json()["id"]
        (await http.post(f"{api}/bots/{bot_id}/start", headers=auth)).raise_for_status()
        print(f"3. started a DCA bot {bot_id} buying {symbol} for {amount} {quote} every 2 s")

    ws_url = gateway.replace("http", "ws", 1) + f"/api/v1/stream?token={token}"
    async with websockets.connect(ws_url) as stream:
        seen: set[str] = set()
        async with asyncio.timeout(60):
            while not {"portfolio", "fill"} <= seen:
                message = json.loads(await stream.recv())
                seen.add(message["type"])
                if message["type"] == "portfolio":
                    data = message["data"]
                    print(f"4. portfolio: equity {data['equity']} {quote}, "
                          f"balances {data['balances']}")  # fmt: skip
                elif message["type"] == "fill":
                    print(f"4. fill: {message['data']}")

    with sqlite3.connect(database_file) as db:
        (stored,) = db.execute(
            "SELECT api_secret_encrypted FROM exchange_accounts WHERE id = ?", (account["id"],)
        ).fetchone()
    assert keys["api_secret"] not in stored and keys["api_key"] not in stored
    print(f"5. the secret as stored: {stored[:80]}... (ciphertext; the secret is not in it)")


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
    parser.add_argument(
        "gateway",
        metavar="GATEWAY_URL",
        nargs="?",
        type=http_url,
        default="http://127.0.0.1:8000",
        help="the platform's gateway (default: %(default)s)",
    )
    parser.add_argument(
        "venue",
        metavar="VENUE_URL",
        nargs="?",
        type=http_url,
        default="http://127.0.0.1:8765",
        help="the simulated exchange (default: %(default)s)",
    )
    parser.add_argument(
        "database_file",
        metavar="DATABASE_FILE",
        nargs="?",
        default=".tradewind/embedded.db",
        help="the platform's SQLite database (default: %(default)s)",
    )
    args = parser.parse_args()
    # Checked here, not by a `type`, so that an unknown option is reported first.
    if not Path(args.database_file).is_file():
        parser.error(
            f"argument DATABASE_FILE: no file {args.database_file!r} (the platform's SQLite "
            "database: `./dev up` writes it to .tradewind/embedded.db where it runs)"
        )
    return args


if __name__ == "__main__":
    args = parse_arguments()
    try:
        asyncio.run(main(args.gateway, args.venue, args.database_file))
    except httpx.ConnectError as exc:
        url = args.gateway if str(exc.request.url).startswith(args.gateway) else args.venue
        sys.exit(
            f"walkthrough.py: error: cannot reach {url} ({exc}); "
            "is the platform running? Start it with `./dev up`"
        )
