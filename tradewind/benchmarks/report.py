"""The bench scripts' JSON results, in one shape so that two runs can be compared
(`tradewind bench compare OLD.json NEW.json`):

    {"bench": "orders_pipeline", "date": "2026-12-07T07:30:00Z",
     "machine": {"cpus": 2, "cpu_model": "AMD EPYC ...", "python": "3.11.7",
                 "platform": "Linux-6.18-...", "load_average": [1.2, 0.9, 0.7]},
     "command": "python bench/orders_pipeline.py --accounts 100 --json",
     "figures": {"orders_per_s{accounts=100,database=False}": 8123.0, ...},
     "detail": {...}}

`figures` is flat, name -> number; a figure measured once per case of a run (per bus,
per account count) carries the case in braces, Prometheus-style. Whether more is better
follows from the name (`figure_direction`). `detail` is whatever else the bench reports
(its rows as before, counts, settings).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

REQUIRED_KEYS = ("bench", "date", "machine", "command", "figures")
STDOUT = "-"

Direction = Literal["higher", "lower", "neutral"]
_TIME_UNITS = frozenset({"s", "ms", "us", "ns", "seconds", "microseconds", "milliseconds"})
_SIZE_UNITS = frozenset({"mb", "kb", "bytes", "rss"})


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """`--json [FILE]`: print the result as one JSON object (`bench_report`), or write it
    to FILE."""
    parser.add_argument(
        "--json",
        nargs="?",
        const=STDOUT,
        default=None,
        metavar="FILE",
        help="print the result as one JSON object, or write it to FILE",
    )


def machine() -> dict[str, Any]:
    """This machine, as far as a benchmark's figures depend on it."""
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def command_line(argv: Sequence[str] | None = None) -> str:
    """How this process was started (`python bench/x.py ...`, `tradewind bench bus ...`),
    the script's path relative to the working directory where it is below it."""
    args = list(sys.argv if argv is None else argv)
    if args and Path(args[0]).parts[-2:] == ("tradewind", "cli.py"):  # python -m tradewind.cli
        args[0] = "tradewind"
    elif args and args[0].endswith(".py"):
        script = Path(args[0])
        try:
            args[0] = str(script.resolve().relative_to(Path.cwd()))
        except ValueError:
            args[0] = str(script)
        args.insert(0, "python")
    elif args:
        args[0] = Path(args[0]).name
    return shlex.join(args)


def bench_report(
    bench: str,
    figures: Mapping[str, float | int],
    detail: Mapping[str, Any] | None = None,
    *,
    command: str | None = None,
) -> dict[str, Any]:
    """One run's result in the shape of this module's docstring."""
    return {
        "bench": bench,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "command": command if command is not None else command_line(),
        "figures": {name: float(value) for name, value in figures.items()},
        "detail": dict(detail or {}),
    }


def write_report(report: Mapping[str, Any], destination: str) -> None:
    """Print `report` as one line of JSON (`destination` "-") or write it to that file."""
    text = json.dumps(report)
    if destination == STDOUT:
        print(text, flush=True)
    else:
        Path(destination).write_text(text + "\n")


def case_figures(
    rows: Iterable[Mapping[str, Any]], case: Sequence[str], names: Sequence[str] | None = None
) -> dict[str, float]:
    """Flat figures from rows measured per case: each of `names` of each row (None: every
    number of the row but its case's), named `name{key=value,...}` by the row's `case`
    keys (just `name` when `case` is empty)."""
    out: dict[str, float] = {}
    for row in rows:
        label = ",".join(f"{key}={row[key]}" for key in case)
        chosen = names if names is not None else [k for k in row if k not in case]
        for name in chosen:
            value = row[name]
            if not _is_number(value):
                if names is None:
                    continue
                raise TypeError(f"figure {name!r} is not a number: {value!r}")
            out[f"{name}{{{label}}}" if label else name] = float(value)
    return out


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def figure_direction(name: str) -> Direction:
    """Which way a figure improves, from its name (the part before any `{case}`):
    things per unit of time (`orders_per_s`) are better higher; times (`_s`, `_ms`,
    `_us`, `us_per_order`), latencies and memory (`rss_mb`) lower; anything else (counts)
    is neutral."""
    tokens = name.split("{", 1)[0].lower().split("_")
    if "per" in tokens:
        at = len(tokens) - 1 - tokens[::-1].index("per")
        numerator, denominator = tokens[:at], tokens[at + 1 :]
        if numerator and numerator[-1] in _TIME_UNITS | _SIZE_UNITS:
            return "lower"  # us_per_order, rss_per_bot_kb's kind
        if denominator and denominator[0] in _TIME_UNITS | {"second", "minute"}:
            return "higher"
        if tokens[-1] in _SIZE_UNITS:
            return "lower"
        return "neutral"
    if "latency" in tokens or tokens[-1] in _TIME_UNITS or tokens[-1] in _SIZE_UNITS:
        return "lower"
    return "neutral"
