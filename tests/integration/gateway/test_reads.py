"""Reads: the portfolio from cached state (else the newest snapshot), orders, fills and
equity from the record, every list paged."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import cast

import pytest

from tests.integration.gateway.support import Api
from tradewind.bus.envelope import envelope
from tradewind.cache.memory import MemoryCache
from tradewind.domain.analytics_figures import FIGURE_NAMES
from tradewind.domain.events import Fill, PortfolioUpdate
from tradewind.domain.model import Instrument, Liquidity, Side
from tradewind.gateway.app import create_app
from tradewind.gateway.deps import GatewayState
from tradewind.gateway.feed import account_events_handler
from tradewind.services.marketdata.quotes import QuoteWriter
from tradewind.store import audit, portfolio_snapshots, trades

BTC = Instrument.parse("sim", "BTC/USDT")


def valuation(account_id: str, equity: str, ts_ns: int) -> PortfolioUpdate:
    return PortfolioUpdate(
        account_id=account_id,
        valuation_asset="USDT",
        equity=Decimal(equity),
        cash=Decimal(equity),
        realized_pnl=Decimal("0.000000000000000001"),
        unrealized_pnl=Decimal(0),
        fees=Decimal(0),
        balances={"USDT": Decimal(equity)},
        ts_ns=ts_ns,
    )


async def test_the_portfolio_is_live_when_streamed_and_the_newest_snapshot_otherwise(
    api: Api,
) -> None:
    user = await api.sign_up()
    streamed, stored, empty = [await api.connect_account(user, str(n)) for n in range(3)]
    now = time.time_ns()
    async with api.state.db.transaction() as conn:
        await portfolio_snapshots.insert_snapshot(
            conn, valuation(stored["id"], "70", now - 2_000_000_000)
        )
        await portfolio_snapshots.insert_snapshot(
            conn, valuation(stored["id"], "71", now - 1_000_000_000)
        )
    handler = account_events_handler(api.state.portfolios, api.state.hub)
    await handler([envelope(valuation(streamed["id"], "1234.5", now), streamed["id"])])

    response = await api.client.get("/api/v1/portfolio", headers=user.headers)
    items = {p["account_id"]: p for p in response.json()["items"]}
    assert set(items) == {streamed["id"], stored["id"]}  # no valuation yet: left out
    assert (items[streamed["id"]]["source"], items[streamed["id"]]["equity"]) == ("live", "1234.5")
    assert (items[stored["id"]]["source"], items[stored["id"]]["equity"]) == ("snapshot", "71")
    assert items[streamed["id"]]["realized_pnl"] == "0.000000000000000001"  # exact
    one = await api.client.get(f"/api/v1/accounts/{stored['id']}/portfolio", headers=user.headers)
    assert one.json()["equity"] == "71"
    none = await api.client.get(f"/api/v1/accounts/{empty['id']}/portfolio", headers=user.headers)
    assert none.status_code == 404

    paged = await api.client.get("/api/v1/portfolio", params={"limit": 1}, headers=user.headers)
    assert paged.json()["next_offset"] == 1 and len(paged.json()["items"]) == 1
    last = await api.client.get(
        "/api/v1/portfolio", params={"limit": 1, "offset": 2}, headers=user.headers
    )
    assert last.json()["next_offset"] is None


async def test_orders_fills_and_equity_are_paged_newest_or_oldest_first(api: Api) -> None:
    user = await api.sign_up()
    account = (await api.connect_account(user))["id"]
    start = datetime.now(UTC) - timedelta(hours=1)
    async with api.state.db.transaction() as conn:
        for n in range(5):
            at = start + timedelta(minutes=n)
            await trades.upsert_order(
                conn,
                trades.OrderRecord(
                    client_order_id=f"tw-{n}", account_id=account, bot_id="b", venue="sim",
                    symbol="BTC/USDT", side="buy", order_type="market", time_in_force="GTC",
                    quantity=Decimal("0.01"), price=None, state="filled",
                    filled_quantity=Decimal("0.01"), average_price=Decimal("30000"),
                    venue_order_id=f"v{n}", reason="", created_at=at, updated_at=at,
                ),
            )  # fmt: skip
            await trades.insert_fill(
                conn,
                Fill(
                    account_id=account, client_order_id=f"tw-{n}", venue_order_id=f"v{n}",
                    trade_id=f"t{n}", instrument=BTC, side=Side.BUY, price=Decimal("30000"),
                    quantity=Decimal("0.01"), fee=Decimal("0.00001"), fee_asset="BTC",
                    liquidity=Liquidity.TAKER, ts_ns=int(at.timestamp() * 1e9),
                ),
            )  # fmt: skip
            ts = int(at.timestamp() * 1e9)
            await portfolio_snapshots.insert_snapshot(conn, valuation(account, str(100 + n), ts))

    def ids(body: dict[str, list[dict[str, str]]], key: str) -> list[str]:
        return [item[key] for item in body["items"]]

    headers = user.headers
    orders = (await api.client.get("/api/v1/orders", params={"limit": 2}, headers=headers)).json()
    assert ids(orders, "client_order_id") == ["tw-4", "tw-3"] and orders["next_offset"] == 2
    fills = await api.client.get(
        "/api/v1/fills", params={"limit": 2, "offset": 4, "account_id": account}, headers=headers
    )
    assert ids(fills.json(), "trade_id") == ["t0"] and fills.json()["next_offset"] is None
    equity = await api.client.get(
        f"/api/v1/accounts/{account}/equity", params={"limit": 3}, headers=headers
    )
    assert ids(equity.json(), "equity") == ["100", "101", "102"]
    assert (
        equity.json()["items"][0]["at"].endswith("Z") or "+00:00" in equity.json()["items"][0]["at"]
    )


async def test_orders_and_fills_are_filtered_by_bot_symbol_side_state_and_time(api: Api) -> None:
    user, other = await api.sign_up(), await api.sign_up()
    account = (await api.connect_account(user))["id"]
    await api.connect_account(other)
    start = datetime.now(UTC) - timedelta(hours=1)
    rows = [  # (bot, symbol, side, state)
        ("b1", "BTC/USDT", Side.BUY, "FILLED"),
        ("b1", "ETH/USDT", Side.SELL, "CANCELED"),
        ("b2", "BTC/USDT", Side.SELL, "FILLED"),
    ]
    async with api.state.db.transaction() as conn:
        for n, (bot, symbol, side, order_state) in enumerate(rows):
            at = start + timedelta(minutes=10 * n)
            await trades.upsert_order(
                conn,
                trades.OrderRecord(
                    client_order_id=f"tw-{n}", account_id=account, bot_id=bot, venue="sim",
                    symbol=symbol, side=side.value, order_type="MARKET", time_in_force="GTC",
                    quantity=Decimal("0.01"), price=None, state=order_state,
                    filled_quantity=Decimal("0.01"), average_price=Decimal("30000"),
                    venue_order_id=f"v{n}", reason="", created_at=at, updated_at=at,
                ),
            )  # fmt: skip
            await trades.insert_fill(
                conn,
                Fill(
                    account_id=account, client_order_id=f"tw-{n}", venue_order_id=f"v{n}",
                    trade_id=f"t{n}", instrument=Instrument.parse("sim", symbol), side=side,
                    price=Decimal("30000"), quantity=Decimal("0.01"), fee=Decimal("0.00001"),
                    fee_asset="BTC", liquidity=Liquidity.TAKER, ts_ns=int(at.timestamp() * 1e9),
                ),
            )  # fmt: skip

    async def found(path: str, key: str, who: object = user, **params: str) -> list[str]:
        response = await api.client.get(path, params=params, headers=who.headers)  # type: ignore[attr-defined]
        assert response.status_code == 200, response.text
        return [item[key] for item in response.json()["items"]]

    assert await found("/api/v1/orders", "client_order_id", bot_id="b1") == ["tw-1", "tw-0"]
    assert await found("/api/v1/fills", "trade_id", bot_id="b2") == ["t2"]
    assert await found("/api/v1/fills", "bot_id", symbol="BTC/USDT") == ["b2", "b1"]
    assert await found("/api/v1/orders", "client_order_id", side="SELL") == ["tw-2", "tw-1"]
    assert await found("/api/v1/orders", "client_order_id", state="CANCELED") == ["tw-1"]
    since = (start + timedelta(minutes=5)).isoformat()
    until = (start + timedelta(minutes=15)).isoformat()
    assert await found("/api/v1/fills", "trade_id", since=since, until=until) == ["t1"]
    assert await found("/api/v1/orders", "client_order_id", since=since) == ["tw-2", "tw-1"]
    assert await found("/api/v1/fills", "trade_id", other, bot_id="b1") == []  # not theirs

    for bad in ({"side": "buy"}, {"symbol": "BTCUSDT"}, {"state": "DONE"}, {"since": "1"}):
        response = await api.client.get("/api/v1/orders", params=bad, headers=user.headers)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["errors"][0]["field"] == f"query.{next(iter(bad))}"
    backwards = await api.client.get(
        "/api/v1/fills", params={"since": until, "until": since}, headers=user.headers
    )
    assert backwards.status_code == 422 and "until must be after since" in backwards.text


def books(
    account_id: str, at: datetime, equity: str, realized: str = "0", traded: str = "0"
) -> PortfolioUpdate:
    """A valuation with `realized` PnL; the rest of `equity` is contributed capital."""
    return PortfolioUpdate(
        account_id=account_id, valuation_asset="USDT", equity=Decimal(equity),
        cash=Decimal(equity), realized_pnl=Decimal(realized), unrealized_pnl=Decimal(0),
        fees=Decimal(0), balances={"USDT": Decimal(equity)}, ts_ns=int(at.timestamp() * 1e9),
        traded=Decimal(traded),
    )  # fmt: skip


async def test_analytics_read_the_recorded_valuations_with_deposits_taken_out(api: Api) -> None:
    """1,000 USDT; +10 % of PnL; 500 deposited (not a return); -5 % of PnL, over hours
    of which one was not snapshotted (nothing changed): total return 1.1 x 0.95 - 1."""
    user = await api.sign_up()
    account = (await api.connect_account(user))["id"]
    start = datetime(2026, 11, 1, 0, 30, tzinfo=UTC)
    async with api.state.db.transaction() as conn:
        for hours, equity, realized, traded in [
            (0, "1000", "0", "250"),  # 250 traded before the window's first valuation
            (1, "1100", "100", "650"),
            (2, "1600", "100", "650"),  # +500 deposited
            (4, "1520", "20", "1010"),  # -80 = -5 % of 1,600; hour 3 had no snapshot
        ]:
            at = start + timedelta(hours=hours)
            await portfolio_snapshots.insert_snapshot(
                conn, books(account, at, equity, realized, traded)
            )
    window = {"from": "2026-11-01T00:00:00Z", "to": "2026-11-01T06:00:00Z"}
    response = await api.client.get(
        f"/api/v1/accounts/{account}/analytics", params=window, headers=user.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["resolution"], body["valuation_asset"]) == ("hour", "USDT")
    metrics = body["metrics"]
    assert metrics["total_return"] == pytest.approx(1.1 * 0.95 - 1)
    assert metrics["max_drawdown"] == pytest.approx(-0.05)
    assert metrics["periods"] == 4  # hour 3 filled in flat
    assert metrics["period_s"] == 3_600 and metrics["sharpe"] is not None
    assert [p["equity"] for p in body["equity"]] == ["1000", "1100", "1600", "1600", "1520"]
    # Closed trades: realised PnL went 0 -> 100 -> 20: a win of 100, a loss of 80.
    assert (metrics["trades"], metrics["win_rate"], metrics["profit_factor"]) == (2, 0.5, 1.25)
    assert (metrics["average_win"], metrics["average_loss"]) == ("100", "-80")
    # Turnover: 760 traded in the window over the mean of the hours' equities.
    assert metrics["turnover"] == pytest.approx(760 / ((1000 + 1100 + 1600 + 1600 + 1520) / 5))

    minute = await api.client.get(
        f"/api/v1/accounts/{account}/analytics",
        params={**window, "resolution": "minute"},
        headers=user.headers,
    )
    assert minute.json()["metrics"]["total_return"] == pytest.approx(1.1 * 0.95 - 1)
    assert minute.json()["metrics"]["periods"] == 4 * 60


async def test_analytics_carry_every_figure_the_push_does_fees_exposure_and_period_returns(
    api: Api,
) -> None:
    """Nine days of +1 % then one of -2 %, 0.5 of fees a day; the last valuation holds
    500 USDT and 0.02 BTC at a last price of 25,000. The answer has every figure the
    analytics service pushes, by the same names (`FIGURE_NAMES`), with their values."""
    user = await api.sign_up()
    account = (await api.connect_account(user))["id"]
    start = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    equity = Decimal(1000)
    async with api.state.db.transaction() as conn:
        for day in range(10):
            if day:
                equity *= Decimal("0.98") if day == 9 else Decimal("1.01")
            fees = Decimal("0.5") * day
            update = PortfolioUpdate(
                account_id=account, valuation_asset="USDT", equity=equity, cash=equity,
                realized_pnl=equity + fees - 1000, unrealized_pnl=Decimal(0), fees=fees,
                balances={"USDT": Decimal(500), "BTC": Decimal("0.02")},
                ts_ns=int((start + timedelta(days=day)).timestamp() * 1e9),
            )  # fmt: skip
            await portfolio_snapshots.insert_snapshot(conn, update)
    await last_prices(api, {"BTC/USDT": "25000"})
    response = await api.client.get(
        f"/api/v1/accounts/{account}/analytics",
        params={"resolution": "day", "from": "2026-10-31T00:00:00Z", "to": "2026-11-12T00:00:00Z"},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    metrics = response.json()["metrics"]
    assert list(metrics) == list(FIGURE_NAMES)
    assert Decimal(metrics["fees"]) == Decimal("4.5")
    assert metrics["exposure"] == {"BTC": pytest.approx(0.5), "USDT": pytest.approx(0.5)}
    assert metrics["concentration"] == pytest.approx(0.5)
    assert metrics["returns"] == {
        "1d": pytest.approx(-0.02),
        "7d": pytest.approx(1.01**6 * 0.98 - 1),
        "30d": None,  # ten days of valuations
        "all": pytest.approx(1.01**8 * 0.98 - 1),
    }
    assert metrics["current_drawdown"] == pytest.approx(-0.02)
    assert metrics["current_drawdown_start"] == "2026-11-09T12:00:00+00:00"  # day 8: the peak
    # Nine returns: the 1 % quantile lies 8 % of the way from -2 % to +1 %.
    assert metrics["var_99"] == pytest.approx(-0.02 + 0.03 * 0.08)
    assert metrics["cvar_99"] == pytest.approx(-0.02)
    assert metrics["calmar"] is not None and metrics["max_drawdown_peak"] is not None
    # Nine daily returns: too few to pair with the benchmark's (test_analytics_benchmark.py).
    assert (metrics["benchmark"], metrics["beta"], metrics["correlation"]) == (
        "BTC/USDT", None, None,
    )  # fmt: skip


async def last_prices(api: Api, prices: dict[str, str]) -> None:
    """Last prices as marketdata writes them to the cache the gateway reads."""
    cache = api.state.cache = api.state.cache or MemoryCache()
    writer = QuoteWriter(cache)
    for symbol, price in prices.items():
        writer.last_price(Instrument.parse("sim", symbol), Decimal(price), time.time_ns())
    await writer.flush()


async def test_analytics_of_an_account_without_valuations_and_bad_windows(api: Api) -> None:
    user = await api.sign_up()
    account = (await api.connect_account(user))["id"]
    path = f"/api/v1/accounts/{account}/analytics"
    empty = (await api.client.get(path, headers=user.headers)).json()
    assert (empty["valuation_asset"], empty["equity"], empty["metrics"]["periods"]) == (
        None, [], 0,
    )  # fmt: skip
    backwards = await api.client.get(
        path, params={"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
        headers=user.headers,
    )  # fmt: skip
    assert backwards.status_code == 422
    assert backwards.json()["detail"] == "`from` must be before `to`"
    ancient = await api.client.get(
        path, params={"to": "0001-01-02T00:00:00Z"}, headers=user.headers
    )
    assert ancient.status_code == 422 and ancient.json()["detail"] == "`to` is too early"
    unknown = await api.client.get(path, params={"resolution": "week"}, headers=user.headers)
    assert unknown.status_code == 422 and "resolution" in unknown.text


async def test_a_bots_analytics_come_from_its_own_fills(api: Api) -> None:
    user = await api.sign_up()
    account = (await api.connect_account(user))["id"]
    bot = (await api.create_bot(user, account))["id"]
    start = datetime.now(UTC) - timedelta(hours=1)
    placed = [("mine-1", bot, Side.BUY, "100"), ("mine-2", bot, Side.SELL, "120"),
              ("other-1", "another-bot", Side.SELL, "90")]  # fmt: skip
    async with api.state.db.transaction() as conn:
        for n, (order_id, owner, side, price) in enumerate(placed):
            at = start + timedelta(minutes=n)
            await trades.upsert_order(
                conn,
                trades.OrderRecord(
                    client_order_id=order_id, account_id=account, bot_id=owner, venue="sim",
                    symbol="BTC/USDT", side=side.value, order_type="market", time_in_force="GTC",
                    quantity=Decimal(1), price=None, state="filled", filled_quantity=Decimal(1),
                    average_price=Decimal(price), venue_order_id=f"v{n}", reason="",
                    created_at=at, updated_at=at,
                ),
            )  # fmt: skip
            await trades.insert_fill(
                conn,
                Fill(
                    account_id=account, client_order_id=order_id, venue_order_id=f"v{n}",
                    trade_id=f"t{n}", instrument=BTC, side=side, price=Decimal(price),
                    quantity=Decimal(1), fee=Decimal("0.1"), fee_asset="USDT",
                    liquidity=Liquidity.TAKER, ts_ns=int(at.timestamp() * 1e9),
                ),
            )  # fmt: skip
    response = await api.client.get(f"/api/v1/bots/{bot}/analytics", headers=user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["bot_id"], body["account_id"], body["fills"], body["truncated"]) == (
        bot, account, 2, False,
    )  # fmt: skip
    [usdt] = body["by_quote"]
    assert (usdt["quote"], usdt["realized_pnl"], usdt["fees"], usdt["volume"]) == (
        "USDT", "20", "0.2", "220",
    )  # fmt: skip
    assert (usdt["trades"], usdt["win_rate"], usdt["average_win"]) == (1, 1.0, "20")
    assert usdt["holdings"] == [{"symbol": "BTC/USDT", "quantity": "0", "average_cost": None}]


async def test_operators_see_the_platforms_aggregates_summed_exactly(api: Api) -> None:
    first, second = await api.sign_up(), await api.sign_up()
    a = (await api.connect_account(first))["id"]
    b = (await api.connect_account(second))["id"]
    await api.create_bot(first, a)
    now = datetime.now(UTC)
    async with api.state.db.transaction() as conn:
        await portfolio_snapshots.insert_snapshot(conn, books(a, now - timedelta(minutes=2), "1"))
        await portfolio_snapshots.insert_snapshot(
            conn, books(a, now - timedelta(minutes=1), "1000.1", "0.1")
        )
        await portfolio_snapshots.insert_snapshot(conn, books(b, now, "0.2", "-0.3"))
        await audit.engage_kill_switch(conn, "account", b, reason="risk limit: …",
                                       actor_id="risk-limits")  # fmt: skip
    operator = await api.as_roles("operator")
    response = await api.client.get("/api/v1/admin/analytics", headers=operator.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accounts"], body["halted_accounts"], body["halted_by_risk_limits"]) == (2, 1, 1)
    assert body["bots"] == {"running": 0, "paused": 0, "stopped": 1}
    [usdt] = body["by_valuation_asset"]
    assert (usdt["valuation_asset"], usdt["accounts"], usdt["equity"]) == ("USDT", 2, "1000.3")
    assert usdt["realized_pnl"] == "-0.2"  # each account's newest only, no float on the way


async def test_operators_see_the_platforms_return_and_drawdown_with_new_accounts_as_flows(
    api: Api,
) -> None:
    """Two accounts valued in an asset of this test's own, hourly: A opens the window at
    1,000 (valued before it), makes 10 % then gives half back within hour 0 (its last
    valuation of the hour counts), B arrives with 500 in hour 1 (a flow, not a return),
    A gains 105 in hour 2, B loses 50 in hour 3."""
    asset = f"Q{uuid.uuid4().hex[:8].upper()}"
    first, second = await api.sign_up(), await api.sign_up()
    a = (await api.connect_account(first))["id"]
    b = (await api.connect_account(second))["id"]
    start = datetime(2025, 3, 1, tzinfo=UTC)

    def valued(account: str, minutes: int, equity: str, realized: str) -> PortfolioUpdate:
        at = start + timedelta(minutes=minutes)
        return PortfolioUpdate(
            account_id=account, valuation_asset=asset, equity=Decimal(equity),
            cash=Decimal(equity), realized_pnl=Decimal(realized), unrealized_pnl=Decimal(0),
            fees=Decimal(0), balances={asset: Decimal(equity)}, ts_ns=int(at.timestamp() * 1e9),
        )  # fmt: skip

    async with api.state.db.transaction() as conn:
        for update in [
            valued(a, -60, "1000", "0"),
            valued(a, 30, "1100", "100"),
            valued(a, 45, "1050", "50"),
            valued(b, 90, "500", "0"),
            valued(a, 150, "1155", "155"),
            valued(b, 210, "450", "-50"),
        ]:
            await portfolio_snapshots.insert_snapshot(conn, update)
    operator = await api.as_roles("operator")
    window = {"from": start.isoformat(), "to": (start + timedelta(hours=6)).isoformat()}
    response = await api.client.get(
        "/api/v1/admin/analytics/performance",
        params={**window, "resolution": "hour", "valuation_asset": asset},
        headers=operator.headers,
    )
    assert response.status_code == 200, response.text
    [platform] = response.json()
    assert (platform["valuation_asset"], platform["accounts"]) == (asset, 2)
    assert [p["equity"] for p in platform["equity"]] == ["1000", "1050", "1550", "1655", "1605"]
    metrics = platform["metrics"]
    assert metrics["total_return"] == pytest.approx(1.05 * 1655 / 1550 * 1605 / 1655 - 1)
    assert metrics["max_drawdown"] == pytest.approx(1605 / 1655 - 1)
    trader = await api.sign_up()
    refused = await api.client.get("/api/v1/admin/analytics/performance", headers=trader.headers)
    assert refused.status_code == 403
    empty = await api.client.get(
        "/api/v1/admin/analytics/performance",
        params={"from": window["to"], "to": window["from"]},
        headers=operator.headers,
    )
    assert empty.status_code == 422 and empty.json()["code"] == "invalid_window"


def test_the_openapi_document_gives_the_analytics_metrics_as_the_pushed_figures() -> None:
    """One model for the API's `metrics` and the pushed `AnalyticsUpdate`: the document
    lists every figure, by its wire name, for an account's and for the platform's."""
    document = create_app(cast(GatewayState, None)).openapi()
    schemas = document["components"]["schemas"]
    assert list(schemas["FiguresView"]["properties"]) == list(FIGURE_NAMES)
    assert schemas["FiguresView"]["required"] == list(FIGURE_NAMES)
    for view in ("AnalyticsView", "PlatformPerformanceView"):
        assert schemas[view]["properties"]["metrics"] == {
            "$ref": "#/components/schemas/FiguresView"
        }
