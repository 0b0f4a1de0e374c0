"""What `tradewind backtest` shows and writes: a progress bar, the summary (Rich), the
JSON result and the HTML report; one run, or a grid ranked by a metric."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tradewind.errors import ConfigError
from tradewind.strategies.backtest_command import (
    DataSpec,
    RunSummary,
    expand_grid,
    load_data,
    load_history,
    rankable,
    ranked,
    result_document,
    run_grid,
    run_one,
    summary,
)

#: The figures the summary table shows (all of them go to the JSON result).
_SHOWN = (
    "total_return", "annual_return", "max_drawdown", "volatility", "sharpe", "sortino",
    "calmar", "var_95", "trades", "win_rate", "profit_factor", "fees", "turnover",
)  # fmt: skip
_TOP = 10


def run_command(
    strategy_name: str,
    params: dict[str, Any],
    data: DataSpec,
    balances: dict[str, Decimal],
    *,
    grid: dict[str, Any] | None,
    rank: str,
    workers: int | None,
    json_path: Path | None,
    html_path: Path | None,
    console: Console,
) -> int:
    """Run the backtest (or the grid) and report it; the exit status."""
    rankable(rank)
    for path, option in ((json_path, "--json"), (html_path, "--html")):
        if path is not None and not path.parent.is_dir():
            raise ConfigError(option, f"{path.parent} is not a directory")
    if grid is not None:
        if html_path is not None:
            raise ConfigError("--html", "a report is written for one run, not a grid")
        return _run_grid(
            strategy_name, params, data, balances, grid, rank, workers, json_path, console
        )  # fmt: skip
    candles = load_data(data)
    with _progress(console) as progress:
        task = progress.add_task(f"backtest {strategy_name}", total=None)

        def on_step(done: int, total: int) -> None:
            if done % 200 == 0 or done == total:
                progress.update(task, completed=done, total=total)

        result = run_one(
            strategy_name, params, candles, balances, on_step, history=load_history(data)
        )
    figures = summary(result.metrics, result.valuation_asset)
    asset = result.valuation_asset
    table = Table(
        title=f"{strategy_name}: {result.initial_equity} {asset} → {result.final_equity} {asset}"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name in _SHOWN:
        table.add_row(name, _shown(figures[name]))
    console.print(table)
    if result.rejections:
        console.print(f"{len(result.rejections)} orders were rejected")
    if json_path is not None:
        document = result_document(strategy_name, params, result)
        json_path.write_text(json.dumps(document, indent=1) + "\n")
        console.print(f"result written to {json_path}")
    if html_path is not None:
        from tradewind.strategies.backtest_report import render_report

        html_path.write_text(render_report(strategy_name, params, result))
        console.print(f"report written to {html_path}")
    return 0


def _run_grid(
    strategy_name: str,
    params: dict[str, Any],
    data: DataSpec,
    balances: dict[str, Decimal],
    grid: dict[str, Any],
    rank: str,
    workers: int | None,
    json_path: Path | None,
    console: Console,
) -> int:
    param_sets = expand_grid(params, grid)
    with _progress(console) as progress:
        task = progress.add_task(f"{len(param_sets)} backtests", total=len(param_sets))
        runs = run_grid(
            strategy_name, param_sets, data, balances, workers=workers,
            on_done=lambda _: progress.advance(task),
        )  # fmt: skip
    best = ranked(runs, rank)
    table = Table(title=f"{strategy_name}: {len(runs)} parameter sets ranked by {rank}")
    table.add_column("#", justify="right")
    for name in grid:
        table.add_column(name)
    shown_metrics = list(dict.fromkeys((rank, "total_return", "max_drawdown", "sharpe", "trades")))
    for name in shown_metrics:
        table.add_column(name, justify="right")
    for place, run in enumerate(best[:_TOP], start=1):
        table.add_row(
            str(place),
            *(str(run.params[name]) for name in grid),
            *(_shown(run.metrics[name]) for name in shown_metrics),
        )
    console.print(table)
    if len(best) > _TOP:
        where = "in the JSON result" if json_path else "not shown (--json FILE keeps all)"
        console.print(f"{len(best) - _TOP} more {where}")
    if json_path is not None:
        json_path.write_text(json.dumps(_grid_document(strategy_name, rank, best), indent=1) + "\n")
        console.print(f"results written to {json_path}")
    return 0


def _grid_document(strategy_name: str, rank: str, runs: list[RunSummary]) -> dict[str, Any]:
    return {
        "strategy": strategy_name,
        "ranked_by": rank,
        "runs": [{"params": run.params, "metrics": run.metrics} for run in runs],
    }


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, transient=True,
    )  # fmt: skip


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
