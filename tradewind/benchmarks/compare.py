"""`tradewind bench compare OLD.json NEW.json`: two runs of one bench (the JSON of
`bench/*.py --json`, see `tradewind.benchmarks.report`) side by side, per figure: old,
new, the change in %, and whether that is better or worse (the figure's direction).

It judges nothing against a threshold: benchmarks on a shared machine are noisy, and
the reader decides what a change means.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from tradewind.benchmarks.report import REQUIRED_KEYS, Direction, figure_direction
from tradewind.errors import ConfigError

_ARROWS = {"higher": "↑", "lower": "↓", "neutral": ""}


@dataclass(frozen=True)
class FigureChange:
    """One figure in both runs (None: absent from that run). `change_pct` is
    (new - old) / old in %, None when either is absent or old is 0."""

    name: str
    old: float | None
    new: float | None
    direction: Direction

    @property
    def change_pct(self) -> float | None:
        if self.old is None or self.new is None or self.old == 0:
            return None
        return (self.new - self.old) / abs(self.old) * 100

    @property
    def verdict(self) -> str:
        """better, worse, same, changed (a neutral figure), new or gone."""
        if self.old is None:
            return "new"
        if self.new is None:
            return "gone"
        if self.new == self.old:
            return "same"
        if self.direction == "neutral":
            return "changed"
        improved = self.new > self.old if self.direction == "higher" else self.new < self.old
        return "better" if improved else "worse"


def load_report(path: Path) -> dict[str, Any]:
    """A bench result file, checked for the uniform keys; a ConfigError naming the file
    and what is wrong otherwise."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read it: {exc.strerror or exc}") from None
    try:
        report = json.loads(text)
    except ValueError as exc:
        raise ConfigError(str(path), f"not JSON ({exc})") from None
    if not isinstance(report, dict):
        raise ConfigError(str(path), "not a bench result: expected a JSON object")
    missing = [key for key in REQUIRED_KEYS if key not in report]
    if missing:
        raise ConfigError(
            str(path),
            f"not a bench result: no {', '.join(missing)} (write one with "
            "`python bench/NAME.py --json FILE`)",
        )
    figures = report["figures"]
    if not isinstance(figures, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in figures.values()
    ):
        raise ConfigError(str(path), "its figures must be an object of name: number")
    return report


def compare_reports(
    old: dict[str, Any], new: dict[str, Any], names: tuple[str, str] = ("OLD", "NEW")
) -> list[FigureChange]:
    """Every figure of either run, in the old run's order, then the new run's new ones.
    `names` name the two runs in an error (their files)."""
    if old["bench"] != new["bench"]:
        raise ConfigError(
            names[1],
            f"a run of {new['bench']!r}, but {names[0]} is a run of {old['bench']!r}: "
            "compare two runs of one bench",
        )
    figures = list(old["figures"]) + [n for n in new["figures"] if n not in old["figures"]]
    return [
        FigureChange(
            name,
            _number(old["figures"].get(name)),
            _number(new["figures"].get(name)),
            figure_direction(name),
        )
        for name in figures
    ]


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def compare_table(old: dict[str, Any], new: dict[str, Any], changes: list[FigureChange]) -> Table:
    """The Rich table of `changes`, titled with the bench and both runs' dates."""
    table = Table(
        title=f"{old['bench']}: {old['date']} -> {new['date']}",
        caption=_caption(old, new),
    )
    table.add_column("figure", overflow="fold")
    table.add_column("better", justify="center")
    table.add_column("old", justify="right")
    table.add_column("new", justify="right")
    table.add_column("change", justify="right")
    table.add_column("")
    styles = {"better": "green", "worse": "red"}
    for change in changes:
        pct = change.change_pct
        table.add_row(
            change.name,
            _ARROWS[change.direction],
            _format(change.old),
            _format(change.new),
            "" if pct is None else f"{pct:+.1f} %",
            Text(change.verdict, style=styles.get(change.verdict, "")),
        )
    return table


def _caption(old: dict[str, Any], new: dict[str, Any]) -> str:
    notes = []
    if old.get("command") != new.get("command"):
        notes.append(f"commands differ: {old.get('command')!r} vs {new.get('command')!r}")
    cpus = (old["machine"].get("cpus"), new["machine"].get("cpus"))
    models = (old["machine"].get("cpu_model"), new["machine"].get("cpu_model"))
    if cpus[0] != cpus[1] or models[0] != models[1]:
        notes.append(f"machines differ: {cpus[0]} x {models[0]} vs {cpus[1]} x {models[1]}")
    return "; ".join(notes)


def _format(value: float | None) -> str:
    if value is None:
        return "-"
    if math.isfinite(value) and value == int(value) and abs(value) >= 1:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.3g}" if abs(value) < 1 else f"{value:,.2f}"


def compare_files(old_path: Path, new_path: Path) -> Table:
    """`tradewind bench compare`'s table for two result files."""
    old, new = load_report(old_path), load_report(new_path)
    return compare_table(old, new, compare_reports(old, new, (str(old_path), str(new_path))))
