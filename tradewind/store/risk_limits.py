"""Risk limits: each exchange account's (its owner's) and the platform's ceiling (an
admin's). What they mean and how they act: `domain/risk_limits.py`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.domain.risk_limits import RiskLimits
from tradewind.store.database import in_chunks
from tradewind.store.schema import exchange_accounts, platform_risk_limits

_PLATFORM = "platform"


async def account_limits(conn: AsyncConnection, account_id: str) -> RiskLimits | None:
    """The account's limits; None if there is no such account."""
    row = (
        await conn.execute(
            select(exchange_accounts.c.max_drawdown, exchange_accounts.c.max_var_95).where(
                exchange_accounts.c.id == account_id
            )
        )
    ).first()
    return None if row is None else RiskLimits(row.max_drawdown, row.max_var_95)


async def limits_of(conn: AsyncConnection, account_ids: Iterable[str]) -> dict[str, RiskLimits]:
    """The limits of those of these accounts that have any."""
    ids = list(dict.fromkeys(account_ids))
    found: dict[str, RiskLimits] = {}
    table = exchange_accounts
    for chunk in in_chunks(ids):
        query = (
            select(table.c.id, table.c.max_drawdown, table.c.max_var_95)
            .where(table.c.id.in_(chunk))
            .where((table.c.max_drawdown.is_not(None)) | (table.c.max_var_95.is_not(None)))
        )
        for row in (await conn.execute(query)).all():
            found[row.id] = RiskLimits(row.max_drawdown, row.max_var_95)
    return found


async def set_account_limits(conn: AsyncConnection, account_id: str, limits: RiskLimits) -> bool:
    """Replace the account's limits; False if there is no such account."""
    result = await conn.execute(
        update(exchange_accounts)
        .where(exchange_accounts.c.id == account_id)
        .values(max_drawdown=limits.max_drawdown, max_var_95=limits.max_var_95)
    )
    return bool(result.rowcount)


async def platform_limits(conn: AsyncConnection) -> RiskLimits:
    """The platform's ceiling (no limit until an admin sets one)."""
    row = (
        await conn.execute(
            select(platform_risk_limits).where(platform_risk_limits.c.scope == _PLATFORM)
        )
    ).first()
    return RiskLimits() if row is None else RiskLimits(row.max_drawdown, row.max_var_95)


async def set_platform_limits(
    conn: AsyncConnection, limits: RiskLimits, *, actor_id: str | None
) -> None:
    """Replace the platform's ceiling."""
    table = platform_risk_limits
    await conn.execute(table.delete().where(table.c.scope == _PLATFORM))
    await conn.execute(
        table.insert().values(
            scope=_PLATFORM,
            max_drawdown=limits.max_drawdown,
            max_var_95=limits.max_var_95,
            actor_id=actor_id,
            updated_at=datetime.now(UTC),
        )
    )
