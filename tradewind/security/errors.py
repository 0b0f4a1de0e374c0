"""The errors of `tradewind.security`.

None of them ever carries a secret: not a plaintext, a key, a password, a token or a
part of one. Messages name the record context, the key id or the claim instead.
"""

from __future__ import annotations

from typing import Literal

from tradewind.errors import ConfigError, TradewindError


class SecurityError(TradewindError):
    """Base of the errors raised by `tradewind.security`."""


class InsecureKeyFile(ConfigError):
    """A master key file can be read by other users; nothing was loaded from it."""


class UnknownMasterKey(SecurityError):
    """A stored secret names a master key id that is not loaded.

    The fix is to load that key again next to the current one (for instance
    `TRADEWIND_MASTER_KEYS="new:...,old:..."`) until `tradewind keys rotate` has rewrapped
    every secret still under it.
    """

    def __init__(self, kid: str, loaded: tuple[str, ...]) -> None:
        self.kid = kid
        self.loaded = loaded
        super().__init__(
            f"master key {kid!r} is not loaded (loaded: {', '.join(loaded) or 'none'}); "
            f"add it back to the master keys until `tradewind keys rotate` has rewrapped "
            f"every secret under it"
        )


class DecryptionFailed(SecurityError):
    """A stored secret could not be decrypted.

    Deliberately vague: a wrong context, a wrong master key and tampered bytes all look the
    same, so the error is no oracle. `context` is the record context the caller gave.
    """

    def __init__(self, context: str | None, problem: str | None = None) -> None:
        self.context = context
        self.problem = problem or "wrong record, wrong master key or tampered data"
        where = f" for {context!r}" if context is not None else ""
        super().__init__(f"cannot decrypt the secret{where}: {self.problem}")


class MalformedSecret(DecryptionFailed):
    """The stored form is not a secret this code can read (bad JSON or base64, a field of
    the wrong length, a newer format version); `problem` says which."""


class WeakPassword(SecurityError):
    """A new password breaks the password policy; `problems` lists every rule it breaks,
    phrased for the user."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("password refused: " + "; ".join(problems))


class InvalidPasswordHash(SecurityError):
    """A stored password hash is not an argon2id hash this code accepts (a corrupt row)."""


TokenProblem = Literal[
    "malformed",
    "algorithm",
    "type",
    "signature",
    "expired",
    "not_yet_valid",
    "audience",
    "issuer",
    "missing_claim",
    "invalid_claim",
]


class InvalidToken(SecurityError):
    """An access token was refused. `reason` is a stable code for metrics and for the
    API's error body; the message says what was wrong without echoing the token."""

    def __init__(self, reason: TokenProblem, message: str) -> None:
        self.reason: TokenProblem = reason
        super().__init__(f"invalid access token ({reason}): {message}")


RefreshProblem = Literal["unknown", "expired", "reused", "revoked"]


class RefreshTokenRejected(SecurityError):
    """A refresh token was refused; the client must log in again.

    `reason`: `unknown` (never issued, or pruned), `expired`, `reused` (a token that was
    already rotated was presented again: its whole family is now revoked), or `revoked`
    (the family was logged out or revoked earlier).
    """

    def __init__(self, reason: RefreshProblem, message: str) -> None:
        self.reason: RefreshProblem = reason
        super().__init__(f"refresh token refused ({reason}): {message}")
