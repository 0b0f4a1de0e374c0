"""What a benchmark reads of the machine: PostgreSQL's CPU time over the processes alive
at both readings, and this process's wait for a CPU."""

from __future__ import annotations

import os

from tradewind.benchmarks.machine_usage import postgres_cpu_s, runqueue_wait_ns


def test_postgres_cpu_counts_only_the_processes_alive_at_both_readings() -> None:
    ticks_per_s = os.sysconf("SC_CLK_TCK")
    before = {10: 100, 11: 50, 12: 7}  # 12 ends before the second reading
    after = {10: 100 + ticks_per_s, 11: 50 + ticks_per_s // 2, 13: 999}  # 13 is new

    assert postgres_cpu_s(before, after) == 1.5


def test_the_wait_for_a_cpu_never_goes_back() -> None:
    first = runqueue_wait_ns()

    assert 0 <= first <= runqueue_wait_ns()
