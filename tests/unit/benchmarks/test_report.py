"""The bench results' uniform shape: figure directions, per-case figures, --json [FILE]."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tradewind.benchmarks.command_line import OneLineErrorParser
from tradewind.benchmarks.report import (
    REQUIRED_KEYS,
    add_json_option,
    bench_report,
    case_figures,
    command_line,
    figure_direction,
    write_report,
)


@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("orders_per_s", "higher"),
        ("events_per_s{adapter=memory,batch=1}", "higher"),
        ("median_orders_per_second", "higher"),
        ("round_trips_per_s", "higher"),
        ("per_s{name=reads, max (32 conns)}", "higher"),
        ("latency_p99_us{adapter=redis,batch=100}", "lower"),
        ("received_p50_us", "lower"),
        ("us_per_order", "lower"),
        ("microseconds_per_order", "lower"),
        ("fanout_us_per_bot", "lower"),
        ("booked_s", "lower"),
        ("best_seconds", "lower"),
        ("p99_ms", "lower"),
        ("rss_mb", "lower"),
        ("rss_per_bot_kb", "lower"),
        ("filled", "neutral"),
        ("wave_weight_per_order", "neutral"),
        ("exit_code{accounts=3}", "neutral"),
    ],
)
def test_a_figure_improves_in_the_direction_its_name_says(name: str, direction: str) -> None:
    assert figure_direction(name) == direction


def test_figures_measured_per_case_carry_the_case_in_braces() -> None:
    rows = [
        {"accounts": 100, "database": False, "orders_per_s": 9000, "us_per_order": 111.1},
        {"accounts": 1000, "database": True, "orders_per_s": 2000, "us_per_order": 500.0},
    ]
    figures = case_figures(rows, ("accounts", "database"), ("orders_per_s",))
    assert figures == {
        "orders_per_s{accounts=100,database=False}": 9000.0,
        "orders_per_s{accounts=1000,database=True}": 2000.0,
    }
    assert case_figures(rows[:1], (), ("us_per_order",)) == {"us_per_order": 111.1}


def test_a_figure_that_is_not_a_number_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match=re.escape("figure 'load' is not a number: '1.0 0.5'")):
        case_figures([{"load": "1.0 0.5"}], (), ("load",))


def test_a_report_has_the_uniform_keys_and_float_figures() -> None:
    report = bench_report("matching", {"orders_per_second": 41_752}, {"trades": 8}, command="x")
    assert list(report)[: len(REQUIRED_KEYS)] == list(REQUIRED_KEYS)
    assert report["figures"] == {"orders_per_second": 41_752.0}
    assert report["detail"] == {"trades": 8}
    assert report["command"] == "x"
    assert {"cpus", "cpu_model", "python"} <= set(report["machine"])
    assert report["date"].endswith("Z")


def test_the_command_names_the_script_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bench").mkdir()
    script = tmp_path / "bench" / "bus.py"
    assert command_line([str(script), "--url", "memory://", "--json"]) == (
        "python bench/bus.py --url memory:// --json"
    )
    cli = "/somewhere/tradewind/cli.py"
    assert command_line([cli, "bench", "bus", "--json"]) == "tradewind bench bus --json"


def test_json_alone_prints_and_json_file_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = OneLineErrorParser(prog="bench.py")
    add_json_option(parser)
    parser.add_argument("--orders", type=int)
    report = bench_report("matching", {"orders_per_second": 1.0})

    printed = parser.parse_args(["--json", "--orders", "5"])
    assert (printed.json, printed.orders) == ("-", 5)
    write_report(report, printed.json)
    assert json.loads(capsys.readouterr().out) == report

    out = tmp_path / "run.json"
    written = parser.parse_args(["--json", str(out)])
    write_report(report, written.json)
    assert json.loads(out.read_text()) == report
    assert parser.parse_args([]).json is None


def test_without_names_every_number_of_a_row_but_its_case_is_a_figure() -> None:
    rows = [{"bots": 10, "strategy": "dca", "load_s": 0.5, "calls": {"GET": 3}, "ok": True}]
    assert case_figures(rows, ("bots", "strategy")) == {"load_s{bots=10,strategy=dca}": 0.5}
