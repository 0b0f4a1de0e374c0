"""The venues users may connect accounts to, and candles of their accounts' venues for
the dashboard's charts: exact strings, own accounts only, the venue's failures told."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import httpx
import pytest

from tests.integration.gateway.serving import free_port
from tests.integration.gateway.support import CHEAP_HASHER, Api, new_exchange, token_config
from tests.unit.security.factories import master_keys
from tradewind.gateway.app import build_state, create_app
from tradewind.gateway.deps import LoginPolicy
from tradewind.security.encryption import Encryptor
from tradewind.store import accounts
from tradewind.store.database import Database
from tradewind.venues.directory import CcxtVenues
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket


@pytest.fixture
def exchange() -> SimulatedExchange:
    """The simulated exchange with two hours of 5-minute candles behind it."""
    now_ms = time.time_ns() // 1_000_000
    market = SyntheticMarket(seed=1, start_ms=now_ms, history_ms=2 * 3600 * 1000)
    exchange = SimulatedExchange(market)
    exchange.step()
    return exchange


async def test_customers_and_operators_see_the_venues_by_name_and_kind(sqlite_api: Api) -> None:
    for roles in (("trader",), ("viewer",), ("operator",)):
        caller = await sqlite_api.as_roles(*roles)
        response = await sqlite_api.client.get("/api/v1/venues", headers=caller.headers)
        assert response.status_code == 200, roles
        assert response.json() == [{"name": "sim", "kind": "simulated", "adapter": None}]


async def test_declared_real_venues_name_their_adapter_and_no_url(sqlite_db: Database) -> None:
    venues = CcxtVenues.declared("sim=http://user:pw@127.0.0.1:1", "bn=binance,kr=ccxt:kraken")
    assert venues is not None
    async with api_over(sqlite_db, venues) as api:
        user = await api.sign_up()
        response = await api.client.get("/api/v1/venues", headers=user.headers)
    assert response.json() == [
        {"name": "sim", "kind": "simulated", "adapter": None},
        {"name": "bn", "kind": "exchange", "adapter": "binance"},
        {"name": "kr", "kind": "exchange", "adapter": "ccxt:kraken"},
    ]
    assert "127.0.0.1" not in response.text and "pw" not in response.text


async def test_candles_of_an_own_accounts_venue_are_exact_strings(api: Api) -> None:
    user = await api.sign_up()
    account = await api.connect_account(user)
    response = await api.client.get(
        f"/api/v1/accounts/{account['id']}/candles",
        params={"symbol": "BTC/USDT", "interval": "5m", "limit": 12},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    candles = response.json()
    assert 0 < len(candles) <= 12
    assert list(candles[0]) == ["ts", "open", "high", "low", "close", "volume"]
    stamps = [c["ts"] for c in candles]
    assert stamps == sorted(stamps) and all(ts % 300_000 == 0 for ts in stamps)
    for candle in candles:
        prices = [Decimal(candle[k]) for k in ("open", "high", "low", "close")]
        assert all(isinstance(candle[k], str) for k in ("open", "high", "low", "close", "volume"))
        assert min(prices) == Decimal(candle["low"]) and max(prices) == Decimal(candle["high"])


async def test_candles_refuse_an_unlisted_symbol_a_missing_one_and_a_bad_interval(
    sqlite_api: Api,
) -> None:
    user = await sqlite_api.sign_up()
    account = await sqlite_api.connect_account(user)
    url = f"/api/v1/accounts/{account['id']}/candles"
    cases = [
        ({"symbol": "DOGE/XYZ"}, "query.symbol", "sim does not list DOGE/XYZ"),
        ({}, "query.symbol", "symbol"),
        ({"symbol": "BTC/USDT", "interval": "7m"}, "query.interval", ""),
        ({"symbol": "BTC/USDT", "limit": 0}, "query.limit", ""),
        ({"symbol": "BTC/USDT", "limit": 1001}, "query.limit", ""),
    ]
    for params, field, words in cases:
        response = await sqlite_api.client.get(url, params=params, headers=user.headers)
        assert response.status_code == 422, params
        body = response.json()
        assert body["code"] == "invalid_request"
        assert [e["field"] for e in body["errors"]] == [field], body
        assert words in body["detail"]


async def test_another_users_account_has_no_candles(sqlite_api: Api) -> None:
    owner = await sqlite_api.sign_up()
    account = await sqlite_api.connect_account(owner)
    intruder = await sqlite_api.sign_up()
    response = await sqlite_api.client.get(
        f"/api/v1/accounts/{account['id']}/candles",
        params={"symbol": "BTC/USDT"},
        headers=intruder.headers,
    )
    assert response.status_code == 404
    assert account["id"] not in response.text


async def test_an_unreachable_venue_is_503_in_the_api_shape(sqlite_db: Database) -> None:
    venues = CcxtVenues({"sim": f"http://127.0.0.1:{free_port()}"})
    async with api_over(sqlite_db, venues) as api:
        user = await api.sign_up()
        async with sqlite_db.transaction() as conn:
            account = await accounts.add_account(
                conn, user_id=user.id, venue="sim", label="main", api_key_masked="k***",
                api_key_encrypted="{}", api_secret_encrypted="{}", valuation_asset="USDT",
            )  # fmt: skip
        response = await api.client.get(
            f"/api/v1/accounts/{account.id}/candles",
            params={"symbol": "BTC/USDT"},
            headers=user.headers,
        )
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"
    assert "sim cannot be reached" in response.json()["detail"]


@asynccontextmanager
async def api_over(db: Database, venues: CcxtVenues) -> AsyncIterator[Api]:
    """A gateway over `venues` (not the in-process exchange)."""
    state = build_state(
        db=db,
        encryptor=Encryptor(master_keys("k1")),
        tokens=token_config(),
        venues=venues,
        hasher=CHEAP_HASHER,
        login_policy=LoginPolicy(per_ip_per_minute=10_000),
    )
    transport = httpx.ASGITransport(app=create_app(state), client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        yield Api(client, state, new_exchange())
