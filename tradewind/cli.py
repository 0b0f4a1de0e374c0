"""The `tradewind` command.

    tradewind up [--config FILE] [--port PORT]   every service in one process (embedded)
    tradewind service NAME [--config FILE]        one service (distributed mode)
    tradewind version
    tradewind bench ...                           benchmarks (bench compare OLD NEW: two runs)
    tradewind profile SCENARIO [--size S]         a benchmark under pyinstrument: HTML
                                                  profile and top frames
    tradewind venue serve [--market M] [--api A]  a simulated exchange (Binance or Coinbase API)
    tradewind keys generate [--kid K] [--jwt]     a new master key (or JWT secret)
    tradewind keys rotate [--config FILE]         re-wrap secrets under the current key
    tradewind db upgrade [--config FILE]          migrate the database once, before a rollout
    tradewind users grant-admin EMAIL             make a signed-up user an administrator
    tradewind users revoke-admin EMAIL            take the admin role away
    tradewind chaos [--minutes N] [--bus B]       faults injected into the distributed
                                                  platform while it trades; what held
    tradewind backtest STRATEGY [--params JSON]   a strategy over candle files: metrics,
                                                  --json, --html; --grid ranks many
    tradewind analytics rebuild [--account ID]    regenerate bots' lost minutes from their
                                                  fills and the venue's candles
    tradewind settings [--markdown]               every setting, its default and variable

Settings come from `TRADEWIND_*` environment variables and the optional settings file
(see `tradewind.runtime.settings`). A configuration problem prints one line,
`tradewind: error: SETTING: problem`, to stderr and exits with status 2; so does a bad
command line (`tradewind: error: No such option: --nope`), see `main`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer._click.exceptions import NoArgsIsHelpError  # Click as vendored by Typer 0.29

from tradewind import __version__
from tradewind.app.registry import SERVICES, check_service_names
from tradewind.app.runner import run_services
from tradewind.errors import ConfigError, TradewindError
from tradewind.runtime.settings import load_settings
from tradewind.venues.simulated.apis import DEFAULT_API, api_named
from tradewind.venues.simulated.start_point import DEFAULT_START

EXIT_CONFIG_ERROR = 2
DEMO_BOTS = 12  # `tradewind up` shows a platform at work unless told --bots 0

app = typer.Typer(
    name="tradewind",
    help="Tradewind: a multi-tenant automated trading platform backend.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain help: paragraphs re-wrapped to the terminal
    # Tracebacks with locals would print settings, URLs and keys: never show locals.
    pretty_exceptions_show_locals=False,
)
bench_app = typer.Typer(help="Measure Tradewind's parts.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
venue_app = typer.Typer(help="The simulated exchange.", no_args_is_help=True)
app.add_typer(venue_app, name="venue")
keys_app = typer.Typer(help="Master keys and token secrets.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
db_app = typer.Typer(help="The system of record.", no_args_is_help=True)
app.add_typer(db_app, name="db")
users_app = typer.Typer(help="Administrators.", no_args_is_help=True)
app.add_typer(users_app, name="users")

ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="FILE",
        help="Settings file of TRADEWIND_*=value lines (dotenv); environment variables win. "
        "Default: $TRADEWIND_CONFIG_FILE.",
        show_default=False,
    ),
]


@app.command("up")
def up(
    config: ConfigFile = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            metavar="PORT",
            min=1,
            max=65535,
            help="The gateway's HTTP port (TRADEWIND_HTTP_PORT, default 8000). Health and "
            "metrics are on TRADEWIND_HEALTH_PORT (default 9100).",
            show_default=False,
        ),
    ] = None,
    bots: Annotated[
        int,
        typer.Option(
            "--bots",
            min=0,
            help="Demo users, each with a funded account and a bot (a mix of the four "
            "strategies); 0 for an empty platform.",
        ),
    ] = DEMO_BOTS,
    market: Annotated[
        str,
        typer.Option(
            "--market",
            metavar="MARKET",
            help="The Binance-style exchange's market: synthetic (seeded random walk, USDT "
            "pairs), replay: (the bundled "
            "January-2018 candles, BTC pairs) or replay:DIR.",
        ),
    ] = "replay:",
    speed: Annotated[
        float, typer.Option("--speed", metavar="X", help="Replay speed, times real time.")
    ] = 60.0,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Market seed.")] = 7,
    run_for: Annotated[
        float | None,
        typer.Option("--for", metavar="SECONDS", min=0.1, help="Stop by itself after this long."),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            metavar="FILE.json",
            help="At the end, write every account's platform and venue balances, PnL, "
            "fees, order and fill counts.",
        ),
    ] = None,
    live: Annotated[
        bool, typer.Option("--live/--no-live", help="Show the live status screen.")
    ] = True,
    venue_port: Annotated[
        int,
        typer.Option(
            "--venue-port",
            metavar="PORT",
            min=0,
            max=65535,
            help="Serve the Binance-style exchange's Binance API and /sim/v1 faucet on this "
            "port (0: any free port).",
        ),
    ] = 8765,
    coinbase_port: Annotated[
        int | None,
        typer.Option(
            "--coinbase-port",
            metavar="PORT",
            min=0,
            max=65535,
            help="Serve the Coinbase-style exchange's Coinbase Advanced Trade API on this "
            "port (0: any free port; default: the port after --venue-port, any free port "
            "when that is 0).",
            show_default=False,
        ),
    ] = None,
    screenshot: Annotated[
        Path | None,
        typer.Option(
            "--screenshot",
            metavar="FILE.svg",
            help="At the end, write the last status screen (and the welcome) as SVG.",
        ),
    ] = None,
) -> None:
    """Run the whole platform in this process: two simulated exchanges (a Binance-style
    one, venue `sim`, and a Coinbase-style one of USD and USDC pairs, venue
    `sim-coinbase`), every service on the embedded adapters, and demo users whose bots
    trade, their accounts alternating between the two exchanges (see --bots).

    On a terminal the live status screen holds the terminal and the logs go to a file
    under .tradewind/logs/ (said on screen); otherwise, or with --no-live, the logs go to
    stderr.

    The bus and cache are in-process (memory://) unless TRADEWIND_BUS_URL or
    TRADEWIND_CACHE_URL is set; the database is a fresh `.tradewind/embedded.db` unless
    TRADEWIND_DATABASE_URL is set (the in-process exchange starts empty every run).
    """
    from tradewind.app.embedded import EmbeddedOptions, EmbeddedPlatform

    # Short bars, so a run of a minute shows strategies at work (TRADEWIND_BAR_INTERVAL_S,
    # in the environment or the settings file, still sets them).
    defaults = {"bar_interval_s": 5}
    overrides: dict[str, Any] = {} if port is None else {"http_port": port}
    log_file = _log_file_for_screen() if live and sys.stdout.isatty() else None
    options = EmbeddedOptions(
        market=market,
        speed=speed,
        seed=seed,
        bots=bots,
        run_for_s=run_for,
        report=report,
        live=live,
        venue_port=venue_port,
        api_ports={} if coinbase_port is None else {"coinbase": coinbase_port},
        log_file=log_file,
        screenshot=screenshot,
    )

    def run() -> int:
        settings = load_settings(config, defaults=defaults, **overrides)
        if log_file is None:
            return run_services(list(SERVICES), settings, EmbeddedPlatform(options))
        with log_file.open("a") as logs:
            return run_services(list(SERVICES), settings, EmbeddedPlatform(options), logs)

    _exit_with(run)


def _log_file_for_screen() -> Path:
    """A new log file under .tradewind/logs/ (made 0700), named for this run."""
    folder = Path(".tradewind") / "logs"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder / time.strftime("up-%Y%m%d-%H%M%S.log")


@app.command("service")
def service(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME", help=f"The service to run: {', '.join(SERVICES)}.", show_default=False
        ),
    ],
    config: ConfigFile = None,
) -> None:
    """Run one service in this process (distributed mode: set TRADEWIND_BUS_URL)."""

    def run() -> int:
        check_service_names([name])
        return run_services([name], load_settings(config))

    _exit_with(run)


@bench_app.command("bus")
def bench_bus(
    url: Annotated[
        list[str] | None,
        typer.Option(
            "--url",
            metavar="URL",
            help="Bus URL to measure; repeat for several. kafka://local starts a private "
            "Tansu broker. Default: memory://, Redis at 127.0.0.1:6379 and kafka://local.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    events: Annotated[
        int | None, typer.Option("--events", min=1, help="Events per throughput run.")
    ] = None,
    rounds: Annotated[int, typer.Option("--rounds", min=1, help="Latency round trips.")] = 500,
) -> None:
    """Publish -> handler throughput and latency p50/p99 per adapter, batch sizes 1 and 100."""
    from tradewind.benchmarks.bus import DEFAULT_URLS, run

    typer.echo(run(url or DEFAULT_URLS, as_json=as_json, events=events, rounds=rounds))


@bench_app.command("compare")
def bench_compare(
    old: Annotated[
        Path, typer.Argument(metavar="OLD.json", help="A bench result (`--json FILE`).")
    ],
    new: Annotated[
        Path, typer.Argument(metavar="NEW.json", help="A later result of the same bench.")
    ],
) -> None:
    """Two results of one bench (`python bench/NAME.py --json FILE`) side by side: per
    figure the old and new value, the change in % and whether it is better (throughput
    higher, times and latencies lower; counts neither). Runs on a shared machine are
    noisy: compare runs taken back to back."""

    def run() -> int:
        from rich.console import Console

        from tradewind.benchmarks.compare import compare_files

        Console().print(compare_files(old, new))
        return 0

    _exit_with(run)


@app.command("profile", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def profile(
    context: typer.Context,
    scenario: Annotated[
        str,
        typer.Argument(
            metavar="SCENARIO",
            help="The benchmark to profile: tick-to-order, orders-pipeline, rebalance-wave, "
            "matching, bus, analytics, analytics-round, tick-to-risk or bots. Options after it "
            "that are not profile's go to the bench script (e.g. --accounts 100).",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="FILE.html",
            help="Where the HTML profile goes. Default: "
            ".tradewind/profiles/SCENARIO-YYYYmmdd-HHMMSS.html.",
            show_default=False,
        ),
    ] = None,
    size: Annotated[
        str,
        typer.Option(
            "--size",
            metavar="SIZE",
            help="small (a quick look: seconds to a minute) or full (the sizes of "
            "docs/benchmarks.md).",
        ),
    ] = "small",
) -> None:
    """Run a benchmark of bench/ in this process under pyinstrument (1 ms samples of the
    main thread, the event loop's tasks included): the bench prints its figures, then
    the top frames by own time are printed and the interactive HTML profile written.
    The profiler costs every Python call some time: the bench's own figures come out
    slower than without it; the profile says where the time goes, not how much there is."""

    def run() -> int:
        from tradewind.benchmarks.scenarios import SIZES, profile_scenario

        if size not in SIZES:
            raise ConfigError("--size", f"expected small or full, got {size!r}")
        done = profile_scenario(scenario, size, list(context.args), out)
        typer.echo(
            "\n(the figures above were taken under the profiler, which slows every call: "
            f"measure without it)\n\n{done.top_frames}\n\nprofile: {done.html}"
        )
        return done.exit_code

    _exit_with(run)


@venue_app.command("serve")
def venue_serve(
    config: ConfigFile = None,
    host: Annotated[
        str, typer.Option("--host", metavar="HOST", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", min=0, max=65535, help="TCP port.")
    ] = 8765,
    market: Annotated[
        str,
        typer.Option(
            "--market",
            metavar="MARKET",
            help="Where prices come from: synthetic (seeded random walk with jumps), "
            "replay: (the bundled January-2018 candles) or replay:DIR (BASE-QUOTE.csv "
            "files of timestamp_ms,open,high,low,close,volume).",
        ),
    ] = "synthetic",
    speed: Annotated[
        float,
        typer.Option("--speed", metavar="X", help="Replay speed, times real time (replay only)."),
    ] = 1.0,
    seed: Annotated[
        int, typer.Option("--seed", metavar="N", help="Seed of prices and background flow.")
    ] = 7,
    start: Annotated[
        str,
        typer.Option(
            "--start",
            metavar="WHEN",
            help="Where live trading starts; what came before is served as history "
            "(klines, recent trades). Replay: a date or time inside the data "
            "(2018-01-16, 2018-01-16T12:00, UTC), a timestamp in ms, or an offset from "
            "its first candle (2d, 36h, 1d12h). Synthetic: an offset, the back-history "
            "to generate from the seed (at most 30d; 0m for none). The default, 2d, is "
            "576 five-minute candles.",
        ),
    ] = DEFAULT_START,
    spread_bps: Annotated[
        float,
        typer.Option("--spread-bps", min=0.1, help="House quotes: best ask - best bid, bps."),
    ] = 10.0,
    depth: Annotated[
        int, typer.Option("--depth", min=1, max=200, help="House quote levels per side.")
    ] = 10,
    unlimited: Annotated[
        bool,
        typer.Option(
            "--unlimited",
            help="Lift the served API's rate limits: Binance's request-weight and "
            "order-count limits, or Coinbase's per-user and per-IP limits (for benchmarks).",
        ),
    ] = False,
    api: Annotated[
        str,
        typer.Option(
            "--api",
            metavar="API",
            help="The exchange API to serve: binance (spot REST under /api/v3 and its "
            "WebSocket streams) or coinbase (Advanced Trade REST under /api/v3/brokerage "
            "and /v2, its WebSocket; a synthetic market lists USD and USDC pairs).",
        ),
    ] = DEFAULT_API,
    admin_token: Annotated[
        str | None,
        typer.Option(
            "--admin-token",
            metavar="TOKEN",
            help="Bearer token that clients not on loopback must send to use /sim/v1 "
            "(at least 16 characters); required when --host is not a loopback address. "
            "Default: the setting TRADEWIND_SIM_ADMIN_TOKEN (environment, settings file or "
            "secrets directory).",
            show_default=False,
        ),
    ] = None,
    tls_cert: Annotated[
        str | None,
        typer.Option(
            "--tls-cert",
            metavar="FILE",
            help="Serve HTTPS and WSS with this certificate (PEM, chain allowed); needs --tls-key.",
            show_default=False,
        ),
    ] = None,
    tls_key: Annotated[
        str | None,
        typer.Option(
            "--tls-key",
            metavar="FILE",
            help="The private key of --tls-cert (PEM, unencrypted).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the simulated exchange: Binance's spot REST API under /api/v3, its WebSocket
    streams (/ws, /stream, /ws-api/v3), and the simulator API under /sim/v1 (accounts,
    faults; loopback clients, or others with the admin token). HTTPS and WSS on the same
    port with --tls-cert and --tls-key (TLS 1.2 or later). With --api coinbase, Coinbase's
    Advanced Trade API instead of Binance's. Stops cleanly on SIGTERM or SIGINT."""

    def run() -> int:
        from decimal import Decimal

        served = api_named(api)

        from tradewind.security.tls_server import server_tls
        from tradewind.venues.simulated.liquidity import LiquidityConfig
        from tradewind.venues.simulated.server.serve import build_state, serve

        tls = server_tls(tls_cert, tls_key, cert_option="--tls-cert", key_option="--tls-key")
        configured = load_settings(config).sim_admin_token
        token = admin_token or (configured.get_secret_value() if configured else "") or None
        liquidity = LiquidityConfig(spread_bps=Decimal(str(spread_bps)), levels=depth)
        state = build_state(
            market,
            speed=speed,
            seed=seed,
            start=start,
            liquidity=liquidity,
            admin_token=token,
            api=served,
            unlimited=unlimited,
        )
        return serve(state, host, port, tls=tls)

    _exit_with(run)


@keys_app.command("generate")
def keys_generate(
    kid: Annotated[
        str | None,
        typer.Option(
            "--kid",
            metavar="KID",
            help="Key id (1-64 of A-Z a-z 0-9 _ . -). Default: kYYYYMMDD-xxxx.",
            show_default=False,
        ),
    ] = None,
    jwt: Annotated[
        bool, typer.Option("--jwt", help="Print a new TRADEWIND_JWT_SECRET instead.")
    ] = False,
) -> None:
    """Print a new master key `kid:BASE64` (for TRADEWIND_MASTER_KEYS, first = current),
    or with --jwt a new access-token secret. Nothing is stored."""
    from tradewind.gateway.keys import generate

    def run() -> int:
        try:
            typer.echo(generate(kid, jwt=jwt))
        except ValueError as exc:
            raise ConfigError("--kid", str(exc)) from None
        return 0

    _exit_with(run)


@keys_app.command("rotate")
def keys_rotate(
    config: ConfigFile = None,
    batch: Annotated[
        int, typer.Option("--batch", min=1, max=10_000, help="Rows read per query.")
    ] = 200,
) -> None:
    """Re-wrap every stored secret and re-index every e-mail under the current master key
    (the first of TRADEWIND_MASTER_KEYS), in the database of TRADEWIND_DATABASE_URL.
    Idempotent, and safe while gateways run; keep the old key loaded until it is done."""
    import asyncio

    from tradewind.gateway.keys import rotate_from_settings

    def run() -> int:
        report = asyncio.run(rotate_from_settings(load_settings(config), batch=batch))
        typer.echo(str(report))
        return 0

    _exit_with(run)


@db_app.command("upgrade")
def db_upgrade(config: ConfigFile = None) -> None:
    """Bring the database of TRADEWIND_DATABASE_URL to the newest migration, once, before
    rolling out new versions of the services (they migrate at start too, one at a time
    under a lock, and then find nothing to do)."""
    import asyncio

    from tradewind.store.database import Database

    async def upgrade(url: str) -> str:
        db = Database(url)
        try:
            before = await db.revision()
            await db.migrate()
            after = await db.revision()
        finally:
            await db.close()
        if before == after:
            return f"the database is at migration {after}: nothing to do"
        return f"the database is at migration {after} (was {before or 'empty'})"

    def run() -> int:
        typer.echo(asyncio.run(upgrade(load_settings(config).database_url)))
        return 0

    _exit_with(run)


Email = Annotated[str, typer.Argument(metavar="EMAIL", help="The user's e-mail address.")]


@users_app.command("grant-admin")
def users_grant_admin(email: Email, config: ConfigFile = None) -> None:
    """Give the admin role to the user who signed up with EMAIL, in the database of
    TRADEWIND_DATABASE_URL (the master keys find the address). The only way to make an
    administrator: registering never grants it."""
    _set_admin(email, config, admin=True)


@users_app.command("revoke-admin")
def users_revoke_admin(email: Email, config: ConfigFile = None) -> None:
    """Take the admin role from the user who signed up with EMAIL; their tokens stop
    working at once."""
    _set_admin(email, config, admin=False)


def _set_admin(email: str, config: Path | None, *, admin: bool) -> None:
    import asyncio

    from tradewind.gateway.admins import set_admin_from_settings

    def run() -> int:
        settings = load_settings(config)
        typer.echo(asyncio.run(set_admin_from_settings(settings, email, admin=admin)))
        return 0

    _exit_with(run)


@app.command("chaos")
def chaos(
    minutes: Annotated[
        float, typer.Option("--minutes", min=1, help="Length of each run, in minutes.")
    ] = 10,
    bus: Annotated[
        list[str] | None,
        typer.Option(
            "--bus",
            metavar="BUS",
            help="redis or kafka; repeat for both. Default: both.",
            show_default=False,
        ),
    ] = None,
    bots: Annotated[int, typer.Option("--bots", min=1, help="Demo bots trading.")] = 200,
    kills: Annotated[
        int, typer.Option("--kills", min=0, help="kill -9s of random instances.")
    ] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the fault schedule.")] = 1,
    table: Annotated[
        bool,
        typer.Option(
            "--table/--no-table",
            help="First kill and restart one instance of each service in turn, measuring "
            "take-over, orders gap and portfolios.",
        ),
    ] = True,
    zones: Annotated[
        bool,
        typer.Option(
            "--zones/--no-zones",
            help="Put the two instances of every service in two network namespaces and "
            "cut one off once (root and `ip` needed).",
        ),
    ] = False,
    ha: Annotated[
        bool,
        typer.Option(
            "--ha/--no-ha",
            help="Run Redis as a primary with a replica and three Sentinels, and "
            "PostgreSQL as a primary with a synchronous standby, and fail both over once "
            "(redis-sentinel and PostgreSQL's server binaries needed).",
        ),
    ] = False,
    database_url: Annotated[
        str,
        typer.Option(
            "--database-url",
            metavar="URL",
            help="PostgreSQL server to create the run's database on (not with --ha or "
            "--zones, which start their own).",
        ),
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    logs: Annotated[
        Path | None,
        typer.Option(
            "--logs", metavar="DIR", help="Where the processes' logs go.", show_default=False
        ),
    ] = None,
    record: Annotated[
        Path | None,
        typer.Option(
            "--record",
            metavar="FILE",
            help="Append the results (Markdown) to FILE, e.g. docs/reliability.md.",
            show_default=False,
        ),
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the run's database afterwards.")
    ] = False,
) -> None:
    """Run the distributed platform (two instances of every service) on the simulated
    exchange and inject faults while it trades: kill -9s, SIGSTOPs, a broker restart,
    venue faults, optionally Redis and PostgreSQL failovers (--ha) and a zone cut. Then
    check that no order was lost or sent twice, every portfolio equals the venue, and
    every process exits 0 within 10 s of SIGTERM. Exit status 1 if anything did not hold.
    Needs the dev extras."""
    from typing import cast

    buses = bus or ["redis", "kafka"]
    for name in buses:
        if name not in ("redis", "kafka"):
            raise typer.BadParameter(f"{name!r}: use redis or kafka", param_hint="--bus")

    def run() -> int:
        from tradewind.chaos.command import main as chaos_main
        from tradewind.chaos.run import Bus

        return chaos_main(
            buses=cast(list[Bus], buses), minutes=minutes, bots=bots, kills=kills, seed=seed,
            table=table, zones=zones, ha=ha,
            admin_url=database_url, logs=logs, record=record, keep=keep,
            argv=sys.argv[1:],
        )  # fmt: skip

    _exit_with(run)


@app.command("backtest")
def backtest(
    strategy: Annotated[
        str, typer.Argument(help="The strategy's name (momentum, dca, grid, rebalance, ...).")
    ],
    params: Annotated[
        str,
        typer.Option(
            "--params", metavar="JSON", help='Its parameters, e.g. \'{"symbol": "ETH/BTC"}\'.'
        ),
    ] = "{}",
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            metavar="DIR",
            help="Directory of BASE-QUOTE.csv candle files (timestamp_ms,open,high,low,"
            "close,volume). Default (or replay:): the bundled January 2018 5-minute candles "
            "the simulated exchange replays.",
            show_default=False,
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="TIME",
            help="First candle, e.g. 2018-01-12 (UTC).",
            show_default=False,
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="TIME",
            help="Last candle (inclusive; a date: its whole day).",
            show_default=False,
        ),
    ] = None,
    balances: Annotated[
        str,
        typer.Option("--balances", metavar="ASSET=AMOUNT,...", help="Initial balances."),
    ] = "BTC=1",
    grid: Annotated[
        str | None,
        typer.Option(
            "--grid",
            metavar="JSON",
            help='Values to try, e.g. \'{"fast": [5, 12], "slow": [26, 48]}\': every '
            "combination, laid over --params, runs in parallel processes, ranked by --rank.",
            show_default=False,
        ),
    ] = None,
    rank: Annotated[
        str, typer.Option("--rank", metavar="METRIC", help="The grid's ranking metric.")
    ] = "sharpe",
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Processes for --grid (default: one per CPU).",
            show_default=False,
        ),
    ] = None,
    json_path: Annotated[
        Path | None,
        typer.Option(
            "--json",
            metavar="FILE",
            help="Write the result (metrics, equity curve, trades) as JSON.",
            show_default=False,
        ),
    ] = None,
    html_path: Annotated[
        Path | None,
        typer.Option(
            "--html", metavar="FILE", help="Write a self-contained HTML report.", show_default=False
        ),
    ] = None,
) -> None:
    """Run a strategy, unchanged, over historical candles and report its performance and
    risk (the figures of docs/analytics.md)."""

    def run() -> int:
        from rich.console import Console

        from tradewind.strategies.backtest_command import (
            DataSpec,
            parse_balances,
            parse_json_object,
            parse_time,
        )  # fmt: skip
        from tradewind.strategies.backtest_console import run_command

        spec = DataSpec(
            None if data in (None, "replay:") else data,
            parse_time(start, "--from") if start else None,
            parse_time(end, "--to", end_of_day=True) if end else None,
        )
        return run_command(
            strategy, parse_json_object(params, "--params"), spec, parse_balances(balances),
            grid=parse_json_object(grid, "--grid") if grid is not None else None,
            rank=rank, workers=workers, json_path=json_path, html_path=html_path,
            console=Console(stderr=False),
        )  # fmt: skip

    _exit_with(run)


