"""The README's newcomer path: fund an account with one HTTP call and trade on it with
plain ccxt (examples/trade_with_ccxt.py), against a served simulated exchange."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.integration.venues.sim_rest_support import running_venue

EXAMPLE = Path(__file__).parents[3] / "examples" / "trade_with_ccxt.py"


def test_the_ccxt_example_trades_on_a_faucet_account() -> None:
    with running_venue() as (url, _state):
        creds = httpx.post(f"{url}/sim/v1/accounts", json={"balances": {"USDT": "10000"}}).json()
        done = subprocess.run(
            [sys.executable, str(EXAMPLE), creds["api_key"], creds["api_secret"], url],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    assert "market buy: closed, filled 0.01" in done.stdout
    assert "limit sell resting: open" in done.stdout
    assert "live trades:" in done.stdout
    assert creds["api_secret"] not in done.stdout + done.stderr
