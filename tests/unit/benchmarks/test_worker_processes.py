"""Benchmark worker processes: results come back by index, a failing worker is reported
instead of waited for, and every worker is gone after `close`."""

from __future__ import annotations

import time

import pytest

from tests.waiting import wait_until
from tradewind.benchmarks.worker_processes import WorkerFailed, WorkerLink, WorkerProcesses

FIELDS = ("started", "ticks")


def count_until_stopped(spec: int, link: WorkerLink) -> None:
    link.report("started", 1)
    ticks = 0
    while link.running():
        ticks += 1
        link.report("ticks", ticks)
        time.sleep(0.01)
    link.hand_back(spec * 10)


def fail_at_once(spec: int, link: WorkerLink) -> None:
    raise RuntimeError(f"worker {spec} cannot start")


async def test_workers_report_on_the_board_and_hand_back_their_results_by_index() -> None:
    workers: WorkerProcesses[int, int] = WorkerProcesses(count_until_stopped, [1, 2, 3], FIELDS)
    try:
        workers.start()
        await wait_until(lambda: workers.board.total("started") == 3, timeout_s=60)
        await wait_until(
            lambda: all(workers.board.get(w, "ticks") > 1 for w in range(3)), timeout_s=60
        )
        workers.check_alive()

        assert workers.finish() == [10, 20, 30]
    finally:
        workers.close()


async def test_a_failed_worker_is_reported_and_close_leaves_none_running() -> None:
    workers: WorkerProcesses[int, int] = WorkerProcesses(
        fail_at_once, [7], FIELDS, stop_timeout_s=60
    )
    try:
        workers.start()
        await wait_until(lambda: workers.running() == 0, timeout_s=60)
        with pytest.raises(WorkerFailed, match="bench-worker-0 exited with code 1"):
            workers.check_alive()
        with pytest.raises(WorkerFailed, match="exited with code 1"):
            workers.finish()
    finally:
        workers.close()

    assert workers.running() == 0


async def test_close_stops_workers_that_were_never_finished() -> None:
    workers: WorkerProcesses[int, int] = WorkerProcesses(count_until_stopped, [1, 2], FIELDS)
    try:
        workers.start()
        await wait_until(lambda: workers.board.total("started") == 2, timeout_s=60)
    finally:
        workers.close()

    assert workers.running() == 0
