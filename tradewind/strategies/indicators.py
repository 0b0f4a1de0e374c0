"""Indicators over bar closes kept in strategy memory (plain lists, so they snapshot):
trailing windows, simple moving averages and trailing returns. Exact `Decimal`s."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal


def remember_close(closes: list[Decimal], close: Decimal, keep: int) -> None:
    """Append `close` and drop the oldest so that at most `keep` remain."""
    closes.append(close)
    if len(closes) > keep:
        del closes[: len(closes) - keep]


def simple_moving_average(closes: Sequence[Decimal], bars: int) -> Decimal | None:
    """The mean of the last `bars` closes, or None while fewer are known."""
    if bars <= 0 or len(closes) < bars:
        return None
    return sum(closes[-bars:], Decimal(0)) / bars


def trailing_return(closes: Sequence[Decimal], bars: int) -> Decimal | None:
    """The return over the last `bars` bars (0.05 = +5%), or None while fewer than
    `bars + 1` closes are known."""
    if bars <= 0 or len(closes) <= bars:
        return None
    return closes[-1] / closes[-1 - bars] - 1
