"""The chaos suite's short version (`tradewind chaos --minutes N` is the long one): the
distributed platform with two instances of every service, trading on the simulated
exchange while `tradewind.chaos.run` injects faults — each service's instance killed and
restarted in turn (the table), then random kills, a SIGSTOP, a broker restart with
persistence, and the venue's faults (5xx, timeouts, 429s, execute-then-500, dropped
WebSockets, a short outage). Everything the run checks must hold: no order lost or sent
twice, none stuck, portfolios equal to the venue within 5 s, no dead letter, breakers
opened and closed, every process exiting 0 within 10 s of SIGTERM."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tradewind.chaos.report import markdown
from tradewind.chaos.run import Bus, Plan, run

pytestmark = [pytest.mark.servers, pytest.mark.chaos]

SHORT = Plan(
    bots=20,
    minutes=2,
    kills=2,
    pauses=1,
    venue_fault_s=4,
    outage_s=10,
    trade_after_restart_s=5,
)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("bus", ["redis", "kafka"])
async def test_the_platform_holds_through_the_short_chaos_run(
    bus: Bus, database_url: str, tmp_path: Path
) -> None:
    plan = dataclasses.replace(SHORT, bus=bus)
    result = await run(plan, tmp_path, database_url)
    print("\n" + markdown(result, f"pytest (short plan, {bus})"))
    assert [row.killed for row in result.rows] == [
        "execution", "strategy", "marketdata", "portfolio", "risk"
    ]  # fmt: skip
    for row in result.rows:
        assert row.portfolios_correct == row.accounts, f"{row.killed}: portfolios wrong"
        assert row.sent_twice == 0, f"{row.killed}: orders sent twice"
    assert result.orders > 0
    assert result.failures == []
