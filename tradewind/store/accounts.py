"""Exchange accounts: a venue, an API key and secret (both stored encrypted; only a
masked key is ever shown), owned by one user."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Column, delete, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.store.database import in_chunks
from tradewind.store.schema import exchange_accounts


@dataclass(frozen=True)
class ExchangeAccountRecord:
    id: str
    user_id: str
    venue: str
    label: str
    api_key_masked: str
    api_key_encrypted: str = field(repr=False)
    api_secret_encrypted: str = field(repr=False)
    valuation_asset: str
    status: str
    created_at: datetime
    verified_at: datetime | None


def _account(row: RowMapping) -> ExchangeAccountRecord:
    return ExchangeAccountRecord(**{k: row[k] for k in ExchangeAccountRecord.__dataclass_fields__})


async def add_account(
    conn: AsyncConnection,
    *,
    user_id: str,
    venue: str,
    label: str,
    api_key_masked: str,
    api_key_encrypted: str,
    api_secret_encrypted: str,
    valuation_asset: str,
    account_id: str | None = None,
) -> ExchangeAccountRecord:
    """Store a new account; `account_id` may be chosen by the caller (it is bound into
    the encryption context of the secrets, so it must be known before encrypting)."""
    values = {
        "id": account_id or uuid.uuid4().hex,
        "user_id": user_id,
        "venue": venue,
        "label": label,
        "api_key_masked": api_key_masked,
        "api_key_encrypted": api_key_encrypted,
        "api_secret_encrypted": api_secret_encrypted,
        "valuation_asset": valuation_asset,
        "status": "connected",
        "created_at": datetime.now(UTC),
        "verified_at": None,
    }
    await conn.execute(exchange_accounts.insert().values(**values))
    found = await get_account(conn, str(values["id"]))
    assert found is not None
    return found


async def get_account(conn: AsyncConnection, account_id: str) -> ExchangeAccountRecord | None:
    query = select(exchange_accounts).where(exchange_accounts.c.id == account_id)
    row = (await conn.execute(query)).mappings().first()
    return _account(row) if row else None


async def list_accounts(
    conn: AsyncConnection, *, user_id: str | None = None, offset: int = 0, limit: int = 1000
) -> list[ExchangeAccountRecord]:
    """A user's accounts, or every account (user_id None: services only)."""
    query = select(exchange_accounts)
    if user_id is not None:
        query = query.where(exchange_accounts.c.user_id == user_id)
    query = query.order_by(exchange_accounts.c.created_at, exchange_accounts.c.id)
    return [_account(r) for r in (await conn.execute(query.offset(offset).limit(limit))).mappings()]


async def mark_verified(conn: AsyncConnection, account_id: str, status: str = "verified") -> None:
    await conn.execute(
        update(exchange_accounts)
        .where(exchange_accounts.c.id == account_id)
        .values(status=status, verified_at=datetime.now(UTC))
    )


async def replace_secrets(
    conn: AsyncConnection, account_id: str, *, api_key_encrypted: str, api_secret_encrypted: str
) -> None:
    """Store re-wrapped ciphertexts (key rotation)."""
    await conn.execute(
        update(exchange_accounts)
        .where(exchange_accounts.c.id == account_id)
        .values(api_key_encrypted=api_key_encrypted, api_secret_encrypted=api_secret_encrypted)
    )


async def remove_account(conn: AsyncConnection, account_id: str) -> bool:
    result = await conn.execute(
        delete(exchange_accounts).where(exchange_accounts.c.id == account_id)
    )
    return bool(result.rowcount)


async def valuation_assets(conn: AsyncConnection, account_ids: Iterable[str]) -> dict[str, str]:
    """The valuation asset of each of these accounts that exists."""
    return await _column_of(conn, account_ids, exchange_accounts.c.valuation_asset)


async def venues(conn: AsyncConnection, account_ids: Iterable[str]) -> dict[str, str]:
    """The venue of each of these accounts that exists."""
    return await _column_of(conn, account_ids, exchange_accounts.c.venue)


async def _column_of(
    conn: AsyncConnection, account_ids: Iterable[str], column: Column[str]
) -> dict[str, str]:
    ids = list(dict.fromkeys(account_ids))
    found: dict[str, str] = {}
    table = exchange_accounts
    for chunk in in_chunks(ids):
        query = select(table.c.id, column).where(table.c.id.in_(chunk))
        found.update({row[0]: row[1] for row in (await conn.execute(query)).all()})
    return found
