"""The distributed platform as the end-to-end tests and `tradewind chaos` run it: the
simulated exchange served over HTTP/WebSocket, a PostgreSQL database, demo accounts with
bots, and each service as its own OS process (`tradewind service NAME`, optionally inside
a zone's network namespace) that can be stopped, killed, paused and started again; and
the checks that the platform agrees with the venue (balances, trades, open orders).

A run trades on one served venue or on several at once (`Venues`: Binance's API on one,
Coinbase's on another, say); the demo accounts alternate between them, and every check
asks each account's own venue.

A check that does not hold raises `CheckFailed` naming what differs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import httpx
import msgspec

from tradewind.bus.tansu import free_port, port_open
from tradewind.cache.factory import open_cache
from tradewind.demo.users import (
    DemoAccount,
    DemoVenue,
    Funding,
    create_demo_accounts_across,
    served_market_view,
)
from tradewind.domain.events import PortfolioUpdate
from tradewind.errors import TradewindError
from tradewind.security.encryption import Encryptor
from tradewind.security.master_keys import load_master_keys
from tradewind.store import record_checks
from tradewind.store.database import Database
from tradewind.venues.directory import SIMULATED
from tradewind.venues.simulated.apis import DEFAULT_API, Api, served_api

#: Start order; stopped in reverse, so producers of orders stop first.
SERVICES = ("portfolio", "execution", "risk", "marketdata", "strategy")

Venues = Mapping[str, str]
"""The served venues a run trades on: each one's name on the platform -> its URL as
TRADEWIND_VENUE_URLS declares it (`http://…` serving Binance's API, `coinbase+http://…`
Coinbase's: `simulated.apis.served_api`). Where a helper takes `str | Venues`, a bare URL is the one
venue `sim`."""


def venues_of(venues: str | Venues) -> Venues:
    """`venues` as a mapping: a bare URL is the one venue `sim`."""
    return {SIMULATED: venues} if isinstance(venues, str) else venues


def admin_url(declared: str) -> str:
    """The base URL of a venue declared as `declared` (its `/sim/v1` is there)."""
    return served_api(declared)[1]


class CheckFailed(TradewindError, AssertionError):
    """The platform does not agree with the venue, or a process misbehaved."""


def check(condition: object, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


@contextlib.contextmanager
def serving_venue(
    logs: Path,
    *options: str,
    url: str = "http://127.0.0.1",
    everywhere: bool = False,
    limits: bool = True,
    api: Api = DEFAULT_API,
) -> Iterator[str]:
    """`tradewind venue serve` (synthetic market, `options` added) on a free port, serving
    `api` (Binance's or Coinbase's), its log in `logs/venue.log` (`venue-coinbase.log`
    for Coinbase's); yields its base URL (`url` + the port; declare it in
    TRADEWIND_VENUE_URLS as `simulated.apis.declared_url` says). It publishes and
    enforces that API's rate limits, as the real exchange does; `limits=False` lifts
    them (`--unlimited`), for benchmarks of the engine alone.
    `everywhere`: listen on every address (zones reach it over their bridge), with a
    random admin token for `/sim/v1` from other hosts; this process keeps calling it on
    loopback."""
    port = free_port()
    log = (logs / ("venue.log" if api == DEFAULT_API else f"venue-{api}.log")).open("w")
    listen = ["--host", "0.0.0.0", "--admin-token", secrets.token_hex(16)] if everywhere else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradewind.cli", "venue", "serve", "--port", str(port),
         "--market", "synthetic", "--api", api, *(() if limits else ("--unlimited",)),
         *listen, *options],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(300):  # 30 s
            if port_open("127.0.0.1", port, 0.1):
                break
            check(proc.poll() is None, "the venue exited before it served")
            time.sleep(0.1)
        else:
            raise CheckFailed("the venue did not start in 30 s")
        yield f"{url}:{port}"
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


def venue_http(venue_url: str, ca_file: str | None = None) -> httpx.AsyncClient:
    """A client of the venue's HTTP API; over HTTPS trusting `ca_file` (else certifi's)."""
    verify: ssl.SSLContext | bool = True
    if ca_file is not None:
        verify = ssl.create_default_context(cafile=ca_file)
    return httpx.AsyncClient(base_url=venue_url, timeout=10, verify=verify)


async def open_demo_accounts(
    database_url: str,
    master_keys: str,
    venues: str | Venues,
    bots: int,
    ca_file: str | None = None,
) -> list[DemoAccount]:
    """`bots` demo users with an account and a running bot each, user `i` on the `i`-th
    of `venues` in turn, funded in its market's quote currency through its `/sim/v1`
    faucet (`create_demo_accounts_across`)."""
    db = Database(database_url)
    await db.migrate()
    encryptor = Encryptor(load_master_keys(keys=master_keys))
    async with contextlib.AsyncExitStack() as stack:
        demo_venues = []
        for name, declared in venues_of(venues).items():
            http = await stack.enter_async_context(venue_http(admin_url(declared), ca_file))
            market = await served_market_view(declared, ca_file)
            demo_venues.append(DemoVenue(name, market, faucet(http)))
        accounts = await create_demo_accounts_across(
            db, encryptor, demo_venues, bots, "$argon2id$unused"
        )
    await db.close()
    return accounts


def faucet(http: httpx.AsyncClient) -> Funding:
    """Funding from the `/sim/v1` faucet of the venue `http` calls."""

    async def fund(balances: dict[str, Decimal]) -> tuple[str, str, str]:
        body = {"balances": {a: format(v, "f") for a, v in balances.items()}}
        created = (await http.post("/sim/v1/accounts", json=body)).json()
        return created["api_key"], created["api_secret"], created["account_id"]

    return fund


class Process:
    """One `tradewind service NAME` process, its log in `logs/NAME.log` (appended to
    across restarts). `wrapper` prefixes the command line, e.g. `ip netns exec ZONE` to
    run it inside a zone."""

    def __init__(
        self, name: str, env: dict[str, str], logs: Path, wrapper: Sequence[str] = ()
    ) -> None:
        self.name = name
        self.env = env
        self.wrapper = tuple(wrapper)
        self.log_path = logs / f"{name}.log"
        self.starts = 0
        self._log = self.log_path.open("a")
        self.proc = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        self.starts += 1
        self._log.write(f"\n--- start {self.starts} ---\n")
        self._log.flush()
        return subprocess.Popen(
            [*self.wrapper, sys.executable, "-m", "tradewind.cli", "service", self.name],
            env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def running(self) -> bool:
        """Whether the current start logged that it runs."""
        text = self.log_path.read_text()
        return '"event": "running"' in text[text.rfind(f"--- start {self.starts} ---") :]

    async def wait_running(self, timeout_s: float = 60) -> None:
        try:
            async with asyncio.timeout(timeout_s):
                while not self.running():
                    check(
                        self.proc.poll() is None,
                        f"{self.name} exited: {self.log_path.read_text()[-2000:]}",
                    )
                    await asyncio.sleep(0.2)
        except TimeoutError:
            raise CheckFailed(f"{self.name} did not start in {timeout_s:.0f} s") from None

    def kill(self) -> None:
        """`kill -9`: no drain, no goodbye."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def pause(self) -> None:
        """SIGSTOP: alive but silent (a stalled host, a long GC pause)."""
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def start_again(self) -> None:
        check(self.proc.poll() is not None, f"{self.name} still runs")
        self.proc = self._spawn()

    def stop(self, timeout_s: float = 60) -> int:
        """SIGTERM and wait; the exit code (-9 if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            return -9

    def close(self) -> None:
        self.stop(timeout_s=10)
        self._log.close()


async def start_services(
    env: dict[str, str], logs: Path, into: list[Process], names: Iterable[str] = SERVICES
) -> None:
    """Each service as a process, one after the other once the previous one runs,
    appended to `into` as it starts (so the caller can close what did start)."""
    for name in names:
        process = Process(name, env, logs)
        into.append(process)
        await process.wait_running()


def non_zero(balances: dict[str, Decimal]) -> dict[str, Decimal]:
    return {asset: value for asset, value in balances.items() if value}


async def submissions_total(venue_url: str, ca_file: str | None = None) -> int:
    async with venue_http(venue_url, ca_file) as http:
        return int((await http.get("/sim/v1/submissions")).json()["total"])


async def refused_for_rate(venue_url: str, ca_file: str | None = None) -> int:
    """The requests the venue refused for rate since it started (its own limiters' 429s,
    418s and order-count refusals; not the 429s of an injected `rate_limit_s` fault):
    0 where the platform paced itself inside the published limits."""
    async with venue_http(venue_url, ca_file) as http:
        return int((await http.get("/sim/v1/submissions")).json()["rate_limited"])


async def trade_for(
    venues: str | Venues,
    *,
    min_s: float,
    orders: int,
    max_s: float,
    ca_file: str | None = None,
) -> None:
    """Let the bots trade at least `min_s`, and until each of `venues` saw `orders` orders
    (or `max_s` passed: the checks that follow say what is missing)."""
    urls = [admin_url(declared) for declared in venues_of(venues).values()]
    await asyncio.sleep(min_s)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(max_s - min_s):
            while True:
                totals = [await submissions_total(url, ca_file) for url in urls]
                if min(totals) >= orders:
                    break
                await asyncio.sleep(1)


@contextlib.asynccontextmanager
async def venue_clients(
    venues: str | Venues, ca_file: str | None = None
) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """A client of each venue's HTTP API (`/sim/v1` included), by venue name."""
    async with contextlib.AsyncExitStack() as stack:
        yield {
            name: await stack.enter_async_context(venue_http(admin_url(declared), ca_file))
            for name, declared in venues_of(venues).items()
        }


