"""`tradewind profile SCENARIO`: the scenarios name real bench scripts and options, an
unknown one is refused with the list of known ones."""

from __future__ import annotations

import pytest

from tradewind.benchmarks.scenarios import (
    SCENARIOS,
    bench_folder,
    profile_scenario,
    scenario_named,
)
from tradewind.errors import ConfigError


def test_an_unknown_scenario_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ConfigError) as raised:
        scenario_named("tick-to-moon")
    assert str(raised.value) == (
        "SCENARIO: unknown scenario 'tick-to-moon'; known: tick-to-order, orders-pipeline, "
        "rebalance-wave, matching, bus, analytics, tick-to-risk, bots"
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
