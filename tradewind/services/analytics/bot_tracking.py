"""The bots of the accounts an analytics instance follows: their PnL series, kept from
their fills in the record and recorded a minute at a time in `bot_snapshots`
(docs/analytics.md, "Bots").

Fills are read from the system of record (`records.bots_fills_of`: the fills table, a
bot's by the orders table's `bot_id`), not from the order path: an account the
instance meets for the first time (a start, a take-over) has all its bots' fills read
(up to `MAX_FILLS` each), and after that, in each round in which the account changed
(a `PortfolioUpdate` came: a fill was booked) and in the round after it, the fills
executed since its last read less `FILL_MARGIN` (a fill recorded late, or stamped by a
venue's clock a little behind ours; accounts are read 500 at a time, from the oldest
last read among them). A fill read twice is counted once (by trade id,
`BotBook.apply`); a fill recorded after fills executed later than it is applied after
them (its average cost as of then, not as of its execution).

A bot met for the first time has its recorded minutes of the window read back, so its
drawdown's peak survives a restart or a take-over.

Each round every bot is valued at the last bar prices and its account's equity; a
minute that closed with a PnL different from the last recorded one is written, all of
a round's in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tradewind.domain.bot_pnl import BotFill, BotPnl, PriceOf
from tradewind.services.analytics.bot_series import BotSeries
from tradewind.store import accounts, bot_snapshots, records
from tradewind.store.database import Database

#: Fills read again behind an account's newest one: the recorder may store a fill after
#: the account's valuation that counted it.
FILL_MARGIN = timedelta(minutes=5)
#: Fills of one account read when it is met (the newest kept).
MAX_FILLS = 100_000


@dataclass
class _Account:
    valuation_asset: str
    read_ns: int  # when its fills were last read
    bots: dict[str, BotSeries] = field(default_factory=dict)


class BotTracker:
    def __init__(self, database: Database, window_minutes: int) -> None:
        self._database = database
        self._window = window_minutes
        self._accounts: dict[str, _Account] = {}
        self._again: set[str] = set()  # changed in the last round: read once more
        self.written = 0  # minutes recorded since the start

    @property
    def accounts(self) -> list[str]:
        return list(self._accounts)

    @property
    def series(self) -> list[BotSeries]:
        return [s for account in self._accounts.values() for s in account.bots.values()]

    def forget(self, account_id: str) -> list[str]:
        """The account moved to another instance; returns its bots' ids."""
        self._again.discard(account_id)
        account = self._accounts.pop(account_id, None)
        return [] if account is None else list(account.bots)

    async def read_fills(self, changed: Iterable[str], now_ns: int) -> None:
        """Take the new fills of the accounts that `changed` this round or the last; an
        account met now has its bots' recorded minutes of the window (to `now_ns`) read
        back too."""
        now = set(changed)
        wanted, self._again = now | self._again, now
        new = sorted(a for a in wanted if a not in self._accounts)
        known = sorted(a for a in wanted if a in self._accounts)
        found: dict[str, list[tuple[str, BotFill]]] = {}
        async with self._database.read() as conn:
            if new:
                for account_id, asset in (await accounts.valuation_assets(conn, new)).items():
                    self._accounts[account_id] = _Account(asset, now_ns)
                found |= await records.bots_fills_of(conn, new, None, limit=MAX_FILLS)
            if known:
                oldest = min(self._accounts[a].read_ns for a in known)
                since = datetime.fromtimestamp(oldest / 1e9, UTC) - FILL_MARGIN
                for account_id in known:
                    self._accounts[account_id].read_ns = now_ns
                for account_id, rows in (
                    await records.bots_fills_of(conn, known, since, limit=MAX_FILLS)
                ).items():
                    found.setdefault(account_id, []).extend(rows)
        met: list[BotSeries] = []
        for account_id, rows in found.items():
            account = self._accounts.get(account_id)
            if account is None:
                continue
            for bot_id, fill in rows:
                series = account.bots.get(bot_id)
                if series is None:
                    series = account.bots[bot_id] = BotSeries(
                        bot_id, account_id, account.valuation_asset, self._window
                    )
                    met.append(series)
                series.book.apply(fill)
        if met:
            await self._restore(met, now_ns)

    async def _restore(self, met: list[BotSeries], now_ns: int) -> None:
        since = datetime.fromtimestamp(now_ns / 1e9, UTC) - timedelta(minutes=self._window)
        async with self._database.read() as conn:
            recorded = await bot_snapshots.since(conn, (s.bot_id for s in met), since)
        for series in met:
            series.restore(
                (r.ts_ns, BotPnl(r.realized_pnl, r.unrealized_pnl, r.fees, r.pnl),
                 r.account_equity)
                for r in recorded.get(series.bot_id, [])
                if r.quote == series.quote and r.ts_ns < now_ns
            )  # fmt: skip

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
