"""The end-of-run report of `tradewind up --report FILE.json`: per account, what the
platform believes (its portfolio) next to what the venue holds, so any difference shows.

Shape: `{"accounts": [{"account_id", "venue", "strategy", "balances", "venue_balances",
"positions", "realized_pnl", "unrealized_pnl", "fees", "orders", "fills",
"balances_match", "analytics"}, ...], "totals": {..., "analytics": {asset: {...}}}}`.
Balances are decimal strings of free plus held, per asset; zero balances are left out
on both sides. `analytics` is the analytics service's latest for the account (null
before its first, which comes within `TRADEWIND_ANALYTICS_INTERVAL_S` of the account's
first valuation), and the platform's own per valuation asset, under the names of
docs/analytics.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradewind.demo.status import StatusBoard
from tradewind.demo.users import DemoAccount
from tradewind.domain.analytics_figures import figures_json
from tradewind.domain.events import AnalyticsUpdate
from tradewind.domain.performance import iso_utc
from tradewind.venues.simulated.exchange import SimulatedExchange


def _text(value: Decimal) -> str:
    return (
        format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    )


def build_report(
    board: StatusBoard, accounts: list[DemoAccount], exchanges: Mapping[str, SimulatedExchange]
) -> dict[str, Any]:
    """Every account next to what its venue (`exchanges[account.venue]`) holds for it."""
    rows: list[dict[str, Any]] = []
    mismatched = 0
    totals: dict[str, Decimal] = {}
    for account in accounts:
        tally = board.tally(account.account_id)
        portfolio = tally.portfolio
        platform = {a: v for a, v in (portfolio.balances if portfolio else {}).items() if v}
        held = exchanges[account.venue].engine.balances(account.venue_account_id)
        venue = {asset: b.free + b.locked for asset, b in held.items() if b.free + b.locked}
        match = platform == venue
        mismatched += not match
        if portfolio is not None:
            asset = portfolio.valuation_asset
            totals[asset] = totals.get(asset, Decimal(0)) + portfolio.equity
        rows.append(
            {
                "account_id": account.account_id,
                "venue": account.venue,
                "strategy": account.strategy,
                "balances": {a: _text(v) for a, v in sorted(platform.items())},
                "venue_balances": {a: _text(v) for a, v in sorted(venue.items())},
                "positions": {
                    a: _text(v)
                    for a, v in sorted(platform.items())
                    if portfolio is not None and a != portfolio.valuation_asset
                },
                "equity": _text(portfolio.equity) if portfolio else None,
                "realized_pnl": _text(portfolio.realized_pnl) if portfolio else "0",
                "unrealized_pnl": _text(portfolio.unrealized_pnl) if portfolio else "0",
                "fees": _text(portfolio.fees) if portfolio else "0",
                "orders": tally.orders,
                "fills": tally.fills,
                "rejects": tally.rejects,
                "balances_match": match,
                "analytics": analytics_object(tally.analytics),
            }
        )
    return {
        "accounts": rows,
        "totals": {
            "accounts": len(rows),
            "accounts_matching_venue": len(rows) - mismatched,
            "accounts_differing_from_venue": mismatched,
            "orders": board.intents,
            "fills": board.fills,
            "rejects": board.rejects,
            "reject_reasons": dict(board.reject_reasons.most_common(10)),
            "equity": {a: _text(v) for a, v in totals.items()},
            "analytics": {
                asset: analytics_object(figures)
                for asset, figures in board.platform_analytics().items()
            },
        },
    }


def analytics_object(figures: AnalyticsUpdate | None) -> dict[str, Any] | None:
    """An `AnalyticsUpdate` as the report shows it: its valuation asset, equity and
    window's start (ISO 8601 UTC), then its figures as the API and the stream write them
    (`figures_json`), not the account id and computation time it was published with."""
    if figures is None:
        return None
    return {
        "valuation_asset": figures.valuation_asset,
        "equity": _text(figures.equity),
        "since": iso_utc(figures.since_ns),
        **figures_json(figures),
    }


def write_report(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
