"""Password hashing with argon2id, and the policy a new password must meet.

Passwords are Unicode-normalised (NFKC) before hashing, so the same password typed on
two keyboards that compose characters differently still verifies.

Hashing and verifying are CPU- and memory-bound and block (the argon2 library releases
the GIL): from async code call them in a worker thread (`asyncio.to_thread`). With the
production parameters each call takes ~64 MiB for a few tens of ms, so bound the number
of concurrent verifications (a semaphore at the login route) to what the host can hold.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

from tradewind.security.errors import InvalidPasswordHash, WeakPassword

PRODUCTION_PARAMETERS = RFC_9106_LOW_MEMORY
"""argon2id, 3 passes over 64 MiB (memory_cost 65536 KiB), 4 lanes, 16-byte salt, 32-byte
hash: RFC 9106's second recommended option (the first needs 2 GiB per hash)."""

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024
_MIN_DISTINCT_CHARS = 5
_MIN_PERSONAL_CHARS = 4  # shorter names would forbid half the alphabet's bigrams
_ARGON2ID_PREFIX = "$argon2id$"


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """The outcome of a verification: `ok` if the password matches; `needs_rehash` if it
    matched a hash made with other parameters than the current ones, in which case store
    `hash_password(password)` in its place now that the password is at hand."""

    ok: bool
    needs_rehash: bool = False


class PasswordHasher:
    """argon2id hashing with one parameter set (`PRODUCTION_PARAMETERS` by default; tests
    pass a cheap set, e.g. `argon2.profiles.CHEAPEST`). Thread-safe."""

    def __init__(self, parameters: argon2.Parameters = PRODUCTION_PARAMETERS) -> None:
        if parameters.type is not argon2.Type.ID:
            raise ValueError(f"only argon2id is allowed, not {parameters.type.name}")
        self.parameters = parameters
        self._hasher = argon2.PasswordHasher.from_parameters(parameters)
        self._dummy_hash: str | None = None
        self._dummy_lock = threading.Lock()

    def hash(self, password: str) -> str:
        """The encoded argon2id hash of `password`, e.g. `$argon2id$v=19$m=65536,t=3,p=4$
        SALT$HASH`, with a fresh random salt."""
        return self._hasher.hash(_normalise(password))

    def verify(self, stored_hash: str | None, password: str) -> PasswordCheck:
        """Whether `password` matches `stored_hash`.

        Pass `None` when no user has the given login: the same argon2 work is done
        against a dummy hash and the answer is "no", so the response time does not tell
        whether an account exists. Raises `InvalidPasswordHash` for a stored value that
        is not an argon2id hash (a corrupt row: do not treat it as a wrong password).
        """
        if stored_hash is None:
            self._verify_against_dummy(password)
            return PasswordCheck(ok=False)
        if not stored_hash.startswith(_ARGON2ID_PREFIX):
            raise InvalidPasswordHash("the stored password hash is not an argon2id hash")
        try:
            self._hasher.verify(stored_hash, _normalise(password))
        except VerifyMismatchError:
            return PasswordCheck(ok=False)
        except (InvalidHashError, VerificationError):
            raise InvalidPasswordHash("the stored argon2id password hash is corrupt") from None
        try:
            needs_rehash = self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            needs_rehash = True
        return PasswordCheck(ok=True, needs_rehash=needs_rehash)

    def _verify_against_dummy(self, password: str) -> None:
        with self._dummy_lock:
            if self._dummy_hash is None:
                self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
            dummy = self._dummy_hash
        with contextlib.suppress(VerifyMismatchError):  # expected: only the time matters
            self._hasher.verify(dummy, _normalise(password))


_default_hasher: PasswordHasher | None = None


def default_hasher() -> PasswordHasher:
    """The process-wide hasher with `PRODUCTION_PARAMETERS`."""
    global _default_hasher
    if _default_hasher is None:
        _default_hasher = PasswordHasher()
    return _default_hasher


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    """`password` hashed by `hasher` (default: production argon2id). Does not check the
    policy: call `check_password_policy` first for a password a user chooses."""
    return (hasher or default_hasher()).hash(password)


def verify_password(
    stored_hash: str | None, password: str, hasher: PasswordHasher | None = None
) -> PasswordCheck:
    """`PasswordHasher.verify` with `hasher` (default: production argon2id); give `None`
    as `stored_hash` for an unknown user so the time taken stays the same."""
    return (hasher or default_hasher()).verify(stored_hash, password)


# -- policy -----------------------------------------------------------------------------


def password_problems(password: str, personal: Iterable[str] = ()) -> list[str]:
    """Every rule of the policy that `password` breaks, phrased for the user; empty when
    it is acceptable. `personal` holds what the password must not contain (e-mail
    address, its local part, user name); entries shorter than 4 characters are ignored.

    Rules: 12-1024 characters; at least two kinds among lower case, upper case, digits
    and others (so a long passphrase with spaces passes); at least 5 different
    characters; none of the personal values in it, ignoring case.
    """
    text = _normalise(password)
    problems = []
    if len(text) < MIN_PASSWORD_CHARS:
        problems.append(f"use at least {MIN_PASSWORD_CHARS} characters")
    if len(text) > MAX_PASSWORD_CHARS:
        problems.append(f"use at most {MAX_PASSWORD_CHARS} characters")
    if len(_character_kinds(text)) < 2:
        problems.append(
            "mix at least two kinds of characters: lower case, upper case, digits, "
            "symbols or spaces"
        )
    if len(set(text.casefold())) < _MIN_DISTINCT_CHARS:
        problems.append(f"use at least {_MIN_DISTINCT_CHARS} different characters")
    folded = text.casefold()
    for value in personal:
        words = {value, value.partition("@")[0]}
        if any(
            len(word) >= _MIN_PERSONAL_CHARS and _normalise(word).casefold() in folded
            for word in words
        ):
            problems.append("do not use your e-mail address or name in your password")
            break
    return problems


def check_password_policy(password: str, personal: Iterable[str] = ()) -> None:
    """Raise `WeakPassword` listing every rule `password` breaks (see
    `password_problems`); return quietly when it is acceptable."""
    problems = password_problems(password, personal)
    if problems:
        raise WeakPassword(problems)


def _character_kinds(text: str) -> set[str]:
    kinds = set()
    for char in text:
        if char.islower():
            kinds.add("lower")
        elif char.isupper():
            kinds.add("upper")
        elif char.isdigit():
            kinds.add("digit")
        else:
            kinds.add("other")
    return kinds


def _normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)
