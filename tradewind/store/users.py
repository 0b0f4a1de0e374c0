"""Users and their login state. The e-mail is stored encrypted, found by its blind
index (see tradewind.security); the password only as an argon2id hash."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.errors import TradewindError
from tradewind.store.schema import users


class DuplicateUser(TradewindError):
    """A user with that e-mail exists already."""


@dataclass(frozen=True)
class UserRecord:
    id: str
    email_index: str
    email_encrypted: str
    password_hash: str
    roles: tuple[str, ...]
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime
    token_version: int = 0


def _user(row: RowMapping) -> UserRecord:
    locked = row["locked_until"]
    created = row["created_at"]
    return UserRecord(
        id=row["id"],
        email_index=row["email_index"],
        email_encrypted=row["email_encrypted"],
        password_hash=row["password_hash"],
        roles=tuple(row["roles"]),
        disabled=bool(row["disabled"]),
        failed_logins=int(row["failed_logins"]),
        locked_until=_aware(locked) if locked is not None else None,
        created_at=_aware(created),
        token_version=int(row["token_version"]),
    )


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def create_user(
    conn: AsyncConnection,
    *,
    email_index: str,
    email_encrypted: str,
    password_hash: str,
    roles: tuple[str, ...],
    user_id: str | None = None,
) -> UserRecord:
    """Insert a user; `user_id` may be chosen by the caller (it is bound into the
    encryption context of the e-mail, so it must be known before encrypting)."""
    user_id = user_id or uuid.uuid4().hex
    values = {
        "id": user_id,
        "email_index": email_index,
        "email_encrypted": email_encrypted,
        "password_hash": password_hash,
        "roles": list(roles),
        "disabled": False,
        "failed_logins": 0,
        "locked_until": None,
        "created_at": datetime.now(UTC),
    }
    try:
        async with conn.begin_nested():
            await conn.execute(insert(users).values(**values))
    except IntegrityError:
        raise DuplicateUser("a user with this e-mail is already registered") from None
    found = await get_user(conn, user_id)
    assert found is not None
    return found


async def get_user(conn: AsyncConnection, user_id: str) -> UserRecord | None:
    row = (await conn.execute(select(users).where(users.c.id == user_id))).mappings().first()
    return _user(row) if row else None


async def find_by_email_index(conn: AsyncConnection, email_index: str) -> UserRecord | None:
    return await find_by_email_indexes(conn, [email_index])


async def find_by_email_indexes(
    conn: AsyncConnection, candidates: Sequence[str]
) -> UserRecord | None:
    """The user whose blind index is one of `candidates` (one per loaded master key).

    One query for all of them: looked up one by one, a key rotation re-indexing the row
    between two lookups would hide the user from both."""
    query = select(users.c.id).where(users.c.email_index.in_(list(candidates)))
    user_id = (await conn.execute(query.limit(1))).scalar_one_or_none()
    return None if user_id is None else await get_user(conn, user_id)


async def replace_email(
    conn: AsyncConnection,
    user_id: str,
    *,
    was_encrypted: str,
    email_index: str,
    email_encrypted: str,
) -> bool:
    """Store a user's e-mail ciphertext and blind index re-made under another master key,
    if its ciphertext is still `was_encrypted`; False, changing nothing, if another
    writer changed it first (a key rotation)."""
    result = await conn.execute(
        update(users)
        .where(and_(users.c.id == user_id, users.c.email_encrypted == was_encrypted))
        .values(email_index=email_index, email_encrypted=email_encrypted)
    )
    return bool(result.rowcount)


async def list_users(
    conn: AsyncConnection, *, offset: int = 0, limit: int = 100
) -> list[UserRecord]:
    query = select(users).order_by(users.c.created_at, users.c.id).offset(offset).limit(limit)
    return [_user(r) for r in (await conn.execute(query)).mappings()]


async def count_users(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(users))).scalar_one())


async def record_login_failure(
    conn: AsyncConnection, user_id: str, *, blocked_until: datetime | None
) -> None:
    """Count a failed login (for administrators to see); `blocked_until` is when the
    failing source may try again, kept as the latest such time. The delays themselves
    are per source, in `login_failures`."""
    values: dict[str, object] = {"failed_logins": users.c.failed_logins + 1}
    if blocked_until is not None:
        values["locked_until"] = blocked_until
    await conn.execute(update(users).where(users.c.id == user_id).values(**values))


async def record_login_success(conn: AsyncConnection, user_id: str) -> None:
    await conn.execute(
        update(users).where(users.c.id == user_id).values(failed_logins=0, locked_until=None)
    )


async def set_password_hash(conn: AsyncConnection, user_id: str, password_hash: str) -> None:
    await conn.execute(
        update(users).where(users.c.id == user_id).values(password_hash=password_hash)
    )


async def set_roles(conn: AsyncConnection, user_id: str, roles: tuple[str, ...]) -> bool:
    result = await conn.execute(
        update(users).where(users.c.id == user_id).values(roles=list(roles))
    )
    return bool(result.rowcount)


async def set_disabled(conn: AsyncConnection, user_id: str, disabled: bool) -> bool:
    result = await conn.execute(
        update(users).where(users.c.id == user_id).values(disabled=disabled)
    )
    return bool(result.rowcount)


async def raise_token_version(conn: AsyncConnection, user_id: str) -> int | None:
    """Refuse every access token issued to `user_id` so far (see
    gateway/revocation.py); returns the new version, None if there is no such user.
    Call it in the transaction that makes the change the old tokens must not outlive."""
    result = await conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(token_version=users.c.token_version + 1, tokens_changed_at=datetime.now(UTC))
    )
    if not result.rowcount:
        return None
    query = select(users.c.token_version).where(users.c.id == user_id)
    return int((await conn.execute(query)).scalar_one())


async def token_versions_changed_since(
    conn: AsyncConnection, since: datetime
) -> list[tuple[str, int]]:
    """(user id, token version) of the users whose version was raised at or after
    `since` (see gateway/revocation.py)."""
    query = select(users.c.id, users.c.token_version).where(users.c.tokens_changed_at >= since)
    return [(user_id, int(version)) for user_id, version in (await conn.execute(query)).all()]


async def delete_user(conn: AsyncConnection, user_id: str) -> bool:
    result = await conn.execute(delete(users).where(users.c.id == user_id))
    return bool(result.rowcount)
