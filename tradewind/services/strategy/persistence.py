"""What the strategy service reads from and writes to the system of record.

`bots.strategy_state` holds a `HostedBotState`: the strategy's own `state()` plus what
the host knows of the bot that the strategy does not keep itself: its open orders (so
fills of orders placed before a restart still reach it) and the order events that
arrived while it was paused. A column holding a bare `Strategy.state()` (a msgpack
array; `HostedBotState` is a map) is read as a strategy state with no host data, so a
state written by another host, or reset by hand, still loads.

The batch queries below (many bots' states in one statement) belong in
`tradewind.store.bots` / `accounts` / `records`; they live here until moved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

import msgspec
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.domain.events import Fill, OrderRejected
from tradewind.store.bots import BotRecord, BotState, list_bots
from tradewind.store.records import ns_of
from tradewind.store.schema import bots, portfolio_snapshots
from tradewind.strategies.api import OpenOrder

#: Rows per `IN (...)` list, well under every backend's bound-parameter limit.
_CHUNK = 500


class HostedBotState(msgspec.Struct, frozen=True, kw_only=True):
    """A hosted bot's saved state. `strategy` is `Strategy.state()`; `open_orders` are
    oldest first; `deferred` are the fills and rejections a paused bot has not heard."""

    strategy: bytes
    open_orders: list[OpenOrder] = []
    deferred: list[Fill | OrderRejected] = []
    host_version: int = 1


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(HostedBotState)


def encode_saved(saved: HostedBotState) -> bytes:
    return _encoder.encode(saved)


def decode_saved(data: bytes) -> HostedBotState:
    """The saved state in `data`; a bare strategy state (a msgpack array) comes back
    with no open orders. Raises `msgspec.DecodeError` when `data` is neither."""
    first = data[0] if data else 0
    if 0x80 <= first <= 0x8F or first in (0xDE, 0xDF):  # a msgpack map
        return _decoder.decode(data)
    return HostedBotState(strategy=data)


#: Bots per `list_bots` page; large, since every further page costs an OFFSET scan.
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


async def load_saved_states(conn: AsyncConnection, bot_ids: Sequence[str]) -> dict[str, bytes]:
    """The saved state of each of `bot_ids` that has one."""
    saved: dict[str, bytes] = {}
    for chunk in _chunks(bot_ids):
        query = select(bots.c.id, bots.c.strategy_state).where(
            bots.c.id.in_(chunk), bots.c.strategy_state.is_not(None)
        )
        for row in await conn.execute(query):
            saved[row.id] = bytes(row.strategy_state)
    return saved


async def load_latest_balances(
    conn: AsyncConnection, account_ids: Sequence[str]
) -> dict[str, tuple[int, dict[str, Decimal]]]:
    """Per account, the time (ns) and balances of its newest portfolio snapshot."""
    latest: dict[str, tuple[int, dict[str, Decimal]]] = {}
    table = portfolio_snapshots
    for chunk in _chunks(account_ids):
        newest = (
            select(func.max(table.c.id))
            .where(table.c.account_id.in_(chunk))
            .group_by(table.c.account_id)
        ).scalar_subquery()
        query = select(table.c.account_id, table.c.taken_at, table.c.balances).where(
            table.c.id.in_(newest)
        )
        for row in await conn.execute(query):
            balances = {asset: Decimal(amount) for asset, amount in row.balances.items()}
            latest[row.account_id] = (ns_of(row.taken_at), balances)
    return latest


async def save_saved_states(conn: AsyncConnection, saved: Mapping[str, bytes]) -> None:
    """Write many bots' saved states in one statement (executemany)."""
    if not saved:
        return
    statement = (
        update(bots)
        .where(bots.c.id == bindparam("bot_id"))
        .values(strategy_state=bindparam("saved"))
    )
    await conn.execute(
        statement, [{"bot_id": bot_id, "saved": data} for bot_id, data in saved.items()]
    )


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
