"""The client's address as the gateway records and throttles it: X-Forwarded-For is
believed only from TRADEWIND_TRUSTED_PROXIES, never from any local peer (the attack of
the security review, item 2)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.integration.gateway.serving import gateway_settings, serving
from tests.integration.gateway.support import PASSWORD, api_on, gateway_state, unique_email
from tradewind.gateway.deps import LoginPolicy
from tradewind.store import audit
from tradewind.store.database import Database
from tradewind.venues.simulated.exchange import SimulatedExchange


async def _login_sources(db: Database) -> list[str]:
    async with db.read() as conn:
        return [e.source_ip for e in await audit.query(conn, action="login.failed")]


async def test_a_forged_forwarded_for_neither_escapes_throttling_nor_breaks_the_audit(
    db: Database, exchange: SimulatedExchange
) -> None:
    policy = LoginPolicy(per_ip_per_minute=3, per_account_per_minute=1000, max_failures=100)
    state = gateway_state(db, exchange, login_policy=policy)
    async with api_on(state, exchange) as api:
        codes = []
        for n in range(4):
            forged = {"X-Forwarded-For": f"203.0.113.{n}" + ("9" * 100 if n == 1 else "")}
            response = await api.client.post(
                "/api/v1/auth/login",
                json={"email": unique_email(), "password": PASSWORD},
                headers=forged,
            )
            codes.append(response.status_code)
        assert codes == [401, 401, 401, 429]  # one source: the peer's
        assert await _login_sources(db) == ["127.0.0.1"] * 3


async def test_behind_a_trusted_proxy_the_forwarded_client_is_recorded(
    db: Database, exchange: SimulatedExchange
) -> None:
    state = gateway_state(db, exchange, trusted_proxies="127.0.0.1/32")
    async with api_on(state, exchange) as api:
        for forwarded in ("spoofed, 203.0.113.5", "x" * 200):
            await api.client.post(
                "/api/v1/auth/login",
                json={"email": unique_email(), "password": PASSWORD},
                headers={"X-Forwarded-For": forwarded},
            )
        assert await _login_sources(db) == ["127.0.0.1", "203.0.113.5"]


async def test_the_served_gateway_ignores_forwarded_for_from_loopback(
    tmp_path: Path, exchange: SimulatedExchange
) -> None:
    # uvicorn itself trusts 127.0.0.1's X-Forwarded-For unless told not to.
    async with (
        serving(gateway_settings(tmp_path), exchange) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        await client.post(
            "/api/v1/auth/login",
            json={"email": unique_email(), "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.77"},
        )
        assert await _login_sources(server.state.db) == ["127.0.0.1"]


async def test_an_overlong_source_is_cut_to_the_audit_column_not_a_500(db: Database) -> None:
    async with db.transaction() as conn:
        await audit.record(conn, "login.failed", actor_id=None, source_ip="9" * 100)
    assert await _login_sources(db) == ["9" * 64]
