"""Every example, bench script, `tradewind` command and `./dev` answers `--help` with its
usage, and a bad argument with one stderr line naming it and status 2, never a traceback.

Each case runs the program as a process (`sys.executable`) on this checkout's code;
nothing here starts a platform or a benchmark.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tradewind.bus.tansu import free_port

ROOT = Path(__file__).parents[2]
WALKTHROUGH = str(ROOT / "examples" / "walkthrough.py")
TRADE_WITH_CCXT = str(ROOT / "examples" / "trade_with_ccxt.py")
BENCH_SCRIPTS = sorted((ROOT / "bench").glob("*.py"))
TRADEWIND = ["-m", "tradewind.cli"]


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    """`python ARGUMENTS` from the repository root, importing this checkout's tradewind."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


HELP = [
    pytest.param([WALKTHROUGH, "--help"], "walkthrough.py [-h] [GATEWAY_URL]", id="walkthrough"),
    pytest.param(
        [TRADE_WITH_CCXT, "--help"], "trade_with_ccxt.py [-h] API_KEY", id="trade_with_ccxt"
    ),
    *(
        pytest.param([str(script), "--help"], f"usage: {script.name}", id=f"bench/{script.name}")
        for script in BENCH_SCRIPTS
    ),
    pytest.param([*TRADEWIND, "--help"], "Usage: tradewind [OPTIONS] COMMAND", id="tradewind"),
    pytest.param([*TRADEWIND, "up", "--help"], "Usage: tradewind up [OPTIONS]", id="up"),
    pytest.param(
        [*TRADEWIND, "profile", "--help"],
        "Usage: tradewind profile [OPTIONS] {SCENARIO}",
        id="profile",
    ),
    pytest.param([*TRADEWIND, "service", "--help"], "Usage: tradewind service", id="service"),
    pytest.param(
        [*TRADEWIND, "venue", "serve", "--help"], "Usage: tradewind venue serve", id="venue-serve"
    ),
    *(
        pytest.param(
            [*TRADEWIND, *command.split(), "--help"],
            f"Usage: tradewind {command} [OPTIONS]",
            id=command.replace(" ", "-"),
        )
        for command in (
            "venue",
            "keys",
            "keys generate",
            "keys rotate",
            "db",
            "db upgrade",
            "users",
            "users grant-admin",
            "users revoke-admin",
            "bench",
            "bench bus",
            "bench compare",
            "chaos",
            "analytics",
            "analytics rebuild",
            "version",
        )
    ),
]


@pytest.mark.parametrize(("arguments", "usage"), HELP)
def test_help_prints_the_usage_and_exits_0(arguments: list[str], usage: str) -> None:
    done = run(*arguments)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert usage in done.stdout


