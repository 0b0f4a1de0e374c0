"""Budgets of authenticated callers: every route and the WebSocket stream answer 429
(4429) past a user's request budget, and routes that call an exchange have a much
smaller one, per user and for the whole platform (the attack of the security review,
item 8); token refreshes have a budget per source address (item 1: a demoted admin
refreshing many times a second)."""

from __future__ import annotations

from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from tests.integration.gateway.serving import gateway_settings, serving
from tests.integration.gateway.support import Api, api_on, gateway_state
from tests.integration.gateway.test_revocation import close_code
from tests.integration.gateway.test_stream import receive
from tradewind.gateway.deps import LoginPolicy, RequestPolicy
from tradewind.store.database import Database
from tradewind.venues.simulated.exchange import SimulatedExchange


async def test_every_authenticated_route_has_a_per_user_budget(
    sqlite_db: Database, exchange: SimulatedExchange
) -> None:
    policy = RequestPolicy(per_user_per_minute=5)
    async with api_on(gateway_state(sqlite_db, exchange, request_policy=policy), exchange) as api:
        greedy, patient = await api.sign_up(), await api.sign_up()
        codes = [
            (await api.client.get(path, headers=greedy.headers)).status_code
            for path in ["/api/v1/bots", "/api/v1/accounts", "/api/v1/portfolio"] * 2
        ]
        # sign_up spent one (GET /me): four more pass, then every route refuses.
        assert codes == [200, 200, 200, 200, 429, 429]
        refused = await api.client.get("/api/v1/fills", headers=greedy.headers)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert (await api.client.get("/api/v1/bots", headers=patient.headers)).status_code == 200


async def test_verifying_a_key_again_and_again_stops_before_it_burns_the_keys_allowance(
    sqlite_db: Database, exchange: SimulatedExchange
) -> None:
    policy = RequestPolicy(exchange_calls_per_user_per_minute=3, exchange_calls_per_minute=5)
    async with api_on(gateway_state(sqlite_db, exchange, request_policy=policy), exchange) as api:
        user, other, third = await api.sign_up(), await api.sign_up(), await api.sign_up()
        account = await api.connect_account(user)  # one exchange call
        codes = [
            (
                await api.client.post(
                    f"/api/v1/accounts/{account['id']}/verify", headers=user.headers
                )
            ).status_code
            for _ in range(4)
        ]
        assert codes == [200, 200, 429, 429]
        # The platform's budget is shared: 3 of 5 spent above, two more, then none.
        await api.connect_account(other)
        await api.connect_account(other)
        api_key, secret = api.funded_key()
        refused = await api.client.post(
            "/api/v1/accounts",
            json={"venue": "sim", "api_key": api_key, "api_secret": secret},
            headers=third.headers,
        )
        assert refused.status_code == 429
        assert "from the platform" in refused.json()["detail"]


async def test_refreshing_again_and_again_from_one_address_answers_429_and_keeps_the_token(
    sqlite_db: Database, exchange: SimulatedExchange
) -> None:
    policy = LoginPolicy(per_ip_per_minute=10_000, refreshes_per_ip_per_minute=3)
    state = gateway_state(sqlite_db, exchange, login_policy=policy)
    async with api_on(state, exchange) as api, api_on(state, exchange, peer="10.0.0.7") as other:
        user = await api.sign_up()
        refresh_token, codes = user.refresh_token, []
        for _ in range(4):
            refreshed = await api.client.post(
                "/api/v1/auth/refresh", json={"refresh_token": refresh_token}
            )
            codes.append(refreshed.status_code)
            if refreshed.is_success:
                refresh_token = refreshed.json()["refresh_token"]
        assert codes == [200, 200, 200, 429]
        assert int(refreshed.headers["Retry-After"]) >= 1
        assert "token refreshes" in refreshed.json()["detail"]
        # The refused refresh did not use the token: from another address it still works
        # (and is not taken for a reuse that would end the session).
        elsewhere = await other.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": refresh_token}
        )
        assert elsewhere.status_code == 200


async def test_the_refresh_budget_is_the_setting(
    tmp_path: Path, exchange: SimulatedExchange
) -> None:
    settings = gateway_settings(tmp_path, refresh_rate_per_ip=1)
    async with (
        serving(settings, exchange) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        user = await Api(client, server.state, exchange).sign_up()
        first = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": user.refresh_token}
        )
        assert first.status_code == 200
        again = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": first.json()["refresh_token"]}
        )
        assert again.status_code == 429


async def test_opening_streams_takes_from_the_users_request_budget(
    tmp_path: Path, exchange: SimulatedExchange
) -> None:
    settings = gateway_settings(tmp_path, rate_per_user=3)
    async with (
        serving(settings, exchange) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        api = Api(client, server.state, exchange)
        greedy, patient = await api.sign_up(), await api.sign_up()
        # sign_up spent one (GET /me): two streams open, the third is refused.
        for _ in range(2):
            async with connect(f"{server.ws_url}?token={greedy.access_token}") as ws:
                assert (await receive(ws))["type"] == "subscribed"
        async with connect(f"{server.ws_url}?token={greedy.access_token}") as ws:
            assert await close_code(ws) == 4429
        refused = await client.get("/api/v1/bots", headers=greedy.headers)
        assert refused.status_code == 429
        async with connect(f"{server.ws_url}?token={patient.access_token}") as ws:
            assert (await receive(ws))["type"] == "subscribed"
