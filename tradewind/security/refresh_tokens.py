"""Refresh tokens: opaque, single-use, rotated, grouped in families, with theft detection.

A login starts a *family* (one per device session). Each refresh presents the family's
current token and gets a new one; the old one is then *used*. Presenting a used token
again means two parties hold the family's tokens (a stolen copy): the whole family is
revoked and both must log in again (OAuth 2.0 Security BCP, "refresh token rotation").
Logout revokes the family. A token expires after `token_ttl_s` unused (idle timeout) and
every family after `family_ttl_s` from login (absolute timeout).

Tokens are 256-bit random strings with a `twr_` prefix (so secret scanners spot leaked
ones); only their SHA-256 is ever stored. `RefreshTokenFamily` is the pure state
machine; `RefreshTokenStore` is what the persistence layer implements (the store must
keep every hash a family was ever issued until the family expires, for reuse detection);
`RefreshTokenIssuer` ties the two; `InMemoryRefreshTokenStore` serves tests and the
embedded mode.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import msgspec

from tradewind.security.errors import RefreshProblem, RefreshTokenRejected

REFRESH_TOKEN_PREFIX = "twr_"
DEFAULT_REFRESH_TOKEN_TTL_S = 14 * 24 * 3600
DEFAULT_REFRESH_FAMILY_TTL_S = 30 * 24 * 3600
_MAX_TOKEN_CHARS = 256
_CONFLICT_RETRIES = 3

RevocationReason = Literal["logout", "reuse", "logout_everywhere", "admin"]


def new_refresh_token() -> str:
    """A fresh refresh token: `twr_` and 43 URL-safe base64 characters (256 bits)."""
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """The SHA-256 of `token` in hex, the only form in which a refresh token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class RefreshPolicy:
    """Lifetimes in seconds: of one token left unused, and of a family from its login."""

    token_ttl_s: int = DEFAULT_REFRESH_TOKEN_TTL_S
    family_ttl_s: int = DEFAULT_REFRESH_FAMILY_TTL_S

    def __post_init__(self) -> None:
        if not 0 < self.token_ttl_s <= self.family_ttl_s:
            raise ValueError("need 0 < token_ttl_s <= family_ttl_s")


class RefreshTokenFamily(msgspec.Struct, frozen=True):
    """The state of one login session's refresh tokens; times are Unix seconds.

    `current_hash` is the hash of the only token that may be presented, valid until
    `current_expires_at_s`; `expires_at_s` ends the family whatever happens. `version`
    grows with every change, for the store's compare-and-set.
    """

    family_id: str
    subject: str
    created_at_s: int
    expires_at_s: int
    current_hash: str
    current_expires_at_s: int
    version: int = 0
    revoked_at_s: int | None = None
    revoked_reason: RevocationReason | None = None

    @property
    def revoked(self) -> bool:
        """Whether the family was revoked (logout, reuse, admin)."""
        return self.revoked_at_s is not None

    @classmethod
    def start(
        cls, subject: str, now_s: int, policy: RefreshPolicy
    ) -> tuple[RefreshTokenFamily, str]:
        """A new family for `subject` logging in at `now_s`, and its first token."""
        token = new_refresh_token()
        expires_at = now_s + policy.family_ttl_s
        family = cls(
            family_id=secrets.token_urlsafe(16),
            subject=subject,
            created_at_s=now_s,
            expires_at_s=expires_at,
            current_hash=hash_refresh_token(token),
            current_expires_at_s=min(now_s + policy.token_ttl_s, expires_at),
        )
        return family, token

    def rotate(self, presented_hash: str, now_s: int, policy: RefreshPolicy) -> Rotation:
        """The outcome of presenting a token with hash `presented_hash`, issued by this
        family, at `now_s`: a new token and the family after it, or a refusal (with the
        family revoked if the token had already been used)."""
        if self.revoked:
            return Rotation(self, None, "revoked")
        if not hmac.compare_digest(presented_hash, self.current_hash):
            return Rotation(self.revoke(now_s, "reuse"), None, "reused")
        if now_s >= self.current_expires_at_s or now_s >= self.expires_at_s:
            return Rotation(self, None, "expired")
        token = new_refresh_token()
        rotated = msgspec.structs.replace(
            self,
            current_hash=hash_refresh_token(token),
            current_expires_at_s=min(now_s + policy.token_ttl_s, self.expires_at_s),
            version=self.version + 1,
        )
        return Rotation(rotated, token, None)

    def revoke(self, now_s: int, reason: RevocationReason) -> RefreshTokenFamily:
        """The family revoked at `now_s`; unchanged if it already was."""
        if self.revoked:
            return self
        return msgspec.structs.replace(
            self, revoked_at_s=now_s, revoked_reason=reason, version=self.version + 1
        )


