"""The gateway's cached state: the latest portfolio of every account (kept current by
consuming `portfolio.updates`), and which accounts each user owns.

Portfolio reads are the API's hottest path, so they touch no database and encode
nothing: every update is encoded to its JSON once, when it arrives, and a read joins
the caller's pieces. An account with no update since this gateway started is read from
its newest stored snapshot, which is then kept for `snapshot_ttl_s` seconds.

Ownership is cached for `ttl_s` seconds per user (30 by default) and dropped at once when
this gateway connects or removes an account; another gateway instance's change shows
here within `ttl_s` (a WebSocket session always reads it fresh). Account ids are never
reused, so a stale entry can only show a user, briefly, an account they owned a moment
ago; never someone else's.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

import msgspec

from tradewind.domain.events import PortfolioUpdate
from tradewind.domain.time_units import datetime_from_ns
from tradewind.store.database import ns_of
from tradewind.store.portfolio_snapshots import Snapshot


class PortfolioJson(msgspec.Struct, frozen=True):
    """The wire form of `schemas.PortfolioView` (same fields, same order); amounts are
    fixed-point decimal strings (`"0.000001"`, never `"1E-6"`)."""

    account_id: str
    valuation_asset: str
    equity: str
    cash: str
    realized_pnl: str
    unrealized_pnl: str
    fees: str
    balances: dict[str, str]
    as_of: datetime
    source: Literal["live", "snapshot"]


def fixed(value: Decimal) -> str:
    """`value` in plain decimal notation, as the API writes every amount."""
    return format(value, "f")


_encode = msgspec.json.Encoder().encode


@dataclass(slots=True)
class _Entry:
    ts_ns: int
    body: bytes
    live: bool
    cached_at: float


class PortfolioCache:
    """The newest valuation per account, encoded to JSON once when it arrives, and read
    from the newest stored snapshot for an account with no update yet."""

    def __init__(
        self, *, snapshot_ttl_s: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: dict[str, _Entry] = {}
        self._snapshot_ttl_s = snapshot_ttl_s
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    def apply(self, update: PortfolioUpdate) -> bool:
        """Keep `update` if it is newer than what is held (redeliveries and stragglers
        from another partition change nothing); True if it was kept."""
        held = self._entries.get(update.account_id)
        if held is not None and held.live and held.ts_ns >= update.ts_ns:
            return False
        as_of = datetime_from_ns(update.ts_ns)
        body = _encode(
            PortfolioJson(
                update.account_id,
                update.valuation_asset,
                fixed(update.equity),
                fixed(update.cash),
                fixed(update.realized_pnl),
                fixed(update.unrealized_pnl),
                fixed(update.fees),
                {asset: fixed(amount) for asset, amount in update.balances.items()},
                as_of,
                "live",
            )
        )
        self._entries[update.account_id] = _Entry(update.ts_ns, body, True, self._clock())
        return True

    def remember_snapshot(self, snapshot: Snapshot) -> bytes:
        """Hold `snapshot` (unless a live update is newer); returns its JSON."""
        ts_ns = ns_of(snapshot.taken_at)
        held = self._entries.get(snapshot.account_id)
        if held is not None and held.live and held.ts_ns >= ts_ns:
            return held.body
        body = _encode(
            PortfolioJson(
                snapshot.account_id,
                snapshot.valuation_asset,
                fixed(snapshot.equity),
                fixed(snapshot.cash),
                fixed(snapshot.realized_pnl),
                fixed(snapshot.unrealized_pnl),
                fixed(snapshot.fees),
                {asset: fixed(amount) for asset, amount in snapshot.balances.items()},
                snapshot.taken_at,
                "snapshot",
            )
        )
        self._entries[snapshot.account_id] = _Entry(ts_ns, body, False, self._clock())
        return body

    def get(self, account_id: str) -> bytes | None:
        """The held JSON of `account_id`, or None (never seen, or a stale snapshot)."""
        entry = self._entries.get(account_id)
        if entry is None:
            return None
        if not entry.live and self._clock() - entry.cached_at > self._snapshot_ttl_s:
            return None
        return entry.body

    def forget(self, account_id: str) -> None:
        self._entries.pop(account_id, None)


AccountLoader = Callable[[str], Awaitable[Sequence[str]]]


class Ownership:
    """Which account ids each user owns, cached `ttl_s` seconds; see the module
    docstring. `load(user_id)` reads them from the database."""

    def __init__(
        self,
        load: AccountLoader,
        *,
        ttl_s: float = 30.0,
        max_users: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._ttl_s = ttl_s
        self._max_users = max_users
        self._clock = clock
        self._owned: dict[str, tuple[float, tuple[str, ...]]] = {}

    async def accounts_of(self, user_id: str) -> tuple[str, ...]:
        """The ids of `user_id`'s accounts, oldest first."""
        held = self._owned.get(user_id)
        now = self._clock()
        if held is not None and now - held[0] <= self._ttl_s:
            return held[1]
        accounts = tuple(await self._load(user_id))
        if len(self._owned) >= self._max_users:
            self._owned.clear()  # rare; a cold cache only costs queries
        self._owned[user_id] = (now, accounts)
        return accounts

    def forget(self, user_id: str) -> None:
        """Drop `user_id`'s entry (an account of theirs was connected or removed)."""
        self._owned.pop(user_id, None)
