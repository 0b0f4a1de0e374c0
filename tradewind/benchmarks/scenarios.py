"""`tradewind profile SCENARIO`: a benchmark of `bench/` run under pyinstrument, in this
process, with an HTML profile written and the top frames printed.

The bench scripts are scripts, not modules of the package: a scenario names a script
and its arguments at two sizes, and the script's `main` runs in this process
(`runpy.run_path`, as `python bench/x.py` would run it) between the profiler's start and
stop. The profiler samples this process's main thread every millisecond, every frame of
it (the event loop's idle waits too, as `select`): work a bench hands to other
processes (servers, `--instances`, `--analytics-apart`) is not in the profile, so every
scenario here keeps its work in process.
"""

from __future__ import annotations

import runpy
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pyinstrument import Profiler
from pyinstrument.frame import Frame

import tradewind
from tradewind.errors import ConfigError
from tradewind.runtime.profiling import SAMPLE_INTERVAL_S

Size = Literal["small", "full"]
SIZES: tuple[Size, ...] = ("small", "full")
TOP_FRAMES = 30


@dataclass(frozen=True)
class Scenario:
    """A bench script and its arguments: `small` for a quick look (seconds), `full` for
    the figures of docs/benchmarks.md. `focus`: the function (`Class.method` or
    `function`) whose calls are the measured part, when the bench's setup would crowd
    the top frames (the HTML profile holds everything either way); None for benches
    whose work runs as event loop tasks, which no function of the bench encloses."""

    script: str
    what: str
    small: tuple[str, ...]
    full: tuple[str, ...]
    focus: str | None = None


SCENARIOS: dict[str, Scenario] = {
    "tick-to-order": Scenario(
        "tick_to_order.py",
        "a bar -> 100 bots' intents through a strategy service, memory bus",
        ("--bots", "100", "--buses", "memory", "--seconds", "3"),
        ("--bots", "100", "--buses", "memory", "--seconds", "10"),
    ),
    "orders-pipeline": Scenario(
        "orders_pipeline.py",
        "approved orders -> execution -> simulated exchange -> portfolio, 1,000 accounts",
        ("--accounts", "1000", "--orders", "5000"),
        ("--accounts", "1000", "--orders", "20000"),
    ),
    "rebalance-wave": Scenario(
        "rebalance_wave.py",
        "every rebalance bot due at once, ~8 orders per account, end to end",
        ("--accounts", "1000"),
        ("--accounts", "10000"),
    ),
    "matching": Scenario(
        "matching.py",
        "the matching engine replaying a mix of limit, cancel and market orders",
        ("--orders", "50000", "--repeat", "1"),
        ("--orders", "300000", "--repeat", "1"),
        focus="replay",
    ),
    "bus": Scenario(
        "bus.py",
        "the memory bus: publish -> handler throughput and latency, batch 1 and 100",
        ("--url", "memory://", "--events", "100000", "--rounds", "200"),
        ("--url", "memory://"),
    ),
    "analytics": Scenario(
        "analytics.py",
        "one analytics round over accounts with a day of minutes each",
        ("--accounts", "100", "--minutes", "1440"),
        ("--accounts", "10000", "--minutes", "1440"),
        focus="AccountSeries.analytics",
    ),
    "analytics-round": Scenario(
        "analytics_round.py",
        "whole analytics rounds on a service, PostgreSQL and the memory bus, a bot an account",
        ("--accounts", "200", "--rounds", "3"),
        ("--accounts", "10000", "--rounds", "3"),
        focus="steady_round",
    ),
    "tick-to-risk": Scenario(
        "tick_to_risk.py",
        "order book diffs, risk decisions and trade ticks reaching risk",
        ("--repeat", "1", "--snapshots", "5000", "--intents", "10000", "--trades", "10000"),
        ("--repeat", "1"),
    ),
    "bots": Scenario(
        "bots.py",
        "loading bots into a strategy service and a bar's fan-out to them",
        ("--bots", "1000"),
        ("--bots", "10000"),
    ),
}


@dataclass(frozen=True)
class ProfileRun:
    """A profiled run: the script's exit status, the HTML written, the top frames."""

    exit_code: int
    html: Path
    top_frames: str
    seconds: float


