"""`tradewind bench compare`: per figure, old, new, change in % and better or worse."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from tradewind.benchmarks.compare import (
    FigureChange,
    compare_files,
    compare_reports,
    load_report,
)
from tradewind.benchmarks.report import bench_report
from tradewind.errors import ConfigError


def run(bench: str = "orders_pipeline", **figures: float) -> dict[str, Any]:
    return bench_report(bench, figures, command="python bench/orders_pipeline.py --json")


def write(path: Path, report: object) -> Path:
    path.write_text(json.dumps(report))
    return path


def by_name(changes: list[FigureChange]) -> dict[str, FigureChange]:
    return {c.name: c for c in changes}


def test_more_throughput_and_less_time_are_better_and_their_opposites_worse() -> None:
    old = run(orders_per_s=8000, us_per_order=125, booked_s=10, events_per_s=1000)
    new = run(orders_per_s=10000, us_per_order=100, booked_s=12.5, events_per_s=900)
    changes = by_name(compare_reports(old, new))
    assert changes["orders_per_s"].change_pct == pytest.approx(25.0)
    assert changes["orders_per_s"].verdict == "better"
    assert changes["us_per_order"].change_pct == pytest.approx(-20.0)
    assert changes["us_per_order"].verdict == "better"
    assert changes["booked_s"].change_pct == pytest.approx(25.0)
    assert changes["booked_s"].verdict == "worse"
    assert changes["events_per_s"].change_pct == pytest.approx(-10.0)
    assert changes["events_per_s"].verdict == "worse"


def test_counts_change_without_a_verdict_and_equal_figures_are_the_same() -> None:
    changes = by_name(compare_reports(run(filled=10, p99_us=5), run(filled=12, p99_us=5)))
    assert changes["filled"].verdict == "changed"
    assert changes["filled"].change_pct == pytest.approx(20.0)
    assert changes["p99_us"].verdict == "same"
    assert changes["p99_us"].change_pct == 0


def test_a_figure_in_one_run_only_is_new_or_gone_with_no_change() -> None:
    changes = compare_reports(run(a_s=1, b_s=2), run(b_s=2, c_s=3))
    assert [(c.name, c.verdict, c.change_pct) for c in changes] == [
        ("a_s", "gone", None),
        ("b_s", "same", 0.0),
        ("c_s", "new", None),
    ]


def test_a_change_from_zero_has_no_percentage() -> None:
    [change] = compare_reports(run(unclosed=0), run(unclosed=3))
    assert change.change_pct is None
    assert change.verdict == "changed"


def test_the_table_shows_each_figure_with_old_new_and_change(tmp_path: Path) -> None:
    old = write(tmp_path / "old.json", run(orders_per_s=8000, booked_s=10))
    new = write(tmp_path / "new.json", run(orders_per_s=10000, booked_s=12.5))
    console = Console(width=200, record=True)
    console.print(compare_files(old, new))
    lines = console.export_text().splitlines()
    [throughput] = [line for line in lines if "orders_per_s" in line]
    cells = [cell.strip() for cell in throughput.split("│")[2:7]]
    assert cells == ["↑", "8,000", "10,000", "+25.0 %", "better"]
    [booked] = [line for line in lines if "booked_s" in line]
    assert "+25.0 %" in booked and "worse" in booked


def test_runs_of_two_benches_are_not_compared(tmp_path: Path) -> None:
    old = write(tmp_path / "old.json", run("matching", orders_per_second=1))
    new = write(tmp_path / "new.json", run("bus", events_per_s=1))
    with pytest.raises(ConfigError) as raised:
        compare_files(old, new)
    assert str(raised.value) == (
        f"{new}: a run of 'bus', but {old} is a run of 'matching': compare two runs of one bench"
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not JSON ("),
        ("[1, 2]", "not a bench result: expected a JSON object"),
        ('{"benchmark": "bus", "results": []}', "not a bench result: no bench, date, machine,"),
        (
            json.dumps({**run(), "figures": {"orders_per_s": "fast"}}),
            "its figures must be an object of name: number",
        ),
    ],
)
def test_a_file_that_is_not_a_bench_result_is_named_with_what_is_wrong(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "result.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as raised:
        load_report(path)
    assert str(raised.value).startswith(f"{path}: {problem}")


def test_a_missing_file_is_named() -> None:
    with pytest.raises(ConfigError, match=re.escape("no/such.json: cannot read it: No such file")):
        load_report(Path("no/such.json"))