@dataclass(frozen=True, slots=True)
class Rotation:
    """`family` as it must now be stored; `token` the new refresh token to hand to the
    client (None when refused); `problem` why it was refused (None on success)."""

    family: RefreshTokenFamily
    token: str | None
    problem: RefreshProblem | None


@dataclass(frozen=True, slots=True, repr=False)
class IssuedRefreshToken:
    """A refresh token to give to the client once, for the user `subject`; it expires at
    `expires_at_s` (Unix seconds) unless rotated earlier."""

    token: str
    subject: str
    family_id: str
    expires_at_s: int

    def __repr__(self) -> str:
        return (
            f"IssuedRefreshToken(subject={self.subject!r}, family_id={self.family_id!r}, "
            f"expires_at_s={self.expires_at_s})"
        )


class RefreshTokenStore(Protocol):
    """Where refresh-token families live (implemented by the persistence layer)."""

    async def add(self, family: RefreshTokenFamily) -> None:
        """Store a new family and index its current token hash."""
        ...

    async def find_by_token_hash(self, token_hash: str) -> RefreshTokenFamily | None:
        """The family that was ever issued a token with this hash (current or already
        used), or None."""
        ...

    async def replace(self, family: RefreshTokenFamily, expected_version: int) -> bool:
        """Store `family` in place of the stored one if that one's version is
        `expected_version`, and index its current token hash (keeping the old hashes);
        False, changing nothing, if another writer changed it first."""
        ...

    async def find_by_subject(self, subject: str) -> list[RefreshTokenFamily]:
        """Every family of the user `subject`, revoked or not."""
        ...


