"""The README's newcomer path on the embedded platform: `tradewind up`, then register,
connect a simulated exchange account, start a bot, watch the portfolio move over the
WebSocket, and find only ciphertext where the key is stored (examples/walkthrough.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tradewind.bus.tansu import free_port, port_open

ROOT = Path(__file__).parents[2]
TRADEWIND = str(Path(sys.executable).parent / "tradewind")


def test_a_newcomer_trades_through_the_gateway_and_the_key_is_unreadable(tmp_path: Path) -> None:
    gateway, venue, health = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND_")}
    env |= {"TRADEWIND_HTTP_PORT": str(gateway), "TRADEWIND_HEALTH_PORT": str(health)}
    log = (tmp_path / "up.log").open("w")
    up = subprocess.Popen(
        [TRADEWIND, "up", "--no-live", "--venue-port", str(venue), "--for", "120"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(300):  # a minute
            if port_open("127.0.0.1", gateway, 0.2) and port_open("127.0.0.1", venue, 0.2):
                break
            assert up.poll() is None, "up exited before it served"
            time.sleep(0.2)
        else:
            raise AssertionError("up did not start in a minute")
        walk = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "walkthrough.py"),
             f"http://127.0.0.1:{gateway}", f"http://127.0.0.1:{venue}",
             str(tmp_path / ".tradewind" / "embedded.db")],
            capture_output=True, text=True, timeout=90,
        )  # fmt: skip
    finally:
        up.terminate()
        code = up.wait(60)
        log.close()
    up_log = (tmp_path / "up.log").read_text()
    assert walk.returncode == 0, walk.stdout + walk.stderr + "\nup.log (tail):\n" + up_log[-6000:]
    for step in ("1. registered", "2. connected", "3. started", "4. portfolio", "4. fill", "5."):
        assert step in walk.stdout
    assert code == 0
    assert "token=eyJ" not in up_log, "an access token was logged"
