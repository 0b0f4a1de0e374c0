"""The first five minutes, as a newcomer on a terminal sees them: `tradewind up` with no
options shows a platform at work on a clean screen (no log lines: they go to a file it
names), says once what to open and whom to sign in as, and that demo user signs in
through the API and finds their bot and its fills."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tradewind.bus.tansu import free_port

TRADEWIND = str(Path(sys.executable).parent / "tradewind")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """A process on a pseudo-terminal, and everything it wrote there (escapes removed)."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self._master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True
        )
        os.close(slave)
        self.screen = ""

    def read_until(self, pattern: str, timeout_s: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        while True:
            found = re.search(pattern, self.screen)
            if found:
                return found
            assert time.monotonic() < deadline, f"{pattern!r} not shown:\n{self.screen[-3000:]}"
            self.pump(0.2)

    def pump(self, wait_s: float) -> None:
        ready, _, _ = select.select([self._master], [], [], wait_s)
        if ready:
            try:
                chunk = os.read(self._master, 65536)
            except OSError:  # the process closed the terminal
                return
            self.screen += _ANSI.sub("", chunk.decode(errors="replace"))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # Ctrl-C, as the welcome says
        deadline = time.monotonic() + 60
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.pump(0.2)
        os.close(self._master)
        return self.proc.wait(5)


def test_up_with_no_options_shows_trading_on_a_clean_screen_and_a_demo_user_signs_in(
    tmp_path: Path,
) -> None:
    gateway, venue, health = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND_")}
    env |= {"TRADEWIND_HTTP_PORT": str(gateway), "TRADEWIND_HEALTH_PORT": str(health),
            "COLUMNS": "120", "LINES": "50", "TERM": "xterm"}  # fmt: skip
    terminal = Terminal([TRADEWIND, "up", "--venue-port", str(venue)], tmp_path, env)
    try:
        signed = terminal.read_until(r"sign in\s+(\S+@\S+) / (\S+)", timeout_s=90)
        email, password = signed.group(1), signed.group(2)
        logs = terminal.read_until(r"logs\s+(\S+\.log)", timeout_s=5).group(1)
        terminal.read_until(r"busiest bots", timeout_s=60)  # the live screen, trading

        api = f"http://127.0.0.1:{gateway}/api/v1"
        with httpx.Client(base_url=api, timeout=10) as client:
            login = client.post("/auth/login", json={"email": email, "password": password})
            assert login.status_code == 200, login.text
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            bots = client.get("/bots", headers=auth).json()["items"]
            assert len(bots) == 1 and bots[0]["state"] == "running"
            deadline = time.monotonic() + 90
            while not (fills := client.get("/fills", headers=auth).json()["items"]):
                assert time.monotonic() < deadline, "the demo user's bot never traded"
                terminal.pump(1.0)
            assert fills[0]["account_id"] == bots[0]["account_id"]
    finally:
        code = terminal.stop()
    assert code == 0, terminal.screen[-3000:]
    assert '"timestamp"' not in terminal.screen and '"level"' not in terminal.screen, (
        "log lines on the screen"
    )
    lines = (tmp_path / logs).read_text().splitlines()
    assert lines and all(json.loads(line)["event"] for line in lines)  # JSON lines, in the file
