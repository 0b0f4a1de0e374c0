"""Gateway benchmark: portfolio reads/s and latency from cached state, and WebSocket
fan-out to 1,000 clients. `python bench/gateway.py [--seconds 10] [--json]`

Three processes, each pinned to its own core where the machine has them: the gateway
(the real `GatewayService`: uvicorn, SQLite, memory bus, uvloop) on core 0; the load
generator on core 1 (raw HTTP/1.1 keep-alive sockets, so the client is never the
bottleneck), then the WebSocket clients on core 1.

- reads, max: closed loop, `--connections` keep-alive connections as fast as they go.
- reads, 3k/s: open loop at `--rate` requests/s; latency counts from the *scheduled*
  send time (no coordinated omission), so queueing in the server shows in the p99.
- fan-out 1x1000: one account, 1,000 connected watchers; `--updates` portfolio updates
  published at `--broadcast-rate`/s (10); latency from publish (the event id's
  timestamp) to receipt.
- fan-out 1000x1: 1,000 accounts with one watcher each; one update for every account,
  `--rounds` times.
Users own 3 accounts each; every request is a real `GET /api/v1/portfolio` with a
bearer token (JWT checked, RBAC, ownership cache, cached JSON joined).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

USERS = 1000
ACCOUNTS_PER_USER = 3
JWT_SECRET = "bench-secret-of-at-least-thirty-two-bytes"
MASTER_KEY = "kb:" + "A" * 43 + "="


def _pin(core: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > core:
        os.sched_setaffinity(0, {core})


# -- the gateway process ------------------------------------------------------------


async def _serve(port: int, directory: Path) -> None:
    import structlog
    from pydantic import SecretStr

    from tradewind.bus.envelope import envelope
    from tradewind.bus.memory import MemoryBus
    from tradewind.bus.topics import PORTFOLIO_UPDATES
    from tradewind.domain.events import PortfolioUpdate
    from tradewind.gateway.service import GatewayService
    from tradewind.runtime.logging import configure_logging
    from tradewind.runtime.metrics import RuntimeMetrics
    from tradewind.runtime.service import ServiceContext
    from tradewind.runtime.settings import Settings
    from tradewind.security.tokens import AccessTokenConfig, issue_access_token
    from tradewind.store import accounts, users
    from tradewind.store.database import Database
    from tradewind.venues.directory import SimulatedVenues
    from tradewind.venues.simulated.exchange import SimulatedExchange
    from tradewind.venues.simulated.market import SyntheticMarket

    configure_logging("warning")
    settings = Settings(
        database_url=f"sqlite:///{directory / 'bench.db'}",
        http_port=port,
        master_keys=SecretStr(MASTER_KEY),
        jwt_secret=SecretStr(JWT_SECRET),
        access_token_ttl_s=3600,
    )
    db = Database(settings.database_url)
    await db.migrate()
    tokens = AccessTokenConfig.hs256(JWT_SECRET, ttl_s=3600)
    owners: list[dict[str, Any]] = []
    async with db.transaction() as conn:
        for n in range(USERS):
            user = await users.create_user(
                conn,
                email_index=f"i{n}",
                email_encrypted="-",
                password_hash="-",
                roles=("trader",),
            )
            ids = []
            for k in range(ACCOUNTS_PER_USER):
                account = await accounts.add_account(
                    conn,
                    user_id=user.id,
                    venue="sim",
                    label=str(k),
                    api_key_masked="****",
                    api_key_encrypted="-",
                    api_secret_encrypted="-",
                    valuation_asset="USDT",
                )
                ids.append(account.id)
            owners.append(
                {
                    "token": issue_access_token(
                        tokens, user.id, ["trader"], session_id="s1", version=0
                    ),
                    "ids": ids,
                }
            )
    await db.close()

    bus = MemoryBus(partitions=8)
    await bus.start()
    service = GatewayService(SimulatedVenues(SimulatedExchange(SyntheticMarket(seed=1))))
    log = structlog.stdlib.get_logger("bench")
    await service.start(ServiceContext(settings, bus, log, RuntimeMetrics()))

    def update(account_id: str, equity: int) -> Any:
        return PortfolioUpdate(
            account_id=account_id,
            valuation_asset="USDT",
            equity=Decimal(equity),
            cash=Decimal("5000.25"),
            realized_pnl=Decimal("12.5"),
            unrealized_pnl=Decimal("-3.1"),
            fees=Decimal("0.42"),
            balances={"USDT": Decimal("5000.25"), "BTC": Decimal("0.1234")},
            ts_ns=time.time_ns(),
        )

    await bus.publish_batch(
        PORTFOLIO_UPDATES, [envelope(update(a, 10_000), a) for o in owners for a in o["ids"]]
    )
    cached = service.state.portfolios  # type: ignore[union-attr]
    while len(cached) < USERS * ACCOUNTS_PER_USER:  # noqa: ASYNC110  # the bus handler fills it
        await asyncio.sleep(0.05)
    print(json.dumps({"owners": owners}), flush=True)

    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    equity = 10_000
    while line := (await reader.readline()).decode().strip():
        command, *args = line.split()
        if command == "publish":  # publish COUNT PER_SECOND ACCOUNT...
            count, per_second, targets = int(args[0]), float(args[1]), args[2:]
            for _ in range(count):
                equity += 1
                await bus.publish_batch(
                    PORTFOLIO_UPDATES, [envelope(update(a, equity), a) for a in targets]
                )
                await asyncio.sleep(1 / per_second)
            print("published", flush=True)
    await service.stop()
    await bus.close()


# -- the HTTP load generator --------------------------------------------------------


def _requests(owners: list[dict[str, Any]]) -> list[bytes]:
    return [
        b"GET /api/v1/portfolio HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer "
        + o["token"].encode()
        + b"\r\n\r\n"
        for o in owners
    ]


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, req: bytes) -> None:
    writer.write(req)
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head.decode(errors="replace"))
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    await reader.readexactly(length)


async def _closed_loop(
    port: int, reqs: list[bytes], connections: int, seconds: float
) -> dict[str, Any]:
    latencies: list[int] = []
    deadline = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        n = offset
        while time.perf_counter() < deadline:
            started = time.perf_counter_ns()
            await _exchange(reader, writer, reqs[n % len(reqs)])
            latencies.append(time.perf_counter_ns() - started)
            n += connections
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(connections)))
    return _summary(latencies, time.perf_counter() - began)


async def _open_loop(port: int, reqs: list[bytes], rate: float, seconds: float) -> dict[str, Any]:
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(128):
        idle.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    latencies: list[int] = []
    tasks: list[asyncio.Task[None]] = []

    async def one(scheduled: int, req: bytes) -> None:
        connection = await idle.get()
        await _exchange(*connection, req)
        latencies.append(time.perf_counter_ns() - scheduled)
        idle.put_nowait(connection)

    began = time.perf_counter_ns()
    total = int(rate * seconds)
    for n in range(total):
        scheduled = began + int(n * 1e9 / rate)
        delay = (scheduled - time.perf_counter_ns()) / 1e9
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled, reqs[n % len(reqs)])))
    await asyncio.gather(*tasks)
    return _summary(latencies, (time.perf_counter_ns() - began) / 1e9)


def _summary(latencies_ns: list[int], elapsed_s: float) -> dict[str, Any]:
    ordered = sorted(latencies_ns)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] / 1e6 if ordered else 0.0

    return {
        "count": len(ordered),
        "per_s": len(ordered) / elapsed_s,
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "max_ms": pct(1.0),
    }


# -- the WebSocket clients ----------------------------------------------------------


async def _fan_out(
    port: int, server: subprocess.Popen[str], plans: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    from websockets.asyncio.client import connect

    results = []
    for plan in plans:
        latencies: list[int] = []
        sockets = []
        for token in plan["tokens"]:
            ws = await connect(
                f"ws://127.0.0.1:{port}/api/v1/stream?token={token}",
                max_queue=None,
                open_timeout=30,
            )
            await ws.recv()  # subscribed
            sockets.append(ws)

        async def read(ws: Any, expected: int, latencies: list[int]) -> None:
            for _ in range(expected):
                message = await ws.recv()
                received = time.time_ns()
                published = int(message[13:29], 16)  # '{"event_id":"' + 16 hex of ns
                latencies.append(received - published)

        expected = plan["messages_per_client"]
        readers = [asyncio.create_task(read(ws, expected, latencies)) for ws in sockets]
        began = time.perf_counter()
        assert server.stdin is not None
        server.stdin.write(plan["command"] + "\n")
        server.stdin.flush()
        await asyncio.wait_for(asyncio.gather(*readers), timeout=120)
        elapsed = time.perf_counter() - began
        for ws in sockets:
            await ws.close()
        results.append({"name": plan["name"], **_summary(latencies, elapsed)})
    return results


# -- orchestration ------------------------------------------------------------------


def main() -> None:
    from tradewind.benchmarks.command_line import OneLineErrorParser
    from tradewind.benchmarks.report import (
        add_json_option,
        bench_report,
        case_figures,
        write_report,
    )

    parser = OneLineErrorParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="per HTTP phase")
    parser.add_argument("--connections", type=int, default=32, help="closed-loop connections")
    parser.add_argument("--rate", type=float, default=3000.0, help="open-loop requests/s")
    parser.add_argument("--clients", type=int, default=1000, help="WebSocket clients")
    parser.add_argument("--updates", type=int, default=40, help="broadcast updates (1 x N)")
    parser.add_argument("--broadcast-rate", type=float, default=10.0, help="broadcasts/s")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the N x 1 fan-out")
    add_json_option(parser)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _pin(0)
        import uvloop

        with tempfile.TemporaryDirectory() as directory:
            uvloop.run(_serve(args.serve, Path(directory)))
        return
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        owners = json.loads(server.stdout.readline())["owners"]
        _pin(1)
        import uvloop

        reqs = _requests(owners)
        uvloop.run(_closed_loop(port, reqs, args.connections, 2.0))  # warm up: every user seen
        reads_max = uvloop.run(_closed_loop(port, reqs, args.connections, args.seconds))
        reads_rate = uvloop.run(_open_loop(port, reqs, args.rate, args.seconds))
        clients = args.clients
        watchers = [owners[0]["token"]] * clients
        one_each = [o["token"] for o in owners[:clients]]
        every_account = " ".join(o["ids"][0] for o in owners[:clients])
        plans = [
            {
                "name": f"fan-out 1x{clients}",
                "tokens": watchers,
                "messages_per_client": args.updates,
                "command": f"publish {args.updates} {args.broadcast_rate} {owners[0]['ids'][0]}",
            },
            {
                "name": f"fan-out {len(one_each)}x1",
                "tokens": one_each,
                "messages_per_client": args.rounds,
                "command": f"publish {args.rounds} 2 {every_account}",
            },
        ]
        fan_out = uvloop.run(_fan_out(port, server, plans))
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(30)
    rows = [
        {"name": f"reads, max ({args.connections} conns)", **reads_max},
        {"name": f"reads, {args.rate:.0f}/s open loop", **reads_rate},
        *fan_out,
    ]
    if args.json:
        figures = case_figures(rows, ("name",), ("per_s", "p50_ms", "p99_ms", "max_ms"))
        write_report(bench_report("gateway", figures, {"results": rows}), args.json)
    else:
        print(_table(rows))


def _table(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"{'scenario':<30} {'count':>8} {'per s':>10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    ]
    lines += [
        f"{r['name']:<30} {r['count']:>8} {r['per_s']:>10.0f} {r['p50_ms']:>8.2f} "
        f"{r['p99_ms']:>8.2f} {r['max_ms']:>8.2f}"
        for r in rows
    ]
    return "\n".join(lines)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    main()
