"""The first five minutes, as a newcomer on a terminal sees them: `tradewind up` with no
options shows a platform at work within 30 s of launch on a clean screen (no log lines:
they go to a file it names), says once what to open (the API and its docs, metrics, the
exchange's faucet) and whom to sign in as, and that demo user signs in through the API
and finds their bot and its fills."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tradewind.bus.tansu import free_port

TRADEWIND = str(Path(sys.executable).parent / "tradewind")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: The issue's "done when": `./dev up` and nothing else shows trading within 30 s.
TRADING_SHOWN_WITHIN_S = 30.0
_STEP_S = 0.2  # a wait for the screen: sleep this long, then read what came
#: What `tradewind up` says when a port it was given is in use.
PORT_TAKEN = r"cannot\s+listen\s+on\s+\S+:\s+\[Errno\s+98\]\s+Address\s+already\s+in\s+use"


class Terminal:
    """A process on a pseudo-terminal, and everything it wrote there (escapes removed)."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self._master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True
        )
        os.close(slave)
        self.screen = ""
        self.steps_waited = 0

    def read_until(self, pattern: str, by_s: float, what: str) -> re.Match[str]:
        """The first match of `pattern` on the screen, waiting for it at most `by_s`
        seconds (in steps of `_STEP_S`; the waits of earlier calls count too)."""
        while True:
            found = re.search(pattern, self.screen, re.DOTALL)
            if found:
                return found
            assert self.steps_waited * _STEP_S < by_s, (
                f"{what} not shown {by_s:.0f} s after the launch:\n{self.screen[-3000:]}"
            )
            self.wait_step()

    def wait_step(self) -> None:
        """Sleep one `_STEP_S`, then take what the process wrote meanwhile."""
        time.sleep(_STEP_S)
        self.steps_waited += 1
        while self.pump(0):
            pass

    def pump(self, wait_s: float) -> bool:
        """Take what the process wrote, waiting up to `wait_s` for it; whether it had."""
        ready, _, _ = select.select([self._master], [], [], wait_s)
        if not ready:
            return False
        try:
            chunk = os.read(self._master, 65536)
        except OSError:  # the process closed the terminal
            return False
        self.screen += _ANSI.sub("", chunk.decode(errors="replace"))
        return bool(chunk)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # Ctrl-C, as the welcome says
        for _ in range(int(60 / _STEP_S)):
            if self.proc.poll() is not None:
                break
            self.wait_step()
        os.close(self._master)
        return self.proc.wait(5)


def test_up_with_no_options_shows_trading_on_a_clean_screen_and_a_demo_user_signs_in(
    tmp_path: Path,
) -> None:
    # The first launch gets a venue port already taken, as a port found free can be
    # taken before `up` listens on it (another test's connection: seen in CI). `up` says
    # so and exits; it is launched again on new ports, the clock started again.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        taken = held.getsockname()[1]
        for attempt in range(3):
            gateway, venue, health = free_port(), free_port() if attempt else taken, free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND_")}
            # A terminal of the usual default size, 80 x 24.
            env |= {"TRADEWIND_HTTP_PORT": str(gateway), "TRADEWIND_HEALTH_PORT": str(health),
                    "COLUMNS": "80", "LINES": "24", "TERM": "xterm"}  # fmt: skip
            terminal = Terminal([TRADEWIND, "up", "--venue-port", str(venue)], tmp_path, env)
            started = terminal.read_until(
                rf"Tradewind is running|{PORT_TAKEN}", TRADING_SHOWN_WITHIN_S, "the welcome"
            )
            if not re.fullmatch(PORT_TAKEN, started.group(0)):
                break
            assert terminal.stop() != 0, "up went on with a port it cannot listen on"
    assert attempt >= 1, "the taken port was not refused"
    try:
        welcome = terminal.read_until(
            r"Tradewind is running.*?Stop with Ctrl-C\.", TRADING_SHOWN_WITHIN_S, "the welcome"
        ).group(0)
        # Trading as a newcomer sees it: bots with orders on the live screen.
        terminal.read_until(
            r"busiest bots\s+│ \S+ \(demo-\d+\): [1-9]",
            TRADING_SHOWN_WITHIN_S,
            "trading (the busiest bots, with orders)",
        )
        # Each address whole on its line (never split where 80 columns end).
        site = re.escape("http://127.0.0.1")
        for shown in (
            rf"API\s+{site}:{gateway}/api/v1\s.*\b{site}:{gateway}/docs\b",
            rf"metrics\s+{site}:{health}/metrics\s",
            rf"faucet: POST {site}:{venue}/sim/v1/accounts\b",
        ):
            assert re.search(shown, welcome), f"{shown!r} not in the welcome:\n{welcome}"
        signed = re.search(r"sign in\s+(\S+@\S+) / (\S+)\s", welcome)
        assert signed, f"no demo user in the welcome:\n{welcome}"
        email, password = signed.group(1), signed.group(2)
        logs = re.search(r"logs\s+(\S+\.log)", welcome)
        assert logs, f"no log file in the welcome:\n{welcome}"

        api = f"http://127.0.0.1:{gateway}/api/v1"
        with httpx.Client(base_url=api, timeout=10) as client:
            login = client.post("/auth/login", json={"email": email, "password": password})
            assert login.status_code == 200, login.text
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            bots = client.get("/bots", headers=auth).json()["items"]
            assert len(bots) == 1 and bots[0]["state"] == "running"
            for _ in range(int(90 / _STEP_S)):
                if fills := client.get("/fills", headers=auth).json()["items"]:
                    break
                terminal.wait_step()
            assert fills, "the demo user's bot never traded in 90 s"
            assert fills[0]["account_id"] == bots[0]["account_id"]
    finally:
        code = terminal.stop()
    assert code == 0, terminal.screen[-3000:]
    assert terminal.screen.count("Tradewind is running") == 1, "the welcome is not said once"
    assert '"timestamp"' not in terminal.screen and '"level"' not in terminal.screen, (
        "log lines on the screen"
    )
    lines = (tmp_path / logs.group(1)).read_text().splitlines()
    assert lines and all(json.loads(line)["event"] for line in lines)  # JSON lines, in the file
