"""The `tradewind` command as users run it: a real process, real signals, real HTTP."""

from __future__ import annotations

import asyncio
import html
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import IO, Any, NamedTuple

import pytest
import redis

from tradewind import __version__
from tradewind.app.registry import SERVICES
from tradewind.bus import topics
from tradewind.bus.envelope import envelope, new_event_id
from tradewind.bus.factory import open_bus
from tradewind.bus.port import dead_letter_topic
from tradewind.domain.events import DeadLetter

TRADEWIND = str(Path(sys.executable).with_name("tradewind"))
STARTUP_TIMEOUT_S = 20.0
SHUTDOWN_TIMEOUT_S = 15.0
HEALTH_TOKEN = "operator-token-for-the-health-port"
OPERATOR = {"Authorization": f"Bearer {HEALTH_TOKEN}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(**settings: str) -> dict[str, str]:
    """This process's environment without TRADEWIND_* variables, plus `settings`."""
    kept = {k: v for k, v in os.environ.items() if not k.upper().startswith("TRADEWIND_")}
    return kept | settings


def run_tradewind(*args: str, cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRADEWIND, *args],
        env=environment(**settings),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """Status and body; (0, reason) if nothing answers yet."""
    try:
        request = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return 0, str(error)


def wait_for_status(url: str, status: int, process: subprocess.Popen[bytes]) -> str:
    for _ in range(int(STARTUP_TIMEOUT_S / 0.1)):
        assert process.poll() is None, f"tradewind exited with {process.returncode}"
        got, body = http_get(url)
        if got == status:
            return body
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer {status} within {STARTUP_TIMEOUT_S} s")


def start_up(
    tmp_path: Path, stderr: IO[bytes], health_port: int, **settings: str
) -> subprocess.Popen[bytes]:
    """`tradewind up` without the live screen, its health on `health_port`, its log to
    `stderr`."""
    return subprocess.Popen(
        [TRADEWIND, "up", "--no-live", "--venue-port", "0"],
        env=environment(
            TRADEWIND_HEALTH_PORT=str(health_port),
            TRADEWIND_HTTP_PORT=str(free_port()),
            **settings,
        ),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_up_serves_health_readiness_and_metrics_and_drains_on_a_stop_signal(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    port = free_port()
    stderr_path = tmp_path / "stderr.log"
    with stderr_path.open("wb") as stderr:
        process = start_up(tmp_path, stderr, port, TRADEWIND_HEALTH_TOKEN=HEALTH_TOKEN)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for_status(f"{base}/healthz", 200, process)
            ready = json.loads(wait_for_status(f"{base}/readyz", 200, process))
            assert ready == {"ready": True, "services": list(SERVICES)}
            status, metrics = http_get(f"{base}/metrics")
            assert status == 200
            assert 'tradewind_service_up{service="deadletters"} 1.0' in metrics
            assert http_get(f"{base}/deadletters", OPERATOR) == (200, "[]")
            assert http_get(f"{base}/portfolios")[0] == 401
            assert http_get(f"{base}/portfolios", OPERATOR)[0] == 200

            process.send_signal(stop_signal)
            assert process.wait(timeout=SHUTDOWN_TIMEOUT_S) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    log_lines = [json.loads(line) for line in stderr_path.read_text().splitlines()]
    events = [line["event"] for line in log_lines if line["logger"] == "tradewind.runtime"]
    assert events == ["running", "stopping", "stopped"]
    assert log_lines[-1]["exit_code"] == 0
    stopping = next(line for line in log_lines if line["event"] == "stopping")
    assert stopping["signal"] == stop_signal.name


def test_sigusr1_writes_where_every_task_waits_and_the_process_runs_on(tmp_path: Path) -> None:
    port = free_port()
    stderr_path = tmp_path / "stderr.log"
    with stderr_path.open("wb") as stderr:
        process = start_up(tmp_path, stderr, port)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for_status(f"{base}/readyz", 200, process)
            process.send_signal(signal.SIGUSR1)
            for _ in range(int(STARTUP_TIMEOUT_S / 0.1)):
                if "--- end of tasks ---" in stderr_path.read_text():
                    break
                time.sleep(0.1)
            assert http_get(f"{base}/readyz")[0] == 200, "the dump stopped the process"
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=SHUTDOWN_TIMEOUT_S) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    dump = stderr_path.read_text().split("asyncio tasks ---", 1)[1].split("--- end of tasks")[0]
    relay = dump.split("outbox-relay:", 1)[1].splitlines()[1:3]
    assert relay and "outbox.py" in relay[0] and "in _run" in relay[0], relay


@pytest.mark.servers
def test_service_on_a_redis_bus_reports_a_dead_letter_published_by_another_process(
    tmp_path: Path, redis_url: str
) -> None:
    prefix = f"tw-runtime-test-{uuid.uuid4().hex[:8]}"
    bus_url = f"{redis_url}?prefix={prefix}"
    port = free_port()
    process = subprocess.Popen(
        [TRADEWIND, "service", "deadletters"],
        env=environment(
            TRADEWIND_BUS_URL=bus_url,
            TRADEWIND_HEALTH_PORT=str(port),
            TRADEWIND_HEALTH_TOKEN=HEALTH_TOKEN,
        ),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_status(f"{base}/readyz", 200, process)
        failed = asyncio.run(publish_dead_letter(bus_url, topics.ORDERS_INTENT, "risk"))
        for _ in range(int(STARTUP_TIMEOUT_S / 0.1)):
            if records := json.loads(http_get(f"{base}/deadletters", OPERATOR)[1]):
                break
            time.sleep(0.1)
        assert records, "the dead letter never arrived"
        assert [(r["topic"], r["group"], r["event_id"]) for r in records] == [
            ("orders.intent", "risk", failed)
        ]
        metrics = http_get(f"{base}/metrics")[1]
        assert 'tradewind_bus_dead_letters_total{group="risk",topic="orders.intent"} 1.0' in metrics
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=SHUTDOWN_TIMEOUT_S) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        delete_redis_keys(redis_url, prefix)


async def publish_dead_letter(bus_url: str, topic: str, group: str) -> str:
    """Publish a dead letter as a failing `group` would; returns the failed event's id."""
    bus = open_bus(bus_url)
    await bus.start()
    try:
        failed_id = new_event_id()
        letter = DeadLetter(
            topic=topic,
            group=group,
            reason="handler failed 5 times: ValueError: no such account",
            attempts=5,
            event_id=failed_id,
            raw=b"",
            ts_ns=time.time_ns(),
        )
        await bus.publish(dead_letter_topic(topic), envelope(letter, key="acct-1"))
        return failed_id
    finally:
        await bus.close()


def delete_redis_keys(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def test_service_with_an_unknown_bus_scheme_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    result = run_tradewind("service", "deadletters", cwd=tmp_path, TRADEWIND_BUS_URL="foo://x")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "tradewind: error: TRADEWIND_BUS_URL: unknown scheme 'foo'; "
        "use memory://, redis://host:port/db or kafka://host:port"
    ]


def test_service_with_an_unreachable_redis_bus_exits_2_naming_the_setting(
    tmp_path: Path,
) -> None:
    result = run_tradewind(
        "service", "deadletters", cwd=tmp_path, TRADEWIND_BUS_URL="redis://:pw@127.0.0.1:1/0"
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "tradewind: error: TRADEWIND_BUS_URL: "
        "cannot reach Redis at 127.0.0.1:1: [Errno 111] Connection refused"
    ]


def test_an_unknown_service_exits_2_naming_the_known_ones(tmp_path: Path) -> None:
    result = run_tradewind("service", "nosuch", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "tradewind: error: NAME: unknown service 'nosuch'; known services: " + ", ".join(SERVICES)
    ]


def test_a_bad_value_in_the_config_file_names_the_setting_and_the_file(tmp_path: Path) -> None:
    settings_file = tmp_path / "tradewind.env"
    settings_file.write_text("TRADEWIND_LOG_FORMAT=xml\n")
    result = run_tradewind(
        "up", "--no-live", "--venue-port", "0", "--config", str(settings_file), cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "tradewind: error: TRADEWIND_LOG_FORMAT: Input should be 'auto', 'json' or 'console', "
        f"got 'xml' (set in {settings_file})"
    ]


def test_a_busy_health_port_exits_2_naming_the_setting(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_tradewind(
            "service", "deadletters", cwd=tmp_path, TRADEWIND_HEALTH_PORT=str(port)
        )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"tradewind: error: TRADEWIND_HEALTH_PORT: cannot listen on 127.0.0.1:{port}: "
        "[Errno 98] Address already in use"
    ]


@pytest.mark.parametrize("command", [[TRADEWIND], [sys.executable, "-m", "tradewind.cli"]])
def test_version_prints_the_version(command: list[str], tmp_path: Path) -> None:
    result = subprocess.run(
        [*command, "version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stdout) == (0, f"tradewind {__version__}\n")


# -- `tradewind up` without and with a terminal -------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class EmptyRun(NamedTuple):
    done: subprocess.CompletedProcess[str]
    report: dict[str, Any]
    screenshot: str  # the SVG's text, a line per row


def svg_text(svg: str) -> str:
    """The text of a Rich SVG screenshot, each row of the screen on its own line (Rich
    places each run of text at x = column x 12.2 px and leaves blanks out)."""
    rows: dict[float, list[str]] = {}
    found = re.findall(r'<text[^>]* x="([0-9.]+)" y="([0-9.]+)"[^>]*>([^<]*)</text>', svg)
    for x, y, text in found:
        row = rows.setdefault(float(y), [])
        column = round(float(x) / 12.2)
        row.extend(" " * (column - len(row)))
        row[column:] = html.unescape(text).replace("\xa0", " ")
    lines = ("".join(rows[y]).rstrip() for y in sorted(rows))
    return "\n".join(line for line in lines if line)


@pytest.fixture(scope="module")
def empty_run(tmp_path_factory: pytest.TempPathFactory) -> EmptyRun:
    """`tradewind up --bots 0` for two seconds, live screen on, stdout and stderr piped
    (no terminal) at Rich's default 80 columns, its end-of-run report and screenshot."""
    cwd = tmp_path_factory.mktemp("empty-run")
    done = run_tradewind(
        "up", "--bots", "0", "--for", "2", "--venue-port", "0", "--report", "report.json",
        "--screenshot", "screen.svg", cwd=cwd, COLUMNS="80", TRADEWIND_HTTP_PORT=str(free_port()),
        TRADEWIND_HEALTH_PORT=str(free_port()), TRADEWIND_LOG_FORMAT="auto",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((cwd / "report.json").read_text())
    return EmptyRun(done, report, svg_text((cwd / "screen.svg").read_text()))


def test_up_with_bots_0_runs_an_empty_platform(empty_run: EmptyRun) -> None:
    screen = empty_run.done.stdout
    assert "no demo users: --bots 0" in screen and "sign in" not in screen
    assert re.search(r"│ bots\s+│ 0\s+│", screen), screen
    logged = [json.loads(line) for line in empty_run.done.stderr.splitlines()]
    [started] = [line for line in logged if line["event"] == "strategy service started"]
    assert started["bots"] == 0
    assert empty_run.report["accounts"] == []
    assert (empty_run.report["totals"]["orders"], empty_run.report["totals"]["fills"]) == (0, 0)


def test_without_a_terminal_the_welcome_never_splits_a_url(empty_run: EmptyRun) -> None:
    lines = empty_run.done.stdout.splitlines()
    api = next(line for line in lines if line.startswith("  API "))
    assert re.fullmatch(
        r"  API +(http://127\.0\.0\.1:\d+)/api/v1 +\(try it in the browser: \1/docs\)", api
    ), api
    exchange = next(line for line in lines if line.startswith("  exchange "))
    assert re.fullmatch(
        r"  exchange +(http://127\.0\.0\.1:[1-9]\d*) +"
        r"\(Binance API; faucet: POST \1/sim/v1/accounts\)",
        exchange,
    ), exchange  # and the port bound, not the 0 asked for


def test_without_a_terminal_auto_log_format_writes_json_lines(empty_run: EmptyRun) -> None:
    lines = empty_run.done.stderr.splitlines()
    assert lines
    assert all(json.loads(line)["event"] for line in lines), lines[:3]


def run_on_a_terminal(*args: str, cwd: Path, **settings: str) -> tuple[int, str]:
    """`tradewind ARGS` on a pseudo-terminal (stdin, stdout and stderr): its exit status
    and everything it wrote there, escapes removed."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [TRADEWIND, *args], env=environment(**settings), cwd=cwd,
        stdin=slave, stdout=slave, stderr=slave, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    written = bytearray()
    watchdog = threading.Timer(60, process.kill)  # ends the reads below if it hangs
    watchdog.start()
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the process closed its end of the terminal
                break
            if not chunk:
                break
            written += chunk
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
        os.close(master)
    code = process.wait(10)
    assert code != -signal.SIGKILL, f"still running after 60 s:\n{written[-3000:]!r}"
    return code, _ANSI.sub("", written.decode(errors="replace"))


def test_on_a_terminal_auto_log_format_writes_console_lines(tmp_path: Path) -> None:
    code, screen = run_on_a_terminal(
        "up", "--no-live", "--bots", "0", "--for", "2", "--venue-port", "0",
        cwd=tmp_path, TRADEWIND_HTTP_PORT=str(free_port()),
        TRADEWIND_HEALTH_PORT=str(free_port()), TRADEWIND_LOG_FORMAT="auto",
    )  # fmt: skip
    assert code == 0, screen[-3000:]
    logged = [line for line in screen.splitlines() if "[info     ]" in line]
    assert any("running" in line and "tradewind.runtime" in line for line in logged), screen
    assert '{"timestamp"' not in screen, screen[-3000:]


def test_the_screenshot_shows_the_welcome_and_the_screen_while_it_ran(empty_run: EmptyRun) -> None:
    shot = empty_run.screenshot
    welcome = empty_run.done.stdout.split("Stop with Ctrl-C.")[0].splitlines()
    assert len(welcome) > 3 and all(line in shot for line in welcome), shot
    assert "Tradewind — embedded" in shot
    # Taken before the market froze: market data still flowed in the last seconds.
    assert re.search(r"events/s +│ [1-9][0-9,]* +\(last 5 s\)", shot), shot


def test_the_end_of_run_report_has_each_accounts_analytics_and_the_platforms(
    tmp_path: Path,
) -> None:
    """`tradewind up --bots 4 --report`: every account's latest figures from the analytics
    service (computed each second here) and the platform's, under the metric names of
    docs/analytics.md; the screen shows the platform's return."""
    done = run_tradewind(
        "up", "--bots", "4", "--for", "12", "--venue-port", "0", "--report", "report.json",
        cwd=tmp_path, COLUMNS="160", TRADEWIND_HTTP_PORT=str(free_port()),
        TRADEWIND_HEALTH_PORT=str(free_port()), TRADEWIND_ANALYTICS_INTERVAL_S="1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    names = {"total_return", "max_drawdown", "current_drawdown", "volatility", "sharpe",
             "trades", "win_rate"}  # fmt: skip
    for account in report["accounts"]:
        figures = account["analytics"]
        assert figures is not None, account["account_id"]
        assert names <= set(figures) and figures["period_s"] == 60
        # The figures of the account's final valuation: the service computes the accounts
        # that changed since its last round on its way out, so none is left a round behind.
        assert figures["equity"] == account["equity"], account
        assert figures["valuation_asset"] == ("BTC" if account["venue"] == "sim" else "USD")
    # One figure per valuation asset: BTC on the Binance-style exchange's 2018 replay, USD
    # on the Coinbase-style one.
    platforms = report["totals"]["analytics"]
    assert set(platforms) == {"BTC", "USD"} == set(report["totals"]["equity"])
    for asset, platform in platforms.items():
        assert names <= set(platform) and -1 < platform["total_return"] < 1
        assert re.search(r"platform return\s+│ .*[+-]\d+\.\d{3}% " + asset, done.stdout), (
            done.stdout
        )


def test_up_trades_on_both_simulated_exchanges_and_every_account_matches_its_venue(
    tmp_path: Path,
) -> None:
    """The issue's "done when" at a small size: `tradewind up --bots 20` runs its demo bots
    on both simulated exchanges (accounts alternating: the Binance-style `sim`, funded in
    BTC for the 2018 replay, and the Coinbase-style `sim-coinbase`, funded in USD and
    trading its USD pairs), both exchanges' APIs are served, and at the end every
    account's platform balances equal what its own venue holds for it."""
    done = run_tradewind(
        "up", "--no-live", "--bots", "20", "--for", "20", "--venue-port", "0",
        "--report", "report.json", cwd=tmp_path, TRADEWIND_HTTP_PORT=str(free_port()),
        TRADEWIND_HEALTH_PORT=str(free_port()),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    exchanges = [line for line in done.stdout.splitlines() if line.startswith("  exchange ")]
    assert [re.sub(r".*\((.*?);.*", r"\1", line) for line in exchanges] == [
        "Binance API",
        "Coinbase Advanced Trade API",
    ], exchanges
    accounts = json.loads((tmp_path / "report.json").read_text())["accounts"]
    assert [a["venue"] for a in accounts] == ["sim", "sim-coinbase"] * 10
    for account in accounts:
        assert account["balances_match"], account  # equal amounts, asset by asset
        assert account["balances"].keys() == account["venue_balances"].keys(), account
    coinbase = [a for a in accounts if a["venue"] == "sim-coinbase"]
    binance = [a for a in accounts if a["venue"] == "sim"]
    assert all(set(a["venue_balances"]) <= {"USD", "BTC", "ETH", "SOL"} for a in coinbase)
    assert all("USD" not in a["venue_balances"] for a in binance)
    for side in (binance, coinbase):  # bots traded on each exchange
        assert sum(a["fills"] for a in side) > 0, side
