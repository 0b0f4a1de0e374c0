"""`tradewind up`: every service in one process around two in-process simulated
exchanges (a Binance-style `sim` and a Coinbase-style `sim-coinbase`: `app.exchanges`),
with demo users spread across both, a live status screen and an end-of-run report.

The exchanges are new each run, so accounts on them exist only for the run: unless
TRADEWIND_DATABASE_URL is set, the database is `.tradewind/embedded.db`, made fresh at
start. Without configured master keys, a master key for the run is generated into
`.tradewind/master.key`, so stored exchange keys are encrypted as always. Only the owner
may read any of it: `.tradewind` is mode 0700, the database and the key file 0600.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradewind.app.exchanges import RunExchange, run_exchanges
from tradewind.app.platform import encryptor_from_settings
from tradewind.bus.port import Bus
from tradewind.cache.memory import MemoryCache
from tradewind.demo.report import build_report, write_report
from tradewind.demo.status import StatusBoard, render
from tradewind.demo.users import (
    DEMO_PASSWORD,
    DemoAccount,
    DemoVenue,
    MarketView,
    create_demo_accounts_across,
    demo_email,
    in_process_funding,
)
from tradewind.domain.time_units import NS_PER_MS
from tradewind.runtime.service import Resources, Service
from tradewind.runtime.settings import Settings
from tradewind.security.encryption import Encryptor
from tradewind.security.master_keys import generate_master_key, load_master_keys
from tradewind.security.passwords import PasswordHasher
from tradewind.store.database import Database
from tradewind.venues.directory import SimulatedVenues
from tradewind.venues.simulated.apis import APIS, Api
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.server.serve import EmbeddedVenueServer
from tradewind.venues.simulated.server.state import ServerState
from tradewind.venues.simulated.start_point import DEFAULT_START

DEFAULT_DATABASE_URL = "sqlite:///./tradewind.db"
_STEP_S = 0.1
_QUIET_S = 1.0  # the portfolio stream is settled after this long without updates


@dataclass(frozen=True)
class EmbeddedOptions:
    """`market`: synthetic, replay: (the bundled candles) or replay:DIR; `speed`: replay
    speed; `bots`: demo users with one bot each; `run_for_s`: stop by itself after this
    long; `report`: where to write the end-of-run JSON; `live`: show the status screen;
    `log_file`: where the logs go (said in the welcome), None: the standard streams;
    `screenshot`: write the last status screen there as SVG (with the welcome) as the
    run ends, before the services drain; `start`: where the market starts (`tradewind
    venue serve --start`): what came before is the exchange's history, so strategies
    warm up on it."""

    market: str = "replay:"
    speed: float = 60.0
    seed: int = 7
    bots: int = 0
    run_for_s: float | None = None
    report: Path | None = None
    live: bool = True
    data_dir: Path = Path(".tradewind")
    venue_port: int | None = 8765  # the first exchange's API and faucet; None: not served
    # By served API, the port another exchange's API is served on (`--coinbase-port`);
    # an API not named: the port after the previous exchange's (any free port when
    # venue_port is 0). None of them is served when venue_port is None.
    api_ports: Mapping[Api, int] = field(default_factory=dict)
    log_file: Path | None = None
    screenshot: Path | None = None
    start: str | None = DEFAULT_START


class EmbeddedPlatform:
    def __init__(self, options: EmbeddedOptions) -> None:
        self.options = options
        self.exchange: SimulatedExchange | None = None  # the Binance-style one (`sim`)
        self.exchanges: tuple[RunExchange, ...] = ()
        self.board = StatusBoard()
        self.demo: list[DemoAccount] = []
        self._finished = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._services: Sequence[Service] = ()
        self._stepping = True
        self._venue_servers: list[EmbeddedVenueServer] = []
        self._venue_urls: dict[str, str] = {}  # venue -> the URL its API is served at
        self._states: dict[str, ServerState] = {}
        self._settings: Settings | None = None
        self._started = asyncio.Event()

    @property
    def finished(self) -> asyncio.Event | None:
        return self._finished

    async def open(self, settings: Settings, bus: Bus) -> Resources:
        options = self.options
        self._settings = settings
        options.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        options.data_dir.chmod(0o700)  # made by an older version, or by hand
        start_ms = time.time_ns() // NS_PER_MS
        self.exchanges = run_exchanges(options.market, speed=options.speed, seed=options.seed,
                                       start_ms=start_ms, start=options.start)  # fmt: skip
        self.exchange = self.exchanges[0].exchange
        # Each exchange's served API (its keys: Coinbase's are the served API's own).
        self._states = {one.venue: ServerState(one.exchange, api=one.api) for one in self.exchanges}
        database = Database(self._database_url(settings))
        await database.migrate()
        encryptor = encryptor_from_settings(settings) or self._run_encryptor()
        if options.bots:
            password_hash = PasswordHasher().hash(DEMO_PASSWORD)
            venues = [
                DemoVenue(
                    one.venue,
                    MarketView.of_exchange(one.exchange),
                    in_process_funding(one.exchange),
                )
                for one in self.exchanges
            ]
            self.demo = await create_demo_accounts_across(
                database, encryptor, venues, options.bots, password_hash
            )
        await self.board.attach(bus)
        await self._serve_exchanges(settings.http_host)
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._step_market(), name="sim-market"))
        if options.run_for_s is not None:
            loop.call_later(options.run_for_s, self._finished.set)
        if options.live:
            self._tasks.append(loop.create_task(self._show_status(), name="status"))
        more = {one.venue: one.exchange for one in self.exchanges[1:]}
        # The keys each served API hands out beside the exchange's own (Coinbase's).
        other_keys = {
            venue: keys
            for venue, state in self._states.items()
            if (keys := state.in_process_keys()) is not None
        }
        return Resources(
            venues=SimulatedVenues(self.exchange, more, other_keys=other_keys),
            database=database,
            cache=MemoryCache(),
            encryptor=encryptor,
        )

    def services_started(self, services: Sequence[Service]) -> None:
        self._services = services
        self._started.set()
        if not self.options.live:
            print(self.welcome(), flush=True)  # the status task prints it otherwise

    def welcome(self) -> str:
        """What to open, said once when every service runs."""
        settings = self._settings
        assert settings is not None
        host = settings.http_host
        api = f"http://{host}:{settings.http_port}"
        lines = [
            "Tradewind is running: every service in this process, on two simulated exchanges.",
            f"  API        {api}/api/v1   (try it in the browser: {api}/docs)",
            f"  metrics    http://{settings.health_host}:{settings.health_port}/metrics",
        ]
        for one in self.exchanges:
            url = self._venue_urls.get(one.venue)
            if url is not None:
                api = APIS[one.api].title
                lines.append(f"  exchange   {url}   ({api}; faucet: POST {url}/sim/v1/accounts)")
        if self.demo:
            last = len(self.demo) - 1
            lines.append(
                f"  sign in    {demo_email(0)} / {DEMO_PASSWORD}"
                f"   ({len(self.demo)} demo users: demo-0 … demo-{last}, one bot each)"
            )
        else:
            lines.append("  sign up    POST /api/v1/auth/register (no demo users: --bots 0)")
        if self.options.log_file is not None:
            lines.append(f"  logs       {self.options.log_file}")
        lines.append("Stop with Ctrl-C.")
        return "\n".join(lines)

    def stopping(self) -> None:
        # The screen as it was while trading: once the market is frozen and the services
        # drain, its rates over the last seconds fall to nothing.
        if self.options.screenshot is not None:
            self._save_screenshot(self.options.screenshot)
        # Freeze the market: no more price moves or house trades, so resting orders stop
        # filling while the services drain and the books can settle for the report.
        self._stepping = False

    async def close(self, resources: Resources) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._settle()
        await self.board.detach()
        for server in self._venue_servers:
            await server.stop()
        if self.options.report is not None and self.exchanges:
            exchanges = {one.venue: one.exchange for one in self.exchanges}
            report = build_report(self.board, self.demo, exchanges)
            write_report(self.options.report, report)
        if resources.database is not None:
            await resources.database.close()

    def breaker_states(self) -> dict[str, Any]:
        """Venue -> breaker state, from the execution service's `/breakers` view."""
        for service in self._services:
            view = service.admin_endpoints().get("/breakers")
            if view is not None:
                return {
                    getattr(status, "venue", "?"): getattr(status, "state", "?")
                    for status in view()
                }
        return {}

    # -- internals ------------------------------------------------------------------

    def _database_url(self, settings: Settings) -> str:
        if settings.database_url != DEFAULT_DATABASE_URL:
            return settings.database_url
        path = self.options.data_dir / "embedded.db"
        for stale in (path, path.with_suffix(".db-wal"), path.with_suffix(".db-shm")):
            stale.unlink(missing_ok=True)
        return f"sqlite:///{path}"

    def _run_encryptor(self) -> Encryptor:
        key_file = self.options.data_dir / "master.key"
        if not key_file.exists():
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as f:
                f.write(generate_master_key() + "\n")
        return Encryptor(load_master_keys(key_file=str(key_file)))

    async def _serve_exchanges(self, host: str) -> None:
        """Serve each exchange's API: the first one's on `venue_port`, each next one's on
        its port of `api_ports`, by default the port after the previous one's."""
        port = self.options.venue_port
        if port is None:
            return
        for i, one in enumerate(self.exchanges):
            if i:
                after = port + 1 if 0 < port < 65535 else 0
                port = self.options.api_ports.get(one.api, after)
            server = EmbeddedVenueServer(self._states[one.venue], host, port)
            await server.start()
            self._venue_servers.append(server)
            self._venue_urls[one.venue] = server.url  # the port bound, if asked for any (0)

    async def _step_market(self) -> None:
        while True:
            if self._stepping:
                for one in self.exchanges:
                    one.exchange.step()
            await asyncio.sleep(_STEP_S)

    async def _settle(self) -> None:
        """Wait until portfolio updates stopped arriving (bounded)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if time.monotonic() - self.board.last_portfolio_s >= _QUIET_S:
                return
            await asyncio.sleep(0.1)

    def _names(self) -> dict[str, str]:
        """Account id -> "strategy (demo-N)", for the status screen."""
        return {
            account.account_id: f"{account.strategy}@{account.venue} (demo-{i})"
            for i, account in enumerate(self.demo)
        }

    async def _show_status(self) -> None:
        from rich.console import Console
        from rich.live import Live

        await self._started.wait()
        console = Console(file=sys.stdout)
        # Lines as they are, never broken (a URL split in two cannot be opened): without
        # a terminal Rich would wrap at 80 columns, and a terminal folds long lines itself.
        console.print(self.welcome(), highlight=False, soft_wrap=True)
        bots, names = len(self.demo), self._names()
        with Live(render(self.board, bots, self.breaker_states, names), console=console,
                  refresh_per_second=2, transient=False) as live:  # fmt: skip
            while True:
                await asyncio.sleep(0.5)
                live.update(render(self.board, bots, self.breaker_states, names))

    def _save_screenshot(self, path: Path) -> None:
        from rich.console import Console

        welcome = self.welcome()
        width = max(100, *(len(line) for line in welcome.splitlines()))  # no line broken
        console = Console(record=True, width=width, file=open(os.devnull, "w"))  # noqa: SIM115
        console.print(welcome, highlight=False)
        console.print(render(self.board, len(self.demo), self.breaker_states, self._names()))
        console.save_svg(str(path), title="tradewind up")
        console.file.close()
