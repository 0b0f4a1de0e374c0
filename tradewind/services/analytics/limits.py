"""Risk acting on analytics: an account whose figures break its risk limits (its own, or
the platform's ceiling: `domain/risk_limits.py`) gets its kill switch engaged, with a
reason that names the figure, the limit and who set it.

The switch is engaged the way an operator's is: the `kill_switches` row, the audit entry
and the `KillSwitchChanged` event (open orders cancelled) commit together, the event
through the outbox (published right after the commit; a relay takes it if this process
dies first). A switch already engaged on the account is left as it is (an operator's
reason is not overwritten).

Once per breach: an account is halted when its figures cross a limit, and not again
while they stay beyond it — an owner (`POST …/risk-limits/resume`) or operator who
releases the switch is not overruled
on the next round. Figures that come back within the limits re-arm it. An instance that
starts (or takes the account over) counts an account already beyond its limits as a new
breach: the safe side for the user's money; raise or clear the limit to trade on through
a drawdown.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from tradewind.bus.port import Bus
from tradewind.bus.topics import RISK_CONTROLS
from tradewind.domain.events import AnalyticsUpdate
from tradewind.domain.risk_limits import ENGAGED_BY, Breaches, RiskLimits, breach, effective
from tradewind.store import audit, risk_limits
from tradewind.store.database import Database
from tradewind.store.kill_switch_events import kill_switch_event
from tradewind.store.outbox import discard, enqueue_returning


class LimitGuard:
    def __init__(self, database: Database, bus: Bus, log: structlog.stdlib.BoundLogger) -> None:
        self._database = database
        self._bus = bus
        self._log = log
        self._breaches = Breaches()

    def forget(self, account_id: str) -> None:
        """The account moved to another instance."""
        self._breaches.forget([account_id])

    async def check(self, figures: Sequence[AnalyticsUpdate]) -> dict[str, str]:
        """Engage the kill switch of each account whose `figures` newly break its limits;
        returns {account id: reason} of those engaged now."""
        if not figures:
            return {}
        async with self._database.read() as conn:
            own = await risk_limits.limits_of(conn, (f.account_id for f in figures))
            platform = await risk_limits.platform_limits(conn)
        if not own and platform.empty:
            self._breaches.clear()
            return {}
        unset = RiskLimits()
        reasons = self._breaches.new(
            (f.account_id, breach(effective(own.get(f.account_id, unset), platform), f))
            for f in figures
        )
        if not reasons:
            return {}
        engaged = await self._engage(reasons)
        self._breaches.acted(reasons)  # engaged now, or already by someone else
        return engaged

    async def _engage(self, reasons: dict[str, str]) -> dict[str, str]:
        async with self._database.transaction() as conn:
            already = {
                s.target for s in await audit.list_kill_switches(conn) if s.scope == "account"
            }
            engaged = {a: r for a, r in reasons.items() if a not in already}
            events = []
            for account_id, reason in sorted(engaged.items()):
                await audit.engage_kill_switch(
                    conn, "account", account_id, reason=reason, actor_id=ENGAGED_BY
                )
                await audit.record(
                    conn,
                    "kill_switch.engaged",
                    actor_id=None,
                    target_type="account",
                    target_id=account_id,
                    detail={"reason": reason, "engaged_by": ENGAGED_BY},
                )
                events.append(
                    kill_switch_event(
                        scope="account",
                        target=account_id,
                        engaged=True,
                        reason=reason,
                        actor_id=ENGAGED_BY,
                        cancel_open_orders=True,
                    )
                )
            staged = await enqueue_returning(conn, RISK_CONTROLS, events)
        for account_id, reason in sorted(engaged.items()):
            self._log.warning("risk limit reached: kill switch engaged", account_id=account_id,
                              reason=reason)  # fmt: skip
        if staged:
            try:
                await self._bus.publish_batch(RISK_CONTROLS, events)
            except Exception:  # staged: a relay publishes it
                return engaged
            await discard(self._database, staged)
        return engaged
