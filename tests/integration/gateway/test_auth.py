"""Sign-up, login (throttling, lockout, audit), refresh rotation with reuse detection,
logout, and the access tokens the API refuses."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.integration.gateway.support import (
    JWT_SECRET,
    PASSWORD,
    Api,
    api_on,
    gateway_state,
    token_config,
    unique_email,
)
from tradewind.gateway.deps import LoginPolicy
from tradewind.security.tokens import AccessTokenConfig, issue_access_token
from tradewind.store import audit, users
from tradewind.store.database import Database
from tradewind.venues.simulated.exchange import SimulatedExchange


async def test_sign_up_stores_the_email_encrypted_and_the_password_as_argon2id(api: Api) -> None:
    email = unique_email("Mixed.Case")
    response = await api.client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 202, response.text
    async with api.state.db.read() as conn:
        stored = await users.find_by_email_index(conn, api.state.encryptor.email_index(email))
    assert stored is not None and stored.roles == ("trader",)
    assert email.lower() not in stored.email_encrypted and email not in stored.email_encrypted
    assert stored.password_hash.startswith("$argon2id$")
    me = await api.client.get("/api/v1/me", headers=(await api.log_in(email)).headers)
    assert me.json()["email"] == "m***@example.org"  # stored normalised

    again = await api.client.post(
        "/api/v1/auth/register", json={"email": email.upper(), "password": PASSWORD}
    )
    assert (again.status_code, again.json()) == (202, response.json())


async def test_a_weak_password_is_refused_listing_every_rule_it_breaks(sqlite_api: Api) -> None:
    email = unique_email("weak")
    response = await sqlite_api.client.post(
        "/api/v1/auth/register", json={"email": email, "password": "short"}
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "12 characters" in detail and "two kinds" in detail
    assert response.json()["errors"][0]["field"] == "body.password"


async def test_login_refresh_rotation_reuse_revokes_the_family_and_logout(api: Api) -> None:
    user = await api.sign_up()
    me = await api.client.get("/api/v1/me", headers=user.headers)
    assert me.status_code == 200 and me.json()["id"] == user.id

    first = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user.refresh_token}
    )
    assert first.status_code == 200, first.text
    second_token = first.json()["refresh_token"]
    assert second_token != user.refresh_token

    reused = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user.refresh_token}
    )
    assert reused.status_code == 401 and reused.json()["code"] == "refresh_reused"
    # The thief's copy (or the victim's) of the newest token is dead too.
    after = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": second_token})
    assert after.status_code == 401 and after.json()["code"] == "refresh_revoked"

    fresh = await api.log_in(user.email)
    out = await api.client.post("/api/v1/auth/logout", json={"refresh_token": fresh.refresh_token})
    assert out.status_code == 204
    refused = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": fresh.refresh_token}
    )
    assert refused.status_code == 401
    async with api.state.db.read() as conn:
        actions = [e.action for e in await audit.query(conn, actor_id=user.id)]
    assert {"user.registered", "login", "session.reuse_revoked", "logout"} <= set(actions)


async def test_wrong_passwords_slow_down_their_source_and_are_audited(
    db: Database, exchange: SimulatedExchange
) -> None:
    policy = LoginPolicy(
        max_failures=3, lockout_s=600, per_ip_per_minute=1000, per_account_per_minute=1000
    )
    async with api_on(gateway_state(db, exchange, login_policy=policy), exchange) as api:
        user = await api.sign_up()
        for _ in range(3):
            wrong = await api.client.post(
                "/api/v1/auth/login", json={"email": user.email, "password": "Wrong-Password-1"}
            )
            assert wrong.status_code == 401
            assert wrong.json()["detail"] == "wrong e-mail or password"
        waiting = await api.client.post(
            "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
        )
        assert waiting.status_code == 429
        assert int(waiting.headers["Retry-After"]) == 1  # the first of 1, 2, 4 ... s
        async with api.state.db.read() as conn:
            entries = await audit.query(conn, actor_id=user.id)
        failed = [e for e in entries if e.action == "login.failed"]
        assert [e.detail["failures_from_source"] for e in failed] == [3, 2, 1]
        assert failed[0].detail["blocked_s"] == 1 and "blocked_s" not in failed[1].detail
        assert entries[0].action == "login.throttled"


async def test_login_attempts_are_throttled_per_ip_and_per_account(
    sqlite_db: Database, exchange: SimulatedExchange
) -> None:
    policy = LoginPolicy(max_failures=100, per_ip_per_minute=6, per_account_per_minute=3)
    async with api_on(gateway_state(sqlite_db, exchange, login_policy=policy), exchange) as api:
        email = unique_email()
        await api.client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        codes = [
            (
                await api.client.post(
                    "/api/v1/auth/login", json={"email": email, "password": "Wrong-Password-1"}
                )
            ).status_code
            for _ in range(4)
        ]
        assert codes == [401, 401, 401, 429]  # per address (from this source)
        other = [
            (
                await api.client.post(
                    "/api/v1/auth/login", json={"email": unique_email(), "password": PASSWORD}
                )
            ).status_code
            for _ in range(3)
        ]
        assert other == [401, 401, 429]  # 4 + 2 logins spent the IP's 6


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": "tradewind",
        "aud": "tradewind-api",
        "sub": "u1",
        "roles": ["admin"],
        "iat": now,
        "exp": now + 600,
        "jti": "j1",
    }
    claims.update(overrides)
    return claims


def _forged_tokens() -> dict[str, str]:
    typ = {"typ": "at+jwt"}
    return {
        "alg_none": jwt.encode(_claims(), key=None, algorithm="none", headers=typ),  # type: ignore[arg-type]
        "wrong_alg_hs512": jwt.encode(_claims(), JWT_SECRET, algorithm="HS512", headers=typ),
        "wrong_alg_eddsa": jwt.encode(
            _claims(), Ed25519PrivateKey.generate(), algorithm="EdDSA", headers=typ
        ),
        "wrong_audience": issue_access_token(
            AccessTokenConfig.hs256(JWT_SECRET, audience="another-api"),
            "u1",
            ["admin"],
            session_id="s1",
            version=0,
        ),
        "expired": issue_access_token(
            token_config(), "u1", ["admin"], now_s=time.time() - 3600, session_id="s1", version=0
        ),
        "bad_signature": issue_access_token(
            AccessTokenConfig.hs256("another-secret-of-at-least-32-bytes!!"),
            "u1",
            ["admin"],
            session_id="s1",
            version=0,
        ),
        "not_a_jwt": "definitely.not.a-jwt",
    }


@pytest.mark.filterwarnings("ignore:The HMAC key")
@pytest.mark.parametrize(
    ("forgery", "reason"),
    [
        ("alg_none", "token_algorithm"),
        ("wrong_alg_hs512", "token_algorithm"),
        ("wrong_alg_eddsa", "token_algorithm"),
        ("wrong_audience", "token_audience"),
        ("expired", "token_expired"),
        ("bad_signature", "token_signature"),
        ("not_a_jwt", "token_malformed"),
    ],
)
async def test_the_api_refuses_forged_or_expired_access_tokens(
    sqlite_api: Api, forgery: str, reason: str
) -> None:
    token = _forged_tokens()[forgery]
    response = await sqlite_api.client.get(
        "/api/v1/admin/users", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == reason
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_missing_or_malformed_authorization_is_a_401(sqlite_api: Api) -> None:
    for headers in ({}, {"Authorization": "Basic dTpw"}, {"Authorization": "Bearer "}):
        response = await sqlite_api.client.get("/api/v1/accounts", headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == "no_token"


async def test_a_role_change_cuts_off_tokens_issued_before_it(sqlite_api: Api) -> None:
    admin = await sqlite_api.as_roles("admin")
    trader = await sqlite_api.sign_up()
    assert (await sqlite_api.client.get("/api/v1/bots", headers=trader.headers)).status_code == 200
    changed = await sqlite_api.client.put(
        f"/api/v1/admin/users/{trader.id}/roles", json={"roles": ["viewer"]}, headers=admin.headers
    )
    assert changed.status_code == 200, changed.text
    old = await sqlite_api.client.get("/api/v1/bots", headers=trader.headers)
    assert old.status_code == 401 and old.json()["code"] == "token_revoked"
    refreshed = await sqlite_api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": trader.refresh_token}
    )
    token = refreshed.json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["roles"] == ["viewer"]
