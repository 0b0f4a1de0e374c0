"""Access-token verification with its cache."""

from __future__ import annotations

import pytest

from tradewind.gateway.auth import Authenticator
from tradewind.gateway.errors import ApiError
from tradewind.security.tokens import AccessTokenConfig, issue_access_token

CONFIG = AccessTokenConfig.hs256("a-test-secret-of-thirty-two-bytes-or-more", ttl_s=60)


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_cached_token_still_expires() -> None:
    clock = Clock()
    auth = Authenticator(CONFIG, clock=clock)
    token = issue_access_token(
        CONFIG, "u1", ["trader"], now_s=clock.now, session_id="s1", version=0
    )
    assert auth.authenticate(token).user_id == "u1"
    clock.now += 60 + CONFIG.leeway_s + 1
    with pytest.raises(ApiError) as refused:
        auth.authenticate(token)
    assert refused.value.status == 401 and refused.value.code == "token_expired"


def test_a_raised_token_version_refuses_older_tokens_even_from_the_same_second() -> None:
    # The attack: an admin refreshing many times a second always held a token issued
    # in the same second as their demotion, which a seconds-based cut-off let through.
    clock = Clock()
    auth = Authenticator(CONFIG, clock=clock)
    same_second = issue_access_token(
        CONFIG, "u1", ["admin"], now_s=clock.now, session_id="s1", version=0
    )
    auth.authenticate(same_second)
    auth.revocations.raise_version("u1", 1)
    with pytest.raises(ApiError) as refused:
        auth.authenticate(same_second)
    assert refused.value.code == "token_revoked"
    newer = issue_access_token(
        CONFIG, "u1", ["viewer"], now_s=clock.now, session_id="s1", version=1
    )
    assert auth.authenticate(newer).roles == ("viewer",)


def test_an_ended_session_refuses_its_access_tokens_and_no_other_sessions() -> None:
    clock = Clock()
    auth = Authenticator(CONFIG, clock=clock)
    ended = issue_access_token(CONFIG, "u1", [], now_s=clock.now, session_id="s1", version=0)
    other = issue_access_token(CONFIG, "u1", [], now_s=clock.now, session_id="s2", version=0)
    auth.revocations.end_session("s1")
    with pytest.raises(ApiError) as refused:
        auth.authenticate(ended)
    assert refused.value.code == "token_revoked"
    assert auth.authenticate(other).session_id == "s2"


def test_revocations_are_forgotten_once_no_token_they_refuse_can_be_valid() -> None:
    clock = Clock()
    auth = Authenticator(CONFIG, clock=clock)
    old = issue_access_token(CONFIG, "u1", [], now_s=clock.now, session_id="s1", version=0)
    auth.revocations.raise_version("u1", 1)
    auth.revocations.end_session("s1")
    clock.now += CONFIG.ttl_s + CONFIG.leeway_s + 60
    auth.revocations._forget(clock.now)
    assert auth.revocations.refusal("u1", 0, "s1") is None
    with pytest.raises(ApiError) as refused:  # and the old token is expired by then
        auth.authenticate(old)
    assert refused.value.code == "token_expired"


def test_the_cache_is_bounded() -> None:
    clock = Clock()
    auth = Authenticator(CONFIG, clock=clock, cache_size=3)
    for n in range(10):
        auth.authenticate(
            issue_access_token(CONFIG, f"u{n}", [], now_s=clock.now, session_id="s1", version=0)
        )
    assert len(auth._cache) == 3
