"""Refresh tokens: rotation, reuse detection, logout and expiry, over the in-memory store."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from tradewind.security.errors import RefreshTokenRejected
from tradewind.security.refresh_tokens import (
    InMemoryRefreshTokenStore,
    RefreshPolicy,
    RefreshTokenFamily,
    RefreshTokenIssuer,
    hash_refresh_token,
    new_refresh_token,
)

DAY = 24 * 3600
POLICY = RefreshPolicy(token_ttl_s=2 * DAY, family_ttl_s=5 * DAY)


class Clock:
    """Unix seconds that a test moves forward by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def issuer_over(store: InMemoryRefreshTokenStore, clock: Clock) -> RefreshTokenIssuer:
    return RefreshTokenIssuer(store, POLICY, clock)


async def rejection(issuer: RefreshTokenIssuer, token: str) -> str:
    with pytest.raises(RefreshTokenRejected) as caught:
        await issuer.rotate(token)
    return caught.value.reason


def test_tokens_are_prefixed_random_and_stored_only_as_sha256() -> None:
    token = new_refresh_token()
    assert token.startswith("twr_") and len(token) == 4 + 43
    assert new_refresh_token() != token
    assert len(hash_refresh_token(token)) == 64
    family, first = RefreshTokenFamily.start("user-1", 0, POLICY)
    assert first not in msgspec.json.encode(family).decode()
    assert family.current_hash == hash_refresh_token(first)


async def test_rotation_hands_out_a_new_token_each_time() -> None:
    clock = Clock()
    issuer = issuer_over(InMemoryRefreshTokenStore(), clock)
    issued = await issuer.issue("user-1")
    tokens = [issued.token]
    for _ in range(3):
        clock.now += 3600
        rotated = await issuer.rotate(tokens[-1])
        assert (rotated.subject, rotated.family_id) == ("user-1", issued.family_id)
        tokens.append(rotated.token)
    assert len(set(tokens)) == 4


async def test_reusing_a_rotated_token_revokes_the_whole_family() -> None:
    clock = Clock()
    store = InMemoryRefreshTokenStore()
    issuer = issuer_over(store, clock)
    stolen = (await issuer.issue("user-1")).token
    legit = (await issuer.rotate(stolen)).token  # the user refreshes first

    assert await rejection(issuer, stolen) == "reused"  # the thief replays the old one
    assert await rejection(issuer, legit) == "revoked"  # and the user is logged out too
    family = await store.find_by_token_hash(hash_refresh_token(legit))
    assert family is not None and family.revoked_reason == "reuse"


async def test_two_concurrent_refreshes_with_one_token_count_as_reuse() -> None:
    class InterleavingStore(InMemoryRefreshTokenStore):
        async def find_by_token_hash(self, token_hash: str) -> RefreshTokenFamily | None:
            found = await super().find_by_token_hash(token_hash)
            await asyncio.sleep(0)  # let the other request read the same version
            return found

    issuer = issuer_over(InterleavingStore(), Clock())
    token = (await issuer.issue("user-1")).token
    outcomes = await asyncio.gather(
        issuer.rotate(token), issuer.rotate(token), return_exceptions=True
    )
    reasons = sorted(o.reason if isinstance(o, RefreshTokenRejected) else "ok" for o in outcomes)
    assert reasons == ["ok", "reused"]
    winner = next(o for o in outcomes if not isinstance(o, BaseException))
    assert await rejection(issuer, winner.token) == "revoked"


async def test_logout_revokes_the_family_and_is_idempotent() -> None:
    issuer = issuer_over(InMemoryRefreshTokenStore(), Clock())
    token = (await issuer.issue("user-1")).token
    assert await issuer.revoke(token)
    assert await issuer.revoke(token)
    assert await rejection(issuer, token) == "revoked"
    assert not await issuer.revoke(new_refresh_token())


async def test_logout_everywhere_revokes_only_that_users_families() -> None:
    issuer = issuer_over(InMemoryRefreshTokenStore(), Clock())
    phone, laptop = (await issuer.issue("user-1")).token, (await issuer.issue("user-1")).token
    other = (await issuer.issue("user-2")).token
    assert await issuer.revoke_all("user-1") == 2
    assert await issuer.revoke_all("user-1") == 0
    assert await rejection(issuer, phone) == "revoked"
    assert await rejection(issuer, laptop) == "revoked"
    await issuer.rotate(other)


async def test_an_unused_token_expires_after_its_idle_lifetime() -> None:
    clock = Clock()
    issuer = issuer_over(InMemoryRefreshTokenStore(), clock)
    token = (await issuer.issue("user-1")).token
    clock.now += POLICY.token_ttl_s
    assert await rejection(issuer, token) == "expired"


async def test_a_family_ends_at_its_absolute_lifetime_however_often_it_rotates() -> None:
    clock = Clock()
    issuer = issuer_over(InMemoryRefreshTokenStore(), clock)
    issued = await issuer.issue("user-1")
    login = clock.now
    token = issued.token
    while clock.now + DAY < login + POLICY.family_ttl_s:
        clock.now += DAY
        rotated = await issuer.rotate(token)
        assert rotated.expires_at_s <= login + POLICY.family_ttl_s
        token = rotated.token
    clock.now = login + POLICY.family_ttl_s
    assert await rejection(issuer, token) == "expired"


async def test_unknown_or_foreign_tokens_are_refused() -> None:
    issuer = issuer_over(InMemoryRefreshTokenStore(), Clock())
    assert await rejection(issuer, new_refresh_token()) == "unknown"
    assert await rejection(issuer, "eyJhbGciOi.not.ours") == "unknown"


def test_the_pure_state_machine() -> None:
    family, token = RefreshTokenFamily.start("user-1", 100, POLICY)
    rotation = family.rotate(hash_refresh_token(token), 200, POLICY)
    assert rotation.problem is None and rotation.token is not None
    assert rotation.family.version == family.version + 1
    assert rotation.family.current_expires_at_s == 200 + POLICY.token_ttl_s

    replay = rotation.family.rotate(hash_refresh_token(token), 300, POLICY)
    assert replay.problem == "reused" and replay.family.revoked_at_s == 300
    again = replay.family.rotate(hash_refresh_token(rotation.token), 400, POLICY)
    assert again.problem == "revoked" and again.family is replay.family
    assert replay.family.revoke(500, "logout") is replay.family


def test_policy_lifetimes_must_nest() -> None:
    with pytest.raises(ValueError):
        RefreshPolicy(token_ttl_s=10, family_ttl_s=5)


async def test_prune_forgets_ended_families() -> None:
    clock = Clock()
    store = InMemoryRefreshTokenStore()
    issuer = issuer_over(store, clock)
    token = (await issuer.issue("user-1")).token
    assert store.prune(int(clock.now)) == 0
    assert store.prune(int(clock.now) + POLICY.family_ttl_s) == 1
    assert await rejection(issuer, token) == "unknown"


async def test_the_issued_token_is_not_in_its_repr() -> None:
    issued = await issuer_over(InMemoryRefreshTokenStore(), Clock()).issue("user-1")
    assert issued.token not in repr(issued)
    assert "user-1" in repr(issued)
