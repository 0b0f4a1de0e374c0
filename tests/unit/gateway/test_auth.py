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
    token = issue_access_token(CONFIG, "u1", ["trader"], now_s=clock.now)
    assert auth.authenticate(token).user_id == "u1"
    clock.now += 60 + CONFIG.leeway_s + 1
    with pytest.raises(ApiError) as refused:
        auth.authenticate(token)
    assert refused.value.status == 401 and refused.value.code == "token_expired"


def test_tokens_issued_before_a_revocation_are_refused_later_ones_pass() -> None:
    clock = Clock()
    auth = Authenticator(CONFIG, clock=clock)
    before = issue_access_token(CONFIG, "u1", ["admin"], now_s=clock.now - 5)
    auth.authenticate(before)
    auth.revoke_issued_before("u1")
    with pytest.raises(ApiError):
        auth.authenticate(before)
    after = issue_access_token(CONFIG, "u1", ["viewer"], now_s=clock.now)
    assert auth.authenticate(after).roles == ("viewer",)


def test_the_cache_is_bounded() -> None:
    clock = Clock()
    auth = Authenticator(CONFIG, clock=clock, cache_size=3)
    for n in range(10):
        auth.authenticate(issue_access_token(CONFIG, f"u{n}", [], now_s=clock.now))
    assert len(auth._cache) == 3
