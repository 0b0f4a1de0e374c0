"""The simulated exchange served over HTTPS and WSS (`--tls-cert`, `--tls-key`): the real,
unmodified ccxt `binance` trusting the test CA trades and streams on it; a client that
cannot verify the venue (another CA, an expired certificate, another name) is refused,
and a plain-HTTP venue spoken to with https:// fails instead of downgrading."""

from __future__ import annotations

import asyncio
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import websockets

from tests.integration.tls_handshakes import client_context, handshake, permissive_server
from tests.tls import CertificateAuthority, Issued
from tradewind.domain.model import OrderType, Side
from tradewind.errors import VenueUnavailable
from tradewind.security.tls_server import ServerTls
from tradewind.venues.ccxt_venue import CcxtVenue
from tradewind.venues.port import OrderRequest, VenueOrderStatus
from tradewind.venues.simulated.client import ccxt_session
from tradewind.venues.simulated.server.serve import build_state, serving_in_thread
from tradewind.venues.simulated.server.state import ServerState

TRADEWIND = str(Path(sys.executable).with_name("tradewind"))
STARTUP_TIMEOUT_S = 20.0
TRADES_STREAM = "/ws/btcusdt@trade"
TOGETHER = "--tls-cert and --tls-key go together: give both, or neither"


@contextmanager
def venue(issued: Issued | None) -> Iterator[tuple[str, ServerState]]:
    """The simulated venue on a free loopback port, on HTTPS with `issued` (else plain
    HTTP), market moving and quoted; yields its base URL and state."""
    state = build_state("synthetic", seed=3)
    tls = ServerTls(str(issued.cert), str(issued.key)) if issued else None
    with serving_in_thread(state, tls=tls) as url:
        for _ in range(250):  # 5 s
            if state.exchange.engine.depth("BTC/USDT", 1).asks:
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the liquidity provider never quoted")
        yield url, state


def ws_url(base: str) -> str:
    return base.replace("https://", "wss://", 1).replace("http://", "ws://", 1)


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@contextmanager
def ccxt_venue(state: ServerState, base: str, cafile: Path) -> Iterator[CcxtVenue]:
    """ccxt `binance` on the venue at `base` for a fresh funded account, trusting only
    the CA certificate in `cafile` (set before its first request, which builds its TLS
    context)."""
    creds = state.exchange.create_account({"USDT": Decimal("10000")})
    client = ccxt_session(base, ws_url(base), creds.api_key, creds.secret, name="sim-tls")
    client.exchange.cafile = str(cafile)
    client.exchange.enableRateLimit = False
    yield client


def failure_text(exc: BaseException) -> str:
    """The messages of `exc` and of the exceptions it was raised from."""
    texts = []
    cause: BaseException | None = exc
    while cause is not None:
        texts.append(str(cause))
        cause = cause.__cause__ or cause.__context__
    return " | ".join(texts)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def https_venue(ca: CertificateAuthority) -> Iterator[tuple[str, ServerState]]:
    with venue(ca.server()) as served:
        yield served


@pytest.fixture
async def trusting_client(
    ca: CertificateAuthority, https_venue: tuple[str, ServerState]
) -> AsyncIterator[CcxtVenue]:
    url, state = https_venue
    with ccxt_venue(state, url, ca.cert) as client:
        yield client
        await client.close()


def market_buy(client_order_id: str, symbol: str = "BTC/USDT") -> OrderRequest:
    return OrderRequest(
        client_order_id=client_order_id,
        symbol=symbol,
        side=Side.BUY,
        order_type=OrderType.MARKET,
        quantity=Decimal("0.001"),
    )


async def test_ccxt_trades_over_https_and_streams_over_wss(
    https_venue: tuple[str, ServerState], trusting_client: CcxtVenue
) -> None:
    url, _ = https_venue
    assert url.startswith("https://")
    api = trusting_client.exchange.urls["api"]
    assert api["public"].startswith("https://") and api["ws"]["spot"].startswith("wss://")

    markets = await trusting_client.load_markets()
    assert "BTC/USDT" in markets
    bought = await trusting_client.place_order(market_buy("https-1"))
    assert bought.status is VenueOrderStatus.FILLED

    trades = trusting_client.watch_trades("BTC/USDT")
    orders = trusting_client.watch_orders()
    first_trades = await asyncio.wait_for(anext(trades), 20)
    assert first_trades and all(t.symbol == "BTC/USDT" for t in first_trades)
    # The user-data subscription is ready at a moment ccxt does not expose: place small
    # orders until one is reported back over WSS, rather than guess a delay.
    next_orders = asyncio.ensure_future(anext(orders))
    placed: list[str] = []
    for attempt in range(40):
        placed.append(f"wss-{attempt}")
        await trusting_client.place_order(market_buy(placed[-1]))
        done, _ = await asyncio.wait({next_orders}, timeout=0.5)
        if done:
            break
    reported = [o for o in next_orders.result() if o.client_order_id in placed]
    assert reported, "the account's own order was not reported on the user data stream"
    for stream in (trades, orders):
        await stream.aclose()


