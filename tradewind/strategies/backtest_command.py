"""`tradewind backtest`: a strategy, unchanged, over candle files, or a grid of its
parameters in parallel processes; the figures as a table, a JSON file and an HTML report.

Everything here is plain functions so the command (`cli.py`) stays a thin shell:
`load_data` reads and slices the candles, `expand_grid` makes the parameter sets,
`run_one` / `run_grid` run them, `summary` flattens the metrics, `result_document`
shapes the JSON. Errors are `ConfigError`s naming the option at fault.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import msgspec

from tradewind.domain.analytics_figures import account_figures, figures_json
from tradewind.domain.performance import iso_utc
from tradewind.domain.time_units import ms_from_datetime
from tradewind.errors import ConfigError
from tradewind.strategies.backtest import BacktestResult, run_backtest
from tradewind.strategies.backtest_metrics import BacktestMetrics
from tradewind.strategies.registry import create
from tradewind.venues.simulated.market import Candle, bundled_candles_dir, load_candles

#: Metrics where less is better (the rest rank highest first).
LOWER_IS_BETTER = frozenset({"volatility", "fees", "turnover"})


class DataSpec(msgspec.Struct, frozen=True):
    """Where the candles come from (None: the bundled January 2018 set) and the window,
    ms since the epoch, inclusive (None: unbounded)."""

    directory: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None


class RunSummary(msgspec.Struct, frozen=True):
    """One backtest as the grid reports it: its parameters and flat metrics."""

    params: dict[str, Any]
    metrics: dict[str, Any]


def parse_time(text: str, option: str, *, end_of_day: bool = False) -> int:
    """`2018-01-12` or `2018-01-12T06:30` (UTC unless an offset is given) as ms. With
    `end_of_day`, a bare date means its last millisecond (`--to 2018-01-14` includes the
    14th)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            option, f"{text!r} is not a date or time (e.g. 2018-01-12 or 2018-01-12T06:30)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    ms = ms_from_datetime(moment)
    if end_of_day and "T" not in text and " " not in text.strip():
        ms += 86_400_000 - 1
    return ms


def parse_balances(text: str) -> dict[str, Decimal]:
    """`BTC=1,ETH=0.5` as {asset: amount}; each amount a non-negative number."""
    balances: dict[str, Decimal] = {}
    for part in (p.strip() for p in text.split(",")):
        asset, sep, amount = part.partition("=")
        asset = asset.strip().upper()
        if not sep or not asset:
            raise ConfigError("--balances", f"{part!r}: expected ASSET=AMOUNT, e.g. BTC=1")
        try:
            value = Decimal(amount.strip())
        except InvalidOperation:
            raise ConfigError("--balances", f"{part!r}: {amount!r} is not a number") from None
        if not value.is_finite() or value < 0:
            raise ConfigError("--balances", f"{part!r}: the amount must be 0 or more")
        if asset in balances:
            raise ConfigError("--balances", f"{asset} is given twice")
        balances[asset] = value
    return balances


