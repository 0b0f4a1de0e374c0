"""Which limits execution's gate paces each venue by (`TRADEWIND_EXECUTION_RATE_LIMITS`):
in `auto`, those its adapter publishes — Binance's for the simulated Binance-compatible
venues served over HTTP and for venues declared `binance` or `binance-testnet`, none for
Coinbase or generic ccxt venues (ccxt's own limiter paces those), nor for the in-process
simulated exchange; in `off`, none."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from tradewind.runtime.service_settings import ExecutionSettings
from tradewind.services.execution.service import pacing
from tradewind.venues.binance.limits import rules as binance_rules
from tradewind.venues.catalog import parse_venues
from tradewind.venues.directory import CcxtVenues, SimulatedVenues
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket, SyntheticSpec

SIMULATED = {"sim": "http://127.0.0.1:8765"}
DECLARED = "bn=binance,bt=binance-testnet,cb=coinbase,kr=ccxt:kraken"


def networked() -> CcxtVenues:
    return CcxtVenues(SIMULATED, parse_venues(DECLARED, SIMULATED))


@pytest.mark.parametrize(
    ("policy", "paced"),
    [("auto", {"sim", "bn", "bt"}), ("off", set())],
)
def test_published_limits_pace_only_the_venues_that_publish_them(
    policy: str, paced: set[str]
) -> None:
    settings = ExecutionSettings(execution_rate_limits=policy)  # type: ignore[arg-type]
    venues = networked()
    rules = pacing(settings, venues)
    assert {name for name in venues.names if rules(name) is not None} == paced
    for name in paced:
        assert rules(name) == binance_rules()


def test_the_in_process_exchange_is_never_paced() -> None:
    now_ms = time.time_ns() // 1_000_000
    market = SyntheticMarket({"BTC/USDT": SyntheticSpec(Decimal(30_000))}, start_ms=now_ms)
    venues = SimulatedVenues(SimulatedExchange(market))
    assert pacing(ExecutionSettings(), venues)("sim") is None


def test_a_policy_that_names_an_exchange_is_refused() -> None:
    with pytest.raises(ValueError, match="auto"):
        ExecutionSettings(execution_rate_limits="binance")  # type: ignore[arg-type]
