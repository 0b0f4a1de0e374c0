"""Budgets of authenticated callers: every route answers 429 past a user's request
budget, and routes that call an exchange have a much smaller one, per user and for the
whole platform (the attack of the security review, item 8)."""

from __future__ import annotations

from tests.integration.gateway.support import api_on, gateway_state
from tradewind.gateway.deps import RequestPolicy
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
