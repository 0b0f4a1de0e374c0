"""What the gateway refuses although the signature is good: tokens issued before a
user's roles changed or the user was disabled, and tokens of ended sessions.

Two facts, both in the system of record, so every gateway instance agrees:

- **a user's token version** (`users.token_version`): every access token carries the
  version it was issued at (`ver`). Changing a user's roles, disabling them or ending
  all their sessions raises the version in the same transaction as the change; a token
  whose `ver` is lower is refused. Versions are integers compared with `<`, so no clock
  and no second boundary is involved: a refresh that read the old roles produces a
  token with the old version, which is refused like every other one.
- **ended sessions** (`refresh_tokens.revoked_at`): every access token carries its
  login session (`sid`, the refresh-token family). Logout, refresh-token reuse and
  disabling end the family; its access tokens are refused from then on.

The instance that makes a change applies it at once (`raise_version`, `end_session`);
every instance also polls both columns (`poll`, about once a second, see
`gateway.service`) so a change made elsewhere is enforced within a poll interval. A
fact is kept only as long as a token it refuses can still be valid (token lifetime plus
leeway), so memory holds the changes of the last few minutes.

Listeners (the WebSocket hub) hear each change so open streams end at once too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from tradewind.store import refresh_token_families, users
from tradewind.store.database import Connection

#: Rows changed this long before the last poll are read again, so a transaction that
#: committed late (its timestamp older than the cursor) is still seen.
POLL_OVERLAP_S = 10.0


@dataclass(frozen=True, slots=True)
class Revoked:
    """One change: `user_id`'s tokens below `version`, or the session `session_id`."""

    user_id: str | None = None
    version: int = 0
    session_id: str | None = None


class Revocations:
    """The users' token versions and the ended sessions this gateway enforces: a token
    older than its user's version, or of an ended session, is refused.
    `keep_s` is how long a fact matters (token lifetime plus leeway, seconds)."""

    def __init__(self, keep_s: float, *, clock: Callable[[], float] = time.time) -> None:
        self._keep_s = keep_s
        self._clock = clock
        self._versions: dict[str, tuple[int, float]] = {}  # user -> (version, seen at)
        self._ended: dict[str, float] = {}  # session -> seen at
        self._cursor: float | None = None
        self.listeners: list[Callable[[Revoked], None]] = []

    def refusal(self, user_id: str, version: int, session_id: str) -> str | None:
        """Why a token of `user_id` at `version` in `session_id` is refused, or None."""
        known = self._versions.get(user_id)
        if known is not None and version < known[0]:
            return "this token predates a change to your account; log in again"
        if session_id in self._ended:
            return "this session has ended (logged out or revoked); log in again"
        return None

    def minimum_version(self, user_id: str) -> int:
        known = self._versions.get(user_id)
        return known[0] if known is not None else 0

    def raise_version(self, user_id: str, version: int) -> None:
        """Refuse `user_id`'s tokens below `version` from now on."""
        known = self._versions.get(user_id)
        if known is not None and known[0] >= version:
            return
        self._versions[user_id] = (version, self._clock())
        self._tell(Revoked(user_id=user_id, version=version))

    def end_session(self, session_id: str) -> None:
        """Refuse the tokens of the login session `session_id` from now on."""
        if session_id in self._ended:
            return
        self._ended[session_id] = self._clock()
        self._tell(Revoked(session_id=session_id))

    async def poll(self, conn: Connection) -> None:
        """Read the versions raised and sessions ended since the last poll (on the first,
        within the time a token lives), and forget what no live token can need."""
        now = self._clock()
        since = now - self._keep_s if self._cursor is None else self._cursor - POLL_OVERLAP_S
        since_at = datetime.fromtimestamp(since, UTC)
        for user_id, version in await users.token_versions_changed_since(conn, since_at):
            self.raise_version(user_id, version)
        for session_id in await refresh_token_families.ended_since(conn, since_at):
            self.end_session(session_id)
        self._cursor = now
        self._forget(now)

    def _forget(self, now: float) -> None:
        horizon = now - self._keep_s - POLL_OVERLAP_S
        for user_id in [u for u, (_, seen) in self._versions.items() if seen < horizon]:
            del self._versions[user_id]
        for session_id in [s for s, seen in self._ended.items() if seen < horizon]:
            del self._ended[session_id]

    def _tell(self, change: Revoked) -> None:
        for listener in self.listeners:
            listener(change)
