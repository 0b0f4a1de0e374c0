"""Risk limits through the API: the owner sets the account's, an admin the platform's
ceiling, the view says which applies and who set it, bad limits are refused naming the
field, and a halt the limits caused is shown with its reason."""

from __future__ import annotations

from sqlalchemy import select

from tests.integration.gateway.support import Api
from tradewind.bus.envelope import decode
from tradewind.domain.events import KillSwitchChanged
from tradewind.store import audit
from tradewind.store.schema import outbox


async def test_the_owner_sets_limits_and_the_admins_ceiling_caps_them(api: Api) -> None:
    owner = await api.sign_up()
    account = await api.connect_account(owner)
    path = f"/api/v1/accounts/{account['id']}/risk-limits"
    fresh = await api.client.get(path, headers=owner.headers)
    assert fresh.status_code == 200
    assert fresh.json() == {
        "account": {"max_drawdown": None, "max_var_95": None},
        "platform": {"max_drawdown": None, "max_var_95": None},
        "effective": {"max_drawdown": None, "max_var_95": None},
        "halted": None,
    }
    set_ = await api.client.put(
        path, json={"max_drawdown": "0.25", "max_var_95": "0.02"}, headers=owner.headers
    )
    assert set_.status_code == 200, set_.text
    assert set_.json()["account"] == {"max_drawdown": "0.25", "max_var_95": "0.02"}

    admin = await api.as_roles("admin")
    ceiling = await api.client.put(
        "/api/v1/admin/risk-limits", json={"max_drawdown": "0.1"}, headers=admin.headers
    )
    assert ceiling.json() == {"max_drawdown": "0.1", "max_var_95": None}
    view = (await api.client.get(path, headers=owner.headers)).json()
    assert view["effective"] == {
        "max_drawdown": {"value": "0.1", "set_by": "platform"},  # tighter than 0.25
        "max_var_95": {"value": "0.02", "set_by": "account"},
    }
    async with api.state.db.read() as conn:
        actions = [e.action for e in await audit.query(conn)]
    assert {"risk_limits.set", "risk_limits.platform_set"} <= set(actions)

    # Cleared with null (a PUT replaces the limits).
    cleared = await api.client.put(path, json={"max_drawdown": None}, headers=owner.headers)
    assert cleared.json()["account"] == {"max_drawdown": None, "max_var_95": None}


async def test_a_limit_outside_0_to_1_is_refused_naming_the_field(api: Api) -> None:
    owner = await api.sign_up()
    account = await api.connect_account(owner)
    path = f"/api/v1/accounts/{account['id']}/risk-limits"
    for bad in ({"max_drawdown": "1.5"}, {"max_drawdown": "0"}, {"max_var_95": "NaN"},
                {"max_var_95": "ten"}, {"max_loss": "0.1"},
                {"max_drawdown": "0.1000000000000000001"}):  # 19 places  # fmt: skip
        response = await api.client.put(path, json=bad, headers=owner.headers)
        assert response.status_code == 422, (bad, response.text)
        assert next(iter(bad)) in response.text
    assert (await api.client.get(path, headers=owner.headers)).json()["account"] == {
        "max_drawdown": None,
        "max_var_95": None,
    }


async def test_a_halt_the_limits_caused_is_shown_with_its_reason(api: Api) -> None:
    owner = await api.sign_up()
    account = await api.connect_account(owner)
    reason = "risk limit: drawdown 12.00 % reached the account's limit of 10.00 %"
    async with api.state.db.transaction() as conn:
        await audit.engage_kill_switch(
            conn, "account", account["id"], reason=reason, actor_id="risk-limits"
        )
    view = await api.client.get(
        f"/api/v1/accounts/{account['id']}/risk-limits", headers=owner.headers
    )
    halted = view.json()["halted"]
    assert (halted["reason"], halted["actor_id"]) == (reason, "risk-limits")


async def test_the_owner_resumes_a_halt_of_the_limits_but_not_an_operators(api: Api) -> None:
    owner = await api.sign_up()
    account = await api.connect_account(owner)
    resume = f"/api/v1/accounts/{account['id']}/risk-limits/resume"
    nothing = await api.client.post(resume, headers=owner.headers)
    assert (nothing.status_code, nothing.json()["code"]) == (409, "not_halted")

    async with api.state.db.transaction() as conn:
        await audit.engage_kill_switch(
            conn, "account", account["id"], reason="risk limit: …", actor_id="risk-limits"
        )
    resumed = await api.client.post(resume, headers=owner.headers)
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["halted"] is None
    async with api.state.db.read() as conn:
        assert await audit.list_kill_switches(conn) == []
        staged = [
            decode(row.envelope).payload for row in await conn.execute(select(outbox.c.envelope))
        ]
    released = [c for c in staged if isinstance(c, KillSwitchChanged)]
    assert [(c.target, c.engaged) for c in released][-1:] == [(account["id"], False)]

    async with api.state.db.transaction() as conn:
        await audit.engage_kill_switch(
            conn, "account", account["id"], reason="fraud check", actor_id="operator-1"
        )
    refused = await api.client.post(resume, headers=owner.headers)
    assert (refused.status_code, refused.json()["code"]) == (409, "halted_by_operator")
    assert "fraud check" in refused.text
    async with api.state.db.read() as conn:
        assert [s.reason for s in await audit.list_kill_switches(conn)] == ["fraud check"]