analytics_app = typer.Typer(help="The analytics service's records.", no_args_is_help=True)
app.add_typer(analytics_app, name="analytics")


@analytics_app.command("rebuild")
def analytics_rebuild(
    account: Annotated[
        list[str] | None,
        typer.Option(
            "--account",
            metavar="ID",
            help="An account whose bots to rebuild (repeat for more). Default: every account.",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="TIME",
            help="First minute, e.g. 2026-12-07T06:00 (UTC unless an offset is given). "
            "Default: the oldest minute retention keeps (TRADEWIND_ANALYTICS_MINUTES_KEPT_DAYS).",
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            metavar="TIME",
            help="Last minute (a date: its whole day). Default and latest: two minutes ago "
            "(the minute that just closed is the live service's to write).",
            show_default=False,
        ),
    ] = None,
    config: ConfigFile = None,
) -> None:
    """Write again the bots' PnL minutes lost from the database of TRADEWIND_DATABASE_URL,
    replayed from their stored fills and the 1-minute candles of the venues of
    TRADEWIND_VENUE_URLS / TRADEWIND_VENUES; fills holes, never overwrites a minute, and
    writes nothing the second time. Exit status 1 if a bot was skipped."""
    import asyncio

    from rich.console import Console

    from tradewind.services.analytics.rebuild import (
        minute_span,
        print_report,
        rebuild_bot_minutes,
    )  # fmt: skip
    from tradewind.store.database import Database
    from tradewind.strategies.backtest_command import parse_time
    from tradewind.venues.directory import CcxtVenues

    def run() -> int:
        settings = load_settings(config)
        since_ns = parse_time(since, "--since") * 1_000_000 if since else None
        until_ns = (
            (parse_time(until, "--until", end_of_day=True) + 1) * 1_000_000 - 1 if until else None
        )
        now_ns, kept_days = time.time_ns(), settings.analytics.analytics_minutes_kept_days
        minute_span(since_ns, until_ns, now_ns, kept_days)  # a bad span: before connecting
        venues = CcxtVenues.declared(
            settings.venue_urls, settings.venues, ca_file=settings.venue_ca_file
        )
        if venues is None:
            raise ConfigError(
                "TRADEWIND_VENUE_URLS",
                "the rebuild reads the venues' 1-minute candles; set it to NAME=http://HOST:PORT "
                "(a `tradewind venue serve`), or TRADEWIND_VENUES to real exchanges",
            )

        async def rebuild() -> int:
            database = Database(settings.database_url)
            try:
                await database.migrate()
                report = await rebuild_bot_minutes(
                    database, venues, account_ids=account or (), since_ns=since_ns,
                    until_ns=until_ns, now_ns=now_ns, minutes_kept_days=kept_days,
                )  # fmt: skip
            finally:
                await database.close()
            print_report(report, Console())
            return 1 if report.skipped else 0

        return asyncio.run(rebuild())

    _exit_with(run)