BAD_ARGUMENTS = [
    pytest.param(
        [WALKTHROUGH, "foo"],
        "walkthrough.py: error: argument GATEWAY_URL: 'foo' is not an http(s)://host[:port] URL",
        id="walkthrough-gateway-url",
    ),
    pytest.param(
        [WALKTHROUGH, "http://127.0.0.1:8000", "http://127.0.0.1:99999"],
        "walkthrough.py: error: argument VENUE_URL: 'http://127.0.0.1:99999' is not an "
        "http(s)://host[:port] URL",
        id="walkthrough-venue-port",
    ),
    pytest.param(
        [WALKTHROUGH, "--nope"],
        "walkthrough.py: error: unrecognized arguments: --nope",
        id="walkthrough-unknown-option",
    ),
    pytest.param(
        [WALKTHROUGH, "http://127.0.0.1:8000", "http://127.0.0.1:8765", "no/such.db"],
        "walkthrough.py: error: argument DATABASE_FILE: no file 'no/such.db'",
        id="walkthrough-database-file",
    ),
    pytest.param(
        [TRADE_WITH_CCXT, "KEY"],
        "trade_with_ccxt.py: error: the following arguments are required: API_SECRET",
        id="trade_with_ccxt-missing-secret",
    ),
    pytest.param(
        [TRADE_WITH_CCXT, "KEY", "SECRET", "127.0.0.1:8765"],
        "trade_with_ccxt.py: error: argument VENUE_URL: '127.0.0.1:8765' is not an "
        "http(s)://host[:port] URL",
        id="trade_with_ccxt-venue-url",
    ),
    *(
        pytest.param(
            [str(script), "--nope"],
            f"{script.name}: error: unrecognized arguments: --nope",
            id=f"bench/{script.name}",
        )
        for script in BENCH_SCRIPTS
    ),
    pytest.param(
        [str(ROOT / "bench" / "matching.py"), "--orders", "many"],
        "matching.py: error: argument --orders: invalid int value: 'many'",
        id="bench/matching.py-bad-value",
    ),
    pytest.param(
        [*TRADEWIND, "up", "--bots", "-3"],
        "tradewind: error: Invalid value for '--bots':",
        id="up-bots-out-of-range",
    ),
    pytest.param(
        [*TRADEWIND, "up", "--nope"], "tradewind: error: No such option: --nope", id="up-nope"
    ),
    pytest.param(
        [*TRADEWIND, "service"],
        "tradewind: error: Missing argument 'NAME'.",
        id="service-without-name",
    ),
    pytest.param(
        [*TRADEWIND, "venue", "serve", "--port", "http"],
        "tradewind: error: Invalid value for '--port':",
        id="venue-serve-port",
    ),
    pytest.param(
        [*TRADEWIND, "launch"], "tradewind: error: No such command 'launch'.", id="no-such-command"
    ),
    pytest.param(
        [*TRADEWIND, "keys", "launch"],
        "tradewind: error: No such command 'launch'.",
        id="keys-no-such-command",
    ),
    pytest.param(
        [*TRADEWIND, "keys", "generate", "--kid", "bad!id"],
        "tradewind: error: --kid: key id 'bad!id' must be",
        id="keys-generate-kid",
    ),
    pytest.param(
        [*TRADEWIND, "keys", "rotate", "--batch", "0"],
        "tradewind: error: Invalid value for '--batch':",
        id="keys-rotate-batch",
    ),
    pytest.param(
        [*TRADEWIND, "db", "upgrade", "--nope"],
        "tradewind: error: No such option: --nope",
        id="db-upgrade-nope",
    ),
    pytest.param(
        [*TRADEWIND, "users", "grant-admin"],
        "tradewind: error: Missing argument 'EMAIL'.",
        id="users-grant-admin-without-email",
    ),
    pytest.param(
        [*TRADEWIND, "users", "revoke-admin", "a@b.c", "d@e.f"],
        "tradewind: error: Got unexpected extra argument",
        id="users-revoke-admin-two-emails",
    ),
    pytest.param(
        [*TRADEWIND, "bench", "bus", "--rounds", "0"],
        "tradewind: error: Invalid value for '--rounds':",
        id="bench-bus-rounds",
    ),
    pytest.param(
        [*TRADEWIND, "bench", "compare", "no-such-old.json", "no-such-new.json"],
        "tradewind: error: no-such-old.json: cannot read it: No such file or directory",
        id="bench-compare-missing-file",
    ),
    pytest.param(
        [*TRADEWIND, "profile", "tick-to-moon"],
        "tradewind: error: SCENARIO: unknown scenario 'tick-to-moon'; known: tick-to-order, "
        "orders-pipeline, rebalance-wave, matching, bus, analytics, analytics-round, "
        "tick-to-risk, bots",
        id="profile-unknown-scenario",
    ),
    pytest.param(
        [*TRADEWIND, "profile", "matching", "--size", "huge"],
        "tradewind: error: --size: expected small or full, got 'huge'",
        id="profile-size",
    ),
    pytest.param(
        [*TRADEWIND, "chaos", "--bus", "nats"],
        "tradewind: error: Invalid value for --bus: 'nats': use redis or kafka",
        id="chaos-bus",
    ),
    pytest.param(
        [*TRADEWIND, "chaos", "--minutes", "0"],
        "tradewind: error: Invalid value for '--minutes':",
        id="chaos-minutes",
    ),
    pytest.param(
        [
            *TRADEWIND,
            "analytics",
            "rebuild",
            "--since",
            "2026-12-07T10:00",
            "--until",
            "2026-12-06",
        ],
        "tradewind: error: --since: 2026-12-07T10:00:00+00:00 is after --until "
        "2026-12-06T23:59:59.999999+00:00",
        id="analytics-rebuild-since-after-until",
    ),
    pytest.param(
        [*TRADEWIND, "analytics", "rebuild", "--since", "yesterday"],
        "tradewind: error: --since: 'yesterday' is not a date or time",
        id="analytics-rebuild-since",
    ),
    pytest.param(
        [*TRADEWIND, "version", "extra"],
        "tradewind: error: Got unexpected extra argument",
        id="version-extra",
    ),
]


@pytest.mark.parametrize(("arguments", "error"), BAD_ARGUMENTS)
def test_a_bad_argument_is_one_line_naming_it_and_exits_2(arguments: list[str], error: str) -> None:
    done = run(*arguments)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith(error)


def test_tradewind_without_a_command_prints_its_help() -> None:
    done = run(*TRADEWIND)
    assert done.returncode == 2
    assert "Usage: tradewind [OPTIONS] COMMAND" in done.stderr
    assert "Traceback" not in done.stderr


def run_dev(*arguments: str) -> subprocess.CompletedProcess[str]:
    """The repository's `./dev ARGUMENTS` (none of these set anything up)."""
    return subprocess.run(
        [str(ROOT / "dev"), *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("option", ["--help", "-h"])
def test_dev_help_prints_the_usage_and_exits_0(option: str) -> None:
    done = run_dev(option)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout.startswith("usage: ./dev up [tradewind up options] | ./dev test")


def test_dev_with_an_unknown_command_is_one_line_naming_it_and_exits_2() -> None:
    done = run_dev("launch")
    assert (done.returncode, done.stdout) == (2, ""), done.stdout + done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("dev: error: unknown command 'launch'; usage: ./dev up")


def test_dev_without_a_command_prints_its_usage_and_exits_2() -> None:
    done = run_dev()
    assert (done.returncode, done.stdout) == (2, ""), done.stdout + done.stderr
    assert done.stderr.startswith("usage: ./dev up")


def test_the_installed_tradewind_command_runs_main() -> None:
    # The one-line usage errors live in `main`, around the Typer app.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["tradewind"] == "tradewind.cli:main"


def test_the_walkthrough_names_the_gateway_it_cannot_reach(tmp_path: Path) -> None:
    database = tmp_path / "embedded.db"
    database.touch()
    gateway = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    done = run(WALKTHROUGH, gateway, "http://127.0.0.1:8765", str(database))
    assert done.returncode == 1, done.stdout + done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"walkthrough.py: error: cannot reach {gateway} ")
    assert line.endswith("Start it with `./dev up`")


def test_the_ccxt_example_names_the_venue_it_cannot_reach() -> None:
    venue = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    done = run(TRADE_WITH_CCXT, "KEY", "SECRET", venue)
    assert done.returncode == 1, done.stdout + done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"trade_with_ccxt.py: error: cannot reach {venue} ")
    assert "`./dev up`" in line
