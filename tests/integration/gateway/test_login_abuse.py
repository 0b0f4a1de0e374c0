"""What an outsider learns and breaks with sign-up and login: failed logins slow down
their own source only (no lockout of the owner), an administrator can clear the waits,
and nothing tells a registered address from an unknown one (the attacks of the security
review, items 3 and 4)."""

from __future__ import annotations

from typing import Any

from argon2.profiles import CHEAPEST

from tests.integration.gateway.support import PASSWORD, Api, api_on, gateway_state, unique_email
from tradewind.gateway.deps import LoginPolicy
from tradewind.security.passwords import PasswordCheck, PasswordHasher
from tradewind.store.database import Database
from tradewind.store.login_failures import DelayPolicy
from tradewind.venues.simulated.exchange import SimulatedExchange

WRONG = "Wrong-Password-1"
# A first wait of a minute, so no wait runs out while a test looks at it.
POLICY = LoginPolicy(
    max_failures=5,
    lockout_s=900,
    per_ip_per_minute=10_000,
    per_account_per_minute=10_000,
    first_delay_s=60,
)


class CountingHasher(PasswordHasher):
    """The cheap test hasher, counting the argon2 work each request does."""

    def __init__(self) -> None:
        super().__init__(CHEAPEST)
        self.hashed = 0
        self.verified = 0

    def hash(self, password: str) -> str:
        self.hashed += 1
        return super().hash(password)

    def verify(self, stored_hash: str | None, password: str) -> PasswordCheck:
        self.verified += 1
        return super().verify(stored_hash, password)


async def _login(api: Api, email: str, password: str) -> Any:
    return await api.client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def test_a_guesser_cannot_lock_the_owner_out(
    db: Database, exchange: SimulatedExchange
) -> None:
    state = gateway_state(db, exchange, login_policy=POLICY)
    async with (
        api_on(state, exchange, peer="198.51.100.66") as attacker,
        api_on(state, exchange, peer="203.0.113.10") as owner,
    ):
        victim = await owner.sign_up()
        codes = [(await _login(attacker, victim.email, WRONG)).status_code for _ in range(8)]
        assert codes == [401] * 5 + [429] * 3  # the guesser waits ...
        assert (await _login(attacker, victim.email, PASSWORD)).status_code == 429
        assert (await _login(owner, victim.email, PASSWORD)).status_code == 200  # ... not them


def test_the_waits_grow_exponentially_up_to_the_longest() -> None:
    policy = DelayPolicy(free=5, base_s=1, max_s=900)
    assert [policy.delay_s(n) for n in range(1, 10)] == [0, 0, 0, 0, 1, 2, 4, 8, 16]
    assert policy.delay_s(15) == 900 and policy.delay_s(10**6) == 900


async def test_an_admin_clears_the_waits_of_every_source(
    db: Database, exchange: SimulatedExchange
) -> None:
    state = gateway_state(db, exchange, login_policy=POLICY)
    async with api_on(state, exchange) as api:
        boss = await api.as_roles("admin")
        user = await api.sign_up()
        for _ in range(6):
            await _login(api, user.email, WRONG)
        assert (await _login(api, user.email, PASSWORD)).status_code == 429
        listed = await api.client.get("/api/v1/admin/users?limit=500", headers=boss.headers)
        seen = next(u for u in listed.json()["items"] if u["id"] == user.id)
        assert seen["failed_logins"] == 5 and seen["locked_until"] is not None
        unlocked = await api.client.post(
            f"/api/v1/admin/users/{user.id}/unlock", headers=boss.headers
        )
        assert unlocked.status_code == 200 and unlocked.json()["locked_until"] is None
        assert (await _login(api, user.email, PASSWORD)).status_code == 200


async def test_sign_up_answers_and_works_alike_for_a_new_and_a_taken_address(
    db: Database, exchange: SimulatedExchange
) -> None:
    hasher = CountingHasher()
    state = gateway_state(db, exchange)
    state.hasher = hasher
    async with api_on(state, exchange) as api:
        taken = await api.sign_up()
        answers = []
        for email in (unique_email(), taken.email):
            hashed = hasher.hashed
            response = await api.client.post(
                "/api/v1/auth/register", json={"email": email, "password": PASSWORD + "x"}
            )
            answers.append((response.status_code, response.json(), hasher.hashed - hashed))
        assert answers[0] == answers[1]
        assert answers[0][0] == 202 and answers[0][2] == 1  # the same argon2 work
        # The taken address keeps its owner's password.
        assert (await _login(api, taken.email, PASSWORD)).status_code == 200


async def test_login_answers_alike_for_a_registered_and_an_unknown_address(
    db: Database, exchange: SimulatedExchange
) -> None:
    hasher = CountingHasher()
    state = gateway_state(db, exchange, login_policy=POLICY)
    state.hasher = hasher
    async with api_on(state, exchange) as api:
        known = await api.sign_up()
        answers = []
        for email in (known.email, unique_email()):
            verified = hasher.verified
            responses = [await _login(api, email, WRONG) for _ in range(7)]
            seen = [
                (r.status_code, r.json()["detail"], r.headers.get("retry-after")) for r in responses
            ]
            answers.append((seen, hasher.verified - verified))
        assert answers[0] == answers[1]
        assert [code for code, _, _ in answers[0][0]] == [401] * 5 + [429] * 2
        assert answers[0][0][-1][2] == "60"
