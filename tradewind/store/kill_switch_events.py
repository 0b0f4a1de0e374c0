"""Telling risk about kill switches: the `KillSwitchChanged` event on `risk.controls`.

The `kill_switches` table is the record (risk loads it on start); the event tells the
running risk and execution instances at once. It leaves through the transactional
outbox in the same transaction as the table change and the audit entry, keyed by
`scope:target` so that the changes of one switch stay in order.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.topics import RISK_CONTROLS
from tradewind.domain.events import KillSwitchChanged
from tradewind.domain.kill_switches import KillSwitchScope
from tradewind.store.outbox import enqueue


async def stage_kill_switch_event(conn: AsyncConnection, **change: Any) -> bool:
    """Put `kill_switch_event(**change)` in the outbox within the caller's transaction;
    True when staged."""
    await enqueue(conn, RISK_CONTROLS, [kill_switch_event(**change)])
    return True


def kill_switch_event(
    *,
    scope: str,
    target: str,
    engaged: bool,
    reason: str,
    actor_id: str,
    cancel_open_orders: bool = False,
) -> Envelope:
    """The `KillSwitchChanged` envelope for `risk.controls`, keyed `scope:target`."""
    event = KillSwitchChanged(
        scope=KillSwitchScope(scope),
        target=target,
        engaged=engaged,
        reason=reason,
        actor_id=actor_id,
        cancel_open_orders=cancel_open_orders,
        ts_ns=time.time_ns(),
    )
    return envelope(event, f"{scope}:{target}")
