"""Kill switches: an operator (or an alert) halts new orders for everything, one venue,
one account or one bot, saying who did it, why and when. Pure: no clock, no I/O.

A switch is named by its scope and target: "" for the global switch, else the venue,
the account id or the bot id (bot ids are unique platform-wide), as `KillSwitchChanged`
carries them on risk.controls. When several switches cover an order the broadest names
the halt (`covering_switches`), so risk, execution and the API agree on it. Risk
refuses intents with `KillSwitches.blocked`; execution refuses them too (one approved
just before a switch engaged may still be on its way) and cancels the open orders of a
switch engaged with `cancel_open_orders` (`KillSwitches.cancelling`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import TYPE_CHECKING

import msgspec

from tradewind.domain.time_units import datetime_from_ns

if TYPE_CHECKING:  # events.py imports the scope from here
    from tradewind.domain.events import KillSwitchChanged


class KillSwitchScope(enum.StrEnum):
    """What a switch halts, broadest first; a broader switch takes precedence."""

    GLOBAL = "global"
    VENUE = "venue"
    ACCOUNT = "account"
    BOT = "bot"


_BROADEST_FIRST = list(KillSwitchScope)


class KillSwitch(msgspec.Struct, frozen=True, kw_only=True):
    """An engaged switch: `target` of `scope` halted by `engaged_by` (a user or service
    name) for `reason`, since `engaged_at_ns` (ns since the Unix epoch);
    `cancel_open_orders` asks execution to cancel the open orders it covers."""

    scope: KillSwitchScope
    target: str
    engaged_by: str
    reason: str
    engaged_at_ns: int
    cancel_open_orders: bool = False

    def covers(self, *, venue: str, account_id: str, bot_id: str | None) -> bool:
        """Whether it halts orders of this account on this venue placed for `bot_id`
        (None: orders of no bot in particular, which a bot switch does not cover)."""
        if self.scope is KillSwitchScope.GLOBAL:
            return True
        if self.scope is KillSwitchScope.VENUE:
            return self.target == venue
        if self.scope is KillSwitchScope.ACCOUNT:
            return self.target == account_id
        return bot_id is not None and self.target == bot_id

    def halted(self, account_id: str | None = None) -> str:
        """What it halts as a user reads it: "all trading", "venue sim", "account a1",
        "bot grid-1 of account a1" (a bot switch names `account_id` when given)."""
        if self.scope is KillSwitchScope.GLOBAL:
            return "all trading"
        if self.scope is KillSwitchScope.BOT and account_id is not None:
            return f"bot {self.target} of account {account_id}"
        return f"{self.scope.value} {self.target}"

    def describe(self, account_id: str) -> str:
        """One sentence for the user of `account_id` whose order it stops."""
        since = datetime_from_ns(self.engaged_at_ns)
        return (
            f"{self.halted(account_id)} is halted by a kill switch engaged by "
            f"{self.engaged_by} at {since:%Y-%m-%d %H:%M:%S} UTC: {self.reason}"
        )


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


class KillSwitches:
    """The engaged switches, by (scope, target). `blocking` names the broadest one that
    halts a bot's orders, `blocked` says it as a sentence, `cancelling` names the one
    that asks for its open orders to be canceled."""

    def __init__(self) -> None:
        self._engaged: dict[tuple[KillSwitchScope, str], KillSwitch] = {}

    def engage(
        self,
        scope: KillSwitchScope,
        target: str,
        *,
        by: str,
        reason: str,
        at_ns: int,
        cancel_open_orders: bool = False,
    ) -> KillSwitch:
        """Halt `target` of `scope`. Engaging an engaged switch again replaces its who,
        why and when. A switch engages even without a reason or an actor (refusing it
        would leave trading on): it then says so."""
        engaged_by = by or "an operator"
        switch = KillSwitch(
            scope=scope,
            target=target,
            engaged_by=engaged_by,
            reason=reason.strip() or f"engaged by {engaged_by}, no reason given",
            engaged_at_ns=at_ns,
            cancel_open_orders=cancel_open_orders,
        )
        self._engaged[scope, target] = switch
        return switch

    def release(self, scope: KillSwitchScope, target: str) -> KillSwitch | None:
        """Lift the switch on exactly this target (a broader one still applies); returns
        the switch lifted, or None if it was not engaged."""
        return self._engaged.pop((scope, target), None)

    def apply(self, change: KillSwitchChanged) -> KillSwitch | None:
        """Engage or release the switch `change` names; returns the switch it engaged
        (None for a release)."""
        if not change.engaged:
            self.release(change.scope, change.target)
            return None
        return self.engage(
            change.scope,
            change.target,
            by=change.actor_id,
            reason=change.reason,
            at_ns=change.ts_ns,
            cancel_open_orders=change.cancel_open_orders,
        )

    def current(self, scope: KillSwitchScope, target: str) -> KillSwitch | None:
        """The switch on exactly this target, if it is engaged."""
        return self._engaged.get((scope, target))

    def engaged(self) -> list[KillSwitch]:
        """Every engaged switch, broadest scope first, then oldest first."""
        return sorted(
            self._engaged.values(),
            key=lambda s: (_BROADEST_FIRST.index(s.scope), s.engaged_at_ns),
        )

    def covering(self, *, venue: str, account_id: str, bot_id: str) -> Iterator[KillSwitch]:
        """The engaged switches that halt this bot's orders, broadest first."""
        if not self._engaged:
            return
        for key in covering_switches(venue, account_id, bot_id):
            switch = self._engaged.get(key)
            if switch is not None:
                yield switch

    def blocking(self, *, venue: str, account_id: str, bot_id: str) -> KillSwitch | None:
        """The broadest engaged switch that halts this bot's orders; None if they may
        trade."""
        if not self._engaged:  # the usual case, asked once per order: no generator
            return None
        return next(self.covering(venue=venue, account_id=account_id, bot_id=bot_id), None)

    def blocked(self, *, venue: str, account_id: str, bot_id: str) -> str | None:
        """Why this bot's orders may not trade, as a sentence naming who, why and when;
        None if no switch halts them."""
        if not self._engaged:
            return None
        switch = self.blocking(venue=venue, account_id=account_id, bot_id=bot_id)
        return None if switch is None else switch.describe(account_id)

    def cancelling(self, *, venue: str, account_id: str, bot_id: str) -> KillSwitch | None:
        """The broadest engaged switch over this bot's orders that asks for its open
        orders to be canceled (a broader one that does not ask hides nothing)."""
        covering = self.covering(venue=venue, account_id=account_id, bot_id=bot_id)
        return next((s for s in covering if s.cancel_open_orders), None)
