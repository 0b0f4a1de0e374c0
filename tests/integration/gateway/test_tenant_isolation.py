"""One tenant can never see or touch another's objects: every object route, given the
other tenant's ids, answers 404 (exactly as for an id that never existed), lists show
nothing of theirs, and their objects are left as they were."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

from tests.integration.gateway.rbac_table import EXPECTED, PUBLIC
from tests.integration.gateway.support import Api, User
from tradewind.bus.envelope import envelope
from tradewind.domain.events import Fill, PortfolioUpdate
from tradewind.domain.model import Instrument, Liquidity, Side
from tradewind.gateway.feed import account_events_handler
from tradewind.store import portfolio_snapshots, trades
from tradewind.store.trades import OrderRecord

BTC = Instrument.parse("sim", "BTC/USDT")
#: Object routes whose ids are not tenant-owned: strategy names are global, and user
#: ids are only taken by the admin role routes.
NOT_TENANT_OBJECTS = {
    "/api/v1/strategies/{name}",
    "/api/v1/admin/users/{user_id}/roles",
    "/api/v1/admin/users/{user_id}/disable",
    "/api/v1/admin/users/{user_id}/enable",
    "/api/v1/admin/users/{user_id}/unlock",
}


async def give_trading_history(api: Api, account_id: str) -> None:
    now = datetime.now(UTC)
    order = OrderRecord(
        client_order_id="tw-1",
        account_id=account_id,
        bot_id="b",
        venue="sim",
        symbol="BTC/USDT",
        side="buy",
        order_type="limit",
        time_in_force="GTC",
        quantity=Decimal("0.1"),
        price=Decimal("30000"),
        state="filled",
        filled_quantity=Decimal("0.1"),
        average_price=Decimal("30000"),
        venue_order_id="v1",
        reason="",
        created_at=now,
        updated_at=now,
    )
    fill = Fill(
        account_id=account_id,
        client_order_id="tw-1",
        venue_order_id="v1",
        trade_id="t1",
        instrument=BTC,
        side=Side.BUY,
        price=Decimal("30000"),
        quantity=Decimal("0.1"),
        fee=Decimal("0.0001"),
        fee_asset="BTC",
        liquidity=Liquidity.TAKER,
        ts_ns=time.time_ns(),
    )
    update = PortfolioUpdate(
        account_id=account_id,
        valuation_asset="USDT",
        equity=Decimal("1000"),
        cash=Decimal("1000"),
        realized_pnl=Decimal(0),
        unrealized_pnl=Decimal(0),
        fees=Decimal(0),
        balances={"USDT": Decimal("1000")},
        ts_ns=time.time_ns(),
    )
    async with api.state.db.transaction() as conn:
        await trades.upsert_order(conn, order)
        await trades.insert_fill(conn, fill)
        await portfolio_snapshots.insert_snapshot(conn, update)
    handler = account_events_handler(api.state.portfolios, api.state.hub)
    await handler([envelope(update, account_id)])


async def test_every_object_route_answers_404_for_another_tenants_ids(api: Api) -> None:
    owner = await api.sign_up()
    account = await api.connect_account(owner)
    bot = await api.create_bot(owner, account["id"])
    await api.client.post(f"/api/v1/bots/{bot['id']}/start", headers=owner.headers)
    await give_trading_history(api, account["id"])
    ids = {"account_id": account["id"], "bot_id": bot["id"]}

    for intruder in (await api.sign_up(), await api.as_roles("admin", "trader")):
        leaks: list[str] = []
        for (method, path), allowed in sorted(EXPECTED.items()):
            if allowed == PUBLIC or "{" not in path or path in NOT_TENANT_OBJECTS:
                continue
            response = await api.client.request(
                method, path.format(**ids), json={}, headers=intruder.headers
            )
            if response.status_code != 404 or account["id"] in response.text:
                leaks.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
        for path in ("/api/v1/orders", "/api/v1/fills"):
            response = await api.client.get(
                path, params={"account_id": account["id"]}, headers=intruder.headers
            )
            if response.status_code != 404:
                leaks.append(f"GET {path}?account_id=: {response.status_code}")
        borrowed = await api.client.post(
            "/api/v1/bots",
            json={
                "account_id": account["id"],
                "strategy": "dca",
                "params": {"symbol": "BTC/USDT", "quote_amount": "1"},
            },
            headers=intruder.headers,
        )
        if borrowed.status_code != 404:
            leaks.append(f"POST /api/v1/bots on their account: {borrowed.status_code}")
        assert not leaks, "\n".join(leaks)
        await assert_lists_hold_nothing_of(api, intruder, account["id"])

    await assert_untouched(api, owner, account["id"], bot["id"])


async def assert_lists_hold_nothing_of(api: Api, intruder: User, account_id: str) -> None:
    for path in (
        "/api/v1/accounts",
        "/api/v1/bots",
        "/api/v1/portfolio",
        "/api/v1/orders",
        "/api/v1/fills",
    ):
        response = await api.client.get(path, headers=intruder.headers)
        assert response.status_code == 200, path
        assert response.json()["items"] == [], path
        assert account_id not in response.text


async def assert_untouched(api: Api, owner: User, account_id: str, bot_id: str) -> None:
    bot = await api.client.get(f"/api/v1/bots/{bot_id}", headers=owner.headers)
    assert bot.json()["state"] == "running"
    mine = await api.client.get("/api/v1/portfolio", headers=owner.headers)
    assert [p["account_id"] for p in mine.json()["items"]] == [account_id]
    assert mine.json()["items"][0]["source"] == "live"
    for path in ("/api/v1/orders", "/api/v1/fills", f"/api/v1/accounts/{account_id}/equity"):
        response = await api.client.get(path, headers=owner.headers)
        assert len(response.json()["items"]) == 1, path
