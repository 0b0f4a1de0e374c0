"""The browser session: sign-in, refresh and sign-out with the refresh token in an
HttpOnly, Secure, SameSite=Strict cookie, refused to other sites' pages."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.gateway.support import PASSWORD, Api, User
from tradewind.store import audit

WEB = {"X-Tradewind-Web": "1"}
SESSION = "/api/v1/auth/session"


def cookie_of(response: httpx.Response) -> tuple[str, dict[str, str]]:
    """The `tradewind_refresh` value the response sets, and its attributes (lowercase
    names; flags map to "")."""
    (header,) = response.headers.get_list("set-cookie")
    first, *attributes = (part.strip() for part in header.split(";"))
    name, _, value = first.partition("=")
    assert name == "tradewind_refresh"
    found = {}
    for attribute in attributes:
        key, _, text = attribute.partition("=")
        found[key.lower()] = text
    return value, found


async def start(api: Api, user: User, **headers: str) -> httpx.Response:
    return await api.client.post(
        SESSION, json={"email": user.email, "password": PASSWORD}, headers={**WEB, **headers}
    )


async def refresh(api: Api, token: str, **headers: str) -> httpx.Response:
    cookie = {"Cookie": f"tradewind_refresh={token}"}
    return await api.client.post(f"{SESSION}/refresh", headers={**WEB, **cookie, **headers})


async def test_sign_in_sets_the_refresh_cookie_and_answers_only_the_access_token(api: Api) -> None:
    user = await api.sign_up()
    response = await start(api, user)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == api.state.authenticator.config.ttl_s
    token, attributes = cookie_of(response)
    assert token.startswith("twr_")
    assert token not in response.text
    assert attributes.keys() == {"httponly", "secure", "samesite", "path", "max-age"}
    assert attributes["samesite"] == "Strict"
    assert attributes["path"] == SESSION
    assert 0 < int(attributes["max-age"]) <= 30 * 86_400
    assert response.headers["cache-control"] == "no-store"
    me = await api.client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json()["id"] == user.id
    async with api.state.db.read() as conn:
        logins = await audit.query(conn, action="login", actor_id=user.id, offset=0, limit=10)
    assert len(logins) == 2  # sign_up's /auth/login, then this one: the same audit


async def test_refresh_rotates_the_cookie_and_a_reused_one_ends_the_session(api: Api) -> None:
    user = await api.sign_up()
    first, _ = cookie_of(await start(api, user))
    rotated = await refresh(api, first)
    assert rotated.status_code == 200, rotated.text
    second, attributes = cookie_of(rotated)
    assert second != first and attributes["path"] == SESSION
    assert set(rotated.json()) == {"access_token", "token_type", "expires_in"}
    access = rotated.json()["access_token"]
    assert (
        await api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {access}"})
    ).status_code == 200

    reused = await refresh(api, first)
    assert reused.status_code == 401
    assert reused.json()["code"] == "refresh_reused"
    assert set(reused.json()) == {"detail", "code", "errors"}
    cleared, cleared_attributes = cookie_of(reused)
    assert cleared == "" and cleared_attributes["max-age"] == "0"
    # Reuse ended the whole session: the rotated token and its access token too.
    assert (await refresh(api, second)).status_code == 401
    assert (
        await api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {access}"})
    ).status_code == 401


async def test_ending_the_session_revokes_it_and_clears_the_cookie(api: Api) -> None:
    user = await api.sign_up()
    signed_in = await start(api, user)
    token, _ = cookie_of(signed_in)
    access = signed_in.json()["access_token"]
    ended = await api.client.post(
        f"{SESSION}/end", headers={**WEB, "Cookie": f"tradewind_refresh={token}"}
    )
    assert ended.status_code == 204
    value, attributes = cookie_of(ended)
    assert value == "" and attributes["max-age"] == "0" and attributes["path"] == SESSION
    assert (await refresh(api, token)).status_code == 401
    assert (
        await api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {access}"})
    ).status_code == 401
    # Without a session: still 204, the cookie cleared.
    again = await api.client.post(f"{SESSION}/end", headers=WEB)
    assert again.status_code == 204
    assert cookie_of(again)[0] == ""


async def test_refresh_without_a_cookie_is_401_in_the_api_shape(sqlite_api: Api) -> None:
    response = await sqlite_api.client.post(f"{SESSION}/refresh", headers=WEB)
    assert response.status_code == 401
    assert response.json() == {
        "detail": "no browser session; sign in",
        "code": "no_session",
        "errors": [],
    }


async def test_a_wrong_password_is_401_in_the_api_shape_and_sets_no_cookie(
    sqlite_api: Api,
) -> None:
    user = await sqlite_api.sign_up()
    response = await sqlite_api.client.post(
        SESSION, json={"email": user.email, "password": "Wrong-Password-99"}, headers=WEB
    )
    assert response.status_code == 401
    assert response.json() == {
        "detail": "wrong e-mail or password",
        "code": "wrong_credentials",
        "errors": [],
    }
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("path", ["", "/refresh", "/end"])
async def test_without_the_web_header_every_session_route_refuses(
    sqlite_api: Api, path: str
) -> None:
    user = await sqlite_api.sign_up()
    response = await sqlite_api.client.post(
        SESSION + path, json={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "csrf"
    assert set(response.json()) == {"detail", "code", "errors"}
    assert "set-cookie" not in response.headers
    wrong_value = await sqlite_api.client.post(
        SESSION + path,
        json={"email": user.email, "password": PASSWORD},
        headers={"X-Tradewind-Web": "true"},
    )
    assert wrong_value.status_code == 403


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://gateway.test.evil.example", "https://gateway.test"]
)
async def test_another_origin_is_refused(sqlite_api: Api, origin: str) -> None:
    user = await sqlite_api.sign_up()
    token, _ = cookie_of(await start(sqlite_api, user))
    refused = await start(sqlite_api, user, Origin=origin)
    assert refused.status_code == 403 and refused.json()["code"] == "csrf"
    assert "set-cookie" not in refused.headers
    stolen = await refresh(sqlite_api, token, Origin=origin)
    assert stolen.status_code == 403
    assert (await refresh(sqlite_api, token)).status_code == 200  # the token was not spent


async def test_the_pages_own_origin_is_accepted(sqlite_api: Api) -> None:
    user = await sqlite_api.sign_up()
    response = await start(sqlite_api, user, Origin="http://gateway.test")
    assert response.status_code == 200, response.text


async def test_sign_in_shares_logins_lockout(sqlite_api: Api) -> None:
    """The same failure count as /auth/login: past the free failures, a wait (429)."""
    user = await sqlite_api.sign_up()
    policy = sqlite_api.state.login_policy
    statuses = []
    for _ in range(policy.max_failures + 1):
        response = await sqlite_api.client.post(
            SESSION, json={"email": user.email, "password": "Wrong-Password-99"}, headers=WEB
        )
        statuses.append(response.status_code)
    assert statuses[: policy.max_failures] == [401] * policy.max_failures
    locked = await sqlite_api.client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
    )
    assert locked.status_code == 429
    assert "retry-after" in locked.headers
