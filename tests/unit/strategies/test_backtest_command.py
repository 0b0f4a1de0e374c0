"""`tradewind backtest`: the command as a user runs it (its JSON, its HTML report, a
grid in parallel processes, every bad input refused with the option named), and its
pieces (balances, times, grids, ranking)."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tradewind.cli import main
from tradewind.errors import ConfigError
from tradewind.strategies.backtest_command import (
    DataSpec,
    RunSummary,
    expand_grid,
    load_data,
    load_history,
    parse_balances,
    parse_time,
    rankable,
    ranked,
    run_one,
    summary,
)
from tradewind.strategies.backtest_report import metric_text

WINDOW = ["--from", "2018-01-12", "--to", "2018-01-14"]
MOMENTUM = ["momentum", "--params", '{"symbol": "ETH/BTC", "fast": 6, "slow": 24}']


TRADE_COLUMNS = ("time (UTC)", "symbol", "side", "price", "quantity", "fee", "fee asset")
TRADE_FIELDS = ("ts", "symbol", "side", "price", "quantity", "fee", "fee_asset")


def tradewind(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradewind.cli", "backtest", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_run_writes_its_metrics_equity_curve_and_a_self_contained_report(
    tmp_path: Path,
) -> None:
    out, report = tmp_path / "result.json", tmp_path / "report.html"
    done = tradewind(*MOMENTUM, *WINDOW, "--json", str(out), "--html", str(report))
    assert done.returncode == 0, done.stderr
    assert "sharpe" in done.stdout and "max_drawdown" in done.stdout
    result = json.loads(out.read_text())
    metrics = result["metrics"]
    for name in ("total_return", "max_drawdown", "sharpe", "sortino", "volatility", "win_rate"):
        assert name in metrics
    assert Decimal(metrics["fees"]) > 0
    curve = result["equity_curve"]
    assert len(curve) == 3 * 288  # three days of 5-minute bars, the 14th included
    assert all(isinstance(ts, int) and Decimal(equity) > 0 for ts, equity in curve)
    # The same code as a backtest run in Python: the same figures (warmed up, as the
    # command is, on the candles before --from).
    spec = DataSpec(
        None,
        parse_time("2018-01-12", "--from"),
        parse_time("2018-01-14", "--to", end_of_day=True),
    )
    params = {"symbol": "ETH/BTC", "fast": 6, "slow": 24}
    again = run_one("momentum", params, load_data(spec), {"BTC": Decimal(1)},
                    history=load_history(spec))  # fmt: skip
    assert summary(again.metrics, "BTC") == metrics
    cold = run_one("momentum", params, load_data(spec), {"BTC": Decimal(1)})
    assert summary(cold.metrics, "BTC") != metrics  # the first 24 bars traded only warmed
    page = report.read_text()
    assert page.count("<svg") == 2 and "<polyline" in page
    # Every metric of the JSON, by its name, with its value as the table writes it.
    for name, value in metrics.items():
        assert (
            f"<tr><th>{html.escape(name)}</th><td>{html.escape(metric_text(value))}</td></tr>"
            in page
        )
    assert "<th>returns</th><td>1d " in page and "30d -, all " in page  # not a dict's repr
    # The trades table: its header, and a row per trade, in order, as the JSON has them.
    trades = result["trades"]
    assert len(trades) > 0 and f"<h2>Trades ({len(trades)})</h2>" in page
    header = "".join(f"<th>{h}</th>" for h in TRADE_COLUMNS)
    lines = page.replace("\n", "")
    table = lines[lines.index(f"<tr>{header}</tr>") :]
    rows = re.findall(r"<tr>((?:<td>[^<]*</td>)+)</tr>", table)
    assert rows == [
        "".join(f"<td>{html.escape(str(t[k]))}</td>" for k in TRADE_FIELDS) for t in trades[:500]
    ]
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", page)  # nothing fetched
    assert "<script" not in page


def test_a_grid_runs_every_combination_ranked_by_the_chosen_metric(tmp_path: Path) -> None:
    out = tmp_path / "grid.json"
    done = tradewind(
        *MOMENTUM, *WINDOW, "--grid", '{"fast": [3, 6], "slow": [24, 36]}',
        "--rank", "total_return", "--workers", "2", "--json", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    runs = result["runs"]
    assert sorted((r["params"]["fast"], r["params"]["slow"]) for r in runs) == [
        (3, 24), (3, 36), (6, 24), (6, 36),
    ]  # fmt: skip
    returns = [r["metrics"]["total_return"] for r in runs]
    assert returns == sorted(returns, reverse=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "unknown strategy 'nope'"),
        (["momentum", "--params", "[1]"], "--params: must be a JSON object"),
        (["momentum", "--params", '{"symbol": "ETH/BTC", "fast": 50}'], "must be below slow"),
        ([*MOMENTUM, "--balances", "BTC=-1"], "--balances: 'BTC=-1': the amount must be 0 or more"),
        ([*MOMENTUM, "--from", "yesterday"], "--from: 'yesterday' is not a date"),
        ([*MOMENTUM, "--from", "2019-01-01"], "no candle"),
        ([*MOMENTUM, "--data", "/nonexistent"], "--data: /nonexistent is not a directory"),
        (
            ["dca", "--params", '{"symbol": "ETH/USDT", "quote_amount": "1"}'],
            "no candles for ETH/USDT",
        ),
        ([*MOMENTUM, "--rank", "luck"], "--rank: 'luck' is not a metric"),
        ([*MOMENTUM, "--grid", '{"fast": []}'], "'fast' needs a non-empty list"),
    ],
)
def test_bad_input_is_refused_naming_the_problem(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["backtest", *args])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_balances_are_parsed_exactly() -> None:
    assert parse_balances("btc=1, ETH=0.50") == {"BTC": Decimal(1), "ETH": Decimal("0.50")}
    for bad in ("BTC", "=1", "BTC=1,BTC=2", "BTC=nan"):
        with pytest.raises(ConfigError, match="--balances"):
            parse_balances(bad)


def test_times_are_utc_unless_an_offset_is_given() -> None:
    assert parse_time("2018-01-12", "--from") == 1515715200000
    assert parse_time("2018-01-12T01:00+01:00", "--from") == 1515715200000
    assert parse_time("2018-01-12", "--to", end_of_day=True) == 1515801599999
    assert parse_time("2018-01-12T06:00", "--to", end_of_day=True) == 1515736800000


def test_a_grid_lays_every_combination_over_the_parameters() -> None:
    assert expand_grid({"symbol": "X", "fast": 1}, {"fast": [2, 3], "slow": [9]}) == [
        {"symbol": "X", "fast": 2, "slow": 9},
        {"symbol": "X", "fast": 3, "slow": 9},
    ]


def test_ranking_puts_the_best_first_and_undefined_last() -> None:
    runs = [
        RunSummary({"n": 1}, {"sharpe": 0.5, "volatility": 0.3}),
        RunSummary({"n": 2}, {"sharpe": None, "volatility": 0.1}),
        RunSummary({"n": 3}, {"sharpe": 1.5, "volatility": 0.2}),
    ]
    assert [r.params["n"] for r in ranked(runs, "sharpe")] == [3, 1, 2]
    assert [r.params["n"] for r in ranked(runs, "volatility")] == [2, 3, 1]
    rankable("sharpe")
    with pytest.raises(ConfigError, match="--rank"):
        rankable("max_drawdown_peak")
