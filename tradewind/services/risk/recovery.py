"""What risk knows of an account it meets for the first time (after a start, or when the
account's partition moved here from a twin), read from the system of record before its
first intent is decided:

- free balances: the last ones execution read from the venue (`store.venue_balances`,
  written with the events that published them, so never behind the bus);
- positions and equity: the portfolio service's saved books (`store.portfolio_books`);
- the equity the day started at: the account's last portfolio snapshot before 00:00 UTC.

The stored balances are as old as the account's last reconciliation: fills since then
are not in them. So risk also asks execution for fresh ones at once (one venue call,
answered within a round trip), which replace them; until then the rules run on the
stored ones instead of rejecting every intent for want of balances.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal

from tradewind.domain.events import BalanceUpdate
from tradewind.domain.model import Instrument
from tradewind.domain.portfolio import Portfolio
from tradewind.domain.portfolio_state import decode_stored, instrument_of
from tradewind.domain.risk import utc_day_start_ns
from tradewind.domain.time_units import datetime_from_ns
from tradewind.store.database import Database, ns_of
from tradewind.store.portfolio_books import read_books
from tradewind.store.portfolio_snapshots import equity_before
from tradewind.store.venue_balances import load_latest


@dataclass(frozen=True)
class StoredEquity:
    """An account's equity in `valuation_asset` as of `as_of_ns` (ns since the epoch),
    and at the start of that UTC day if a snapshot from before it is stored."""

    valuation_asset: str
    equity: Decimal
    as_of_ns: int
    day_start_equity: Decimal | None


@dataclass(frozen=True)
class StoredAccountState:
    """One account's risk state as the system of record holds it."""

    balances: list[BalanceUpdate] = field(default_factory=list)
    positions: dict[Instrument, Decimal] = field(default_factory=dict)
    equity: StoredEquity | None = None


async def load_account_states(
    database: Database, account_ids: Collection[str], now_ns: int
) -> dict[str, StoredAccountState]:
    """The stored state of each of these accounts that has any, in one read."""
    day_start = datetime_from_ns(utc_day_start_ns(now_ns))
    async with database.read() as conn:
        balances = await load_latest(conn, account_ids)
        books = await read_books(conn, account_ids)
        day_starts = await equity_before(conn, account_ids, day_start)
    states: dict[str, StoredAccountState] = {}
    for account_id in account_ids:
        positions: dict[Instrument, Decimal] = {}
        equity = None
        saved = books.get(account_id)
        if saved is not None:
            data, saved_at = saved
            state = decode_stored(data).books
            positions = {instrument_of(state.venue, p): p.quantity for p in state.positions}
            day = day_starts.get(account_id)
            equity = StoredEquity(
                valuation_asset=state.valuation_asset,
                equity=Portfolio.from_state(state).equity,
                as_of_ns=ns_of(saved_at),
                day_start_equity=(
                    day[1] if day is not None and day[0] == state.valuation_asset else None
                ),
            )
        found = balances.get(account_id, [])
        if found or saved is not None:
            states[account_id] = StoredAccountState(found, positions, equity)
    return states
