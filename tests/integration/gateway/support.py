"""Small builders for the gateway tests: a gateway over a database, and a client that
signs up, logs in and connects accounts in one call each."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from argon2.profiles import CHEAPEST

from tests.unit.security.factories import master_keys
from tradewind.gateway.app import build_state, create_app
from tradewind.gateway.deps import GatewayState, LoginPolicy, RequestPolicy
from tradewind.security.encryption import Encryptor
from tradewind.security.master_keys import MasterKeyProvider
from tradewind.security.passwords import PasswordHasher
from tradewind.security.proxies import parse_trusted_proxies
from tradewind.security.tokens import AccessTokenConfig
from tradewind.store.database import Database
from tradewind.venues.directory import SimulatedVenues
from tradewind.venues.simulated.exchange import KeyPermissions, SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket

JWT_SECRET = "test-secret-of-at-least-thirty-two-bytes!"
PASSWORD = "Correct-Horse-42"
CHEAP_HASHER = PasswordHasher(CHEAPEST)
_counter = itertools.count()

#: id(Database) -> its PostgreSQL schema (set by the `db` fixture), for tests that look
#: at the raw data.
PG_SCHEMAS: dict[int, str] = {}


def token_config(**options: Any) -> AccessTokenConfig:
    return AccessTokenConfig.hs256(JWT_SECRET, **options)


def new_exchange() -> SimulatedExchange:
    exchange = SimulatedExchange(SyntheticMarket(seed=1))
    exchange.step()
    return exchange


def gateway_state(
    db: Database,
    exchange: SimulatedExchange,
    *,
    keys: MasterKeyProvider | None = None,
    login_policy: LoginPolicy | None = None,
    tokens: AccessTokenConfig | None = None,
    request_policy: RequestPolicy | None = None,
    trusted_proxies: str = "",
) -> GatewayState:
    return build_state(
        db=db,
        encryptor=Encryptor(keys or master_keys("k1")),
        tokens=tokens or token_config(),
        venues=SimulatedVenues(exchange),
        hasher=CHEAP_HASHER,
        login_policy=login_policy or LoginPolicy(per_ip_per_minute=10_000),
        request_policy=request_policy,
        trusted_proxies=parse_trusted_proxies(trusted_proxies),
    )


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:6]}@example.org"


@dataclass
class User:
    id: str
    email: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class Api:
    """An httpx client on the app, with shortcuts for what most tests need first."""

    def __init__(self, client: httpx.AsyncClient, state: GatewayState, exchange: SimulatedExchange):
        self.client = client
        self.state = state
        self.exchange = exchange

    async def sign_up(self, email: str | None = None, password: str = PASSWORD) -> User:
        email = email or unique_email()
        registered = await self.client.post(
            "/api/v1/auth/register", json={"email": email, "password": password}
        )
        assert registered.status_code == 202, registered.text
        return await self.log_in(email, password)

    async def log_in(self, email: str, password: str = PASSWORD, user_id: str = "") -> User:
        response = await self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        user = User(user_id, email, body["access_token"], body["refresh_token"])
        if not user.id:
            me = await self.client.get("/api/v1/me", headers=user.headers)
            assert me.status_code == 200, me.text
            user.id = me.json()["id"]
        return user

    async def as_roles(self, *roles: str) -> User:
        """A signed-up user whose token carries `roles` (set directly in the store)."""
        from tradewind.store import users

        user = await self.sign_up()
        async with self.state.db.transaction() as conn:
            await users.set_roles(conn, user.id, roles)
        return await self.log_in(user.email, user_id=user.id)

    def funded_key(self, permissions: KeyPermissions | None = None) -> tuple[str, str]:
        creds = self.exchange.create_account({"USDT": Decimal("1000")}, permissions)
        return creds.api_key, creds.secret

    async def connect_account(self, user: User, label: str = "main") -> dict[str, Any]:
        api_key, secret = self.funded_key()
        response = await self.client.post(
            "/api/v1/accounts",
            json={"venue": "sim", "api_key": api_key, "api_secret": secret, "label": label},
            headers=user.headers,
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def create_bot(self, user: User, account_id: str) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/bots",
            json={
                "account_id": account_id,
                "strategy": "dca",
                "params": {"symbol": "BTC/USDT", "quote_amount": "25"},
            },
            headers=user.headers,
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


@asynccontextmanager
async def api_on(
    state: GatewayState, exchange: SimulatedExchange, *, peer: str = "127.0.0.1"
) -> AsyncIterator[Api]:
    """A client of the app over `state`, connecting from the address `peer`."""
    transport = httpx.ASGITransport(app=create_app(state), client=(peer, 51000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        yield Api(client, state, exchange)
