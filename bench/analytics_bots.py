"""The bots' part of an analytics round: reading their fills from the record and valuing
and recording their PnL (`services/analytics/bot_tracking.BotTracker`), for N accounts.

`python bench/analytics_bots.py [--accounts N] [--bots-per-account B] [--fills F]
[--database-url URL] [--instances K] [--json [FILE]]`

It builds a fresh PostgreSQL database (or SQLite with `--database-url sqlite`) holding N
accounts with B running bots each and F fills per bot over the last hour (each recorded
when it executed), then times, on one `BotTracker` as the analytics service drives it:

- **meet**: the first round, every account new to the instance (a start, or taking all
  of them over): each account's fills read (500 accounts to a query), its bots' window
  of recorded minutes read back, and the first cursor read;
- **record**: every bot valued at the last prices and the closed minutes written (one
  transaction);
- **steady**: four later rounds in which every account changed, each after one new fill
  per bot recorded over the 5 s before it (the service's default round): the cursor
  read (every bot fill recorded since the newest read less `RECORDED_MARGIN`, one
  query), then `record` again. From the third on, a round reads its own fills and the
  margin's (~3 rounds' fills: the steady state when every bot trades every round);
- **sweep**: a steady round 30 minutes on, when every account is due for the sweep:
  the cursor read and `SWEEP_ACCOUNTS` accounts read in full again.

With `--instances K`, K processes (the service's instances, partitioned by account) each
follow every K-th account with their own tracker, started together (each records the new
fills of its own bots; each cursor read returns every instance's and keeps its own); per
step, the slowest instance's time.

Issue #10's goal for a round is 10,000 accounts in <= 10 s on the project's 2-core
machine (`bench/analytics.py` measures the accounts' figures; this, the bots').
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.benchmarks.command_line import OneLineErrorParser
from tradewind.benchmarks.report import add_json_option, bench_report, write_report
from tradewind.domain.time_units import NS_PER_MINUTE, NS_PER_S
from tradewind.services.analytics.bot_tracking import SWEEP_ACCOUNTS, SWEEP_AFTER, BotTracker
from tradewind.store.database import Database
from tradewind.store.schema import bots, exchange_accounts, fills, orders, users

_ROUND = timedelta(seconds=5)  # the analytics service's default round
_ROUND_NS = 5_000_000_000
_STEADY_ROUNDS = 4
_SYMBOLS = ("BTC/USDT", "ETH/USDT", "BNB/USDT", "XRP/USDT", "SOL/USDT")
_PRICES = {symbol: Decimal(100 + 10 * n) for n, symbol in enumerate(_SYMBOLS)}


#: Per account, its bots: (bot id, symbol).
BotsOf = dict[str, list[tuple[str, str]]]


async def fill_database(db: Database, accounts: int, per_account: int, per_bot: int) -> BotsOf:
    """`accounts` accounts of one user, `per_account` running bots each, `per_bot` fills
    each (a buy then a sell, alternating, spread over the last hour, each recorded when
    it executed); returns the bots."""
    now = datetime.now(UTC)
    user_id = uuid.uuid4().hex
    account_ids = [uuid.uuid4().hex for _ in range(accounts)]
    async with db.transaction() as conn:
        await conn.execute(
            users.insert().values(
                id=user_id, email_index="bench", email_encrypted="x", password_hash="x",
                roles=["trader"], disabled=False, failed_logins=0, created_at=now,
            )
        )  # fmt: skip
        await conn.execute(
            exchange_accounts.insert(),
            [
                {
                    "id": a, "user_id": user_id, "venue": "sim", "label": "", "status": "connected",
                    "api_key_masked": "x", "api_key_encrypted": "x", "api_secret_encrypted": "x",
                    "valuation_asset": "USDT", "created_at": now, "verified_at": None,
                }
                for a in account_ids
            ],
        )  # fmt: skip
    bots_of: BotsOf = {
        a: [(uuid.uuid4().hex, _SYMBOLS[b % len(_SYMBOLS)]) for b in range(per_account)]
        for a in account_ids
    }
    for start in range(0, accounts, 500):  # a transaction per 500 accounts
        some = account_ids[start : start + 500]
        bot_rows: list[dict[str, object]] = [
            {
                "id": bot_id, "user_id": user_id, "account_id": account_id, "strategy": "dca",
                "params": {}, "state": "running", "strategy_state": None, "created_at": now,
                "updated_at": now,
            }
            for account_id in some
            for bot_id, _ in bots_of[account_id]
        ]  # fmt: skip
        planned = [
            (account_id, bot_id, symbol, now - timedelta(seconds=3600 * (per_bot - f) / per_bot), f)
            for account_id in some
            for bot_id, symbol in bots_of[account_id]
            for f in range(per_bot)
        ]
        async with db.transaction() as conn:
            await conn.execute(bots.insert(), bot_rows)
            await insert_fills(conn, planned)
    return bots_of


async def insert_fills(
    conn: AsyncConnection, planned: list[tuple[str, str, str, datetime, int]]
) -> None:
    """Each (account, bot, symbol, moment, n) planned: a fill of the bot and its order,
    executed and recorded at the moment; a buy for an even n, a sell for an odd one."""
    order_rows: list[dict[str, object]] = []
    fill_rows: list[dict[str, object]] = []
    for account_id, bot_id, symbol, at, n in planned:
        cid = f"tw-{uuid.uuid4().hex[:32]}"
        side = "BUY" if n % 2 == 0 else "SELL"
        order_rows.append(
            {
                "client_order_id": cid, "account_id": account_id, "bot_id": bot_id,
                "venue": "sim", "symbol": symbol, "side": side, "order_type": "MARKET",
                "time_in_force": "GTC", "quantity": Decimal("0.1"), "price": None,
                "state": "filled", "filled_quantity": Decimal("0.1"),
                "average_price": _PRICES[symbol], "venue_order_id": "1", "reason": "",
                "created_at": at, "updated_at": at,
            }
        )  # fmt: skip
        fill_rows.append(
            {
                "account_id": account_id, "symbol": symbol, "trade_id": cid,
                "client_order_id": cid, "side": side, "price": _PRICES[symbol],
                "quantity": Decimal("0.1"), "fee": Decimal("0.01"), "fee_asset": "USDT",
                "liquidity": "TAKER", "executed_at": at, "recorded_at": at,
            }
        )  # fmt: skip
    if order_rows:
        await conn.execute(orders.insert(), order_rows)
        await conn.execute(fills.insert(), fill_rows)


async def new_fills(db: Database, bots_of: BotsOf, since: datetime, n: int) -> int:
    """The `n`th fill of each bot, executed and recorded over the `_ROUND` from `since`
    (as the execution service writes them between two rounds), 500 accounts to a
    transaction; how many."""
    accounts = list(bots_of)
    step = _ROUND / max(1, len(accounts))
    for start in range(0, len(accounts), 500):
        planned = [
            (account_id, bot_id, symbol, since + index * step, n)
            for index, account_id in enumerate(accounts[start : start + 500], start=start)
            for bot_id, symbol in bots_of[account_id]
        ]
        async with db.transaction() as conn:
            await insert_fills(conn, planned)
    return sum(len(b) for b in bots_of.values())


async def measure(db: Database, bots_of: BotsOf) -> dict[str, float]:
    accounts = list(bots_of)
    tracker = BotTracker(db, window_minutes=1440)
    equity = Decimal(10**6)
    now_ns = time.time_ns()
    figures: dict[str, float] = {}
    started = time.perf_counter()
    await tracker.read_fills(accounts, now_ns)
    figures["meet_s"] = time.perf_counter() - started
    started = time.perf_counter()
    await tracker.record(now_ns, _PRICES.get, lambda _a, _q: equity)
    # The next minute closes the first one: one row a bot written.
    await tracker.record(now_ns + NS_PER_MINUTE, _PRICES.get, lambda _a, _q: equity)
    figures["record_s"] = time.perf_counter() - started
    recorded_from = datetime.now(UTC)  # the writers' clock: rounds of `_ROUND` from here
    for n in range(1, _STEADY_ROUNDS + 2):
        sweep = n == _STEADY_ROUNDS + 1
        since = recorded_from + (n - 1) * _ROUND
        figures["new_fills"] = await new_fills(db, bots_of, since, n)
        later = now_ns + 2 * NS_PER_MINUTE + n * _ROUND_NS
        if sweep:
            later += int(SWEEP_AFTER.total_seconds()) * NS_PER_S
        started = time.perf_counter()
        await tracker.read_fills(accounts, later)
        read_s = time.perf_counter() - started
        started = time.perf_counter()
        await tracker.record(later, _PRICES.get, lambda _a, _q: equity)
        record_s = time.perf_counter() - started
        key = "sweep" if sweep else f"steady{n}"
        figures[f"{key}_read_s"], figures[f"{key}_record_s"] = read_s, record_s
    figures["bots"] = float(len(tracker.series))
    figures["minutes_written"] = float(tracker.written)
    figures["fills_booked"] = float(sum(s.book.fills for s in tracker.series))
    return figures


def _instances(database_url: str, bots_of: BotsOf, instances: int) -> dict[str, float]:
    """`instances` processes (the analytics service's instances, partitioned by
    account), each following its share of the accounts with its own `BotTracker`,
    started together; per figure, the slowest instance's (counts: summed)."""
    accounts = list(bots_of)
    shares = [{a: bots_of[a] for a in accounts[i::instances]} for i in range(instances)]
    context = multiprocessing.get_context("spawn")
    start, done = context.Barrier(instances), context.Queue()
    workers = [
        context.Process(target=_instance, args=(database_url, share, start, done))
        for share in shares
    ]
    for worker in workers:
        worker.start()
    results: list[dict[str, float]] = [done.get() for _ in workers]
    for worker in workers:
        worker.join()
    counts = ("bots", "minutes_written", "fills_booked", "new_fills")
    return {
        key: sum(r[key] for r in results) if key in counts else max(r[key] for r in results)
        for key in results[0]
    }


