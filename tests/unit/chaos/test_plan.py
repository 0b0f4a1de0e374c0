"""The chaos run's pure parts: the fault schedule, the orders gap around a fault, the
report."""

from __future__ import annotations

import random
import time

from tradewind.chaos.report import markdown
from tradewind.chaos.run import (
    KAFKA_RESTART_NOTE,
    TWINS,
    ChaosResult,
    Fault,
    Plan,
    TableRow,
    Timeline,
    _storm_faults,
)


def kinds(faults: list[tuple[str, str]]) -> list[str]:
    return [kind for kind, _ in faults]


def test_the_storm_has_each_fault_the_plan_asks_for_and_ends_with_the_hardest() -> None:
    plan = Plan(bus="redis", kills=4, pauses=2, zones=True, ha=True)
    faults = _storm_faults(plan, random.Random(7))
    assert kinds(faults).count("kill -9") == 4 and kinds(faults).count("SIGSTOP") == 2
    assert {"zone cut", "redis failover", "venue 5xx", "venue timeouts", "venue 429s",
            "execute then 500", "dropped websockets"} <= set(kinds(faults))  # fmt: skip
    assert "broker restart" not in kinds(faults)  # with ha, Redis fails over instead
    assert kinds(faults)[-2:] == ["database failover", "venue outage"]
    for kind, target in faults:
        if kind in ("kill -9", "SIGSTOP"):
            service, member = target.split("/")
            assert service in TWINS and member in "ab"


def test_the_kafka_storm_restarts_no_broker_and_a_zero_outage_is_none() -> None:
    faults = _storm_faults(Plan(bus="kafka", outage_s=0), random.Random(1))
    assert "broker restart" not in kinds(faults) and "venue outage" not in kinds(faults)
    redis = _storm_faults(Plan(bus="redis"), random.Random(1))
    assert "broker restart" in kinds(redis)


def test_the_same_seed_gives_the_same_storm() -> None:
    plan = Plan(kills=6, pauses=2)
    assert _storm_faults(plan, random.Random(3)) == _storm_faults(plan, random.Random(3))


def test_the_orders_gap_is_the_longest_pause_that_touches_the_faults_window() -> None:
    timeline = Timeline("http://unused")
    timeline.began = time.monotonic() - 50  # the run is 50 s old
    timeline.increases = [1.0, 2.0, 9.0, 10.0, 40.0, 41.0]
    # A fault at 3 s lasting 1 s: its window runs to 3 + 1 + 15 = 19 s; the pauses that
    # touch it are 2 -> 9 (7 s) and 10 -> 40 (30 s, it begins inside the window).
    assert timeline.gap_around(3.0, 1.0) == 30.0
    # A fault at 45 s: no order since 41 s, and the pause runs until now (~50 s).
    assert 9.0 <= timeline.gap_around(45.0, 1.0) < 10.0
    timeline.increases = [1.0, 2.0]  # and nothing since 2 s: the pause until now wins
    assert 48.0 <= timeline.gap_around(1.5, 0.0) < 49.0


def test_the_report_shows_the_table_the_faults_and_what_did_not_hold() -> None:
    result = ChaosResult(Plan(bus="kafka", bots=3))
    result.rows.append(TableRow("execution", 4.5, 5.1, 0, 3, 3, 0.4))
    result.rows.append(TableRow("gateway", None, 0.9, 0, 2, 3, None))
    result.faults.append(Fault("venue 5xx", "venue", 61.0, 10.0, 12.5))
    result.failures.append("1 dead letters: [...]")
    result.notes.append(KAFKA_RESTART_NOTE)
    text = markdown(result, "tradewind chaos --bus kafka")
    assert "| execution | 4.5 s | 5.1 s | 0 | 3 / 3 after 0.4 s |" in text
    assert "| gateway | nothing to take | 0.9 s | 0 | 2 / 3 |" in text
    assert "| venue 5xx | venue | 61 s | 10.0 s | 12.5 s |" in text
    assert "FAILED (1)" in text and "- 1 dead letters: [...]" in text
    assert "no broker restart on Kafka" in text
