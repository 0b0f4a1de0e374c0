"""bench/scale_out.py at a tiny size, on the real Redis and PostgreSQL: it books orders
with 1 and 2 worker processes, and Ctrl-C stops it and every worker. No timing is
asserted: these fail only if the bench crashes, hangs, books nothing or leaves a
worker behind."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.waiting import wait_until

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "bench" / "scale_out.py"
TINY = ["--accounts", "20", "--seconds", "2"]


def _environment() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return os.environ | {"PYTHONPATH": path}


def _children(pid: int) -> set[int]:
    """The processes whose parent is `pid`."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_scale_out_books_orders_with_one_and_two_processes(
    redis_url: str, postgres_url: str
) -> None:
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--processes", "1", "2", *TINY, "--json"],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr[-4000:]
    report = json.loads(completed.stdout)
    assert report["bench"] == "scale_out"
    assert {"orders_per_s{processes=1}", "orders_per_s{processes=2}"} <= set(report["figures"])
    results = report["detail"]["results"]
    assert [r["processes"] for r in results] == [1, 2]
    for result in results:
        assert result["orders"] > 0, result
        assert result["bars"] > 0, result


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
async def test_a_signal_stops_the_bench_and_every_worker(
    stop: signal.Signals, redis_url: str, postgres_url: str
) -> None:
    bench = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), "--processes", "2", "--accounts", "20", "--seconds", "60",
        cwd=ROOT, env=_environment(),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        workers: set[int] = set()

        def two_workers_started() -> bool:
            workers.update(p for p in _children(bench.pid) if _is_worker(p))
            return len(workers) >= 2

        await wait_until(two_workers_started, timeout_s=60, poll_s=0.1)
        await asyncio.sleep(3)  # into the run: settling or measuring
        bench.send_signal(stop)
        async with asyncio.timeout(90):
            _, stderr = await bench.communicate()
    finally:
        if bench.returncode is None:
            bench.kill()
            await bench.wait()

    assert bench.returncode != 0, stderr.decode()[-4000:]
    assert not [pid for pid in workers if _running(pid)]


def _is_worker(pid: int) -> bool:
    try:
        command = (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False
    return b"spawn_main" in command