def _instance(
    database_url: str, bots_of: BotsOf, start: Barrier, done: Queue[dict[str, float]]
) -> None:
    async def measured() -> dict[str, float]:
        db = Database(database_url)
        try:
            return await measure(db, bots_of)
        finally:
            await db.close()

    start.wait()
    done.put(asyncio.run(measured()))


@asynccontextmanager
async def fresh_database(url: str) -> AsyncIterator[tuple[Database, str]]:
    """A new database on the PostgreSQL server at `url` (or a new SQLite file for
    'sqlite'), migrated; dropped afterwards."""
    name = f"tw_bench_{uuid.uuid4().hex[:10]}"
    admin = None
    if url == "sqlite":
        database_url = f"sqlite:////tmp/{name}.db"
    else:
        admin = await asyncpg.connect(url)
        await admin.execute(f'CREATE DATABASE "{name}"')
        database_url = url.rsplit("/", 1)[0] + f"/{name}"
    db = Database(database_url)
    try:
        await db.migrate()
        yield db, database_url
    finally:
        await db.close()
        if admin is not None:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


async def run(
    url: str, accounts: int, per_account: int, per_bot: int, instances: int, json_to: str | None
) -> None:
    async with fresh_database(url) as (db, database_url):
        started = time.perf_counter()
        bots_of = await fill_database(db, accounts, per_account, per_bot)
        fill_s = time.perf_counter() - started
        if instances == 1:
            figures = await measure(db, bots_of)
        else:
            await db.close()
            figures = await asyncio.to_thread(_instances, database_url, bots_of, instances)
    database = "SQLite" if database_url.startswith("sqlite") else "PostgreSQL"
    if json_to is not None:
        timings = {"fill_s": fill_s, **{k: v for k, v in figures.items() if k.endswith("_s")}}
        counts = {k: v for k, v in figures.items() if not k.endswith("_s")}
        detail = {
            "accounts": accounts,
            "bots_per_account": per_account,
            "fills_per_bot": per_bot,
            "instances": instances,
            "database": database,
            **counts,
        }
        write_report(bench_report("analytics_bots", timings, detail), json_to)
        return
    steady = ", ".join(f"{figures[f'steady{n}_read_s']:.2f}" for n in range(1, _STEADY_ROUNDS + 1))
    print(
        f"{accounts} accounts x {per_account} bots x {per_bot} fills, {instances} instance(s) "
        f"({database}; filled in {fill_s:.1f} s): "
        f"meet {figures['meet_s']:.2f} s, record {figures['record_s']:.2f} s; "
        f"{_STEADY_ROUNDS} steady rounds, {figures['new_fills']:.0f} new fills before each: "
        f"read {steady} s, record {figures[f'steady{_STEADY_ROUNDS}_record_s']:.2f} s (the last); "
        f"a steady round with the sweep ({SWEEP_ACCOUNTS} accounts read in full): "
        f"read {figures['sweep_read_s']:.2f} s; in all {figures['fills_booked']:.0f} fills "
        f"booked, {figures['minutes_written']:.0f} minutes written"
    )


def main() -> None:
    parser = OneLineErrorParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--bots-per-account", type=int, default=1)
    parser.add_argument("--fills", type=int, default=20)
    parser.add_argument(
        "--instances", type=int, default=1,
        help="analytics instances (processes), each following its share of the accounts",
    )  # fmt: skip
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server to create the bench's database on, or 'sqlite'",
    )  # fmt: skip
    add_json_option(parser)
    args = parser.parse_args()
    if args.accounts < 1 or args.instances < 1 or args.instances > args.accounts:
        parser.error("--accounts must be at least 1 and --instances between 1 and --accounts")
    url, accounts, per_account = args.database_url, args.accounts, args.bots_per_account
    asyncio.run(run(url, accounts, per_account, args.fills, args.instances, args.json))


if __name__ == "__main__":
    main()
