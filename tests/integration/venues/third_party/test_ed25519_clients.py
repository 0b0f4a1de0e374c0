"""Unmodified third-party Binance clients signing with an Ed25519 API key, each pointed
at the venue by its base URL only: python-binance 1.0.37 (`Client(api_key=...,
private_key=...)` over REST, `AsyncClient` over the WebSocket API), binance-connector
3.13.0 (`Spot(api_key=..., private_key=...)`) and ccxt 4.5.90 (`binance` with the PEM
private key as `secret`, which ccxt signs with EdDSA, over REST and the WebSocket API).
Each reads the account, places a resting limit order and cancels it.

None of these clients sends `session.logon`; test_sim_ed25519.py covers it with raw
frames. Signing does not depend on the market, so these tests run on the synthetic
market only (this module's `venue` replaces the shared one of every market mode)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt.pro  # type: ignore[import-untyped]
import pytest
from binance.async_client import AsyncClient
from binance.client import Client
from binance.spot import Spot

from tests.integration.venues.sim_ed25519_support import Ed25519Account, open_ed25519_account
from tests.integration.venues.third_party.python_binance_support import rehosted
from tests.integration.venues.third_party.venue_support import (
    SEED,
    Venue,
    serving,
    text,
    venue_balances,
)
from tradewind.venues.ccxt_venue import rehosted_urls

D = Decimal


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venue]:
    directory: Path = tmp_path_factory.mktemp("candles")
    with serving("synthetic", SEED, directory) as served:
        yield served


@pytest.fixture
def account(venue: Venue) -> Ed25519Account:
    funding = {asset: text(amount) for asset, amount in venue.funding().items()}
    return open_ed25519_account(venue.url, funding)


def resting_buy(venue: Venue) -> dict[str, str]:
    """A limit buy far below the market (it rests), in Binance's parameter names."""
    market = venue.market
    bid, ask = venue.top()
    return {
        "symbol": market.symbol,
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": text(market.order_quantity(ask)),
        "price": text(market.price(bid * D("0.6"))),
    }


def assert_nothing_locked(venue: Venue, account: Ed25519Account) -> None:
    """After the cancel, the venue's own record: no funds held by an order."""
    held = venue_balances(venue.url, account.account_id)
    assert held[venue.market.quote][1] == 0, held


# -- python-binance ----------------------------------------------------------------------


def test_python_binance_client_with_an_ed25519_key(venue: Venue, account: Ed25519Account) -> None:
    client: Client = rehosted(Client, venue)(
        api_key=account.api_key, private_key=account.private_pem
    )
    try:
        balances = {b["asset"]: D(b["free"]) for b in client.get_account()["balances"]}
        assert balances[venue.market.quote] > 0
        order = resting_buy(venue)
        placed = client.create_order(**order)
        assert placed["status"] == "NEW"
        symbol, order_id = order["symbol"], placed["orderId"]
        assert client.get_order(symbol=symbol, orderId=order_id)["status"] == "NEW"
        assert [o["orderId"] for o in client.get_open_orders(symbol=symbol)] == [order_id]
        assert client.cancel_order(symbol=symbol, orderId=order_id)["status"] == "CANCELED"
    finally:
        client.close_connection()
    assert_nothing_locked(venue, account)


async def test_python_binance_ws_api_with_an_ed25519_key(
    venue: Venue, account: Ed25519Account
) -> None:
    """`AsyncClient.ws_*`: every request signed with the Ed25519 key on one connection."""
    client: AsyncClient = await rehosted(AsyncClient, venue).create(
        api_key=account.api_key, private_key=account.private_pem
    )
    try:
        held = await client.ws_get_account()
        assert venue.market.quote in {b["asset"] for b in held["balances"]}
        order = resting_buy(venue)
        placed = await client.ws_create_order(**order)
        assert placed["status"] == "NEW"
        cancelled = await client.ws_cancel_order(symbol=order["symbol"], orderId=placed["orderId"])
        assert cancelled["status"] == "CANCELED"
    finally:
        await client.close_connection()
    assert_nothing_locked(venue, account)


# -- binance-connector -------------------------------------------------------------------


def test_binance_connector_spot_with_an_ed25519_key(venue: Venue, account: Ed25519Account) -> None:
    spot = Spot(api_key=account.api_key, private_key=account.private_pem, base_url=venue.url)
    balances = {b["asset"]: D(b["free"]) for b in spot.account()["balances"]}
    assert balances[venue.market.quote] > 0
    order = resting_buy(venue)
    rest = {k: v for k, v in order.items() if k not in ("symbol", "side", "type")}
    placed = spot.new_order(order["symbol"], order["side"], order["type"], **rest)
    assert placed["status"] == "NEW"
    assert spot.get_order(order["symbol"], orderId=placed["orderId"])["status"] == "NEW"
    cancelled = spot.cancel_order(order["symbol"], orderId=placed["orderId"])
    assert cancelled["status"] == "CANCELED"
    assert_nothing_locked(venue, account)


# -- ccxt --------------------------------------------------------------------------------


@pytest.fixture
async def exchange(venue: Venue, account: Ed25519Account) -> AsyncIterator[Any]:
    """A default `ccxt.pro.binance` with the PEM private key as its secret and every REST
    and WebSocket URL on the venue."""
    client = ccxt.pro.binance({"apiKey": account.api_key, "secret": account.private_pem})
    client.urls["api"] = rehosted_urls(client.urls["api"], venue.url, venue.ws_url)
    try:
        await client.load_markets()
        yield client
    finally:
        await client.close()


async def test_ccxt_binance_with_an_ed25519_private_key_as_secret(
    venue: Venue, account: Ed25519Account, exchange: Any
) -> None:
    market = venue.market
    unified = f"{market.base}/{market.quote}"
    balance = await exchange.fetch_balance()
    assert D(str(balance["free"][market.quote])) > 0
    order = resting_buy(venue)
    amount, price = float(order["quantity"]), float(order["price"])

    placed = await exchange.create_order(unified, "limit", "buy", amount, price)
    assert placed["status"] == "open"
    assert (await exchange.fetch_order(placed["id"], unified))["status"] == "open"
    cancelled = await exchange.cancel_order(placed["id"], unified)
    assert cancelled["info"]["status"] == "CANCELED"

    over_ws = await exchange.create_order_ws(unified, "limit", "buy", amount, price)
    assert over_ws["status"] == "open"
    cancelled_ws = await exchange.cancel_order_ws(over_ws["id"], unified)
    assert cancelled_ws["info"]["status"] == "CANCELED"
    assert_nothing_locked(venue, account)