async def portfolios_differing(
    accounts: list[DemoAccount],
    cache_url: str,
    venues: str | Venues,
    ca_file: str | None = None,
) -> list[str]:
    """The accounts whose latest portfolio (in the cache at `cache_url`, the services'
    own TRADEWIND_CACHE_URL) differs from their venue's balances, as readable lines."""
    cache = open_cache(cache_url)
    await cache.start()
    decoder = msgspec.msgpack.Decoder(PortfolioUpdate)
    differing: list[str] = []
    try:
        cached = await cache.get_many([f"portfolio:{a.account_id}" for a in accounts])
        async with venue_clients(venues, ca_file) as http:
            for account, raw in zip(accounts, cached, strict=True):
                venue = (
                    await http[account.venue].get(
                        f"/sim/v1/accounts/{account.venue_account_id}/balances"
                    )
                ).json()
                held = non_zero(
                    {a: Decimal(b["free"]) + Decimal(b["locked"]) for a, b in venue.items()}
                )
                platform = non_zero(decoder.decode(raw).balances) if raw else {}
                if platform != held:
                    differing.append(
                        f"{account.venue} {account.strategy} {account.account_id}: "
                        f"{platform} != {held}"
                    )
    finally:
        await cache.close()
    return differing


async def wait_until_portfolios_match(
    accounts: list[DemoAccount],
    cache_url: str,
    venues: str | Venues,
    within_s: float,
    ca_file: str | None = None,
) -> float:
    """Seconds until every account's portfolio equals its venue's balances (for the
    record); fails naming some that differ after `within_s`."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    differing: list[str] = []
    try:
        async with asyncio.timeout(within_s):
            while True:
                differing = await portfolios_differing(accounts, cache_url, venues, ca_file)
                if not differing:
                    break
                await asyncio.sleep(0.5)
    except TimeoutError:
        raise CheckFailed(
            f"{len(differing)} accounts differ after {within_s:.0f} s, e.g. {differing[:3]}"
        ) from None
    return loop.time() - started


async def trades_missing_from_fills(
    accounts: list[DemoAccount],
    database_url: str,
    venues: str | Venues,
    ca_file: str | None = None,
) -> list[str]:
    """Every venue trade of the accounts that the platform's `fills` table lacks."""
    db = Database(database_url)
    try:
        async with db.read() as conn:
            recorded = await record_checks.recorded_fill_keys(conn)
    finally:
        await db.close()
    missing = []
    async with venue_clients(venues, ca_file) as http:
        for account in accounts:
            url = f"/sim/v1/accounts/{account.venue_account_id}/trades"
            trades = (await http[account.venue].get(url)).json()
            for trade in trades:
                symbol = trade["symbol"]
                if (account.account_id, symbol, trade["trade_id"]) not in recorded:
                    missing.append(
                        f"{account.venue} {account.strategy} {account.account_id} {symbol} trade "
                        f"{trade['trade_id']} ({trade['client_order_id']})"
                    )
    return missing


