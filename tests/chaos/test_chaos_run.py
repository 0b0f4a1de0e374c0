"""The chaos suite's short version (`tradewind chaos --minutes N` is the long one): the
distributed platform with two instances of every service, trading on the simulated
exchange while `tradewind.chaos.run` injects faults — each service's instance killed and
restarted in turn (the table), then a SIGSTOP and the venue's faults (5xx, timeouts,
429s, execute-then-500, dropped WebSockets, a short outage); on Redis, with the
instances in two zones, also a zone cut and the failovers of Redis (Sentinel) and
PostgreSQL (a synchronous standby promoted); on Kafka a broker is not restarted (see
`tradewind.chaos.run.KAFKA_RESTART_NOTE`). Everything the run checks must hold: no
order lost or sent twice, none stuck, portfolios equal to the venue within 5 s, no dead
letter, breakers opened and closed, every process exiting 0 within 10 s of SIGTERM."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.servers import missing
from tradewind.chaos.report import markdown
from tradewind.chaos.run import Bus, Plan, run
from tradewind.chaos.servers import ServerNotStarted
from tradewind.chaos.zones import ZonesUnavailable

pytestmark = [pytest.mark.servers, pytest.mark.chaos]

#: Each kind of fault once, briefly (the table kills one instance of every service).
SHORT = Plan(
    bots=20,
    minutes=1,
    kills=0,
    pauses=1,
    venue_fault_s=3,
    outage_s=6,
    trade_after_restart_s=3,
    spacing_s=4,
    zone_cut_s=8,
)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("bus", ["redis", "kafka"])
async def test_the_platform_holds_through_the_short_chaos_run(
    bus: Bus, database_url: str, tmp_path: Path
) -> None:
    if bus == "redis":  # zones and HA servers: root, `ip`, redis-sentinel, PostgreSQL
        plan = dataclasses.replace(SHORT, bus=bus, zones=True, ha=True)
        try:
            result = await run(plan, tmp_path)
        except (ZonesUnavailable, ServerNotStarted) as exc:
            missing(f"the chaos run's zones or servers: {exc}")
    else:
        plan = dataclasses.replace(SHORT, bus=bus)
        result = await run(plan, tmp_path, database_url)
    print("\n" + markdown(result, f"pytest (short plan, {bus})"))
    assert [row.killed for row in result.rows] == [
        "execution", "strategy", "marketdata", "portfolio", "risk", "gateway"
    ]  # fmt: skip
    for row in result.rows:
        assert row.portfolios_correct == row.accounts, f"{row.killed}: portfolios wrong"
        assert row.sent_twice == 0, f"{row.killed}: orders sent twice"
    assert result.orders > 0
    assert result.failures == []
