"""Kill switches as execution sees them, from `KillSwitchChanged` on risk.controls.

Risk refuses intents while a switch is engaged, but an intent it approved just before
may still be on its way: execution refuses it too (rejected by "risk", with the
switch's own sentence). A switch engaged with `cancel_open_orders` also has execution
cancel the open orders it covers; an order still being placed at that moment is
canceled by its placement once the venue has acknowledged it (`wants_cancel`).

A bot switch's target is the bot id (bot ids are unique platform-wide).
"""

from __future__ import annotations

from collections.abc import Iterator

from tradewind.domain.events import KillSwitchChanged, KillSwitchScope
from tradewind.domain.kill_switches import KillSwitch, KillTarget, covering_switches
from tradewind.domain.orders import TrackedOrder


def covers(switch: KillSwitchChanged, account_id: str, venue: str, bot_id: str | None) -> bool:
    """Whether `switch` halts orders of this account on this venue placed for `bot_id`
    (None: orders of no bot in particular, which a bot switch does not cover)."""
    scope, target = switch.scope, switch.target
    if scope is KillSwitchScope.GLOBAL:
        return True
    if scope is KillSwitchScope.VENUE:
        return target == venue
    if scope is KillSwitchScope.ACCOUNT:
        return target == account_id
    return bot_id is not None and target == bot_id


class KillSwitchBoard:
    """The engaged switches, by (scope, target)."""

    def __init__(self) -> None:
        self._engaged: dict[tuple[KillSwitchScope, str], KillSwitchChanged] = {}

    def apply(self, change: KillSwitchChanged) -> None:
        key = (change.scope, change.target)
        if change.engaged:
            self._engaged[key] = change
        else:
            self._engaged.pop(key, None)

    def current(self, scope: KillSwitchScope, target: str) -> KillSwitchChanged | None:
        """The change that engaged this switch, if it is engaged."""
        return self._engaged.get((scope, target))

    def blocking(self, account_id: str, venue: str, bot_id: str) -> KillSwitchChanged | None:
        """The broadest engaged switch that halts this bot's trading, if any."""
        return next(self._covering(account_id, venue, bot_id), None)

    def _covering(self, account_id: str, venue: str, bot_id: str) -> Iterator[KillSwitchChanged]:
        """The engaged switches that halt this bot's trading, broadest first."""
        if not self._engaged:
            return
        for key in covering_switches(venue, account_id, bot_id):
            switch = self._engaged.get(key)
            if switch is not None:
                yield switch

    def blocked(self, order: TrackedOrder) -> str | None:
        """Why a new order may not go, as its user reads it; None if it may."""
        switch = self.blocking(order.account_id, order.venue, order.bot_id)
        if switch is None:
            return None
        return describe(switch, order.account_id)

    def wants_cancel(self, order: TrackedOrder) -> str | None:
        """The reason to cancel `order` at once, if an engaged switch asks for it: the
        broadest that does (a broader one that does not hides nothing)."""
        for switch in self._covering(order.account_id, order.venue, order.bot_id):
            if switch.cancel_open_orders:
                return describe(switch, order.account_id)
        return None


def describe(switch: KillSwitchChanged, account_id: str) -> str:
    """The switch's sentence for a user of `account_id`."""
    scope, target = switch.scope, switch.target
    if scope is KillSwitchScope.GLOBAL:
        halted = KillTarget.everything()
    elif scope is KillSwitchScope.VENUE:
        halted = KillTarget.for_venue(target)
    elif scope is KillSwitchScope.ACCOUNT:
        halted = KillTarget.for_account(target)
    else:
        halted = KillTarget.for_bot(account_id, target)
    engaged = KillSwitch(
        target=halted,
        engaged_by=switch.actor_id or "an operator",
        reason=switch.reason,
        engaged_at_ns=switch.ts_ns,
    )
    return engaged.describe()
