"""Refresh-token families in the `refresh_tokens` table behave as the in-memory store
does (the same issuer tests, on SQLite and PostgreSQL), and concurrent refreshes of one
token cannot both win."""

from __future__ import annotations

import asyncio

import pytest

from tradewind.security.errors import RefreshTokenRejected
from tradewind.security.refresh_tokens import (
    InMemoryRefreshTokenStore,
    RefreshPolicy,
    RefreshTokenIssuer,
    RefreshTokenStore,
)
from tradewind.store import users
from tradewind.store.database import Database
from tradewind.store.refresh_token_families import SqlRefreshTokenStore

POLICY = RefreshPolicy(token_ttl_s=100, family_ttl_s=1000)


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


async def make_user(db: Database) -> str:
    async with db.transaction() as conn:
        user = await users.create_user(
            conn, email_index="i", email_encrypted="e", password_hash="h", roles=()
        )
    return user.id


@pytest.fixture(params=["sql", "memory"])
async def store_and_user(
    request: pytest.FixtureRequest, db: Database
) -> tuple[RefreshTokenStore, str]:
    user_id = await make_user(db)
    store: RefreshTokenStore = (
        SqlRefreshTokenStore(db, POLICY) if request.param == "sql" else InMemoryRefreshTokenStore()
    )
    return store, user_id


async def test_rotation_reuse_expiry_and_logout_are_the_same_on_every_store(
    store_and_user: tuple[RefreshTokenStore, str],
) -> None:
    store, user_id = store_and_user
    clock = Clock()
    issuer = RefreshTokenIssuer(store, POLICY, clock=clock)
    first = await issuer.issue(user_id)
    clock.now += 10
    second = await issuer.rotate(first.token)
    third = await issuer.rotate(second.token)
    assert third.family_id == first.family_id
    with pytest.raises(RefreshTokenRejected) as reused:
        await issuer.rotate(first.token)
    assert reused.value.reason == "reused"
    with pytest.raises(RefreshTokenRejected) as revoked:
        await issuer.rotate(third.token)
    assert revoked.value.reason == "revoked"

    idle = await issuer.issue(user_id)
    clock.now += 101
    with pytest.raises(RefreshTokenRejected) as expired:
        await issuer.rotate(idle.token)
    assert expired.value.reason == "expired"

    session = await issuer.issue(user_id)
    assert await issuer.revoke(session.token)
    with pytest.raises(RefreshTokenRejected):
        await issuer.rotate(session.token)
    other = await issuer.issue(user_id)
    assert await issuer.revoke_all(user_id) == 2  # `idle` (expired, not revoked) and this
    with pytest.raises(RefreshTokenRejected):
        await issuer.rotate(other.token)
    families = await store.find_by_subject(user_id)
    assert len(families) == 4 and all(f.revoked for f in families)


async def test_two_concurrent_refreshes_of_one_token_cannot_both_succeed(db: Database) -> None:
    user_id = await make_user(db)
    issuer = RefreshTokenIssuer(SqlRefreshTokenStore(db, POLICY), POLICY)
    for _ in range(5):
        issued = await issuer.issue(user_id)
        outcomes = await asyncio.gather(
            issuer.rotate(issued.token), issuer.rotate(issued.token), return_exceptions=True
        )
        winners = [o for o in outcomes if not isinstance(o, BaseException)]
        assert len(winners) <= 1, outcomes
        assert all(
            isinstance(o, RefreshTokenRejected) for o in outcomes if isinstance(o, BaseException)
        )


async def test_ended_families_are_pruned(db: Database) -> None:
    user_id = await make_user(db)
    store = SqlRefreshTokenStore(db, POLICY)
    clock = Clock()
    issuer = RefreshTokenIssuer(store, POLICY, clock=clock)
    old = await issuer.issue(user_id)
    await issuer.rotate(old.token)
    clock.now += 2000
    await issuer.issue(user_id)
    assert await store.prune(int(clock.now)) == 2
    assert len(await store.find_by_subject(user_id)) == 1