#: States in which the platform holds an order to be open at the venue.
AT_VENUE_STATES = ("ACCEPTED", "PARTIALLY_FILLED", "PENDING_CANCEL")


async def orders_stuck_open(
    accounts: list[DemoAccount],
    database_url: str,
    venues: str | Venues,
    ca_file: str | None = None,
) -> list[str]:
    """The orders the platform holds open at the venue that the venue has finished
    (filled, canceled, expired): what reconciliation exists to correct."""
    db = Database(database_url)
    try:
        async with db.read() as conn:
            rows = await record_checks.orders_in_states(conn, AT_VENUE_STATES)
    finally:
        await db.close()
    held = {(a, c): s for a, c, s, _ in rows}
    stuck = []
    async with venue_clients(venues, ca_file) as http:
        for account in accounts:
            ours = {c: s for (a, c), s in held.items() if a == account.account_id}
            if not ours:
                continue
            url = f"/sim/v1/accounts/{account.venue_account_id}/open_orders"
            at_venue = {o["client_order_id"] for o in (await http[account.venue].get(url)).json()}
            stuck += [f"{account.account_id} {c} {s}" for c, s in ours.items() if c not in at_venue]
    return stuck


async def orders_in(database_url: str, *states: str) -> list[str]:
    """The orders in these states, as readable lines."""
    db = Database(database_url)
    try:
        async with db.read() as conn:
            rows = await record_checks.orders_in_states(conn, states)
    finally:
        await db.close()
    return [f"{c} {s} since {u}" for _, c, s, u in rows]


