"""Bots: a strategy with parameters attached to one exchange account, and its state
(running / paused / stopped) and saved strategy state."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import EllipsisType
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.domain.bot_lifecycle import BotState
from tradewind.domain.risk_limits import RiskLimits
from tradewind.store.database import in_chunks
from tradewind.store.schema import bots


@dataclass(frozen=True)
class BotRecord:
    id: str
    user_id: str
    account_id: str
    strategy: str
    params: dict[str, Any]
    state: BotState
    created_at: datetime
    updated_at: datetime
    max_drawdown: Decimal | None = None  # the owner's limit, fraction of account equity
    max_var_95: Decimal | None = None  # the owner's one-minute 95 % VaR limit, the same
    paused_reason: str | None = None  # why its risk limit paused it (None: it did not)


def _bot(row: RowMapping) -> BotRecord:
    return BotRecord(
        id=row["id"],
        user_id=row["user_id"],
        account_id=row["account_id"],
        strategy=row["strategy"],
        params=dict(row["params"]),
        state=BotState(row["state"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        max_drawdown=row["max_drawdown"],
        max_var_95=row["max_var_95"],
        paused_reason=row["paused_reason"],
    )


async def create_bot(
    conn: AsyncConnection,
    *,
    user_id: str,
    account_id: str,
    strategy: str,
    params: dict[str, Any],
    bot_id: str | None = None,
) -> BotRecord:
    now = datetime.now(UTC)
    values = {
        "id": bot_id or uuid.uuid4().hex,
        "user_id": user_id,
        "account_id": account_id,
        "strategy": strategy,
        "params": params,
        "state": BotState.STOPPED.value,
        "strategy_state": None,
        "created_at": now,
        "updated_at": now,
    }
    await conn.execute(bots.insert().values(**values))
    found = await get_bot(conn, str(values["id"]))
    assert found is not None
    return found


async def get_bot(conn: AsyncConnection, bot_id: str) -> BotRecord | None:
    row = (await conn.execute(select(bots).where(bots.c.id == bot_id))).mappings().first()
    return _bot(row) if row else None


async def list_bots(
    conn: AsyncConnection,
    *,
    user_id: str | None = None,
    account_id: str | None = None,
    state: BotState | None = None,
    offset: int = 0,
    limit: int = 1000,
) -> list[BotRecord]:
    query = select(bots)
    if user_id is not None:
        query = query.where(bots.c.user_id == user_id)
    if account_id is not None:
        query = query.where(bots.c.account_id == account_id)
    if state is not None:
        query = query.where(bots.c.state == state.value)
    query = query.order_by(bots.c.created_at, bots.c.id).offset(offset).limit(limit)
    return [_bot(r) for r in (await conn.execute(query)).mappings()]


#: Bots per `list_bots` page in `load_bots`; large, since every further page costs an
#: OFFSET scan.
_PAGE = 50_000


async def load_bots(conn: AsyncConnection, states: Iterable[BotState]) -> list[BotRecord]:
    """Every bot in one of `states`, oldest first."""
    found: list[BotRecord] = []
    for state in states:
        offset = 0
        while True:
            page = await list_bots(conn, state=state, offset=offset, limit=_PAGE)
            found.extend(page)
            if len(page) < _PAGE:
                break
            offset += len(page)
    return found


async def set_bot_state(
    conn: AsyncConnection,
    bot_id: str,
    state: BotState,
    *,
    paused_reason: str | EllipsisType | None = ...,
) -> bool:
    """`paused_reason`: why a risk limit paused the bot (None clears it, as a user's
    start or pause does; left out: kept)."""
    values: dict[str, Any] = {"state": state.value, "updated_at": datetime.now(UTC)}
    if not isinstance(paused_reason, EllipsisType):
        values["paused_reason"] = paused_reason
    result = await conn.execute(update(bots).where(bots.c.id == bot_id).values(**values))
    return bool(result.rowcount)


async def set_bot_limits(conn: AsyncConnection, bot_id: str, limits: RiskLimits) -> bool:
    result = await conn.execute(
        update(bots)
        .where(bots.c.id == bot_id)
        .values(max_drawdown=limits.max_drawdown, max_var_95=limits.max_var_95)
    )
    return bool(result.rowcount)


async def bot_limits_of(conn: AsyncConnection, bot_ids: Iterable[str]) -> dict[str, RiskLimits]:
    """The limits of those of these bots that have one."""
    ids = list(dict.fromkeys(bot_ids))
    found: dict[str, RiskLimits] = {}
    for chunk in in_chunks(ids):
        query = select(bots.c.id, bots.c.max_drawdown, bots.c.max_var_95).where(
            bots.c.id.in_(chunk),
            or_(bots.c.max_drawdown.is_not(None), bots.c.max_var_95.is_not(None)),
        )
        for bot_id, drawdown, var in (await conn.execute(query)).all():
            found[bot_id] = RiskLimits(max_drawdown=drawdown, max_var_95=var)
    return found


async def save_strategy_state(conn: AsyncConnection, bot_id: str, state: bytes) -> None:
    await save_strategy_states(conn, {bot_id: state})


async def save_strategy_states(conn: AsyncConnection, states: Mapping[str, bytes]) -> None:
    """Write many bots' saved strategy states (by bot id) in one executemany statement."""
    if not states:
        return
    statement = (
        update(bots)
        .where(bots.c.id == bindparam("bot_id"))
        .values(strategy_state=bindparam("saved"))
    )
    await conn.execute(
        statement, [{"bot_id": bot_id, "saved": data} for bot_id, data in states.items()]
    )


async def load_strategy_state(conn: AsyncConnection, bot_id: str) -> bytes | None:
    return (await load_strategy_states(conn, [bot_id])).get(bot_id)


async def load_strategy_states(conn: AsyncConnection, bot_ids: Sequence[str]) -> dict[str, bytes]:
    """The saved strategy state of each of `bot_ids` that has one (500 ids a query)."""
    saved: dict[str, bytes] = {}
    for chunk in in_chunks(bot_ids):
        query = select(bots.c.id, bots.c.strategy_state).where(
            bots.c.id.in_(chunk), bots.c.strategy_state.is_not(None)
        )
        for row in await conn.execute(query):
            saved[row.id] = bytes(row.strategy_state)
    return saved


async def delete_bot(conn: AsyncConnection, bot_id: str) -> bool:
    result = await conn.execute(delete(bots).where(bots.c.id == bot_id))
    return bool(result.rowcount)


async def count_by_state(conn: AsyncConnection) -> dict[BotState, int]:
    """How many bots are in each state (states without any left out)."""
    query = select(bots.c.state, func.count()).group_by(bots.c.state)
    return {BotState(state): count for state, count in (await conn.execute(query)).all()}
