"""A bot's PnL series and drawdown limit through the API: the series the analytics
service recorded at a resolution over a window with the bot's drawdown, the owner's
limit (validated, audited, capped by the platform's ceiling) and the reason its limit
paused it, shown in the bot's view until its owner starts it again; another user's bot
is not found."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.integration.gateway.support import Api
from tradewind.domain.bot_lifecycle import BotState
from tradewind.store import audit, bot_snapshots, bots

D = Decimal
REASON = "risk limit: the bot's drawdown 12.50 % reached the bot's limit of 10.00 %"


def snapshot(
    bot: str, account: str, at: datetime, pnl: str, equity: str
) -> bot_snapshots.BotSnapshot:
    return bot_snapshots.BotSnapshot(
        bot_id=bot, account_id=account, ts_ns=int(at.timestamp()) * 10**9, quote="USDT",
        pnl=D(pnl), realized_pnl=D(0), unrealized_pnl=D(pnl), fees=D(0),
        account_equity=D(equity),
    )  # fmt: skip


async def test_a_bots_pnl_series_at_a_resolution_over_a_window_with_its_drawdown(
    api: Api,
) -> None:
    user = await api.sign_up()
    account = (await api.connect_account(user))["id"]
    bot = (await api.create_bot(user, account))["id"]
    start = datetime(2026, 11, 1, 0, 30, tzinfo=UTC)
    async with api.state.db.transaction() as conn:
        await bot_snapshots.insert(
            conn,
            [
                snapshot(bot, account, start - timedelta(days=1), "999", "20000"),  # before
                snapshot(bot, account, start, "0", "10000"),
                snapshot(bot, account, start + timedelta(hours=1), "100", "10100"),  # peak
                snapshot(bot, account, start + timedelta(hours=2), "-202", "9798"),
                snapshot(bot, account, start + timedelta(hours=4), "50", "10050"),  # 3: none
            ],
        )
    window = {"from": "2026-11-01T00:00:00Z", "to": "2026-11-01T06:00:00Z"}
    path = f"/api/v1/bots/{bot}/analytics"
    response = await api.client.get(path, params=window, headers=user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["resolution"], body["quote"]) == ("hour", "USDT")
    assert [p["pnl"] for p in body["pnl"]] == ["0", "100", "-202", "-202", "50"]
    assert body["pnl"][3]["at"] == "2026-11-01T03:00:00Z"  # filled in flat
    # 302 below the peak of 100 at its deepest, 50 now, of the account's 10,100 then.
    assert body["max_drawdown"] == pytest.approx(-302 / 10_100)
    assert body["current_drawdown"] == pytest.approx(-50 / 10_100)
    # Four hours of one-minute returns, the quiet minutes 0: no loss at the 5 % quantile.
    assert (body["var_periods"], body["var_95"]) == (4 * 60, 0.0)

    minute = await api.client.get(
        path, params={**window, "resolution": "minute"}, headers=user.headers
    )
    assert len(minute.json()["pnl"]) == 4 * 60 + 1  # 00:30 to 04:30, one a minute
    day = await api.client.get(
        path, params={"from": "2026-10-01T00:00:00Z", "resolution": "day"}, headers=user.headers
    )
    assert [p["pnl"] for p in day.json()["pnl"]] == ["999", "50"]  # each day's last
    empty = await api.client.get(
        path, params={"from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z"},
        headers=user.headers,
    )  # fmt: skip
    assert (empty.json()["pnl"], empty.json()["current_drawdown"]) == ([], None)
    backwards = await api.client.get(
        path, params={"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
        headers=user.headers,
    )  # fmt: skip
    assert backwards.status_code == 422 and backwards.json()["detail"] == (
        "`from` must be before `to`"
    )
    stranger = await api.sign_up()
    refused = await api.client.get(path, params=window, headers=stranger.headers)
    assert refused.status_code == 404


async def test_the_owner_sets_a_bots_limits_and_the_ceiling_caps_them(api: Api) -> None:
    owner = await api.sign_up()
    account = (await api.connect_account(owner))["id"]
    bot = (await api.create_bot(owner, account))["id"]
    path = f"/api/v1/bots/{bot}/risk-limits"
    fresh = await api.client.get(path, headers=owner.headers)
    assert fresh.status_code == 200, fresh.text
    none = {"max_drawdown": None, "max_var_95": None}
    assert fresh.json() == {"bot": none, "platform": none, "effective": none,
                            "paused_reason": None}  # fmt: skip
    limits = {"max_drawdown": "0.1", "max_var_95": "0.03"}
    set_ = await api.client.put(path, json=limits, headers=owner.headers)
    assert set_.status_code == 200, set_.text
    assert set_.json()["effective"] == {
        "max_drawdown": {"value": "0.1", "set_by": "bot"},
        "max_var_95": {"value": "0.03", "set_by": "bot"},
    }
    admin = await api.as_roles("admin")
    await api.client.put(
        "/api/v1/admin/risk-limits", json={"max_drawdown": "0.05"}, headers=admin.headers
    )
    view = (await api.client.get(path, headers=owner.headers)).json()
    assert (view["bot"], view["platform"]) == (limits, {"max_drawdown": "0.05", "max_var_95": None})
    assert view["effective"] == {
        "max_drawdown": {"value": "0.05", "set_by": "platform"},
        "max_var_95": {"value": "0.03", "set_by": "bot"},
    }
    async with api.state.db.read() as conn:
        (entry,) = await audit.query(conn, action="risk_limits.bot_set")
    assert (entry.target_id, entry.detail) == (bot, limits)
    for bad in ({"max_drawdown": "1.5"}, {"max_drawdown": "0"}, {"max_drawdown": "NaN"},
                {"max_drawdown": "ten"}, {"max_var_95": "1"}, {"max_loss": "0.1"}):  # fmt: skip
        response = await api.client.put(path, json=bad, headers=owner.headers)
        assert response.status_code == 422, (bad, response.text)
        assert next(iter(bad)) in response.text
    cleared = await api.client.put(path, json={"max_drawdown": None}, headers=owner.headers)
    assert cleared.json()["bot"] == none  # a PUT replaces both
    stranger = await api.sign_up()
    assert (await api.client.get(path, headers=stranger.headers)).status_code == 404
    put = await api.client.put(path, json={"max_drawdown": "0.5"}, headers=stranger.headers)
    assert put.status_code == 404
    async with api.state.db.read() as conn:
        still = await bots.get_bot(conn, bot)
    assert still is not None and (still.max_drawdown, still.max_var_95) == (None, None)


async def test_a_pause_by_the_bots_limit_is_shown_until_its_owner_starts_it(api: Api) -> None:
    owner = await api.sign_up()
    account = (await api.connect_account(owner))["id"]
    bot = (await api.create_bot(owner, account))["id"]
    async with api.state.db.transaction() as conn:  # as the analytics service pauses it
        await bots.set_bot_state(conn, bot, BotState.PAUSED, paused_reason=REASON)
    view = (await api.client.get(f"/api/v1/bots/{bot}", headers=owner.headers)).json()
    assert (view["state"], view["paused_reason"]) == ("paused", REASON)
    limits = await api.client.get(f"/api/v1/bots/{bot}/risk-limits", headers=owner.headers)
    assert limits.json()["paused_reason"] == REASON
    started = await api.client.post(f"/api/v1/bots/{bot}/start", headers=owner.headers)
    assert started.status_code == 200, started.text
    assert (started.json()["state"], started.json()["paused_reason"]) == ("running", None)
