"""What a Redis group member (XREADGROUP) and a Redis listener (XREAD) do alike as they
read the bus's partition streams: which streams one read asks for, what an entry holds
(one field `e`, the msgpack envelope, as the bus's append script writes it), and how
the reading task is made to end when the reader dies."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from tradewind.bus.delivery import dead_letter
from tradewind.bus.envelope import Envelope, UnreadableEvent, decode, encode
from tradewind.bus.redis_leases import Unit


def read_window(units: list[Unit], limit: int, rotation: int) -> tuple[list[Unit], int, int]:
    """The partitions one read of at most `limit` entries asks for, the COUNT per stream,
    and the rotation for the next read. COUNT is per stream, so with more partitions
    than `limit` a read takes a rotating `limit` of them, one entry each: every
    partition gets its turn."""
    if len(units) > limit:
        first = rotation % len(units)
        rotation += limit
        units = (units[first:] + units[:first])[:limit]
    return units, max(1, limit // len(units)), rotation


def entry_envelope(fields: Sequence[bytes]) -> Envelope:
    """The event an entry's fields hold; raises `UnreadableEvent` if they are not one
    field `e` holding an envelope."""
    if len(fields) != 2 or fields[0] != b"e":
        raise UnreadableEvent("cannot decode event: the entry has no field 'e'")
    return decode(fields[1])


def unreadable_entry(
    unit: Unit, entry_id: bytes, fields: Sequence[bytes], reader: str, reason: str
) -> tuple[str, Envelope]:
    """The dead letter for an entry `reader` (a group, a listener) cannot decode: its
    value (all its fields where it has no single one), keyed by where it stands,
    `topic/partition/entry id`."""
    topic, partition = unit
    raw = fields[1] if len(fields) == 2 else encode(fields)
    where = f"{topic}/{partition}/{entry_id.decode()}"
    return dead_letter(topic, reader, reason, 0, raw, "", where)


async def cancel_until_done(task: asyncio.Task[None]) -> None:
    """Cancel `task` and wait until it ended, cancelling again as long as it runs: on
    3.11, asyncio.wait_for (used inside redis-py) can swallow a cancel that lands just
    as what it waits for finishes."""
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=0.05)