@app.command("settings")
def settings_list(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print markdown (docs/settings.md) instead.")
    ] = False,
) -> None:
    """List every setting: its variable, default, bounds or choices and what it does."""
    from rich.console import Console

    from tradewind.runtime.settings_table import settings_markdown, settings_rich_table

    if markdown:
        typer.echo(settings_markdown(), nl=False)
    else:
        Console().print(settings_rich_table())


@app.command("version")
def version() -> None:
    """Print the version."""
    typer.echo(f"tradewind {__version__}")


def _exit_with(run: Callable[[], int]) -> NoReturn:
    """Exit with `run`'s status; a ConfigError becomes one stderr line and status 2."""
    try:
        code = run()
    except ConfigError as exc:
        typer.echo(f"tradewind: error: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG_ERROR) from None
    except TradewindError as exc:
        typer.echo(f"tradewind: error: {exc}", err=True)
        raise typer.Exit(1) from None
    raise typer.Exit(code)


def main(args: list[str] | None = None) -> NoReturn:
    """The `tradewind` command (the entry point): run `app` on `args` (default: sys.argv).

    A usage error (unknown option or command, a value out of range, a missing argument)
    prints one line, `tradewind: error: <Click's message, naming the option>`, to stderr
    and exits with status 2, instead of Click's usage line, hint and boxed error.
    """
    try:
        code = app(args=args, prog_name="tradewind", standalone_mode=False)
    except NoArgsIsHelpError as exc:  # `tradewind`, `tradewind keys`: the help answers
        exc.show()
        code = exc.exit_code
    except typer.TyperException as exc:  # Click's UsageError, BadParameter, NoSuchOption...
        message = " ".join(exc.format_message().split())
        typer.echo(f"tradewind: error: {message}", err=True)
        code = exc.exit_code
    except typer.Abort:
        typer.echo("tradewind: aborted", err=True)
        code = 1
    raise SystemExit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
