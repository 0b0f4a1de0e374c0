"""`tradewind profile SCENARIO`: the scenarios name real bench scripts and options, an
unknown one is refused with the list of known ones."""

from __future__ import annotations

import pytest
from pyinstrument import Profiler

from tradewind.benchmarks.scenarios import (
    SCENARIOS,
    TOP_FRAMES,
    bench_folder,
    profile_scenario,
    scenario_named,
    top_frames,
)
from tradewind.errors import ConfigError


def test_an_unknown_scenario_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ConfigError) as raised:
        scenario_named("tick-to-moon")
    assert str(raised.value) == (
        "SCENARIO: unknown scenario 'tick-to-moon'; known: tick-to-order, orders-pipeline, "
        "rebalance-wave, matching, bus, analytics, analytics-round, tick-to-risk, bots"
    )


def test_an_unknown_scenario_runs_nothing() -> None:
    with pytest.raises(ConfigError, match="unknown scenario 'nope'"):
        profile_scenario("nope", "small", [])


def test_an_unknown_size_is_refused() -> None:
    with pytest.raises(ConfigError, match="--size: expected small or full, got 'huge'"):
        profile_scenario("matching", "huge", [])  # type: ignore[arg-type]


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_is_a_bench_script_taking_its_options(name: str) -> None:
    scenario = SCENARIOS[name]
    script = (bench_folder() / scenario.script).read_text()
    for size in (scenario.small, scenario.full):
        for option in (arg for arg in size if arg.startswith("--")):
            assert f'"{option}"' in script, f"{scenario.script} has no {option}"


def _squares(n: int) -> int:
    return sum(i * i for i in range(n))


def _setup(n: int) -> list[str]:
    return sorted(str(i) for i in range(n))


class _Workload:
    def measured(self) -> int:
        return _squares(300_000)


def test_the_top_frames_of_a_focus_are_those_inside_its_calls() -> None:
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    _setup(300_000)
    _Workload().measured()
    profiler.stop()

    everything = top_frames(profiler)
    focused = top_frames(profiler, "_Workload.measured")

    assert "_setup" in everything and "_squares" in everything
    assert focused.splitlines()[0].startswith(
        f"top {TOP_FRAMES} frames by own time (s) inside _Workload.measured ("
    )
    assert "_squares" in focused
    assert "_setup" not in focused


def test_the_profile_commands_help_names_every_scenario() -> None:
    from typer.testing import CliRunner

    from tradewind.cli import app

    shown = CliRunner().invoke(app, ["profile", "--help"], terminal_width=400)
    assert shown.exit_code == 0
    for name in SCENARIOS:
        assert name in shown.output
