"""The portfolio service's books survive restarts and move with their accounts.

Every batch of account events is applied to the books in memory, then the books of the
accounts it changed are saved (`store.portfolio_books`, one transaction) *before* the
batch is acknowledged: what the bus will not deliver again is in the database. An
instance that meets an account for the first time (after a start, or when the account's
partition moved to it) loads its saved books before applying anything. So a restart,
clean or `kill -9`, resumes exactly where the saved books and the bus meet, with no
need to wait for execution's next balances.

A batch saved but not acknowledged (a crash in between) is delivered again: each
account remembers the ids of the events it applied last (`RECENT_EVENTS`), and skips
them, so a balance is not set back and a fill is not booked twice. Two instances that
both think they own an account (a partition moving) cannot overwrite each other: a save
is a compare-and-set on the row's version, and the loser reloads the winner's books and
applies its batch on top of them (again skipping what they already include).
"""

from __future__ import annotations

from tradewind.domain.bounded import RecentlySeen
from tradewind.domain.portfolio_state import StoredAccount as StoredAccount
from tradewind.domain.portfolio_state import decode_stored as decode
from tradewind.domain.portfolio_state import encode_stored as encode

__all__ = ["RECENT_EVENTS", "RecentEvents", "StoredAccount", "decode", "encode"]

#: Event ids remembered per account: at least a batch or two of one account's events.
RECENT_EVENTS = 256


class RecentEvents:
    """The last `RECENT_EVENTS` event ids applied to each account."""

    def __init__(self) -> None:
        self._ids: dict[str, RecentlySeen[str]] = {}

    def seen(self, account_id: str, event_id: str) -> bool:
        known = self._ids.get(account_id)
        return known is not None and event_id in known

    def add(self, account_id: str, event_id: str) -> None:
        ids = self._ids.get(account_id)
        if ids is None:
            ids = self._ids[account_id] = RecentlySeen(RECENT_EVENTS)
        ids.add(event_id)

    def of(self, account_id: str) -> list[str]:
        return list(self._ids.get(account_id, ()))

    def restore(self, account_id: str, event_ids: list[str]) -> None:
        self.forget(account_id)
        for event_id in event_ids[-RECENT_EVENTS:]:
            self.add(account_id, event_id)

    def forget(self, account_id: str) -> None:
        self._ids.pop(account_id, None)
