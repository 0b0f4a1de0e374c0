"""Reads of the trading record for checking it against the venue: which fills are
recorded, which orders sit in which states. The chaos harness (`tradewind.chaos`)
compares them with the simulated exchange's own account after every fault; nothing on
the trading path reads them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.store.schema import fills, orders


async def recorded_fill_keys(conn: AsyncConnection) -> set[tuple[str, str, str]]:
    """(account id, symbol, trade id) of every recorded fill."""
    query = select(fills.c.account_id, fills.c.symbol, fills.c.trade_id)
    return {(a, s, t) for a, s, t in (await conn.execute(query)).all()}


async def recorded_trade_ids(conn: AsyncConnection, account_id: str) -> set[str]:
    """The trade ids of the account's recorded fills."""
    query = select(fills.c.trade_id).where(fills.c.account_id == account_id)
    return {str(t) for (t,) in await conn.execute(query)}


async def orders_by_state(conn: AsyncConnection, account_id: str) -> dict[str, int]:
    """How many of the account's orders are in each state (states without any left out)."""
    query = (
        select(orders.c.state, func.count())
        .where(orders.c.account_id == account_id)
        .group_by(orders.c.state)
    )
    return {state: n for state, n in (await conn.execute(query)).all()}


async def orders_in_states(
    conn: AsyncConnection, states: Sequence[str]
) -> list[tuple[str, str, str, datetime]]:
    """(account id, client order id, state, updated at) of every order in one of `states`."""
    query = select(
        orders.c.account_id, orders.c.client_order_id, orders.c.state, orders.c.updated_at
    ).where(orders.c.state.in_(list(states)))
    return [(a, c, s, u) for a, c, s, u in (await conn.execute(query)).all()]
