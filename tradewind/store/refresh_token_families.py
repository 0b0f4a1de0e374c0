"""`RefreshTokenStore` on the store's `refresh_tokens` table, so sessions survive a
restart and are shared by every gateway instance.

One row per token ever issued (only its SHA-256), grouped by `family_id`. A family's
state is derived from its rows: the *current* token is the one not yet `used_at`; the
family is revoked once any row has `revoked_at`; its absolute end is the first token's
`issued_at` plus the policy's `family_ttl_s`; its version is the number of rotations
(rows - 1) plus one if revoked.

Compare-and-set without a version column: every change is one guarded UPDATE whose
WHERE re-checks, at write time, that the family still has `expected_version + 1` rows
and (for a rotation) that its current token is still unused and unrevoked. On
PostgreSQL a concurrent writer's row lock makes the second writer re-check the updated
row; on SQLite the UPDATE takes the write lock before it reads. The loser changes
nothing and `replace` returns False, so `RefreshTokenIssuer` retries.

The revocation reason is not stored (the table has no column for it); the audit log
keeps it. `ended_since` is the gateway's poll for sessions ended by another instance
(gateway/revocation.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.security.refresh_tokens import RefreshPolicy, RefreshTokenFamily
from tradewind.store.database import Database
from tradewind.store.schema import refresh_tokens as rt


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _seconds(value: datetime) -> int:
    return int(_aware(value).timestamp())


class SqlRefreshTokenStore:
    """Refresh-token families in the `refresh_tokens` table (only each token's SHA-256),
    changed by guarded compare-and-set updates so gateway instances agree."""

    def __init__(self, db: Database, policy: RefreshPolicy) -> None:
        self._db = db
        self._policy = policy

    async def add(self, family: RefreshTokenFamily) -> None:
        """Store a new family: its first token's row."""
        async with self._db.transaction() as conn:
            await conn.execute(
                rt.insert().values(
                    token_hash=family.current_hash,
                    family_id=family.family_id,
                    user_id=family.subject,
                    issued_at=_at(family.created_at_s),
                    expires_at=_at(family.current_expires_at_s),
                    used_at=None,
                    revoked_at=_at(family.revoked_at_s) if family.revoked_at_s else None,
                )
            )

    async def find_by_token_hash(self, token_hash: str) -> RefreshTokenFamily | None:
        """The family that was ever issued a token with this hash, or None."""
        async with self._db.read() as conn:
            query = select(rt.c.family_id).where(rt.c.token_hash == token_hash)
            family_id = (await conn.execute(query)).scalar_one_or_none()
            if family_id is None:
                return None
            return await self._family(conn, family_id)

    async def find_by_subject(self, subject: str) -> list[RefreshTokenFamily]:
        """Every family of the user `subject`, revoked or not."""
        async with self._db.read() as conn:
            query = select(rt.c.family_id).where(rt.c.user_id == subject).distinct()
            family_ids = list((await conn.execute(query)).scalars())
            families = [await self._family(conn, family_id) for family_id in family_ids]
        return [family for family in families if family is not None]

    async def replace(self, family: RefreshTokenFamily, expected_version: int) -> bool:
        """Store `family` if the stored one is at `expected_version`: a rotation (a new
        current token) or a revocation; False, changing nothing, if another writer won."""
        now = datetime.now(UTC)
        counted = rt.alias("counted")
        rows_now = (
            select(func.count())
            .select_from(counted)
            .where(counted.c.family_id == family.family_id)
            .scalar_subquery()
        )
        async with self._db.transaction() as conn:
            if family.revoked:
                result = await conn.execute(
                    update(rt)
                    .where(
                        and_(
                            rt.c.family_id == family.family_id,
                            rt.c.revoked_at.is_(None),
                            rows_now == expected_version + 1,
                        )
                    )
                    .values(revoked_at=_at(family.revoked_at_s or _seconds(now)))
                )
                return bool(result.rowcount)
            result = await conn.execute(
                update(rt)
                .where(
                    and_(
                        rt.c.family_id == family.family_id,
                        rt.c.used_at.is_(None),
                        rt.c.revoked_at.is_(None),
                        rt.c.token_hash != family.current_hash,
                        rows_now == expected_version + 1,
                    )
                )
                .values(used_at=now)
            )
            if result.rowcount != 1:
                return False
            await conn.execute(
                rt.insert().values(
                    token_hash=family.current_hash,
                    family_id=family.family_id,
                    user_id=family.subject,
                    issued_at=now,
                    expires_at=_at(family.current_expires_at_s),
                    used_at=None,
                    revoked_at=None,
                )
            )
            return True

    async def prune(self, now_s: int) -> int:
        """Forget the families that ended before `now_s` (Unix seconds); returns how many
        tokens were deleted. Families must be kept until then for reuse detection."""
        cutoff = _at(now_s - self._policy.family_ttl_s)
        ended = select(rt.c.family_id).group_by(rt.c.family_id)
        ended = ended.having(func.min(rt.c.issued_at) < cutoff)
        async with self._db.transaction() as conn:
            family_ids = list((await conn.execute(ended)).scalars())
            if not family_ids:
                return 0
            result = await conn.execute(delete(rt).where(rt.c.family_id.in_(family_ids)))
        return int(result.rowcount)

    async def _family(self, conn: AsyncConnection, family_id: str) -> RefreshTokenFamily | None:
        query = select(rt).where(rt.c.family_id == family_id).order_by(rt.c.issued_at)
        rows = (await conn.execute(query)).all()
        return _family_from_rows(family_id, rows, self._policy) if rows else None


async def ended_since(conn: AsyncConnection, since: datetime) -> list[str]:
    """The families (login sessions) revoked at or after `since`."""
    ended = select(rt.c.family_id).where(rt.c.revoked_at >= since).distinct()
    return list((await conn.execute(ended)).scalars())


def _family_from_rows(
    family_id: str, rows: Sequence[Row[tuple[object, ...]]], policy: RefreshPolicy
) -> RefreshTokenFamily:
    created = min(_seconds(row.issued_at) for row in rows)
    current = [row for row in rows if row.used_at is None]
    # Only a revocation racing a rotation can leave no unused row, or two; either way
    # the family is revoked, and the newest token stands for the current one.
    newest = max(current or rows, key=lambda row: _aware(row.issued_at))
    revoked = [_seconds(row.revoked_at) for row in rows if row.revoked_at is not None]
    return RefreshTokenFamily(
        family_id=family_id,
        subject=newest.user_id,
        created_at_s=created,
        expires_at_s=created + policy.family_ttl_s,
        current_hash=newest.token_hash,
        current_expires_at_s=_seconds(newest.expires_at),
        version=len(rows) - 1 + (1 if revoked else 0),
        revoked_at_s=min(revoked) if revoked else None,
        revoked_reason=None,
    )