def scenario_named(name: str) -> Scenario:
    """The scenario called `name`; a ConfigError listing the known ones otherwise."""
    try:
        return SCENARIOS[name]
    except KeyError:
        known = ", ".join(SCENARIOS)
        raise ConfigError("SCENARIO", f"unknown scenario {name!r}; known: {known}") from None


def bench_folder() -> Path:
    """The repository's `bench/` (beside the `tradewind` package in a checkout)."""
    folder = Path(tradewind.__file__).resolve().parents[1] / "bench"
    if not folder.is_dir():
        raise ConfigError(
            "SCENARIO",
            f"no bench scripts at {folder}: profile from a checkout of the repository "
            "(the scripts are not part of the installed package)",
        )
    return folder


def default_html(name: str) -> Path:
    """.tradewind/profiles/SCENARIO-YYYYmmdd-HHMMSS.html (folder made)."""
    folder = Path(".tradewind") / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / time.strftime(f"{name}-%Y%m%d-%H%M%S.html")


def profile_scenario(
    name: str, size: Size, extra: Sequence[str], html: Path | None = None
) -> ProfileRun:
    """Run scenario `name` at `size`, `extra` arguments after the scenario's own (a
    repeated option wins: argparse keeps the last), under pyinstrument; write its HTML
    profile and return the top frames by own time."""
    scenario = scenario_named(name)
    if size not in SIZES:
        raise ConfigError("--size", f"expected small or full, got {size!r}")
    script = bench_folder() / scenario.script
    out = html or default_html(name)
    argv = [str(script), *(scenario.small if size == "small" else scenario.full), *extra]
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = argv
    sys.path.insert(0, str(script.parent))  # as `python bench/x.py` would have it
    # async_mode "disabled": every frame of the main thread, the event loop's tasks too.
    profiler = Profiler(interval=SAMPLE_INTERVAL_S, async_mode="disabled")
    exit_code = 0
    started = time.perf_counter()
    profiler.start()
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:  # argparse's errors and the scripts' sys.exit
        exit_code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    finally:
        profiler.stop()
        sys.argv, sys.path[:] = saved_argv, saved_path
    seconds = time.perf_counter() - started
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(profiler.output_html())
    return ProfileRun(exit_code, out, top_frames(profiler, scenario.focus), seconds)


def top_frames(profiler: Profiler, focus: str | None = None, count: int = TOP_FRAMES) -> str:
    """The `count` frames with the most own time, one a line: seconds, function, file:line;
    with `focus`, only the time spent inside calls of that function."""
    session = profiler.last_session
    if session is None:
        return "no samples"
    root = session.root_frame()
    roots = [root] if root is None or focus is None else list(_calls_of(root, focus))
    own: defaultdict[str, float] = defaultdict(float)
    for top in roots:
        if top is not None:
            for frame in _descendants(top):
                inner = sum(child.time for child in frame.children if not child.is_synthetic)
                own[_label(frame)] += frame.time - inner
    inside = sum(top.time for top in roots if top is not None)
    scope = f" inside {focus} ({inside:.2f} s)" if focus else ""
    sampled = f"{session.duration:.2f} s, {session.sample_count:,} samples"
    lines = [f"top {count} frames by own time (s){scope} of {sampled}:"]
    ranked = sorted(own.items(), key=lambda item: item[1], reverse=True)[:count]
    lines += [f"{seconds:.3f} {label}" for label, seconds in ranked]
    return "\n".join(lines)


def _calls_of(frame: Frame, focus: str) -> Iterator[Frame]:
    """The outermost frames of `focus` at or below `frame`."""
    if focus in (frame.function, f"{frame.class_name}.{frame.function}"):
        yield frame
        return
    for child in frame.children:
        yield from _calls_of(child, focus)


def _descendants(frame: Frame) -> Iterator[Frame]:
    """`frame` and every frame below it, the synthetic `[self]` leaves left out."""
    yield frame
    for child in frame.children:
        if not child.is_synthetic:
            yield from _descendants(child)


def _label(frame: Frame) -> str:
    name = f"{frame.class_name}.{frame.function}" if frame.class_name else frame.function
    return f"{name}  {frame.file_path_short}:{frame.line_no}"
