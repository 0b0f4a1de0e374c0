"""The gateway's cached state: newest portfolio per account, ownership with a TTL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from tradewind.domain.events import PortfolioUpdate
from tradewind.gateway.cache import Ownership, PortfolioCache
from tradewind.gateway.schemas import PortfolioView
from tradewind.store.portfolio_snapshots import Snapshot


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def update(equity: str, ts_ns: int, account_id: str = "a1") -> PortfolioUpdate:
    return PortfolioUpdate(
        account_id=account_id,
        valuation_asset="USDT",
        equity=Decimal(equity),
        cash=Decimal("1.5"),
        realized_pnl=Decimal(0),
        unrealized_pnl=Decimal("-0.25"),
        fees=Decimal("0.001"),
        balances={"BTC": Decimal("0.1")},
        ts_ns=ts_ns,
    )


def test_the_newest_update_wins_and_redeliveries_change_nothing() -> None:
    cache = PortfolioCache()
    assert cache.apply(update("100", 2_000_000_000))
    assert not cache.apply(update("90", 1_000_000_000))  # older, from a lagging partition
    assert not cache.apply(update("100", 2_000_000_000))  # redelivered
    body = cache.get("a1")
    assert body is not None
    view = PortfolioView.model_validate_json(body)  # the same shape as the REST model
    assert view.equity == Decimal("100") and view.source == "live"
    assert json.loads(body)["unrealized_pnl"] == "-0.25"  # exact decimal strings


def test_a_snapshot_is_held_briefly_and_never_over_a_newer_live_update() -> None:
    clock = Clock()
    cache = PortfolioCache(snapshot_ttl_s=5, clock=clock)
    taken = datetime.fromtimestamp(1, UTC)
    snapshot = Snapshot(
        "a1",
        taken,
        "USDT",
        Decimal(7),
        Decimal(7),
        Decimal(0),
        Decimal(0),
        Decimal(0),
        {"USDT": Decimal(7)},
    )
    body = cache.remember_snapshot(snapshot)
    assert json.loads(body)["source"] == "snapshot"
    clock.now = 6
    assert cache.get("a1") is None  # stale: read the database again
    cache.apply(update("8", 2_000_000_000))
    assert json.loads(cache.remember_snapshot(snapshot))["source"] == "live"


async def test_ownership_is_cached_until_forgotten_or_expired() -> None:
    clock = Clock()
    loads: list[str] = []

    async def load(user_id: str) -> list[str]:
        loads.append(user_id)
        return [f"{user_id}-acct{len(loads)}"]

    owned = Ownership(load, ttl_s=5, clock=clock)
    assert await owned.accounts_of("u") == ("u-acct1",)
    assert await owned.accounts_of("u") == ("u-acct1",)
    owned.forget("u")
    assert await owned.accounts_of("u") == ("u-acct2",)
    clock.now = 6
    assert await owned.accounts_of("u") == ("u-acct3",)
