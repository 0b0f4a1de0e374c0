"""Freqtrade, unmodified and in its own virtual environment, trading live on
`tradewind venue serve` as if it were Binance: only ccxt's URLs point at the venue.

It starts the venue replaying the bundled January-2018 candles (seven pairs quoted in
BTC) with a day of history, opens an account of 1 BTC there, and runs `freqtrade trade`
with `tradewind_probe.TradewindProbe` for the given minutes: stakes sized by freqtrade
from ccxt's market limits, market entries and exits, the stop-loss kept on the exchange
as STOP_LOSS_LIMIT orders, candles over the venue's WebSocket streams. Then it checks
what a user of the framework would:

- trades were opened and closed, and stop-loss orders were placed on the exchange;
- the framework's log has no error and no exchange warning;
- its wallet equals the venue's balances of the account, asset by asset, to the last
  decimal.

    python -m tests.bot_frameworks.freqtrade_live --minutes 60    # the hour of issue #8
    ./dev test -m bot_framework                                   # 10 minutes, as a test

The first run creates `.venv-freqtrade` (freqtrade's pins, `freqtrade/requirements.txt`).
It is not part of the default suite: an hour of market does not fit CI's budget."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt.pro  # type: ignore[import-untyped]
import httpx

from tradewind.venues.ccxt_venue import rehosted_urls

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "freqtrade"
VENV = ROOT / ".venv-freqtrade"
PAIRS = ["ETH/BTC", "LTC/BTC", "XMR/BTC", "DASH/BTC", "ZEC/BTC", "ETC/BTC", "XLM/BTC"]
STAKE = {"BTC": "1"}
API_USER, API_PASSWORD = "tradewind", "probe-password"
POLL_S = 5.0
#: Warnings of freqtrade that mean the exchange misbehaved (ccxt's error classes and
#: freqtrade's wrappers of them).
EXCHANGE_TROUBLE = (
    "ExchangeError",
    "InvalidOrder",
    "InsufficientFunds",
    "TemporaryError",
    "DDosProtection",
    "OperationalException",
    "BadRequest",
    "Could not",
    "retrying",
    "Unable",
)


def ensure_freqtrade() -> Path:
    """The freqtrade executable of `.venv-freqtrade`, installed from its pins when they
    changed."""
    requirements = HERE / "requirements.txt"
    want = hashlib.sha256(requirements.read_bytes()).hexdigest()
    stamp = VENV / ".installed-from"
    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if not stamp.exists() or stamp.read_text().strip() != want:
        pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--disable-pip-version-check", "-r", str(requirements)], check=True)
        stamp.write_text(want + "\n")
    return VENV / "bin" / "freqtrade"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, what: str, process: subprocess.Popen[bytes], tries: int = 300) -> None:
    for _ in range(tries):
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before it answered")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer at {url}")


def open_account(venue_url: str) -> dict[str, str]:
    body = {"balances": STAKE, "permissions": {"trade": True, "withdraw": False}}
    response = httpx.post(f"{venue_url}/sim/v1/accounts", json=body, timeout=10)
    response.raise_for_status()
    return dict(response.json())


def freqtrade_config(venue_url: str, account: dict[str, str], api_port: int, workdir: Path) -> Any:
    base_ws = venue_url.replace("http://", "ws://")
    urls = {"api": rehosted_urls(ccxt.pro.binance().urls["api"], venue_url, base_ws)}
    return {
        "bot_name": "tradewind-probe",
        "dry_run": False,
        "trading_mode": "spot",
        "stake_currency": "BTC",
        "stake_amount": "unlimited",
        "tradable_balance_ratio": 0.99,
        "max_open_trades": 3,
        "fiat_display_currency": "",
        "initial_state": "running",
        "entry_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "exit_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "exchange": {
            "name": "binance",
            "key": account["api_key"],
            "secret": account["api_secret"],
            "ccxt_config": {"urls": urls},
            "ccxt_async_config": {"urls": urls},
            "pair_whitelist": PAIRS,
            "pair_blacklist": [],
        },
        "pairlists": [{"method": "StaticPairList"}],
        "api_server": {
            "enabled": True,
            "listen_ip_address": "127.0.0.1",
            "listen_port": api_port,
            "username": API_USER,
            "password": API_PASSWORD,
            "jwt_secret_key": os.urandom(16).hex(),
            "ws_token": os.urandom(16).hex(),
        },
        "telegram": {"enabled": False, "token": "", "chat_id": ""},
        "internals": {"process_throttle_secs": 5},
        "db_url": f"sqlite:///{workdir / 'trades.sqlite'}",
        "user_data_dir": str(workdir / "user_data"),
        "strategy": "TradewindProbe",
        "strategy_path": str(HERE),
    }


@dataclass
class Outcome:
    """What the run showed; `problems` is empty when it went as a user expects."""

    minutes: float
    trades_opened: int = 0
    trades_closed: int = 0
    stoploss_orders: int = 0
    stopped_out: int = 0
    exit_reasons: dict[str, int] = field(default_factory=dict)
    log_errors: list[str] = field(default_factory=list)
    exchange_warnings: list[str] = field(default_factory=list)
    wallet_differences: list[str] = field(default_factory=list)
    workdir: str = ""

    def problems(self) -> list[str]:
        found = []
        if not self.trades_closed:
            found.append(f"no trade closed ({self.trades_opened} opened)")
        if not self.stoploss_orders:
            found.append("no stop-loss order was placed on the exchange")
        found += [f"log error: {line}" for line in self.log_errors]
        found += [f"exchange warning: {line}" for line in self.exchange_warnings]
        found += [f"wallet: {line}" for line in self.wallet_differences]
        return found


def read_trades(database: Path, outcome: Outcome) -> None:
    with sqlite3.connect(database) as db:
        trades = db.execute("SELECT is_open, exit_reason FROM trades").fetchall()
        stoplosses = db.execute(
            "SELECT COUNT(*) FROM orders WHERE ft_order_side = 'stoploss' AND order_id IS NOT NULL"
        ).fetchone()[0]
    outcome.trades_opened = len(trades)
    outcome.trades_closed = sum(1 for is_open, _ in trades if not is_open)
    outcome.stoploss_orders = int(stoplosses)
    for is_open, reason in trades:
        if not is_open:
            outcome.exit_reasons[reason] = outcome.exit_reasons.get(reason, 0) + 1
    outcome.stopped_out = outcome.exit_reasons.get("stoploss_on_exchange", 0)


def read_log(log: Path, outcome: Outcome) -> None:
    for line in log.read_text(errors="replace").splitlines():
        if " - ERROR - " in line or " - CRITICAL - " in line:
            outcome.log_errors.append(line)
        elif " - WARNING - " in line and any(word in line for word in EXCHANGE_TROUBLE):
            outcome.exchange_warnings.append(line)


def wallet_differences(api_url: str, venue_url: str, account_id: str) -> list[str]:
    """Assets where freqtrade's wallet and the venue's balances differ (empty: equal)."""
    wallet = httpx.get(f"{api_url}/api/v1/balance", auth=(API_USER, API_PASSWORD), timeout=10)
    wallet.raise_for_status()
    held = {
        c["currency"]: Decimal(repr(c["balance"]))
        for c in wallet.json()["currencies"]
        if c["balance"]
    }
    venue = httpx.get(f"{venue_url}/sim/v1/accounts/{account_id}/balances", timeout=10)
    venue.raise_for_status()
    at_venue = {
        asset: Decimal(b["free"]) + Decimal(b["locked"])
        for asset, b in venue.json().items()
        if Decimal(b["free"]) + Decimal(b["locked"])
    }
    return [
        f"{asset}: freqtrade {held.get(asset)} != venue {at_venue.get(asset)}"
        for asset in sorted(held.keys() | at_venue.keys())
        if held.get(asset) != at_venue.get(asset)
    ]


def run(minutes: float, workdir: Path, speed: float = 1.0) -> Outcome:
    """Trade for `minutes` of wall time (`speed` times as much market) and check."""
    freqtrade = ensure_freqtrade()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "user_data").mkdir(exist_ok=True)
    venue_port, api_port = free_port(), free_port()
    venue_url, api_url = f"http://127.0.0.1:{venue_port}", f"http://127.0.0.1:{api_port}"
    tradewind = [str(Path(sys.executable).parent / "tradewind"), "venue", "serve"]
    venue_args = ["--market", "replay:", "--speed", str(speed), "--port", str(venue_port)]
    venue_log = (workdir / "venue.log").open("wb")
    venue = subprocess.Popen([*tradewind, *venue_args], stdout=venue_log, stderr=venue_log)
    bot: subprocess.Popen[bytes] | None = None
    outcome = Outcome(minutes=minutes, workdir=str(workdir))
    try:
        wait_for(f"{venue_url}/api/v3/ping", "the venue", venue)
        account = open_account(venue_url)
        config = workdir / "config.json"
        config.write_text(json.dumps(freqtrade_config(venue_url, account, api_port, workdir)))
        log = workdir / "freqtrade.log"
        command = [str(freqtrade), "trade", "--config", str(config), "--logfile", str(log)]
        bot_out = (workdir / "freqtrade.out").open("wb")
        # As a user runs it: freqtrade sets up no logging (so no --logfile) when it sees
        # pytest's PYTEST_VERSION, which a run under pytest would hand down.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        bot = subprocess.Popen(
            command, stdout=bot_out, stderr=subprocess.STDOUT, cwd=workdir, env=env
        )
        wait_for(f"{api_url}/api/v1/ping", "freqtrade's API", bot, tries=900)
        for _ in range(round(minutes * 60 / POLL_S)):  # trading, checked every POLL_S
            if bot.poll() is not None:
                outcome.log_errors.append(f"freqtrade exited with {bot.returncode}")
                break
            time.sleep(POLL_S)
        if bot.poll() is None:
            for _ in range(12):  # an order in flight settles within a loop or two
                differences = wallet_differences(api_url, venue_url, account["account_id"])
                if not differences:
                    break
                time.sleep(5)
            outcome.wallet_differences = differences
        read_trades(workdir / "trades.sqlite", outcome)
        read_log(log, outcome)
    finally:
        for process in (bot, venue):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="wall time to trade")
    parser.add_argument("--speed", type=float, default=1.0, help="replay speed")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/tradewind-freqtrade"))
    args = parser.parse_args()
    outcome = run(args.minutes, args.workdir, args.speed)
    summary = {k: v for k, v in vars(outcome).items() if k not in ("log_errors",)}
    print(json.dumps({**summary, "problems": outcome.problems()}, indent=2))
    return 1 if outcome.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
