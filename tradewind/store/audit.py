"""The audit log of security-relevant actions (login, key added/removed, bot started or
stopped, kill switch, role change) and the kill switches themselves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.store.schema import audit_log, kill_switches


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: str | None
    action: str
    target_type: str
    target_id: str
    detail: dict[str, Any]
    source_ip: str


async def record(
    conn: AsyncConnection,
    action: str,
    *,
    actor_id: str | None,
    target_type: str = "",
    target_id: str = "",
    detail: dict[str, Any] | None = None,
    source_ip: str = "",
) -> None:
    """Append one entry. `detail` must never hold secrets (callers pass ids and masks);
    `source_ip` is cut to its column's 64 characters (the gateway passes a canonical
    address, at most 45)."""
    await conn.execute(
        audit_log.insert().values(
            at=datetime.now(UTC),
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=detail or {},
            source_ip=source_ip[:64],
        )
    )


async def query(
    conn: AsyncConnection,
    *,
    action: str | None = None,
    actor_id: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> list[AuditEntry]:
    """Newest first."""
    q = select(audit_log)
    if action is not None:
        q = q.where(audit_log.c.action == action)
    if actor_id is not None:
        q = q.where(audit_log.c.actor_id == actor_id)
    q = q.order_by(audit_log.c.id.desc()).offset(offset).limit(limit)
    return [
        AuditEntry(**{k: r[k] for k in AuditEntry.__dataclass_fields__})
        for r in (await conn.execute(q)).mappings()
    ]


async def actions_since(
    conn: AsyncConnection, since: datetime, actions: Sequence[str]
) -> list[tuple[int, str, str | None, str]]:
    """(id, action, actor id, target id) of the entries of these `actions` made at or
    after `since`, oldest first: what another gateway instance polls for."""
    query = (
        select(audit_log.c.id, audit_log.c.action, audit_log.c.actor_id, audit_log.c.target_id)
        .where(audit_log.c.at >= since, audit_log.c.action.in_(list(actions)))
        .order_by(audit_log.c.id)
    )
    return [
        (row_id, action, actor, target)
        for row_id, action, actor, target in (await conn.execute(query)).all()
    ]


@dataclass(frozen=True)
class KillSwitchRecord:
    scope: str  # global / venue / account / bot
    target: str
    reason: str
    actor_id: str | None
    engaged_at: datetime


async def engage_kill_switch(
    conn: AsyncConnection, scope: str, target: str, *, reason: str, actor_id: str | None
) -> None:
    await release_kill_switch(conn, scope, target)
    await conn.execute(
        kill_switches.insert().values(
            scope=scope,
            target=target,
            reason=reason,
            actor_id=actor_id,
            engaged_at=datetime.now(UTC),
        )
    )


async def release_kill_switch(conn: AsyncConnection, scope: str, target: str) -> bool:
    result = await conn.execute(
        delete(kill_switches).where(
            and_(kill_switches.c.scope == scope, kill_switches.c.target == target)
        )
    )
    return bool(result.rowcount)


async def list_kill_switches(conn: AsyncConnection) -> list[KillSwitchRecord]:
    rows = (await conn.execute(select(kill_switches))).mappings()
    return [
        KillSwitchRecord(**{k: r[k] for k in KillSwitchRecord.__dataclass_fields__}) for r in rows
    ]
