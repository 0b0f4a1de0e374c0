"""The bots of the accounts an analytics instance follows: their PnL series, kept from
their fills in the record and recorded a minute at a time in `bot_snapshots`
(docs/analytics.md, "Bots").

Fills are read from the system of record (the fills table, a bot's by the orders
table's `bot_id`), not from the order path, three ways:

- **the meet**: an account the instance meets for the first time (it changed — a
  `PortfolioUpdate` came — and is not followed yet: a start, a take-over) has all its
  bots' fills read (`trades.bots_fills_of`, up to `MAX_FILLS` each);
- **the cursor**: every round in which the instance follows an account, one query reads
  the whole platform's bots' fills *recorded* since the cursor less `RECORDED_MARGIN`
  (`trades.bot_fills_recorded_since`) and keeps those of the accounts followed (the
  others belong to other instances, or are read in full when met). The cursor is the
  newest `recorded_at` read (the writers' clocks, not ours); it starts, in the round
  that meets the first accounts, at the newest `recorded_at` in the table before the
  meet's reads, so nothing recorded by then is missed. A fill recorded long after it
  executed (a reconciliation after a venue outage) is read in the next round;
- **the sweep**: each round, up to `SWEEP_ACCOUNTS` followed accounts whose last full
  read is the oldest, older than `SWEEP_AFTER`, are read in full again, for a fill whose
  commit lagged beyond the margin (older than the cursor less the margin when it became
  visible).

A fill read twice is counted once (by trade id, `BotBook.apply`); a fill read after
fills executed later than it is applied after them (its average cost as of then, not as
of its execution). A round's reads are applied only once they all succeeded: an account
whose meet failed is met in the next round.

A bot met for the first time has its recorded minutes of the window read back, so its
drawdown's peak survives a restart or a take-over.

Each round every bot is valued at the last bar prices and its account's equity; a
minute that closed with a PnL different from the last recorded one is written, all of
a round's in one transaction.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from tradewind.domain.bot_pnl import BotFill, BotPnl, PriceOf
from tradewind.domain.time_units import NS_PER_S, datetime_from_ns
from tradewind.services.analytics.bot_series import BotSeries
from tradewind.store import accounts, bot_snapshots, trades
from tradewind.store.database import Connection, Database

#: Fills read again behind the cursor. A fill's `recorded_at` is stamped when its row is
#: inserted, before its transaction commits (with the orders and outbox rows of the same
#: batch: milliseconds, a second or two under load), by the execution hosts' clocks,
#: which NTP keeps within milliseconds of each other: 10 s covers both with room to
#: spare, and costs the re-read of two 5-s rounds' fills at most (counted once by trade
#: id). A commit that lags longer is the sweep's.
RECORDED_MARGIN = timedelta(seconds=10)
#: Fills of one account read when it is met or swept (the newest kept).
MAX_FILLS = 100_000
#: A followed account is read in full again once its last full read is this old.
SWEEP_AFTER = timedelta(minutes=30)
#: Accounts read in full again in one round, at most. At the default 5-s round, 30 x 720
#: rounds = 21,600 accounts an hour: with 10,000 accounts each is swept within ~28
#: minutes of becoming due (a fill whose commit lagged is booked within the hour), and a
#: round reads 30 accounts' fills in full (at 10,000 accounts, a 333th of the meet).
SWEEP_ACCOUNTS = 30

_SWEEP_AFTER_NS = int(SWEEP_AFTER.total_seconds()) * NS_PER_S

#: Per account, (bot id, fill) of its bots' fills, oldest first.
_FillsOf = dict[str, list[tuple[str, BotFill]]]


@dataclass
class _Account:
    valuation_asset: str
    full_read_ns: int  # when all its bots' fills were last read (met, or swept)
    bots: dict[str, BotSeries] = field(default_factory=dict)


@dataclass(frozen=True)
class _Reads:
    """What a round read, applied once every read succeeded."""

    met: dict[str, str]  # the accounts met: their valuation asset
    full: _FillsOf  # the fills of the accounts met and swept
    recorded: _FillsOf  # the fills recorded since the cursor less the margin
    cursor: datetime | None  # the newest recorded_at read (None: the table was empty)
    minutes: dict[str, list[bot_snapshots.BotSnapshot]]  # the new bots' recorded window


class BotTracker:
    def __init__(self, database: Database, window_minutes: int) -> None:
        self._database = database
        self._window = window_minutes
        # The accounts followed, the oldest full read first (the sweep's order).
        self._accounts: OrderedDict[str, _Account] = OrderedDict()
        self._unmet: set[str] = set()  # changed, not followed yet: met this round
        self._cursor: datetime | None = None  # the newest recorded_at read
        self.written = 0  # minutes recorded since the start

    @property
    def accounts(self) -> list[str]:
        return list(self._accounts)

    @property
    def series(self) -> list[BotSeries]:
        return [s for account in self._accounts.values() for s in account.bots.values()]

    def forget(self, account_id: str) -> list[str]:
        """The account moved to another instance; returns its bots' ids."""
        self._unmet.discard(account_id)
        account = self._accounts.pop(account_id, None)
        return [] if account is None else list(account.bots)

    async def read_fills(self, changed: Iterable[str], now_ns: int) -> None:
        """Meet the accounts in `changed` not followed yet (all their bots' fills read),
        take the fills recorded since the cursor less the margin, and read the accounts
        the sweep reached in full again (the module docstring); a bot met now has its
        recorded minutes of the window (to `now_ns`) read back."""
        self._unmet.update(a for a in changed if a not in self._accounts)
        if not self._unmet and not self._accounts:
            return  # nothing followed: no cursor to keep
        swept = self._due_for_sweep(now_ns)
        async with self._database.read() as conn:
            reads = await self._read(conn, sorted(self._unmet), swept, now_ns)
        self._unmet.clear()  # met, or not in the record (nothing to follow)
        for account_id, asset in reads.met.items():
            self._accounts[account_id] = _Account(asset, now_ns)
        for account_id in swept:
            self._accounts[account_id].full_read_ns = now_ns
            self._accounts.move_to_end(account_id)
        self._cursor = reads.cursor
        for series in self._apply(reads.full) + self._apply(reads.recorded):
            series.restore(
                (r.ts_ns, BotPnl(r.realized_pnl, r.unrealized_pnl, r.fees, r.pnl),
                 r.account_equity)
                for r in reads.minutes.get(series.bot_id, [])
                if r.quote == series.quote and r.ts_ns < now_ns
            )  # fmt: skip

    def _due_for_sweep(self, now_ns: int) -> list[str]:
        """Up to `SWEEP_ACCOUNTS` accounts whose last full read is the oldest, if older
        than `SWEEP_AFTER`."""
        due: list[str] = []
        for account_id, account in self._accounts.items():
            if len(due) == SWEEP_ACCOUNTS or now_ns - account.full_read_ns < _SWEEP_AFTER_NS:
                break
            due.append(account_id)
        return due

    async def _read(
        self, conn: Connection, unmet: list[str], swept: list[str], now_ns: int
    ) -> _Reads:
        """The round's reads: the accounts met and their fills, the swept accounts'
        fills, the fills recorded since the cursor less the margin, then the recorded
        minutes of the window (to `now_ns`) of the bots met in them. Nothing is applied
        before all succeeded: a read that fails is made again next round, whole."""
        cursor = self._cursor
        if not self._accounts or cursor is None:
            # The cursor starts (or, while the table holds no fill, starts again) here,
            # read before the other reads: a fill recorded by then is in the meet's read,
            # or, its commit in flight, within the margin of the cursor.
            cursor = await trades.newest_fill_recorded(conn)
        met = await accounts.valuation_assets(conn, unmet) if unmet else {}
        full = await trades.bots_fills_of(conn, [*met, *swept], limit=MAX_FILLS)
        since = None if cursor is None else cursor - RECORDED_MARGIN
        recorded, newest = await trades.bot_fills_recorded_since(conn, since, self._wanted(met))
        if newest is not None and (cursor is None or newest > cursor):
            cursor = newest
        new_bots = self._new_bots(met, full, recorded)
        window = datetime_from_ns(now_ns) - timedelta(minutes=self._window)
        minutes = await bot_snapshots.since(conn, new_bots, window) if new_bots else {}
        return _Reads(met, full, recorded, cursor, minutes)

    def _new_bots(self, met: Container[str], *reads: _FillsOf) -> set[str]:
        """The bots with fills in `reads` this instance does not know yet (of the
        accounts it follows or meets now)."""
        new: set[str] = set()
        for found in reads:
            for account_id, rows in found.items():
                account = self._accounts.get(account_id)
                if account is None and account_id not in met:
                    continue
                known = account.bots if account is not None else {}
                new.update(bot_id for bot_id, _ in rows if bot_id not in known)
        return new

    def _wanted(self, met: Container[str]) -> trades.WantsFill:
        """Which fills of the cursor's read to take: those of the accounts followed here
        or met this round, but not one a bot's book already holds (most of the margin's,
        read again every round): they are left out before they are turned into fills."""
        followed = self._accounts

        def wanted(account_id: str, bot_id: str, symbol: str, trade_id: str) -> bool:
            account = followed.get(account_id)
            if account is None:
                return account_id in met
            series = account.bots.get(bot_id)
            return series is None or not series.book.has(symbol, trade_id)

        return wanted

    def _apply(self, found: _FillsOf) -> list[BotSeries]:
        """Apply the fills of the accounts followed to their bots' books; returns the
        bots met (their first fill)."""
        met: list[BotSeries] = []
        for account_id, rows in found.items():
            account = self._accounts.get(account_id)
            if account is None:
                continue  # not followed here
            for bot_id, fill in rows:
                series = account.bots.get(bot_id)
                if series is None:
                    series = account.bots[bot_id] = BotSeries(
                        bot_id, account_id, account.valuation_asset, self._window
                    )
                    met.append(series)
                series.book.apply(fill)
        return met

    async def record(
        self, now_ns: int, price_of: PriceOf, equity_of: Callable[[str, str], Decimal | None]
    ) -> int:
        """Value every bot at `now_ns` and write the minutes that closed with a new PnL;
        returns how many. `equity_of(account, asset)`: the account's equity in `asset`
        now, if known."""
        closed: list[bot_snapshots.BotSnapshot] = []
        for series in self.series:
            equity = equity_of(series.account_id, series.quote)
            minute = series.observe(now_ns, price_of, equity)
            if minute is not None:
                ts_ns, pnl, then = minute
                closed.append(
                    bot_snapshots.BotSnapshot(
                        bot_id=series.bot_id, account_id=series.account_id, ts_ns=ts_ns,
                        quote=series.quote, pnl=pnl.total, realized_pnl=pnl.realized,
                        unrealized_pnl=pnl.unrealized, fees=pnl.fees, account_equity=then,
                    )
                )  # fmt: skip
        if closed:
            async with self._database.transaction() as conn:
                await bot_snapshots.insert(conn, closed)
            self.written += len(closed)
        return len(closed)
