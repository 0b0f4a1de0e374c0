"""`tradewind analytics rebuild`: the bots' PnL minutes (`bot_snapshots`) that were lost
— a table restored from an older backup, rows deleted, the analytics service down for
an hour — written again from the record: each bot's stored fills
(`trades.bots_fills_of`), its venue's 1-minute candles (`Venue.fetch_candles`) and its
account's recorded valuations (`portfolio_snapshots`), replayed a minute at a time
(`minute_replay`; docs/analytics.md, "Rebuilding lost minutes").

It fills holes and never overwrites: a minute that holds a row keeps it. It covers only
minutes retention keeps at a minute's resolution (`TRADEWIND_ANALYTICS_MINUTES_KEPT_DAYS`),
so its rows age and are thinned like the live ones, and stops two minutes before now:
the minute that just closed is the live service's to write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from tradewind.bus.delivery import describe
from tradewind.domain.bot_pnl import BotFill, BotPnl
from tradewind.domain.time_units import NS_PER_DAY, NS_PER_MINUTE, NS_PER_MS, datetime_from_ns
from tradewind.errors import ConfigError
from tradewind.services.analytics.bot_tracking import MAX_FILLS
from tradewind.services.analytics.minute_replay import (
    Closes,
    Equities,
    MissingPrice,
    replay_minutes,
)
from tradewind.store import accounts, bot_snapshots, portfolio_snapshots, trades
from tradewind.store.database import Connection, Database
from tradewind.venues.port import VenueDirectory

#: Valuations of one account read over the rebuilt span, at most (the portfolio service
#: records one a minute per account that changed: a week is 10,080).
MAX_VALUATIONS = 1_000_000
_ACCOUNTS_PAGE = 1_000


@dataclass(frozen=True)
class BotRebuilt:
    bot_id: str
    account_id: str
    minutes_written: int
    holes_filled: int


@dataclass(frozen=True)
class BotSkipped:
    bot_id: str
    account_id: str
    reason: str


@dataclass
class RebuildReport:
    first_minute_ns: int  # the first minute replayed opens then
    last_minute_ns: int  # the last one opens then
    accounts: int = 0
    rebuilt: list[BotRebuilt] = field(default_factory=list)
    skipped: list[BotSkipped] = field(default_factory=list)

    @property
    def minutes_written(self) -> int:
        return sum(b.minutes_written for b in self.rebuilt)

    @property
    def holes_filled(self) -> int:
        return sum(b.holes_filled for b in self.rebuilt)


def minute_span(
    since_ns: int | None, until_ns: int | None, now_ns: int, minutes_kept_days: int
) -> tuple[int, int]:
    """The first and last minute (counted from the epoch) to replay: those opening in
    [`since_ns`, `until_ns`], by default from the oldest minute retention keeps to the
    last one the rebuild may write (two before the one open at `now_ns`). ConfigError
    naming the option for a span it cannot rebuild."""
    oldest_ns = now_ns - minutes_kept_days * NS_PER_DAY
    if since_ns is not None and until_ns is not None and since_ns > until_ns:
        raise ConfigError(
            "--since", f"{_iso(since_ns)} is after --until {_iso(until_ns)}: nothing to rebuild"
        )
    if since_ns is not None and since_ns < oldest_ns:
        raise ConfigError(
            "--since",
            f"{_iso(since_ns)} is older than the {minutes_kept_days} days of minutes "
            "retention keeps (TRADEWIND_ANALYTICS_MINUTES_KEPT_DAYS): older minutes are "
            f"thinned to hours; rebuild from {_iso(oldest_ns)} or later",
        )
    start_ns = oldest_ns if since_ns is None else since_ns
    first = -(-start_ns // NS_PER_MINUTE)  # the first minute opening at or after it
    last = now_ns // NS_PER_MINUTE - 2
    if until_ns is not None:
        last = min(last, until_ns // NS_PER_MINUTE)
    if first > last:
        raise ConfigError(
            "--since" if since_ns is not None else "--until",
            f"no minute to rebuild between {_iso(first * NS_PER_MINUTE)} and "
            f"{_iso(last * NS_PER_MINUTE)} (the last two minutes are the live service's)",
        )
    return first, last


def _iso(ns: int) -> str:
    return datetime_from_ns(ns).isoformat()


@dataclass(frozen=True)
class _Account:
    account_id: str
    venue: str
    quote: str  # its valuation asset: the bots' series are in it
    bots: dict[str, list[BotFill]]  # bot id -> its fills in any quote, oldest first


async def rebuild_bot_minutes(
    database: Database,
    venues: VenueDirectory,
    *,
    account_ids: Sequence[str] = (),
    since_ns: int | None = None,
    until_ns: int | None = None,
    now_ns: int,
    minutes_kept_days: int,
) -> RebuildReport:
    """Write the lost minutes of the bots of `account_ids` (all accounts when empty)
    over the span `minute_span` gives; ConfigError for an unknown account or a span it
    cannot rebuild, before anything is read from a venue or written."""
    first, last = minute_span(since_ns, until_ns, now_ns, minutes_kept_days)
    report = RebuildReport(first * NS_PER_MINUTE, last * NS_PER_MINUTE)
    start, end = (
        datetime_from_ns(first * NS_PER_MINUTE),
        datetime_from_ns((last + 1) * NS_PER_MINUTE - 1),
    )
    async with database.read() as conn:
        followed = await _accounts(conn, account_ids)
        report.accounts = len(followed)
        fills = await trades.bots_fills_of(conn, [a.account_id for a in followed], limit=MAX_FILLS)
        for account in followed:
            for bot_id, fill in fills.get(account.account_id, []):
                account.bots.setdefault(bot_id, []).append(fill)
        bot_ids = [b for a in followed for b in a.bots]
        rows = await bot_snapshots.between(conn, bot_ids, start, end)
        before = await bot_snapshots.last_before(conn, bot_ids, start)
        ids = [a.account_id for a in followed]
        valuations = await portfolio_snapshots.valuations_of(
            conn, ids, start, end, limit=MAX_VALUATIONS
        )
        opening = await portfolio_snapshots.equity_before(conn, ids, start)
    for account_id, found in valuations.items():
        if len(found) >= MAX_VALUATIONS:  # the oldest would be missing: wrong equities
            raise ConfigError(
                "--since", f"account {account_id} has {MAX_VALUATIONS:,} valuations or more "
                "in the span: rebuild a shorter one",
            )  # fmt: skip
    symbols = {
        (a.venue, f.symbol)
        for a in followed
        for bot_fills in a.bots.values()
        for f in bot_fills
        if f.symbol.partition("/")[2] == a.quote
    }
    closes, failures = await _closes(venues, sorted(symbols), first, now_ns)
    for account in followed:
        found = valuations.get(account.account_id, [])
        history = [(ts, asset, equity) for ts, asset, equity, *_ in found]
        if account.account_id in opening:
            asset, equity = opening[account.account_id]
            history.insert(0, (first * NS_PER_MINUTE - 1, asset, equity))
        equities = Equities(history)
        for bot_id, bot_fills in account.bots.items():
            if not any(f.symbol.partition("/")[2] == account.quote for f in bot_fills):
                continue  # no series: its fills are all in other quotes
            try:
                written, holes = await _rebuild_bot(
                    database, account, bot_id, (first, last), rows.get(bot_id, []),
                    before.get(bot_id), closes.get(account.venue, Closes({})), equities,
                )  # fmt: skip
            except MissingPrice as missing:
                reason = failures.get((account.venue, missing.symbol)) or (
                    f"{account.venue} has no 1-minute candle of {missing.symbol} at or before "
                    f"{_iso(missing.minute * NS_PER_MINUTE)}, when the bot held it"
                )
                report.skipped.append(BotSkipped(bot_id, account.account_id, reason))
                continue
            report.rebuilt.append(BotRebuilt(bot_id, account.account_id, written, holes))
    return report


async def _rebuild_bot(
    database: Database,
    account: _Account,
    bot_id: str,
    span: tuple[int, int],
    rows: Sequence[bot_snapshots.BotSnapshot],
    last_row: bot_snapshots.BotSnapshot | None,
    closes: Closes,
    equities: Equities,
) -> tuple[int, int]:
    """Replay one bot over the minutes of `span` around its recorded `rows` and write
    what it finds; returns (minutes written, holes filled). MissingPrice: nothing
    written."""
    quote = account.quote
    recorded: dict[int, BotPnl | None] = {
        row.ts_ns // NS_PER_MINUTE: _pnl(row) if row.quote == quote else None for row in rows
    }
    previous = _pnl(last_row) if last_row is not None and last_row.quote == quote else None
    replay = replay_minutes(
        account.bots[bot_id], quote, *span, recorded=recorded, previous=previous,
        closes=closes, equities=equities,
    )  # fmt: skip
    snapshots = [
        bot_snapshots.BotSnapshot(
            bot_id=bot_id, account_id=account.account_id,
            ts_ns=(m.minute + 1) * NS_PER_MINUTE - 1_000,  # the minute's last microsecond
            quote=quote, pnl=m.pnl.total, realized_pnl=m.pnl.realized,
            unrealized_pnl=m.pnl.unrealized, fees=m.pnl.fees, account_equity=m.equity,
        )
        for m in replay.written
    ]  # fmt: skip
    if snapshots:
        async with database.transaction() as conn:
            await bot_snapshots.insert(conn, snapshots)
    return len(snapshots), replay.holes_filled


def _pnl(row: bot_snapshots.BotSnapshot) -> BotPnl:
    return BotPnl(row.realized_pnl, row.unrealized_pnl, row.fees, row.pnl)


async def _accounts(conn: Connection, account_ids: Sequence[str]) -> list[_Account]:
    """The accounts asked for (all when none); ConfigError naming the unknown ones."""
    if account_ids:
        ids = list(dict.fromkeys(account_ids))
        found = await accounts.venues(conn, ids)
        unknown = [a for a in ids if a not in found]
        if unknown:
            raise ConfigError("--account", f"no account {', '.join(unknown)} in the record")
        quotes = await accounts.valuation_assets(conn, ids)
        return [_Account(a, found[a], quotes[a], {}) for a in ids]
    listed: list[_Account] = []
    while True:
        page = await accounts.list_accounts(conn, offset=len(listed), limit=_ACCOUNTS_PAGE)
        listed.extend(_Account(a.id, a.venue, a.valuation_asset, {}) for a in page)
        if len(page) < _ACCOUNTS_PAGE:
            return listed


async def _closes(
    venues: VenueDirectory, symbols: Sequence[tuple[str, str]], first: int, now_ns: int
) -> tuple[dict[str, Closes], dict[tuple[str, str], str]]:
    """Per venue, the 1-minute closes of its `symbols` from the candles the venue still
    has, back to minute `first`; and why a (venue, symbol) has none."""
    candles: dict[str, dict[str, list[tuple[int, Decimal]]]] = {}
    failures: dict[tuple[str, str], str] = {}
    count = now_ns // NS_PER_MINUTE - first + 1
    for venue, symbol in symbols:
        try:
            session = venues.public(venue)
        except Exception as error:  # an unknown venue: its bots are skipped, named
            failures[(venue, symbol)] = f"venue {venue} not reachable: {describe(error)}"
            continue
        try:
            found = await session.fetch_candles(symbol, 60, count)
        except Exception as error:  # a venue without candles: skipped, with the reason
            failures[(venue, symbol)] = (
                f"{venue} gave no 1-minute candles of {symbol}: {describe(error)}"
            )
            continue
        finally:
            await session.close()
        if not found:
            failures[(venue, symbol)] = (
                f"{venue} has no 1-minute candles of {symbol} since {_iso(first * NS_PER_MINUTE)}"
            )
        candles.setdefault(venue, {})[symbol] = [
            (c.open_ms * NS_PER_MS // NS_PER_MINUTE, c.close) for c in found
        ]
    return {venue: Closes(by_symbol) for venue, by_symbol in candles.items()}, failures


def print_report(report: RebuildReport, console: Console) -> None:
    """The rebuild's summary: the span, each bot rebuilt or skipped (and why), totals."""
    span = f"{_iso(report.first_minute_ns)} .. {_iso(report.last_minute_ns)}"
    table = Table(title=f"Bots' PnL minutes rebuilt, minutes opening {span}")
    for column in ("bot", "account", "minutes written", "holes filled"):
        table.add_column(column, justify="right" if column[0] in "mh" else "left")
    for bot in report.rebuilt:
        table.add_row(bot.bot_id, bot.account_id, str(bot.minutes_written), str(bot.holes_filled))
    console.print(table)
    for skipped in report.skipped:
        console.print(
            f"[red]skipped[/red] bot {skipped.bot_id} (account {skipped.account_id}): "
            f"{skipped.reason}; nothing written for it",
            markup=True, highlight=False,
        )  # fmt: skip
    console.print(
        f"{report.accounts} accounts, {len(report.rebuilt)} bots replayed, "
        f"{len(report.skipped)} skipped: {report.minutes_written} minutes written, "
        f"{report.holes_filled} holes filled",
        highlight=False,
    )
