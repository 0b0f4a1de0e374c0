"""Failed logins per (address, source) and the delay each earns.

Keyed by the e-mail's blind index (whether or not a user has that address) and the
client's address: a guesser slows down only their own attempts on that address, never
the owner's from elsewhere, and known and unknown addresses behave alike (see
`gateway/routes_auth.py`). Rows are forgotten a day after their last failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.store.schema import login_failures as lf

FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DelayPolicy:
    """`free` failures from a source cost nothing; each one after that blocks the
    source for `base_s * 2**(n - free)` seconds, at most `max_s` (n counts from `free`)."""

    free: int = 5
    base_s: int = 1
    max_s: int = 900

    def delay_s(self, failures: int) -> int:
        """The seconds a source waits after its `failures`-th failure in a row."""
        if failures < self.free:
            return 0
        return min(self.max_s, self.base_s * (1 << min(failures - self.free, 30)))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _key(email_index: str, source: str) -> ColumnElement[bool]:
    return and_(lf.c.email_index == email_index, lf.c.source == source)


async def blocked_until(conn: AsyncConnection, email_index: str, source: str) -> datetime | None:
    """Until when `source` must wait before trying `email_index` again, if it must."""
    query = select(lf.c.blocked_until).where(_key(email_index, source))
    until = (await conn.execute(query)).scalar_one_or_none()
    return _aware(until) if until is not None else None


async def record_failure(
    conn: AsyncConnection, email_index: str, source: str, now: datetime, policy: DelayPolicy
) -> tuple[int, datetime | None]:
    """Count one more failure of `source` on `email_index`; returns the failures in a
    row and until when the source is blocked (None while it is free)."""
    for _ in range(2):  # a concurrent first failure may insert the row between the two
        found = await conn.execute(
            select(lf.c.failures).where(_key(email_index, source)).with_for_update()
        )
        failures = (found.scalar_one_or_none() or 0) + 1
        delay = policy.delay_s(failures)
        until = now + timedelta(seconds=delay) if delay else None
        values = {"failures": failures, "blocked_until": until, "updated_at": now}
        if failures > 1:
            await conn.execute(update(lf).where(_key(email_index, source)).values(**values))
            return failures, until
        try:
            async with conn.begin_nested():
                await conn.execute(
                    insert(lf).values(email_index=email_index, source=source, **values)
                )
            return failures, until
        except IntegrityError:
            continue
    raise RuntimeError("login failure row changed twice concurrently")  # pragma: no cover


async def clear(conn: AsyncConnection, email_index: str, source: str) -> None:
    """A successful login from `source`: its count starts again."""
    await conn.execute(delete(lf).where(_key(email_index, source)))


async def clear_address(conn: AsyncConnection, email_index: str) -> int:
    """Unblock every source on `email_index` (an administrator's unlock)."""
    result = await conn.execute(delete(lf).where(lf.c.email_index == email_index))
    return int(result.rowcount)


async def prune(conn: AsyncConnection, now: datetime) -> int:
    """Forget sources whose last failure is older than `FORGET_AFTER`."""
    result = await conn.execute(delete(lf).where(lf.c.updated_at < now - FORGET_AFTER))
    return int(result.rowcount)
