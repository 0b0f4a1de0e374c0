"""Exchange accounts and bots through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from tests.integration.gateway.support import Api
from tradewind.bus.envelope import decode
from tradewind.domain.bot_lifecycle import BotAction
from tradewind.domain.commands import BotCommand
from tradewind.store import audit
from tradewind.store.schema import exchange_accounts, outbox
from tradewind.venues.simulated.exchange import KeyPermissions


async def test_a_connected_account_stores_both_secrets_encrypted_and_shows_only_the_mask(
    api: Api,
) -> None:
    user = await api.sign_up()
    api_key, secret = api.funded_key()
    response = await api.client.post(
        "/api/v1/accounts",
        json={"venue": "sim", "api_key": api_key, "api_secret": secret, "label": "main"},
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["api_key"] == f"{api_key[:4]}…{api_key[-4:]}"
    assert body["status"] == "verified"
    assert api_key not in response.text and secret not in response.text

    async with api.state.db.read() as conn:
        row = (await conn.execute(select(exchange_accounts))).mappings().one()
    decrypt = api.state.encryptor.decrypt_text
    context = f"exchange_account:{body['id']}"
    assert decrypt(row["api_key_encrypted"], f"{context}:api_key") == api_key
    assert decrypt(row["api_secret_encrypted"], f"{context}:api_secret") == secret
    assert secret not in row["api_secret_encrypted"]

    listed = await api.client.get("/api/v1/accounts", headers=user.headers)
    assert [a["id"] for a in listed.json()["items"]] == [body["id"]]
    verified = await api.client.post(f"/api/v1/accounts/{body['id']}/verify", headers=user.headers)
    assert verified.status_code == 200, verified.text
    assert verified.json()["check"]["refusal"] is None


async def test_a_key_that_can_withdraw_is_refused_with_the_venues_reason(api: Api) -> None:
    user = await api.sign_up()
    api_key, secret = api.funded_key(KeyPermissions(trade=True, withdraw=True))
    response = await api.client.post(
        "/api/v1/accounts",
        json={"venue": "sim", "api_key": api_key, "api_secret": secret},
        headers=user.headers,
    )
    assert response.status_code == 422
    assert "withdraw" in response.json()["detail"]
    assert response.json()["errors"] == [
        {"field": "body.api_key", "message": response.json()["detail"]}
    ]


async def test_a_key_the_venue_rejects_is_a_400(api: Api) -> None:
    user = await api.sign_up()
    api_key, _ = api.funded_key()
    response = await api.client.post(
        "/api/v1/accounts",
        json={"venue": "sim", "api_key": api_key, "api_secret": "not-the-secret"},
        headers=user.headers,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "key_rejected"


async def test_bot_state_changes_write_the_row_and_a_bot_command_in_the_outbox(api: Api) -> None:
    user = await api.sign_up()
    account = await api.connect_account(user)
    bot = await api.create_bot(user, account["id"])
    assert bot["state"] == "stopped"
    assert bot["params"]["quote_amount"] == "25"
    assert bot["params"]["interval_s"] == 86_400  # the strategy's default, filled in

    for action, state in (("start", "running"), ("pause", "paused"), ("stop", "stopped")):
        changed = await api.client.post(f"/api/v1/bots/{bot['id']}/{action}", headers=user.headers)
        assert changed.status_code == 200, changed.text
        assert changed.json()["state"] == state
    again = await api.client.post(f"/api/v1/bots/{bot['id']}/stop", headers=user.headers)
    assert again.json()["state"] == "stopped"  # already stopped: nothing sent
    refused = await api.client.post(f"/api/v1/bots/{bot['id']}/pause", headers=user.headers)
    assert refused.status_code == 409

    async with api.state.db.read() as conn:
        rows = (await conn.execute(select(outbox).order_by(outbox.c.id))).mappings().all()
        entries = await audit.query(conn, actor_id=user.id)
    commands = [decode(row["envelope"]).payload for row in rows]
    assert all(isinstance(c, BotCommand) for c in commands)
    assert [c.action for c in commands if isinstance(c, BotCommand)] == [
        BotAction.START,
        BotAction.PAUSE,
        BotAction.STOP,
    ]
    assert {row["topic"] for row in rows} == {"bot.commands"}
    assert {row["event_key"] for row in rows} == {account["id"]}
    actions = [e.action for e in entries]
    assert {"bot.start", "bot.pause", "bot.stop", "bot.created", "account.connected"} <= set(
        actions
    )


async def test_bot_params_are_checked_against_the_strategy_naming_the_field(api: Api) -> None:
    user = await api.sign_up()
    account = await api.connect_account(user)
    bad = await api.client.post(
        "/api/v1/bots",
        json={
            "account_id": account["id"],
            "strategy": "dca",
            "params": {"symbol": "BTC/USDT", "quote_amount": "-5"},
        },
        headers=user.headers,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "params.quote_amount"
    unknown = await api.client.post(
        "/api/v1/bots",
        json={"account_id": account["id"], "strategy": "nope", "params": {}},
        headers=user.headers,
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "strategy"
    schemas = await api.client.get("/api/v1/strategies", headers=user.headers)
    assert {"dca", "grid"} <= {s["name"] for s in schemas.json()}


async def test_removing_an_account_stops_its_running_bots_and_is_audited(api: Api) -> None:
    user = await api.sign_up()
    account = await api.connect_account(user)
    bot = await api.create_bot(user, account["id"])
    await api.client.post(f"/api/v1/bots/{bot['id']}/start", headers=user.headers)
    removed = await api.client.delete(f"/api/v1/accounts/{account['id']}", headers=user.headers)
    assert removed.status_code == 204
    gone = await api.client.get(f"/api/v1/bots/{bot['id']}", headers=user.headers)
    assert gone.status_code == 404
    async with api.state.db.read() as conn:
        rows = (await conn.execute(select(outbox).order_by(outbox.c.id))).mappings().all()
        removed_entries = await audit.query(conn, action="account.removed")
    last = decode(rows[-1]["envelope"]).payload
    assert isinstance(last, BotCommand) and last.action is BotAction.STOP
    assert removed_entries[0].detail["bots_stopped"] == 1