async def wait_until_orders_settled(database_url: str, *, within_s: float) -> float:
    """Until no order is SENT or UNKNOWN, at most `within_s`: a restored or timed-out
    order is looked up once the venue answers again, but a call that hung until a fault's
    end, the breaker's cool-down and the start reconciliation's retry (5 s) can each stand
    before that lookup. Returns the seconds it took."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    left: list[str] = []
    try:
        async with asyncio.timeout(within_s):
            while True:
                left = await orders_in(database_url, "UNKNOWN", "SENT")
                if not left:
                    break
                await asyncio.sleep(1)
    except TimeoutError:
        raise CheckFailed(f"orders left of unknown outcome: {left}") from None
    return loop.time() - began


async def delete_keys(redis_url: str, prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)  # ssl_* parameters in the URL are read
    keys = [k async for k in client.scan_iter(f"{prefix}*", count=1000)]
    for i in range(0, len(keys), 500):
        await client.delete(*keys[i : i + 500])
    await client.aclose()


def with_query(url: str, **params: str) -> str:
    """`url` with `params` added to its query string (`?` or `&` as needed)."""
    joined = "&".join(f"{name}={value}" for name, value in params.items())
    return f"{url}{'&' if '?' in url else '?'}{joined}"


def platform_env(
    *, bus_url: str, redis_url: str, prefix: str, database_url: str, venues: str | Venues,
    master_keys: str, rate_limits: str = "auto",
) -> dict[str, str]:  # fmt: skip
    """The environment every service process of a run shares, trading on `venues` (as the
    services reach them). `rate_limits`: execution's pacing (`auto`, the default: by each
    venue's published limits; `off` only against a venue served `--unlimited`)."""
    declared = ",".join(f"{name}={url}" for name, url in venues_of(venues).items())
    return {
        **os.environ,
        "TRADEWIND_BUS_URL": bus_url,
        "TRADEWIND_CACHE_URL": with_query(redis_url, prefix=f"{prefix}:cache:"),
        "TRADEWIND_DATABASE_URL": database_url,
        "TRADEWIND_VENUE_URLS": declared,
        "TRADEWIND_MASTER_KEYS": master_keys,
        "TRADEWIND_JWT_SECRET": secrets.token_urlsafe(48),  # the gateways share it
        "TRADEWIND_HEALTH_PORT": "0",
        "TRADEWIND_BAR_INTERVAL_S": "2",
        "TRADEWIND_PORTFOLIO_VALUATION_ASSET": "USDT",
        "TRADEWIND_LOG_LEVEL": "info",
        # Each venue's published limits on, execution pacing by them (ccxt's limiter
        # paces Coinbase's: see venues.coinbase.limits).
        "TRADEWIND_EXECUTION_RATE_LIMITS": rate_limits,
    }
