"""Risk limits on an account's analytics: how deep a drawdown and how large a one-minute
VaR its owner accepts before trading on it halts (pure: no I/O).

A user sets an account's limits; an admin sets the platform's ceiling, which no account's
limit may exceed (the tighter of the two applies; an unset one is no limit). The
analytics service checks each account's figures against them every round and engages
the account's kill switch with a reason that names the figure, the limit and who set it
(docs/analytics.md, "Risk limits").

Limits are fractions of equity written as decimals: `max_drawdown = 0.1` halts at a 10 %
fall from the window's peak; `max_var_95 = 0.02` halts when the 95 % one-minute
historical VaR is a loss of 2 % or more. A bot's limits are the same two figures of its
PnL over its account's equity (`bot_limits`, `bot_breach`; a breach pauses the bot).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from tradewind.domain.events import AnalyticsUpdate

#: Who engaged a switch for a risk limit, as users and operators read it.
ENGAGED_BY = "risk-limits"

#: One-minute returns a VaR needs before it is checked: fewer say little about the tail.
VAR_MIN_PERIODS = 60

_ONE = Decimal(1)


def check_fraction(name: str, value: Decimal | None) -> Decimal | None:
    """`value` if it is a fraction of equity a limit can be (0 < value < 1), else a
    ValueError naming `name`."""
    if value is None:
        return None
    if not value.is_finite() or not 0 < value < _ONE:
        raise ValueError(
            f"{name} must be a fraction of equity between 0 and 1 (0.1 for 10 %), got {value}"
        )
    return value


@dataclass(frozen=True)
class RiskLimits:
    """An account's or the platform's limits; None: no limit on that figure."""

    max_drawdown: Decimal | None = None
    max_var_95: Decimal | None = None

    def __post_init__(self) -> None:
        check_fraction("max_drawdown", self.max_drawdown)
        check_fraction("max_var_95", self.max_var_95)

    @property
    def empty(self) -> bool:
        return self.max_drawdown is None and self.max_var_95 is None


@dataclass(frozen=True)
class Limit:
    """One figure's limit in force and who set it ("account" or "platform")."""

    value: Decimal
    set_by: str


@dataclass(frozen=True)
class EffectiveLimits:
    max_drawdown: Limit | None
    max_var_95: Limit | None


def _tighter(own: Decimal | None, platform: Decimal | None, owner: str = "account") -> Limit | None:
    if own is None and platform is None:
        return None
    if platform is None or (own is not None and own <= platform):
        assert own is not None
        return Limit(own, owner)
    return Limit(platform, "platform")


def effective(account: RiskLimits, platform: RiskLimits) -> EffectiveLimits:
    """The limits that apply to an account: the tighter of its own and the platform's
    for each figure (an account's limit may be tighter than the ceiling, never looser)."""
    return EffectiveLimits(
        max_drawdown=_tighter(account.max_drawdown, platform.max_drawdown),
        max_var_95=_tighter(account.max_var_95, platform.max_var_95),
    )


def _percent(fraction: float | Decimal) -> str:
    return f"{float(fraction) * 100:.2f} %"


def breach(limits: EffectiveLimits, figures: AnalyticsUpdate) -> str | None:
    """Why `figures` break `limits` (a reason a user can read), or None. The drawdown is
    the current one (from the peak of the analytics window); the VaR only counts once the
    window holds `VAR_MIN_PERIODS` returns."""
    drawdown = limits.max_drawdown
    if drawdown is not None and -figures.current_drawdown >= float(drawdown.value):
        return (
            f"risk limit: drawdown {_percent(-figures.current_drawdown)} reached the "
            f"{drawdown.set_by}'s limit of {_percent(drawdown.value)}"
        )
    var = limits.max_var_95
    if (
        var is not None
        and figures.var_95 is not None
        and figures.periods >= VAR_MIN_PERIODS
        and -figures.var_95 >= float(var.value)
    ):
        return (
            f"risk limit: one-minute 95 % VaR {_percent(-figures.var_95)} reached the "
            f"{var.set_by}'s limit of {_percent(var.value)}"
        )
    return None


def bot_limits(own: RiskLimits, platform: RiskLimits) -> EffectiveLimits:
    """The limits that apply to a bot: per figure, the tighter of its owner's and the
    platform's ceiling (the same ceiling as for accounts)."""
    return EffectiveLimits(
        max_drawdown=_tighter(own.max_drawdown, platform.max_drawdown, "bot"),
        max_var_95=_tighter(own.max_var_95, platform.max_var_95, "bot"),
    )


def bot_breach(
    limits: EffectiveLimits, current_drawdown: float, var_95: Callable[[], tuple[float | None, int]]
) -> str | None:
    """Why a bot's figures break `limits` (a reason a user can read), or None: its
    `current_drawdown` (<= 0, a fraction of its account's equity:
    `bot_pnl.bot_drawdown`), and its one-minute 95 % VaR with the returns it was taken
    over (`bot_pnl.MinuteReturns`; asked for only when a VaR limit applies, counted only
    over `VAR_MIN_PERIODS` returns or more, as an account's)."""
    drawdown = limits.max_drawdown
    if drawdown is not None and -current_drawdown >= float(drawdown.value):
        return (
            f"risk limit: the bot's drawdown {_percent(-current_drawdown)} reached the "
            f"{drawdown.set_by}'s limit of {_percent(drawdown.value)}"
        )
    var = limits.max_var_95
    if var is None:
        return None
    value, periods = var_95()
    if value is None or periods < VAR_MIN_PERIODS or -value < float(var.value):
        return None
    return (
        f"risk limit: the bot's one-minute 95 % VaR {_percent(-value)} reached the "
        f"{var.set_by}'s limit of {_percent(var.value)}"
    )


class Breaches:
    """Once per breach, for the guards that act on limits (an account's kill switch, a
    bot's pause): what crosses its limit is acted on once, not again while it stays
    beyond it (an owner or operator who undid the action is not overruled on the next
    round), and is re-armed once it is back within. Keyed by account or bot id."""

    def __init__(self) -> None:
        self._beyond: set[str] = set()  # beyond its limit when last seen, acted on then

    def new(self, seen: Iterable[tuple[str, str | None]]) -> dict[str, str]:
        """From this round's (id, reason it is beyond its limit, or None), the ids newly
        beyond with their reasons; those back within are re-armed."""
        found: dict[str, str] = {}
        for key, reason in seen:
            if reason is None:
                self._beyond.discard(key)
            elif key not in self._beyond:
                found[key] = reason
        return found

    def acted(self, keys: Iterable[str]) -> None:
        """These were acted on (or needed no action): not again while beyond."""
        self._beyond.update(keys)

    def forget(self, keys: Iterable[str]) -> None:
        """These moved to another instance."""
        self._beyond.difference_update(keys)

    def clear(self) -> None:
        """No limit is set anywhere: everything is re-armed."""
        self._beyond.clear()
