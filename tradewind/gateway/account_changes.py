"""Exchange accounts connected or removed through another gateway instance, for this
instance's open streams.

The instance that handles a connect or a remove tells its own WebSocket hub at once; the
others learn it from the audit log, which records both in the transaction that makes
the change (`account.connected`: the actor is the owner, the target the account;
`account.removed`: the target). Every instance polls it with the token revocations
(about once a second), so a stream open on any instance follows its user's accounts
within a poll interval, whichever instance the user's requests went to.

Rows are read again for `POLL_OVERLAP_S` before the last poll (a transaction that
committed late has an older timestamp) and told once each, by audit id."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from tradewind.store import audit
from tradewind.store.database import Connection

POLL_OVERLAP_S = 10.0
CONNECTED, REMOVED = "account.connected", "account.removed"


class AccountChanges:
    """Polls the audit log; calls `added(user_id, account_id)` and
    `removed(actor_id, account_id)` once per change made since this instance started."""

    def __init__(
        self,
        added: Callable[[str, str], None],
        removed: Callable[[str | None, str], None],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._added, self._removed, self._clock = added, removed, clock
        self._cursor = clock()  # what came before the start is in the streams' start
        self._told: dict[int, float] = {}  # audit id -> when it was told

    async def poll(self, conn: Connection) -> None:
        now = self._clock()
        since = datetime.fromtimestamp(self._cursor - POLL_OVERLAP_S, UTC)
        rows = await audit.actions_since(conn, since, (CONNECTED, REMOVED))
        for row_id, action, actor_id, account_id in rows:
            if row_id in self._told:
                continue
            self._told[row_id] = now
            if action == CONNECTED and actor_id:
                self._added(actor_id, account_id)
            elif action == REMOVED:
                self._removed(actor_id, account_id)
        self._cursor = now
        horizon = now - 2 * POLL_OVERLAP_S
        for row_id in [i for i, at in self._told.items() if at < horizon]:
            del self._told[row_id]
