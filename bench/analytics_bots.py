"""The bots' part of an analytics round: reading their fills from the record and valuing
and recording their PnL (`services/analytics/bot_tracking.BotTracker`), for N accounts.

`python bench/analytics_bots.py [--accounts N] [--bots-per-account B] [--fills F]
[--database-url URL]`

It builds a fresh PostgreSQL database (or SQLite with `--database-url sqlite`) holding N
accounts with B running bots each and F fills per bot over the last hour, then times, on
one `BotTracker` as the analytics service drives it:

- **meet**: the first round, every account new to the instance (a start, or taking all
  of them over): each account's fills read (one query an account) and its bots' window
  of recorded minutes read back;
- **record**: every bot valued at the last prices and the closed minutes written (one
  transaction);
- **steady**: a later round in which every account changed: the fills since their last
  read (less the 5-minute margin) read 500 accounts to a query, then `record` again.

Issue #10's goal for a round is 10,000 accounts in <= 10 s on the project's 2-core
machine (`bench/analytics.py` measures the accounts' figures; this, the bots').
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from tradewind.benchmarks.command_line import OneLineErrorParser
from tradewind.services.analytics.bot_tracking import BotTracker
from tradewind.store.database import Database
from tradewind.store.schema import bots, exchange_accounts, fills, orders, users

_MINUTE_NS = 60_000_000_000
_SYMBOLS = ("BTC/USDT", "ETH/USDT", "BNB/USDT", "XRP/USDT", "SOL/USDT")
_PRICES = {symbol: Decimal(100 + 10 * n) for n, symbol in enumerate(_SYMBOLS)}


async def fill_database(db: Database, accounts: int, per_account: int, per_bot: int) -> None:
    """`accounts` accounts of one user, `per_account` running bots each, `per_bot` fills
    each (a buy then a sell, alternating, spread over the last hour)."""
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
    for start in range(0, accounts, 500):  # a transaction per 500 accounts
        bot_rows: list[dict[str, object]] = []
        order_rows: list[dict[str, object]] = []
        fill_rows: list[dict[str, object]] = []
        for account_id in account_ids[start : start + 500]:
            for b in range(per_account):
                bot_id = uuid.uuid4().hex
                symbol = _SYMBOLS[b % len(_SYMBOLS)]
                bot_rows.append(
                    {
                        "id": bot_id, "user_id": user_id, "account_id": account_id,
                        "strategy": "dca", "params": {}, "state": "running",
                        "strategy_state": None, "created_at": now, "updated_at": now,
                    }
                )  # fmt: skip
                for f in range(per_bot):
                    cid = f"tw-{uuid.uuid4().hex[:32]}"
                    side = "BUY" if f % 2 == 0 else "SELL"
                    at = now - timedelta(seconds=3600 * (per_bot - f) / per_bot)
                    order_rows.append(
                        {
                            "client_order_id": cid, "account_id": account_id, "bot_id": bot_id,
                            "venue": "sim", "symbol": symbol, "side": side,
                            "order_type": "MARKET", "time_in_force": "GTC",
                            "quantity": Decimal("0.1"), "price": None, "state": "filled",
                            "filled_quantity": Decimal("0.1"), "average_price": _PRICES[symbol],
                            "venue_order_id": "1", "reason": "", "created_at": at,
                            "updated_at": at,
                        }
                    )  # fmt: skip
                    fill_rows.append(
                        {
                            "account_id": account_id, "symbol": symbol, "trade_id": cid,
                            "client_order_id": cid, "side": side, "price": _PRICES[symbol],
                            "quantity": Decimal("0.1"), "fee": Decimal("0.01"),
                            "fee_asset": "USDT", "liquidity": "TAKER", "executed_at": at,
                        }
                    )  # fmt: skip
        async with db.transaction() as conn:
            await conn.execute(bots.insert(), bot_rows)
            if order_rows:
                await conn.execute(orders.insert(), order_rows)
                await conn.execute(fills.insert(), fill_rows)


async def measure(db: Database, accounts: list[str]) -> dict[str, float]:
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
    await tracker.record(now_ns + _MINUTE_NS, _PRICES.get, lambda _a, _q: equity)
    figures["record_s"] = time.perf_counter() - started
    started = time.perf_counter()
    later = now_ns + 2 * _MINUTE_NS
    await tracker.read_fills(accounts, later)
    figures["steady_read_s"] = time.perf_counter() - started
    started = time.perf_counter()
    await tracker.record(later, _PRICES.get, lambda _a, _q: equity)
    figures["steady_record_s"] = time.perf_counter() - started
    figures["bots"] = float(len(tracker.series))
    figures["minutes_written"] = float(tracker.written)
    return figures


async def run(url: str, accounts: int, per_account: int, per_bot: int) -> None:
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
        started = time.perf_counter()
        await fill_database(db, accounts, per_account, per_bot)
        fill_s = time.perf_counter() - started
        async with db.read() as conn:
            rows = await conn.execute(exchange_accounts.select())
            ids = [row.id for row in rows]
        figures = await measure(db, ids)
    finally:
        await db.close()
        if admin is not None:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    print(
        f"{accounts} accounts x {per_account} bots x {per_bot} fills "
        f"({'SQLite' if admin is None else 'PostgreSQL'}; filled in {fill_s:.1f} s): "
        f"meet {figures['meet_s']:.2f} s, record {figures['record_s']:.2f} s "
        f"({figures['minutes_written']:.0f} minutes written), "
        f"steady round: read {figures['steady_read_s']:.2f} s + "
        f"record {figures['steady_record_s']:.2f} s"
    )


def main() -> None:
    parser = OneLineErrorParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--bots-per-account", type=int, default=1)
    parser.add_argument("--fills", type=int, default=20)
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server to create the bench's database on, or 'sqlite'",
    )  # fmt: skip
    args = parser.parse_args()
    asyncio.run(run(args.database_url, args.accounts, args.bots_per_account, args.fills))


if __name__ == "__main__":
    main()
