"""Revocation that cannot race: a demoted or disabled user's tokens stop at once, on
every instance, and so do their open streams; a logged-out or revoked session's access
tokens stop with it (the attacks of the security review, items 1 and 7)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.integration.gateway.support import Api, api_on, gateway_state
from tests.integration.gateway.test_stream import receive, served_api
from tradewind.store.database import Database
from tradewind.venues.simulated.exchange import SimulatedExchange


async def close_code(ws: ClientConnection) -> int:
    """The code the server closes `ws` with (within 5 s), messages before it ignored."""
    try:
        async with asyncio.timeout(5):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return closed.rcvd.code


async def test_a_demoted_admin_refreshing_all_the_time_keeps_no_admin_token(api: Api) -> None:
    boss = await api.as_roles("admin")
    rogue = await api.as_roles("admin", "trader")
    # The attack: refresh as fast as possible, so some token is always from the current
    # second, which survived a demotion compared in whole seconds.
    refresh_token, tokens = rogue.refresh_token, []
    for _ in range(5):
        refreshed = await api.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": refresh_token}
        )
        refresh_token = refreshed.json()["refresh_token"]
        tokens.append(refreshed.json()["access_token"])
    demoted = await api.client.put(
        f"/api/v1/admin/users/{rogue.id}/roles", json={"roles": ["trader"]}, headers=boss.headers
    )
    assert demoted.status_code == 200
    for token in tokens:
        regrant = await api.client.put(
            f"/api/v1/admin/users/{rogue.id}/roles",
            json={"roles": ["admin", "trader"]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert regrant.status_code == 401 and regrant.json()["code"] == "token_revoked"
    refreshed = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
    fresh = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    regrant = await api.client.put(
        f"/api/v1/admin/users/{rogue.id}/roles", json={"roles": ["admin"]}, headers=fresh
    )
    assert regrant.status_code == 403  # the new token carries the new roles


async def test_another_gateway_instance_refuses_the_old_token_after_its_next_poll(
    db: Database, exchange: SimulatedExchange
) -> None:
    async with (
        api_on(gateway_state(db, exchange), exchange) as first,
        api_on(gateway_state(db, exchange), exchange) as second,
    ):
        boss = await first.as_roles("admin")
        rogue = await first.as_roles("admin")
        assert (await second.client.get("/api/v1/admin/users", headers=rogue.headers)).is_success
        await first.client.put(
            f"/api/v1/admin/users/{rogue.id}/roles",
            json={"roles": ["viewer"]},
            headers=boss.headers,
        )
        async with db.read() as conn:
            await second.state.authenticator.revocations.poll(conn)
        refused = await second.client.get("/api/v1/admin/users", headers=rogue.headers)
        assert refused.status_code == 401 and refused.json()["code"] == "token_revoked"
        # A gateway started after the change learns it on its first poll too.
        async with api_on(gateway_state(db, exchange), exchange) as third:
            async with db.read() as conn:
                await third.state.authenticator.revocations.poll(conn)
            late = await third.client.get("/api/v1/me", headers=rogue.headers)
            assert late.status_code == 401


async def test_an_admin_disables_a_user_ending_every_session_and_enables_them_again(
    api: Api,
) -> None:
    boss = await api.as_roles("admin")
    user = await api.sign_up()
    other_device = await api.log_in(user.email, user_id=user.id)
    itself = await api.client.post(f"/api/v1/admin/users/{boss.id}/disable", headers=boss.headers)
    assert itself.status_code == 409

    disabled = await api.client.post(f"/api/v1/admin/users/{user.id}/disable", headers=boss.headers)
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    for session in (user, other_device):
        assert (await api.client.get("/api/v1/me", headers=session.headers)).status_code == 401
        again = await api.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": session.refresh_token}
        )
        assert again.status_code == 401
    login = await api.client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": "Correct-Horse-42"}
    )
    assert login.status_code == 403

    enabled = await api.client.post(f"/api/v1/admin/users/{user.id}/enable", headers=boss.headers)
    assert enabled.status_code == 200 and enabled.json()["disabled"] is False
    back = await api.log_in(user.email)
    assert (await api.client.get("/api/v1/me", headers=back.headers)).status_code == 200
    trader = await api.as_roles("trader")
    forbidden = await api.client.post(
        f"/api/v1/admin/users/{user.id}/disable", headers=trader.headers
    )
    assert forbidden.status_code == 403


async def test_logout_and_refresh_reuse_end_the_sessions_access_tokens_at_once(api: Api) -> None:
    user = await api.sign_up()
    kept = await api.log_in(user.email, user_id=user.id)  # another device, another session
    out = await api.client.post("/api/v1/auth/logout", json={"refresh_token": user.refresh_token})
    assert out.status_code == 204
    after = await api.client.get("/api/v1/me", headers=user.headers)
    assert after.status_code == 401 and after.json()["code"] == "token_revoked"
    assert (await api.client.get("/api/v1/me", headers=kept.headers)).status_code == 200

    stolen = kept.refresh_token
    await api.client.post("/api/v1/auth/refresh", json={"refresh_token": stolen})
    reused = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": stolen})
    assert reused.json()["code"] == "refresh_reused"
    assert (await api.client.get("/api/v1/me", headers=kept.headers)).status_code == 401


async def test_an_open_stream_closes_when_its_user_loses_the_right_to_read(
    tmp_path: Path, exchange: SimulatedExchange
) -> None:
    async with served_api(tmp_path, exchange) as (server, api):
        boss = await api.as_roles("admin")
        user = await api.sign_up()
        await api.connect_account(user)
        async with connect(f"{server.ws_url}?token={user.access_token}") as ws:
            assert (await receive(ws))["type"] == "subscribed"
            await api.client.put(
                f"/api/v1/admin/users/{user.id}/roles",
                json={"roles": ["operator"]},  # no portfolio:read
                headers=boss.headers,
            )
            assert await close_code(ws) == 4401

        user = await api.log_in(user.email, user_id=user.id)
        async with connect(f"{server.ws_url}?token={user.access_token}") as ws:
            assert await close_code(ws) == 4403  # the new token: an operator may not stream
        second = await api.sign_up()
        async with connect(f"{server.ws_url}?token={second.access_token}") as ws:
            assert (await receive(ws))["type"] == "subscribed"
            async with httpx.AsyncClient(base_url=server.url) as client:
                await client.post(
                    "/api/v1/auth/logout", json={"refresh_token": second.refresh_token}
                )
            assert await close_code(ws) == 4401


async def test_an_open_stream_closes_when_an_admin_disables_its_user(
    tmp_path: Path, exchange: SimulatedExchange
) -> None:
    async with served_api(tmp_path, exchange) as (server, api):
        boss = await api.as_roles("admin")
        user = await api.sign_up()
        async with connect(f"{server.ws_url}?token={user.access_token}") as ws:
            assert (await receive(ws))["type"] == "subscribed"
            disabled = await api.client.post(
                f"/api/v1/admin/users/{user.id}/disable", headers=boss.headers
            )
            assert disabled.status_code == 200
            assert await close_code(ws) == 4401


async def test_an_open_stream_closes_when_its_refresh_token_is_reused(
    tmp_path: Path, exchange: SimulatedExchange
) -> None:
    async with served_api(tmp_path, exchange) as (server, api):
        user = await api.sign_up()
        async with connect(f"{server.ws_url}?token={user.access_token}") as ws:
            assert (await receive(ws))["type"] == "subscribed"
            stolen = user.refresh_token
            assert (
                await api.client.post("/api/v1/auth/refresh", json={"refresh_token": stolen})
            ).is_success
            reused = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": stolen})
            assert reused.json()["code"] == "refresh_reused"
            assert await close_code(ws) == 4401


async def test_a_logout_while_the_stream_reads_its_accounts_still_closes_it(
    tmp_path: Path, exchange: SimulatedExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race: the stream has checked the token and is reading the user's accounts
    when the session ends; the hub hears of it before the stream is in the hub."""
    async with served_api(tmp_path, exchange) as (server, api):
        user = await api.sign_up()
        reading, revoked = asyncio.Event(), asyncio.Event()
        ownership = server.state.ownership
        read_accounts = ownership.accounts_of

        async def accounts_of_paused_for_a_revocation(user_id: str) -> tuple[str, ...]:
            accounts = await read_accounts(user_id)
            reading.set()
            async with asyncio.timeout(5):
                await revoked.wait()
            return accounts

        monkeypatch.setattr(ownership, "accounts_of", accounts_of_paused_for_a_revocation)
        async with connect(f"{server.ws_url}?token={user.access_token}") as ws:
            async with asyncio.timeout(5):
                await reading.wait()
            out = await api.client.post(
                "/api/v1/auth/logout", json={"refresh_token": user.refresh_token}
            )
            assert out.status_code == 204
            revoked.set()
            assert await close_code(ws) == 4401
