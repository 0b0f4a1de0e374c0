"""Risk limits: the tighter of the account's and the platform's applies, a breach is
named with the figure, the limit and who set it, and a VaR counts only with enough
returns behind it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.domain.events import AnalyticsUpdate
from tradewind.domain.risk_limits import (
    VAR_MIN_PERIODS,
    EffectiveLimits,
    Limit,
    RiskLimits,
    bot_breach,
    bot_limits,
    breach,
    effective,
)

D = Decimal


def figures(
    *, drawdown: float = 0.0, var_95: float | None = None, periods: int = 100
) -> AnalyticsUpdate:
    return AnalyticsUpdate(
        account_id="a1", valuation_asset="USDT", equity=D(1000), period_s=60, periods=periods,
        since_ns=0, total_return=0.0, max_drawdown=drawdown, current_drawdown=drawdown,
        volatility=None, sharpe=None, sortino=None, var_95=var_95, cvar_95=None, ts_ns=1,
    )  # fmt: skip


@pytest.mark.parametrize("value", [D(0), D(1), D("1.5"), D("-0.1"), D("NaN"), D("Infinity")])
def test_a_limit_is_a_fraction_of_equity_between_0_and_1(value: Decimal) -> None:
    with pytest.raises(
        ValueError, match=r"max_drawdown must be a fraction of equity between 0 and 1"
    ):
        RiskLimits(max_drawdown=value)


def test_the_tighter_of_the_accounts_and_the_platforms_applies_per_figure() -> None:
    limits = effective(
        RiskLimits(max_drawdown=D("0.3"), max_var_95=D("0.01")),
        RiskLimits(max_drawdown=D("0.2")),
    )
    assert limits.max_drawdown == Limit(D("0.2"), "platform")
    assert limits.max_var_95 == Limit(D("0.01"), "account")
    assert effective(RiskLimits(), RiskLimits()).max_drawdown is None


def test_a_drawdown_at_the_limit_is_a_breach_named_with_who_set_it() -> None:
    limits = effective(RiskLimits(max_drawdown=D("0.1")), RiskLimits())
    assert breach(limits, figures(drawdown=-0.0999)) is None
    assert breach(limits, figures(drawdown=-0.1)) == (
        "risk limit: drawdown 10.00 % reached the account's limit of 10.00 %"
    )


def test_a_var_counts_only_with_enough_returns_behind_it() -> None:
    limits = effective(RiskLimits(), RiskLimits(max_var_95=D("0.02")))
    assert breach(limits, figures(var_95=-0.05, periods=VAR_MIN_PERIODS - 1)) is None
    assert breach(limits, figures(var_95=-0.019)) is None
    assert breach(limits, figures(var_95=-0.05)) == (
        "risk limit: one-minute 95 % VaR 5.00 % reached the platform's limit of 2.00 %"
    )


def test_a_bots_limit_is_the_tighter_of_its_own_and_the_platform_ceiling() -> None:
    ceiling = RiskLimits(max_drawdown=D("0.2"), max_var_95=D("0.01"))
    limits = bot_limits(RiskLimits(max_drawdown=D("0.1"), max_var_95=D("0.03")), ceiling)
    assert limits.max_drawdown == Limit(D("0.1"), "bot")
    assert limits.max_var_95 == Limit(D("0.01"), "platform")
    looser = bot_limits(RiskLimits(max_drawdown=D("0.3")), ceiling)
    assert looser.max_drawdown == Limit(D("0.2"), "platform")
    assert bot_limits(RiskLimits(), RiskLimits()) == EffectiveLimits(None, None)
    no_var = lambda: (None, 0)  # noqa: E731
    assert bot_breach(limits, -0.099, no_var) is None
    assert bot_breach(limits, -0.125, no_var) == (
        "risk limit: the bot's drawdown 12.50 % reached the bot's limit of 10.00 %"
    )


def test_a_bots_var_counts_only_with_enough_returns_and_is_asked_only_under_a_var_limit() -> None:
    limits = bot_limits(RiskLimits(max_var_95=D("0.02")), RiskLimits())
    assert bot_breach(limits, 0.0, lambda: (-0.05, VAR_MIN_PERIODS - 1)) is None
    assert bot_breach(limits, 0.0, lambda: (-0.019, VAR_MIN_PERIODS)) is None
    assert bot_breach(limits, 0.0, lambda: (-0.02, VAR_MIN_PERIODS)) == (
        "risk limit: the bot's one-minute 95 % VaR 2.00 % reached the bot's limit of 2.00 %"
    )
    asked: list[bool] = []

    def var_95() -> tuple[float | None, int]:
        asked.append(True)
        return -0.5, 1_000

    drawdown_only = bot_limits(RiskLimits(max_drawdown=D("0.5")), RiskLimits())
    assert bot_breach(drawdown_only, -0.1, var_95) is None and not asked