def parse_json_object(text: str, option: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(option, f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(option, f"must be a JSON object, got {type(value).__name__}")
    return value


def expand_grid(params: Mapping[str, Any], grid: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every combination of the `grid`'s values (name -> list of values), each laid over
    `params`, in the grid's order."""
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError("--grid", f"{name!r} needs a non-empty list of values")
    names = list(grid)
    return [
        {**params, **dict(zip(names, combination, strict=True))}
        for combination in itertools.product(*(grid[name] for name in names))
    ]


def load_data(spec: DataSpec) -> dict[str, list[Candle]]:
    """The candles of `spec`, cut to its window; ConfigError when nothing is left."""
    return _split(spec)[0]


def load_history(spec: DataSpec) -> dict[str, list[Candle]]:
    """The candles of `spec` before its window (`--from`), for strategies to warm up on
    (`Strategy.history_bars`); none without a `--from`."""
    return _split(spec)[1]


@functools.lru_cache(maxsize=2)
def _split(spec: DataSpec) -> tuple[dict[str, list[Candle]], dict[str, list[Candle]]]:
    """(the window, what comes before it), read once per process and data spec."""
    directory = Path(spec.directory) if spec.directory else bundled_candles_dir()
    if not directory.is_dir():
        raise ConfigError("--data", f"{directory} is not a directory")
    candles = load_candles(directory)
    cut = {
        symbol: [
            c
            for c in rows
            if (spec.start_ms is None or c.open_ms >= spec.start_ms)
            and (spec.end_ms is None or c.open_ms <= spec.end_ms)
        ]
        for symbol, rows in candles.items()
    }
    cut = {symbol: rows for symbol, rows in cut.items() if rows}
    if not cut:
        raise ConfigError("--from/--to", f"no candle of {directory} falls in that window")
    start = spec.start_ms
    before = (
        {}
        if start is None
        else {symbol: [c for c in rows if c.open_ms < start] for symbol, rows in candles.items()}
    )
    return cut, {symbol: rows for symbol, rows in before.items() if rows}


def candles_for(
    strategy_symbols: Iterable[str],
    balances: Mapping[str, Decimal],
    candles: Mapping[str, list[Candle]],
) -> dict[str, list[Candle]]:
    """The candles a run needs: the strategy's symbols, and a pair to value each asset
    held in (its `BASE/QUOTE` in the strategy's quote)."""
    wanted = list(dict.fromkeys(strategy_symbols))
    missing = [symbol for symbol in wanted if symbol not in candles]
    if missing:
        raise ConfigError(
            "--data",
            f"no candles for {', '.join(missing)}; the data has {', '.join(sorted(candles))}",
        )
    quotes = {symbol.split("/")[1] for symbol in wanted}
    for asset in balances:
        for quote in quotes:
            pair = f"{asset}/{quote}"
            if pair in candles and pair not in wanted:
                wanted.append(pair)
    return {symbol: candles[symbol] for symbol in wanted}


def run_one(
    strategy_name: str,
    params: Mapping[str, Any],
    candles: Mapping[str, list[Candle]],
    balances: Mapping[str, Decimal],
    on_step: Callable[[int, int], None] | None = None,
    history: Mapping[str, list[Candle]] | None = None,
) -> BacktestResult:
    """One backtest of `strategy_name` with `params` (validated as a bot's would be),
    warmed up on `history` (the candles before the window) if the strategy needs it."""
    strategy = create(strategy_name, params)
    chosen = candles_for(strategy.symbols(), balances, candles)
    return run_backtest(
        strategy, chosen, initial_balances=balances, on_step=on_step, history=history
    )


def summary(metrics: BacktestMetrics, valuation_asset: str) -> dict[str, Any]:
    """The metrics as one flat mapping: the figures of a live account's analytics, by
    the same code and under the same names (`analytics_figures.figures_json`;
    docs/analytics.md), money as exact strings, None where undefined (a backtest has no
    benchmark, nor holdings valued at the end), then the valuation asset."""
    figures = account_figures(
        metrics.performance, metrics.trades, fees=metrics.fees_value, turnover=metrics.turnover
    )
    return {**figures_json(figures), "valuation_asset": valuation_asset}


def rankable(metric: str) -> None:
    """ConfigError unless `metric` is a number `summary` reports."""
    numeric = {
        "total_return", "annual_return", "volatility", "sharpe", "sortino", "calmar",
        "max_drawdown", "current_drawdown", "var_95", "cvar_95", "var_99", "cvar_99",
        "win_rate", "profit_factor", "fees", "turnover", "trades",
    }  # fmt: skip
    if metric not in numeric:
        raise ConfigError("--rank", f"{metric!r} is not a metric; use one of {sorted(numeric)}")


def ranked(runs: Iterable[RunSummary], metric: str) -> list[RunSummary]:
    """Best first by `metric` (higher is better, but for LOWER_IS_BETTER); runs where it
    is undefined last."""

    def key(run: RunSummary) -> tuple[int, float]:
        value = run.metrics.get(metric)
        if value is None:
            return (1, 0.0)
        number = float(value)
        return (0, number if metric in LOWER_IS_BETTER else -number)

    return sorted(runs, key=key)


def _grid_worker(
    strategy_name: str,
    params: dict[str, Any],
    data: DataSpec,
    balances: dict[str, Decimal],
) -> RunSummary:
    # Each worker process reads the candles once (`_split`), not once per parameter set.
    result = run_one(strategy_name, params, load_data(data), balances, history=load_history(data))
    return RunSummary(params, summary(result.metrics, result.valuation_asset))


def run_grid(
    strategy_name: str,
    param_sets: list[dict[str, Any]],
    data: DataSpec,
    balances: dict[str, Decimal],
    *,
    workers: int | None = None,
    on_done: Callable[[RunSummary], None] | None = None,
) -> list[RunSummary]:
    """Every parameter set as its own backtest, `workers` processes at a time (default:
    one per CPU). Each set is validated here first, so a bad one fails before any runs."""
    candles = load_data(data)
    for params in param_sets:
        candles_for(create(strategy_name, params).symbols(), balances, candles)
    summaries: list[RunSummary] = []
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        futures = [
            pool.submit(_grid_worker, strategy_name, params, data, balances)
            for params in param_sets
        ]
        for future in as_completed(futures):
            done = future.result()
            summaries.append(done)
            if on_done is not None:
                on_done(done)
    return summaries


def result_document(
    strategy_name: str,
    params: Mapping[str, Any],
    result: BacktestResult,
) -> dict[str, Any]:
    """The JSON written by `--json` for one run: the metrics, the equity curve as
    `[[ts_ns, equity], ...]` (equity an exact decimal string), balances and trades."""
    return {
        "strategy": strategy_name,
        "params": dict(params),
        "valuation_asset": result.valuation_asset,
        "initial_balances": {a: str(v) for a, v in result.initial_balances.items()},
        "final_balances": {a: str(v) for a, v in result.final_balances.items() if v},
        "initial_equity": str(result.initial_equity),
        "final_equity": str(result.final_equity),
        "metrics": summary(result.metrics, result.valuation_asset),
        "equity_curve": [[p.ts_ns, str(p.equity)] for p in result.equity_curve],
        "trades": [
            {
                "ts": iso_utc(f.ts_ns),
                "symbol": f.instrument.symbol,
                "side": f.side.value,
                "price": str(f.price),
                "quantity": str(f.quantity),
                "fee": str(f.fee),
                "fee_asset": f.fee_asset,
            }
            for f in result.trades
        ],
        "rejections": len(result.rejections),
        "open_orders": len(result.open_orders),
    }
