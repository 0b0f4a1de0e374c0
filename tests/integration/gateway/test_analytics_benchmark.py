"""An account's beta and correlation in `GET /accounts/{id}/analytics`: its returns
paired, period by period, with the benchmark's (`TRADEWIND_ANALYTICS_BENCHMARK`) from the
candles of the account's venue, as the analytics service pairs them with the bars."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from tests.integration.gateway.support import Api
from tradewind.domain.events import PortfolioUpdate
from tradewind.store import portfolio_snapshots
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket

MINUTE_MS = 60_000


@pytest.fixture
def exchange() -> SimulatedExchange:
    """The simulated exchange with two hours of trading behind it."""
    now_ms = time.time_ns() // 1_000_000
    market = SyntheticMarket(seed=1, start_ms=now_ms, history_ms=2 * 3600 * 1000)
    exchange = SimulatedExchange(market)
    exchange.step()
    return exchange


async def test_beta_and_correlation_are_to_the_benchmarks_candles_on_the_accounts_venue(
    api: Api,
) -> None:
    """An account that moves by half of BTC/USDT's return every minute: beta 0.5,
    correlation 1."""
    user = await api.sign_up()
    account = (await api.connect_account(user))["id"]
    candles = await api.state.candles.last("sim", "BTC/USDT", "1m", 1_000)
    closes = {c.open_ms // MINUTE_MS: c.close for c in candles}
    first, last = min(closes), max(closes)
    assert last - first >= 60, "the fixture should give an hour of minutes or more"
    equity, price = Decimal(1000), closes[first]
    async with api.state.db.transaction() as conn:
        for minute in range(first, last + 1):
            now = closes.get(minute, price)  # a minute without a candle: the price kept
            equity *= 1 + (now / price - 1) / 2
            price = now
            update = PortfolioUpdate(
                account_id=account, valuation_asset="USDT", equity=equity, cash=equity,
                realized_pnl=equity - 1000, unrealized_pnl=Decimal(0), fees=Decimal(0),
                balances={"USDT": equity}, ts_ns=(minute * MINUTE_MS + 30_000) * 1_000_000,
            )  # fmt: skip
            await portfolio_snapshots.insert_snapshot(conn, update)
    response = await api.client.get(
        f"/api/v1/accounts/{account}/analytics",
        params={"resolution": "minute"},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    metrics = response.json()["metrics"]
    assert metrics["periods"] == last - first
    assert metrics["benchmark"] == "BTC/USDT"
    assert metrics["beta"] == pytest.approx(0.5, rel=1e-9)
    assert metrics["correlation"] == pytest.approx(1.0, rel=1e-9)


async def test_without_the_benchmarks_candles_beta_and_correlation_are_null(api: Api) -> None:
    """A benchmark the venue does not list: the figures are there, beta and correlation
    null (the analytics answer does not fail for it)."""
    api.state.analytics_benchmark = "NOPE/USDT"
    user = await api.sign_up()
    account = (await api.connect_account(user))["id"]
    now_minute = time.time_ns() // 1_000_000 // MINUTE_MS
    async with api.state.db.transaction() as conn:
        for n in range(40):
            equity = Decimal(1000 + n % 3)
            update = PortfolioUpdate(
                account_id=account, valuation_asset="USDT", equity=equity, cash=equity,
                realized_pnl=equity - 1000, unrealized_pnl=Decimal(0), fees=Decimal(0),
                balances={"USDT": equity},
                ts_ns=((now_minute - 40 + n) * MINUTE_MS + 30_000) * 1_000_000,
            )  # fmt: skip
            await portfolio_snapshots.insert_snapshot(conn, update)
    response = await api.client.get(
        f"/api/v1/accounts/{account}/analytics",
        params={"resolution": "minute"},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    metrics = response.json()["metrics"]
    assert metrics["periods"] >= 39 and metrics["sharpe"] is not None
    assert (metrics["benchmark"], metrics["beta"], metrics["correlation"]) == (
        "NOPE/USDT", None, None,
    )  # fmt: skip
