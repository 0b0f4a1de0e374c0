"""What a benchmark's servers and processes spend on this machine: Redis's CPU time and
commands (INFO), PostgreSQL's CPU time (its server processes, from /proc), and how long
a process waited for a CPU (/proc/self/schedstat). Linux only; where /proc cannot be
read, the figures are 0."""

from __future__ import annotations

import os
from pathlib import Path

from redis.asyncio import Redis

PROC = Path("/proc")


async def redis_usage(url: str) -> tuple[float, int]:
    """The Redis server at `url`: its CPU time so far (s) and commands processed so far."""
    client = Redis.from_url(url)
    try:
        cpu = await client.info("cpu")
        stats = await client.info("stats")
    finally:
        await client.aclose()
    used_s = float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"])
    return used_s, int(stats["total_commands_processed"])


def postgres_cpu_ticks() -> dict[int, int]:
    """CPU time (clock ticks) of every PostgreSQL server process on this machine, by pid."""
    ticks = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks


def postgres_cpu_s(before: dict[int, int], after: dict[int, int]) -> float:
    """PostgreSQL's CPU time between two `postgres_cpu_ticks`, seconds, over the processes
    alive at both (a benchmark's pooled connections last its whole window; other clients'
    long-lived connections are counted too)."""
    ticks = sum(after[pid] - before[pid] for pid in before.keys() & after.keys())
    return ticks / os.sysconf("SC_CLK_TCK")


def runqueue_wait_ns() -> int:
    """How long this process's main thread has been ready to run but waiting for a CPU,
    ns (0 where the kernel does not keep it)."""
    try:
        return int((PROC / "self" / "schedstat").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
