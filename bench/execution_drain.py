"""Execution's drain: how long `tradewind service execution` takes from SIGTERM to exit
with N account sessions open on the simulated exchange served over HTTP/WS (ccxt).

`python bench/execution_drain.py [--accounts 150 1000] [--json [FILE]]`

For each N: a served venue (synthetic market, no rate limits), N demo accounts with a
bot each in a SQLite file, one execution process on the in-memory bus that opens every
stored account's session at start. Once all N sessions are open it gets SIGTERM; the
figure is the time to its exit, with its exit code and how many "Unclosed" warnings
(aiohttp sessions or connectors left open) its log holds.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import httpx

from tradewind.benchmarks.command_line import OneLineErrorParser
from tradewind.benchmarks.report import add_json_option, bench_report, case_figures, write_report
from tradewind.bus.tansu import free_port, port_open
from tradewind.demo.users import create_demo_accounts, served_market_view
from tradewind.security.encryption import Encryptor
from tradewind.security.master_keys import generate_master_key, load_master_keys
from tradewind.store.database import Database


def serve_venue(logs: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = (logs / "venue.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradewind.cli", "venue", "serve", "--port", str(port),
         "--market", "synthetic", "--unlimited"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not port_open("127.0.0.1", port, 0.2):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the venue did not start: see {logs / 'venue.log'}")
        time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port}"


async def seed(database_url: str, master_keys: str, venue_url: str, accounts: int) -> None:
    db = Database(database_url)
    await db.migrate()
    encryptor = Encryptor(load_master_keys(keys=master_keys))
    async with httpx.AsyncClient(base_url=venue_url, timeout=30) as http:

        async def fund(balances: dict[str, Decimal]) -> tuple[str, str, str]:
            body = {"balances": {a: format(v, "f") for a, v in balances.items()}}
            created = (await http.post("/sim/v1/accounts", json=body)).json()
            return created["api_key"], created["api_secret"], created["account_id"]

        market = await served_market_view(venue_url)
        await create_demo_accounts(db, encryptor, market, fund, accounts, "$argon2id$unused")
    await db.close()


def sessions_open(health_port: int) -> float:
    try:
        text = httpx.get(f"http://127.0.0.1:{health_port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return 0.0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("tradewind_execution_sessions{")
    )


def drain(accounts: int, work: Path) -> dict[str, float]:
    venue, venue_url = serve_venue(work)
    try:
        database_url = f"sqlite:///{work / 'drain.db'}"
        master_keys = generate_master_key()
        asyncio.run(seed(database_url, master_keys, venue_url, accounts))
        health_port = free_port()
        env = {
            **os.environ,
            "TRADEWIND_BUS_URL": "memory://",
            "TRADEWIND_CACHE_URL": "memory://",
            "TRADEWIND_DATABASE_URL": database_url,
            "TRADEWIND_VENUE_URLS": f"sim={venue_url}",
            "TRADEWIND_MASTER_KEYS": master_keys,
            "TRADEWIND_HEALTH_PORT": str(health_port),
            "TRADEWIND_EXECUTION_RATE_LIMITS": "off",
        }
        log_path = work / "execution.log"
        with log_path.open("w") as log:
            execution = subprocess.Popen(
                [sys.executable, "-m", "tradewind.cli", "service", "execution"],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            deadline = time.monotonic() + 600
            while sessions_open(health_port) < accounts:
                if execution.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"sessions did not open: see {log_path}")
                time.sleep(0.5)
            began = time.monotonic()
            execution.send_signal(signal.SIGTERM)
            code = execution.wait(300)
            took = time.monotonic() - began
        unclosed = log_path.read_text().count("Unclosed")
        return {"accounts": accounts, "drain_s": took, "exit_code": code, "unclosed": unclosed}
    finally:
        venue.terminate()
        venue.wait(30)


def main() -> None:
    parser = OneLineErrorParser(description=__doc__)
    parser.add_argument("--accounts", type=int, nargs="+", default=[150, 1000])
    add_json_option(parser)
    args = parser.parse_args()
    results = []
    for accounts in args.accounts:
        with tempfile.TemporaryDirectory(prefix="tw-drain-") as work:
            results.append(drain(accounts, Path(work)))
        if not args.json:
            r = results[-1]
            print(
                f"{accounts} accounts: SIGTERM -> exit {r['drain_s']:.2f} s, exit "
                f"{r['exit_code']}, {r['unclosed']} 'Unclosed'",
                flush=True,
            )
    if args.json:
        figures = case_figures(results, ("accounts",), ("drain_s", "exit_code", "unclosed"))
        write_report(bench_report("execution_drain", figures, {"results": results}), args.json)


if __name__ == "__main__":
    main()
