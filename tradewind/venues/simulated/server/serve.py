"""Run the simulated exchange: build its state from a market description, serve the app
with uvicorn until SIGTERM or SIGINT, or run it in a background thread (tests, demos).

    tradewind venue serve --market synthetic            # seeded synthetic prices
    tradewind venue serve --market replay: --speed 60   # the bundled candles, 60x
    tradewind venue serve --market replay:DIR           # BASE-QUOTE.csv files in DIR
    tradewind venue serve --market replay: --start 2018-01-16  # history up to that day
    tradewind venue serve --host 0.0.0.0 --admin-token T  # reachable from other hosts
    tradewind venue serve --tls-cert venue.crt --tls-key venue.key  # HTTPS and WSS
    tradewind venue serve --api coinbase                # Coinbase Advanced Trade's API

Serving on a non-loopback address needs an admin token for `/sim/v1` (`sim_admin`).
With a certificate and key, REST and WebSocket share the port as HTTPS and WSS (TLS 1.2
or later, modern ciphers: `tradewind.security.tls_server`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from tradewind.domain.time_units import NS_PER_MS
from tradewind.errors import ConfigError
from tradewind.runtime.logging import configure_logging, get_logger
from tradewind.security.tls_server import ServerTls, uvicorn_tls_options
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.liquidity import LiquidityConfig
from tradewind.venues.simulated.market import (
    DEFAULT_SYNTHETIC,
    CandleReplay,
    PriceSource,
    SyntheticMarket,
    bundled_candles_dir,
    load_candles,
)
from tradewind.venues.simulated.server.app import STEP_INTERVAL_S, build_app, uvicorn_ws_options
from tradewind.venues.simulated.server.coinbase.app import build_coinbase_app
from tradewind.venues.simulated.server.coinbase.limits import (
    COINBASE_RATE_LIMITS,
    CoinbaseRateLimits,
)
from tradewind.venues.simulated.server.coinbase.products import COINBASE_SYNTHETIC
from tradewind.venues.simulated.server.sim_admin import require_admin_token
from tradewind.venues.simulated.server.state import ServedApi, ServerState
from tradewind.venues.simulated.server.weights import BINANCE_RATE_LIMITS, RateLimit
from tradewind.venues.simulated.start_point import (
    DEFAULT_START,
    replay_start_ms,
    synthetic_history_ms,
)

EXIT_OK = 0
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_GRACEFUL_SHUTDOWN_S = 2
KEEP_ALIVE_S = 75
"""Seconds the server keeps an idle keep-alive connection open (nginx's default; uvicorn's
own is 5 s). It must outlast every client's reuse of a connection (aiohttp keeps one 15 s
by default, `CcxtVenue` 4 s) so that the client, never the server, closes an idle
connection: a server closing first can cross the client's next request, which then goes
unanswered (`ServerDisconnectedError`), and an order in it has an unknown outcome."""

_log = get_logger("tradewind.venues.simulated.server")


def price_source(
    market: str,
    *,
    speed: float,
    seed: int,
    start_ms: int,
    start: str | None = None,
    api: ServedApi = "binance",
) -> PriceSource:
    """The prices `--market` describes: `synthetic`, `replay:` (the bundled candles) or
    `replay:DIR`, live from `start_ms` (now, ms since the epoch). `start` (`--start`,
    see `start_point`) gives the market a past, served as the venue's history: where in
    the data a replay starts, or how much back-history a synthetic market generates;
    None for no past. A synthetic market of a venue serving `api` "coinbase" lists USD
    and USDC pairs, as Coinbase does; a replay keeps its data's pairs. Raises
    ConfigError naming the option at fault."""
    kind, _, directory = market.partition(":")
    if kind == "synthetic" and not directory:
        if speed != 1:
            raise ConfigError("--speed", "applies to replay markets only")
        history_ms = 0 if start is None else synthetic_history_ms(start)
        specs = COINBASE_SYNTHETIC if api == "coinbase" else DEFAULT_SYNTHETIC
        return SyntheticMarket(specs, seed=seed, start_ms=start_ms, history_ms=history_ms)
    if kind == "replay":
        path = Path(directory) if directory else bundled_candles_dir()
        if not path.is_dir():
            raise ConfigError("--market", f"{path} is not a directory of candle files")
        if speed <= 0:
            raise ConfigError("--speed", f"must be positive, got {speed}")
        candles = load_candles(path)
        replay = CandleReplay(candles, speed=speed, start_ms=start_ms)
        if start is None:
            return replay
        from_ms = replay_start_ms(start, replay.data_start_ms, replay.data_end_ms)
        return CandleReplay(candles, speed=speed, start_ms=start_ms, from_ms=from_ms)
    raise ConfigError("--market", f"expected synthetic, replay: or replay:DIR, got {market!r}")


def build_state(
    market: str = "synthetic",
    *,
    speed: float = 1.0,
    seed: int = 7,
    start: str | None = DEFAULT_START,
    rate_limits: tuple[RateLimit, ...] = BINANCE_RATE_LIMITS,
    liquidity: LiquidityConfig | None = None,
    admin_token: str | None = None,
    api: ServedApi = "binance",
    coinbase_rate_limits: CoinbaseRateLimits | None = COINBASE_RATE_LIMITS,
    unlimited: bool = False,
) -> ServerState:
    """A fresh exchange on the described market, starting now, with the history `start`
    gives it (see `price_source`; by default two days: 576 five-minute candles);
    `liquidity` shapes the house liquidity provider's ladder (spread, levels) and the
    background flow; `admin_token` opens `/sim/v1` to non-loopback clients that present
    it. `api` is the exchange API the venue will serve (Binance's or Coinbase's), with
    `rate_limits` or `coinbase_rate_limits`; `unlimited` (`--unlimited`), or empty
    `rate_limits`, lifts both."""
    if unlimited:
        rate_limits = ()
    start_ms = time.time_ns() // NS_PER_MS
    prices = price_source(market, speed=speed, seed=seed, start_ms=start_ms, start=start, api=api)
    exchange = SimulatedExchange(prices, seed=seed, liquidity=liquidity)
    return ServerState(
        exchange,
        api=api,
        rate_limits=rate_limits,
        coinbase_rate_limits=coinbase_rate_limits if rate_limits else None,
        admin_token=admin_token or None,
    )


def build_api_app(
    state: ServerState, *, step_interval_s: float | None = STEP_INTERVAL_S
) -> FastAPI:
    """The app of the API `state.api` names: Binance's or Coinbase's."""
    if state.api == "coinbase":
        return build_coinbase_app(state, step_interval_s=step_interval_s)
    return build_app(state, step_interval_s=step_interval_s)


class _ServerWithoutSignals(uvicorn.Server):
    """uvicorn leaving SIGTERM and SIGINT to us: it would re-raise them after shutting
    down, and the process would end by the signal instead of with status 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(app: FastAPI, tls: ServerTls | None) -> _ServerWithoutSignals:
    # No access log: request lines carry signatures in their query strings.
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_S,
        timeout_keep_alive=KEEP_ALIVE_S,
        **uvicorn_ws_options(),
        **(uvicorn_tls_options(tls.cert_file, tls.key_file) if tls else {}),
    )
    return _ServerWithoutSignals(config)