class RefreshTokenIssuer:
    """Issues, rotates and revokes refresh tokens over a `RefreshTokenStore`.

    `clock` returns the time in Unix seconds (injectable for tests).
    """

    def __init__(
        self,
        store: RefreshTokenStore,
        policy: RefreshPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._policy = policy or RefreshPolicy()
        self._clock = clock

    async def issue(self, subject: str) -> IssuedRefreshToken:
        """Start a family for `subject` (at login) and return its first token."""
        family, token = RefreshTokenFamily.start(subject, self._now(), self._policy)
        await self._store.add(family)
        return _issued(family, token)

    async def rotate(self, token: str) -> IssuedRefreshToken:
        """Exchange `token` for a new one (the refresh call). Raises
        `RefreshTokenRejected`; when the reason is `reused` the family has been revoked."""
        token_hash = _hash_presented(token)
        for _ in range(_CONFLICT_RETRIES):
            family = await self._store.find_by_token_hash(token_hash)
            if family is None:
                raise RefreshTokenRejected("unknown", "no such refresh token")
            rotation = family.rotate(token_hash, self._now(), self._policy)
            if rotation.family is not family and not await self._store.replace(
                rotation.family, family.version
            ):
                continue  # a concurrent refresh or logout won: look again
            if rotation.problem is not None:
                raise RefreshTokenRejected(rotation.problem, _explain(rotation.problem))
            assert rotation.token is not None
            return _issued(rotation.family, rotation.token)
        raise RefreshTokenRejected("revoked", "the session changed concurrently; log in again")

    async def revoke(self, token: str, reason: RevocationReason = "logout") -> bool:
        """Revoke the family of `token` (logout); False if the token is unknown."""
        token_hash = _hash_presented(token)
        for _ in range(_CONFLICT_RETRIES):
            family = await self._store.find_by_token_hash(token_hash)
            if family is None:
                return False
            revoked = family.revoke(self._now(), reason)
            if revoked is family or await self._store.replace(revoked, family.version):
                return True
        return False

    async def revoke_all(self, subject: str, reason: RevocationReason = "logout_everywhere") -> int:
        """Revoke every live family of `subject` (password change, "log out everywhere");
        returns how many were revoked."""
        count = 0
        for family in await self._store.find_by_subject(subject):
            for _ in range(_CONFLICT_RETRIES):
                if family.revoked:
                    break
                if await self._store.replace(family.revoke(self._now(), reason), family.version):
                    count += 1
                    break
                latest = await self._store.find_by_token_hash(family.current_hash)
                if latest is None:
                    break
                family = latest
        return count

    def _now(self) -> int:
        return int(self._clock())


def _hash_presented(token: str) -> str:
    if not token.startswith(REFRESH_TOKEN_PREFIX) or len(token) > _MAX_TOKEN_CHARS:
        raise RefreshTokenRejected("unknown", "not a Tradewind refresh token")
    return hash_refresh_token(token)


def _issued(family: RefreshTokenFamily, token: str) -> IssuedRefreshToken:
    return IssuedRefreshToken(token, family.subject, family.family_id, family.current_expires_at_s)


def _explain(problem: RefreshProblem) -> str:
    return {
        "unknown": "no such refresh token",
        "expired": "the session has expired; log in again",
        "reused": "this token was already used, so the session was revoked; log in again",
        "revoked": "the session was logged out or revoked; log in again",
    }[problem]


class InMemoryRefreshTokenStore:
    """A `RefreshTokenStore` in process memory, for tests and the embedded mode.

    Safe within one event loop: no method awaits between reading and writing.
    """

    def __init__(self) -> None:
        self._families: dict[str, RefreshTokenFamily] = {}
        self._family_of_hash: dict[str, str] = {}

    async def add(self, family: RefreshTokenFamily) -> None:
        """Store a new family and index its current token hash."""
        if family.family_id in self._families:
            raise ValueError(f"family {family.family_id!r} already exists")
        self._families[family.family_id] = family
        self._family_of_hash[family.current_hash] = family.family_id

    async def find_by_token_hash(self, token_hash: str) -> RefreshTokenFamily | None:
        """The family that was ever issued this token hash, or None."""
        family_id = self._family_of_hash.get(token_hash)
        return None if family_id is None else self._families[family_id]

    async def replace(self, family: RefreshTokenFamily, expected_version: int) -> bool:
        """Compare-and-set on the family's version; indexes its current token hash."""
        stored = self._families.get(family.family_id)
        if stored is None or stored.version != expected_version:
            return False
        self._families[family.family_id] = family
        self._family_of_hash[family.current_hash] = family.family_id
        return True

    async def find_by_subject(self, subject: str) -> list[RefreshTokenFamily]:
        """Every family of `subject`, revoked or not."""
        return [family for family in self._families.values() if family.subject == subject]

    def prune(self, now_s: int) -> int:
        """Forget the families that ended before `now_s` (Unix seconds) and their
        hashes; returns how many."""
        ended = {fid for fid, family in self._families.items() if family.expires_at_s <= now_s}
        for family_id in ended:
            del self._families[family_id]
        self._family_of_hash = {
            token_hash: fid for token_hash, fid in self._family_of_hash.items() if fid not in ended
        }
        return len(ended)
