"""The benchmarks still run (issue #14's regression guard, its CI part): every bench
script, at a tiny size, as a process, writes its result with `--json FILE` in the
uniform shape `tradewind bench compare` reads; two results compare; `tradewind profile`
writes a profile.

No figure is judged: a benchmark on a shared CI machine is noise. What fails is a crash,
a non-zero exit or a result that is not a bench result. memory:// wherever a bench takes
a bus, plus one Redis bus run and a Redis take-over (a few seconds each). Most of a tiny
run is starting Python and waiting (servers starting, warm-ups, a lease expiring), so the
scripts run three at a time: with the tiny sizes, the module takes well under 90 s on a
busy 2-core machine.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest
from redis import Redis

from tests.servers import REDIS_HOST, REDIS_PORT, require_postgres, require_redis
from tradewind.benchmarks.compare import load_report
from tradewind.bus.tansu import port_open

ROOT = Path(__file__).parents[2]
BENCH = ROOT / "bench"
TIMEOUT_S = 120
AT_ONCE = 3
REDIS = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"  # bus.py adds a fresh key prefix, deletes its keys
TAKEOVER_PREFIX = f"benchsmoke{uuid.uuid4().hex[:8]}"  # takeover.py's keys, deleted afterwards

# script -> (arguments at a tiny size, whether it needs Redis)
SMALL: dict[str, tuple[list[str], bool]] = {
    "analytics.py": (["--accounts", "20", "--minutes", "60"], False),
    "analytics_bots.py": (["--accounts", "5", "--fills", "2", "--database-url", "sqlite"], False),
    "analytics_round.py": (
        ["--accounts", "5", "--minutes", "30", "--fills", "2", "--database-url", "sqlite"],
        False,
    ),
    "bots.py": (["--bots", "30"], False),
    "bus.py": (["--url", "memory://", "--url", REDIS, "--events", "500", "--rounds", "10"], True),
    "matching.py": (["--orders", "2000", "--repeat", "1"], False),
    "orders_pipeline.py": (["--accounts", "5", "--orders", "100", "--database"], False),
    "rebalance_wave.py": (["--accounts", "10"], False),
    "takeover.py": (["--url", f"{REDIS}?prefix={TAKEOVER_PREFIX}", "--runs", "1"], True),
    "tick_to_order.py": (
        ["--bots", "5", "--buses", "memory", "redis", "--seconds", "0.3", "--answer-apart"],
        True,
    ),
    "tick_to_risk.py": (
        ["--repeat", "1", "--snapshots", "200", "--intents", "500", "--trades", "500"],
        False,
    ),
    "venue_limits.py": (  # 12 s of DCA, with its wave and reconciliation rounds
        ["--accounts", "4", "--egress", "1", "--dca-minutes", "0.2", "--reconcile-s", "5"],
        False,
    ),
    "venue_rest.py": (["--orders", "10", "--concurrency", "2"], False),
}

# Not run here, and why (each has --json all the same).
NOT_RUN = {
    "gateway.py": "it builds 1,000 users and their tokens whatever the size asked (~15 s)",
    "execution_drain.py": "it starts a venue and an execution service per size (~35 s)",
    "scale_out.py": "it has smoke tests of its own (tests/integration/test_bench_scale_out.py)",
}


def python(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python ARGUMENTS` importing this checkout's tradewind."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=cwd,
        env=os.environ | {"PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def test_every_bench_script_is_run_here_or_named_with_the_reason_it_is_not() -> None:
    scripts = {path.name for path in BENCH.glob("*.py")}
    assert scripts == set(SMALL) | set(NOT_RUN)
    assert not set(SMALL) & set(NOT_RUN)


Run = tuple[subprocess.CompletedProcess[str], Path]


@pytest.fixture(scope="module")
def small_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[Run]]]:
    """Every script of SMALL started, `AT_ONCE` at a time (those needing Redis only when it
    answers: their tests then skip or fail as `require_redis` says)."""
    folder = tmp_path_factory.mktemp("bench")
    redis = port_open(REDIS_HOST, REDIS_PORT)

    def run(script: str) -> Run:
        out = folder / script.replace(".py", ".json")
        done = python(str(BENCH / script), *SMALL[script][0], "--json", str(out), cwd=folder)
        return done, out

    with ThreadPoolExecutor(AT_ONCE) as pool:
        yield {
            script: pool.submit(run, script)
            for script, (_, needs_redis) in SMALL.items()
            if redis or not needs_redis
        }
    if redis:
        client = Redis.from_url(REDIS)
        for key in client.scan_iter(f"{TAKEOVER_PREFIX}:*"):
            client.delete(key)
        client.close()


@pytest.mark.parametrize("script", sorted(SMALL))
def test_a_bench_runs_small_and_writes_a_result_to_compare(
    script: str, small_runs: dict[str, Future[Run]]
) -> None:
    if SMALL[script][1]:
        require_redis()
    done, out = small_runs[script].result(timeout=TIMEOUT_S * len(SMALL))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "", "stdout is for the result alone (`--json` without FILE)"
    report = load_report(out)  # the uniform keys, figures of name: number
    assert report["bench"] == script.removesuffix(".py")
    assert report["figures"], "no figures"
    assert report["command"].endswith(f"--json {out}")
    assert report["machine"]["cpus"] == os.cpu_count()


def test_tick_to_order_answers_intents_apart_on_redis_and_in_process_on_memory(
    small_runs: dict[str, Future[Run]],
) -> None:
    require_redis()
    done, out = small_runs["tick_to_order.py"].result(timeout=TIMEOUT_S * len(SMALL))
    assert done.returncode == 0, done.stdout + done.stderr
    results = load_report(out)["detail"]["results"]
    assert [(r["bus"], r["answered_apart"]) for r in results] == [
        ("memory", False),
        ("redis", True),
    ]
    for r in results:  # the counted bars' intents (those answered within 0.5 s), timed
        assert 0 < r["intents"] <= r["bars"] * r["bots"], r
        assert 0 < r["envelope_p50_us"] <= r["received_p50_us"], r


def test_analytics_round_keeps_its_database_runs_instances_and_profiles(tmp_path: Path) -> None:
    """--keep-database seeds once and a later run re-uses it (10,000 accounts take ~8
    minutes to seed); --instances K runs K services; --profile writes the steady rounds'."""
    server = require_postgres().rsplit("/", 1)[0] + "/postgres"
    name = f"tw_bench_smoke_{uuid.uuid4().hex[:8]}"
    tiny = ["--accounts", "4", "--minutes", "30", "--fills", "2", "--rounds", "1"]
    kept = ["--database-url", server, "--keep-database", name]
    try:
        reports = []
        for n, more in enumerate(
            (["--profile", str(tmp_path / "round.txt")], ["--instances", "2"])
        ):
            out = tmp_path / f"round{n}.json"
            done = python(str(BENCH / "analytics_round.py"), *tiny, *kept, *more,
                          "--json", str(out), cwd=tmp_path)  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
            reports.append(load_report(out)["detail"])
    finally:
        asyncio.run(drop_database(server, name))
    assert [(r["seeded"], r["instances"], r["bots"]) for r in reports] == [
        (True, 1, 4),
        (False, 2, 4),
    ]
    assert all(r["database_kept"] == name for r in reports)
    assert "AnalyticsService.compute_round" in (tmp_path / "round.txt").read_text()


async def drop_database(server: str, name: str) -> None:
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def test_two_results_compare_figure_by_figure(tmp_path: Path) -> None:
    results = []
    for run in ("old", "new"):
        out = tmp_path / f"{run}.json"
        done = python(str(BENCH / "matching.py"), "--orders", "1000", "--repeat", "1",
                      "--json", str(out), cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        results.append(str(out))
    done = python("-m", "tradewind.cli", "bench", "compare", *results, cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    for figure in load_report(Path(results[0]))["figures"]:
        assert figure[:20] in done.stdout  # the column may fold a long name
    assert "%" in done.stdout


def test_profile_runs_a_scenario_and_writes_its_html_profile(tmp_path: Path) -> None:
    html = tmp_path / "matching.html"
    done = python("-m", "tradewind.cli", "profile", "matching", "--out", str(html),
                  "--orders", "2000", cwd=tmp_path)  # fmt: skip
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert "orders_per_second" in done.stdout  # the bench's own output, sized by --orders
    assert "orders                    2000" in done.stdout
    assert "frames by own time" in done.stdout
    assert "matching/book.py" in done.stdout  # the engine's frames are sampled
    assert done.stdout.rstrip().endswith(f"profile: {html}")
    assert "pyinstrument" in html.read_text()