def _base_url(sock: socket.socket, tls: ServerTls | None) -> str:
    """`http://HOST:PORT` (or `https://`) of the address `sock` is bound to."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}"


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        reason = f"[Errno {exc.errno}] {os.strerror(exc.errno)}" if exc.errno else str(exc)
        raise ConfigError("--port", f"cannot listen on {host}:{port}: {reason}") from None


class EmbeddedVenueServer:
    """The simulated exchange's API served from a running event loop (`tradewind up`):
    the caller steps the exchange itself. HTTPS and WSS with `tls`."""

    def __init__(
        self, state: ServerState, host: str, port: int, *, tls: ServerTls | None = None
    ) -> None:
        self._sock = _listen(host, port)
        self._tls = tls
        self._server = _server(build_api_app(state, step_interval_s=None), tls)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return _base_url(self._sock, self._tls)

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._server.serve(sockets=[self._sock]), name="sim-venue-api"
        )
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        self._sock.close()


def serve(state: ServerState, host: str, port: int, *, tls: ServerTls | None = None) -> int:
    """Serve `state` on host:port (HTTPS and WSS with `tls`) until SIGTERM or SIGINT, then
    shut down cleanly (requests in flight get up to 2 s); returns the exit status.
    ConfigError if the port is taken, or if `host` is not a loopback address and `state`
    has no admin token."""
    require_admin_token(host, state.admin_token)
    configure_logging()
    sock = _listen(host, port)
    server = _server(build_api_app(state), tls)

    async def run() -> None:
        loop = asyncio.get_running_loop()

        def stop(sig: signal.Signals) -> None:
            _log.info("stopping", signal=sig.name)
            server.should_exit = True

        for sig in _STOP_SIGNALS:
            loop.add_signal_handler(sig, stop, sig)
        try:
            _log.info("serving", url=_base_url(sock, tls))
            await server.serve([sock])
        finally:
            for sig in _STOP_SIGNALS:
                loop.remove_signal_handler(sig)

    with asyncio.Runner(loop_factory=_uvloop_factory()) as runner:
        runner.run(run())
    sock.close()
    _log.info("stopped")
    return EXIT_OK


def _uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency
        return None
    return uvloop.new_event_loop


@contextlib.contextmanager
def serving_in_thread(
    state: ServerState,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    step_interval_s: float | None = 0.1,
    tls: ServerTls | None = None,
) -> Iterator[str]:
    """Serve `state` (the API `state.api` names) from a background thread (its own event
    loop) while the block runs; yields the base URL, e.g. `http://127.0.0.1:54321`
    (`https://` with `tls`, which serves WSS too). `port=0` picks a free port."""
    require_admin_token(host, state.admin_token)
    sock = _listen(host, port)
    server = _server(build_api_app(state, step_interval_s=step_interval_s), tls)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="sim-venue", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the simulated venue did not start")
            time.sleep(0.01)
        yield _base_url(sock, tls)
    finally:
        server.should_exit = True
        thread.join(timeout=_GRACEFUL_SHUTDOWN_S + 3)
        sock.close()