def test_the_venue_speaks_tls_1_2_or_later_with_modern_suites_only(
    ca: CertificateAuthority, https_venue: tuple[str, ServerState]
) -> None:
    port = port_of(https_venue[0])
    assert handshake(port, client_context(ca.cert))[0] == "TLSv1.3"
    version, cipher = handshake(port, client_context(ca.cert, maximum=ssl.TLSVersion.TLSv1_2))
    assert version == "TLSv1.2" and cipher.startswith("ECDHE-") and "GCM" in cipher
    tls_1_1 = client_context(ca.cert, maximum=ssl.TLSVersion.TLSv1_1)
    try:  # the control: this OpenSSL can speak TLS 1.1 at all
        with permissive_server(ca.server()) as control:
            assert handshake(control, tls_1_1)[0] == "TLSv1.1"
    except (ssl.SSLError, ConnectionError) as exc:
        pytest.skip(f"this OpenSSL cannot make a TLS 1.1 client ({exc})")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        handshake(port, tls_1_1)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("client trusts another CA", "unable to get local issuer certificate"),
        ("expired certificate", "certificate has expired"),
        ("certificate for another name", "IP address mismatch"),
    ],
)
async def test_a_venue_the_client_cannot_verify_is_refused_over_https_and_wss(
    tmp_path: Path, ca: CertificateAuthority, case: str, reason: str
) -> None:
    trusted = ca.cert
    if case == "client trusts another CA":
        issued = ca.server()
        trusted = CertificateAuthority(tmp_path / "other", name="Other CA").cert
    elif case == "expired certificate":
        issued = ca.server(expired=True)
    else:
        issued = ca.server("other", hosts=("other.example",))
    with venue(issued) as (url, state), ccxt_venue(state, url, trusted) as client:
        try:
            with pytest.raises(VenueUnavailable) as refused:
                await client.load_markets()
        finally:
            await client.close()
        assert "certificate verify failed" in failure_text(refused.value)
        assert reason in str(refused.value)  # in the message itself, for the operator

        with pytest.raises(ssl.SSLCertVerificationError, match=reason):
            async with websockets.connect(
                ws_url(url) + TRADES_STREAM, ssl=client_context(trusted), proxy=None
            ):
                pass


async def test_a_plain_http_venue_spoken_to_over_https_fails_instead_of_downgrading(
    ca: CertificateAuthority,
) -> None:
    with venue(None) as (url, state):
        as_https = url.replace("http://", "https://", 1)
        with ccxt_venue(state, as_https, ca.cert) as client:
            try:
                with pytest.raises(VenueUnavailable) as refused:
                    await client.load_markets()
            finally:
                await client.close()
        assert "SSL" in failure_text(refused.value)
        assert "does not speak TLS" in str(refused.value)
        assert client.exchange.last_http_response is None  # no answer was taken
        with pytest.raises(ssl.SSLError):
            async with websockets.connect(
                ws_url(as_https) + TRADES_STREAM, ssl=client_context(ca.cert), proxy=None
            ):
                pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_venue_serve_with_a_certificate_serves_https_and_logs_its_https_url(
    ca: CertificateAuthority,
) -> None:
    issued, port = ca.server(), free_port()
    process = subprocess.Popen(
        [TRADEWIND, "venue", "serve", "--port", str(port),
         "--tls-cert", str(issued.cert), "--tls-key", str(issued.key)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    base = f"https://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, verify=client_context(ca.cert), timeout=2) as client:
            for _ in range(int(STARTUP_TIMEOUT_S / 0.1)):
                assert process.poll() is None, process.communicate()
                try:
                    ping = client.get("/api/v3/ping")
                    break
                except httpx.ConnectError:
                    time.sleep(0.1)
            else:
                raise AssertionError(f"nothing answered {base}")
            assert ping.status_code == 200
        with pytest.raises(httpx.TransportError):  # the port speaks TLS only
            httpx.get(f"http://127.0.0.1:{port}/api/v3/ping", timeout=2)
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert f"{base}" in stdout + stderr
    assert f"http://127.0.0.1:{port}" not in stdout + stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--tls-cert", "{cert}"], f"--tls-key: {TOGETHER}"),
        (["--tls-key", "{key}"], f"--tls-cert: {TOGETHER}"),
        (
            ["--tls-cert", "/nonexistent/venue.crt", "--tls-key", "{key}"],
            "--tls-cert: cannot read /nonexistent/venue.crt: No such file or directory",
        ),
        (
            ["--tls-cert", "{cert}", "--tls-key", "{other_key}"],
            "--tls-key: {other_key} is not the private key of {cert}",
        ),
    ],
)
def test_venue_serve_explains_bad_tls_files_in_one_line_and_exits_2(
    ca: CertificateAuthority, arguments: list[str], message: str
) -> None:
    issued, other = ca.server(), ca.server()
    paths = {"cert": issued.cert, "key": issued.key, "other_key": other.key}
    result = subprocess.run(
        [TRADEWIND, "venue", "serve", "--port", str(free_port()),
         *(a.format(**paths) for a in arguments)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"tradewind: error: {message.format(**paths)}"]
