"""Kill switches: an operator (or an alert) halts new orders for everything, one venue,
one account or one bot, saying who did it, why and when. Pure: no clock, no I/O.
"""

from __future__ import annotations

import enum

import msgspec

from tradewind.domain.events import KillSwitchScope, OrderIntent
from tradewind.domain.time_units import datetime_from_ns


class KillScope(enum.StrEnum):
    """What a switch halts, broadest first; a broader switch takes precedence."""

    GLOBAL = "global"
    VENUE = "venue"
    ACCOUNT = "account"
    BOT = "bot"


class KillTarget(msgspec.Struct, frozen=True):
    """What one switch halts. Build it with `everything()`, `venue()`, `account()` or
    `bot()`: only the fields its scope needs are set."""

    scope: KillScope
    venue: str = ""
    account_id: str = ""
    bot_id: str = ""

    @classmethod
    def everything(cls) -> KillTarget:
        return cls(KillScope.GLOBAL)

    @classmethod
    def for_venue(cls, venue: str) -> KillTarget:
        return cls(KillScope.VENUE, venue=venue)

    @classmethod
    def for_account(cls, account_id: str) -> KillTarget:
        return cls(KillScope.ACCOUNT, account_id=account_id)

    @classmethod
    def for_bot(cls, account_id: str, bot_id: str) -> KillTarget:
        """Bots are named within their account, so a bot's target carries both."""
        return cls(KillScope.BOT, account_id=account_id, bot_id=bot_id)

    def describe(self) -> str:
        """As a user reads it: "all trading", "venue sim", "bot grid-1 of account a1"."""
        if self.scope is KillScope.GLOBAL:
            return "all trading"
        if self.scope is KillScope.VENUE:
            return f"venue {self.venue}"
        if self.scope is KillScope.ACCOUNT:
            return f"account {self.account_id}"
        return f"bot {self.bot_id} of account {self.account_id}"


class KillSwitch(msgspec.Struct, frozen=True, kw_only=True):
    """An engaged switch: `target` halted by `engaged_by` (a user or service name) for
    `reason`, since `engaged_at_ns` (ns since the Unix epoch)."""

    target: KillTarget
    engaged_by: str
    reason: str
    engaged_at_ns: int

    def describe(self) -> str:
        """One sentence for the user whose order it stops."""
        since = datetime_from_ns(self.engaged_at_ns)
        return (
            f"{self.target.describe()} is halted by a kill switch engaged by "
            f"{self.engaged_by} at {since:%Y-%m-%d %H:%M:%S} UTC: {self.reason}"
        )


class KillSwitches:
    """The engaged switches. `blocked(intent)` names the broadest one that stops it."""

    def __init__(self) -> None:
        self._engaged: dict[KillTarget, KillSwitch] = {}

    def engage(self, target: KillTarget, *, by: str, reason: str, at_ns: int) -> KillSwitch:
        """Halt `target`. Engaging an engaged switch again replaces its who, why and when."""
        if not reason.strip():
            raise ValueError("a kill switch needs a reason the halted users can read")
        switch = KillSwitch(target=target, engaged_by=by, reason=reason, engaged_at_ns=at_ns)
        self._engaged[target] = switch
        return switch

    def release(self, target: KillTarget) -> KillSwitch | None:
        """Lift the switch on exactly `target` (a broader one still applies); returns the
        switch lifted, or None if it was not engaged."""
        return self._engaged.pop(target, None)

    def engaged(self) -> list[KillSwitch]:
        """Every engaged switch, broadest scope first, then oldest first."""
        order = list(KillScope)
        return sorted(
            self._engaged.values(),
            key=lambda s: (order.index(s.target.scope), s.engaged_at_ns),
        )

    def blocking(self, intent: OrderIntent) -> KillSwitch | None:
        """The broadest engaged switch that stops `intent`: global, then its venue, its
        account, its bot. None if the intent may trade."""
        if not self._engaged:
            return None
        for target in (
            KillTarget.everything(),
            KillTarget.for_venue(intent.instrument.venue),
            KillTarget.for_account(intent.account_id),
            KillTarget.for_bot(intent.account_id, intent.bot_id),
        ):
            switch = self._engaged.get(target)
            if switch is not None:
                return switch
        return None

    def blocked(self, intent: OrderIntent) -> str | None:
        """Why `intent` may not trade, as a sentence naming who, why and when; None if
        no switch stops it."""
        switch = self.blocking(intent)
        return None if switch is None else switch.describe()


def covering_switches(
    venue: str, account_id: str, bot_id: str
) -> tuple[tuple[KillSwitchScope, str], ...]:
    """The (scope, target) of every switch that halts a bot's trading, broadest first:
    when several are engaged, the first names the halt (risk, execution and the API
    agree on it)."""
    return (
        (KillSwitchScope.GLOBAL, ""),
        (KillSwitchScope.VENUE, venue),
        (KillSwitchScope.ACCOUNT, account_id),
        (KillSwitchScope.BOT, bot_id),
    )
