"""Where the simulated exchange's reference prices come from: a seeded synthetic model
or a replay of historical candles. Pure: time is passed in, nothing reads the clock.

Both answer `price(symbol, t_ms)` for the exchange's own clock; the liquidity provider
quotes around that price and background flow trades near it.
"""

from __future__ import annotations

import csv
import itertools
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Protocol

from tradewind.errors import ConfigError


class PriceSource(Protocol):
    """Reference prices over time, per unified symbol (`BASE/QUOTE`)."""

    @property
    def symbols(self) -> tuple[str, ...]: ...

    def price(self, symbol: str, t_ms: int) -> Decimal:
        """The reference price of `symbol` at exchange time `t_ms` (ms since epoch)."""
        ...


@dataclass(frozen=True)
class SyntheticSpec:
    """One synthetic pair: start price, annual volatility (fraction), jumps per day,
    jump size (standard deviation of the log jump)."""

    start: Decimal
    volatility: float = 0.8
    jumps_per_day: float = 4.0
    jump_sigma: float = 0.01


DEFAULT_SYNTHETIC: Mapping[str, SyntheticSpec] = {
    "BTC/USDT": SyntheticSpec(Decimal("30000")),
    "ETH/USDT": SyntheticSpec(Decimal("2000"), volatility=0.9),
    "SOL/USDT": SyntheticSpec(Decimal("100"), volatility=1.2),
    "BNB/USDT": SyntheticSpec(Decimal("300"), volatility=0.7),
    "XRP/USDT": SyntheticSpec(Decimal("0.5"), volatility=1.0),
}

_MS_PER_YEAR = 365 * 24 * 3600 * 1000
_SIGNIFICANT = 8  # digits kept in synthetic prices


class SyntheticMarket:
    """Geometric Brownian motion with Poisson jumps, one path per symbol, in steps of
    `step_ms`. Seeded: the same seed and start give the same prices. The path starts at
    `start_ms`, or at the first time asked for when that is None."""

    def __init__(
        self,
        specs: Mapping[str, SyntheticSpec] = DEFAULT_SYNTHETIC,
        *,
        seed: int = 7,
        start_ms: int | None = None,
        step_ms: int = 250,
    ) -> None:
        self._specs = dict(specs)
        self._rng = random.Random(seed)
        self._step_ms = step_ms
        self._t_ms = start_ms  # None: the path starts at the first time asked for
        self._log_price = {s: math.log(float(spec.start)) for s, spec in self._specs.items()}
        self._current = {s: spec.start for s, spec in self._specs.items()}

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._specs)

    def price(self, symbol: str, t_ms: int) -> Decimal:
        if self._t_ms is None:
            self._t_ms = t_ms
        while self._t_ms + self._step_ms <= t_ms:
            self._t_ms += self._step_ms
            self._step()
        return self._current[symbol]

    def _step(self) -> None:
        dt_years = self._step_ms / _MS_PER_YEAR
        rng = self._rng
        for symbol, spec in self._specs.items():
            sigma = spec.volatility
            move = -0.5 * sigma * sigma * dt_years + sigma * math.sqrt(dt_years) * rng.gauss()
            jump_probability = spec.jumps_per_day * self._step_ms / 86_400_000
            if rng.random() < jump_probability:
                move += rng.gauss() * spec.jump_sigma
            self._log_price[symbol] += move
            self._current[symbol] = _round_significant(math.exp(self._log_price[symbol]))


def _round_significant(value: float) -> Decimal:
    exponent = math.floor(math.log10(value)) - _SIGNIFICANT + 1
    return Decimal(round(value / 10.0**exponent)).scaleb(exponent)


@dataclass(frozen=True, slots=True)
class Candle:
    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


class CandleReplay:
    """Replays candle files at `speed` times real time, starting at the first candle.

    Within a candle the price walks open -> low -> high -> close when the candle rose
    (open -> high -> low -> close when it fell), in equal quarters of its interval; a
    gap in the data holds the last close.
    """

    def __init__(self, candles: Mapping[str, list[Candle]], *, speed: float, start_ms: int) -> None:
        if speed <= 0:
            raise ValueError(f"replay speed must be positive, got {speed}")
        if not candles:
            raise ValueError("no candles to replay")
        self._candles = {s: c for s, c in candles.items() if c}
        self._speed = speed
        self._start_ms = start_ms
        self.data_start_ms = min(c[0].open_ms for c in self._candles.values())
        self.data_end_ms = max(c[-1].open_ms for c in self._candles.values())
        self._interval_ms = _interval_ms(next(iter(self._candles.values())))
        self._cursor = dict.fromkeys(self._candles, 0)

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._candles)

    def data_time(self, t_ms: int) -> int:
        """The moment in the data that exchange time `t_ms` corresponds to."""
        return self.data_start_ms + int((t_ms - self._start_ms) * self._speed)

    def finished(self, t_ms: int) -> bool:
        return self.data_time(t_ms) >= self.data_end_ms + self._interval_ms

    def price(self, symbol: str, t_ms: int) -> Decimal:
        candles = self._candles[symbol]
        at = self.data_time(t_ms)
        i = self._cursor[symbol]
        if i and candles[i].open_ms > at:
            i = 0  # time went backwards (a new replay): search from the start
        while i + 1 < len(candles) and candles[i + 1].open_ms <= at:
            i += 1
        self._cursor[symbol] = i
        candle = candles[i]
        offset = at - candle.open_ms
        if offset < 0:
            return candle.open
        if offset >= self._interval_ms:
            return candle.close
        return _inside(candle, offset / self._interval_ms)


def _inside(candle: Candle, fraction: float) -> Decimal:
    """The price `fraction` (0..1) of the way through `candle`."""
    rose = candle.close >= candle.open
    path = (
        (candle.open, candle.low, candle.high, candle.close)
        if rose
        else (candle.open, candle.high, candle.low, candle.close)
    )
    segment = min(2, int(fraction * 3))
    within = Decimal(repr(fraction * 3 - segment))
    start, end = path[segment], path[segment + 1]
    return (start + (end - start) * within).quantize(_quantum(candle))


def _quantum(candle: Candle) -> Decimal:
    """The finest decimal step among the candle's prices, so interpolation invents none."""
    exponents = [
        p.as_tuple().exponent for p in (candle.open, candle.high, candle.low, candle.close)
    ]
    return Decimal(1).scaleb(min(e for e in exponents if isinstance(e, int)))


def _interval_ms(candles: list[Candle]) -> int:
    if len(candles) < 2:
        return 60_000
    return min(b.open_ms - a.open_ms for a, b in itertools.pairwise(candles))


def load_candles(directory: Path) -> dict[str, list[Candle]]:
    """Read every `BASE-QUOTE.csv` (`timestamp_ms,open,high,low,close,volume`) in
    `directory`; raises ConfigError naming the file and line of any bad row."""
    files = sorted(directory.glob("*.csv"))
    if not files:
        raise ConfigError("--market", f"no *.csv candle files in {directory}")
    candles: dict[str, list[Candle]] = {}
    for path in files:
        base, sep, quote = path.stem.partition("-")
        if not sep or not base or not quote:
            raise ConfigError("--market", f"{path.name}: name must be BASE-QUOTE.csv")
        candles[f"{base}/{quote}"] = _read_file(path)
    return candles


def _read_file(path: Path) -> list[Candle]:
    rows: list[Candle] = []
    with path.open(newline="") as f:
        for line_no, row in enumerate(csv.reader(f), start=1):
            if line_no == 1 and row and row[0].strip().startswith("timestamp"):
                continue
            try:
                ts, o, h, low, c, v = row
                rows.append(
                    Candle(int(ts), Decimal(o), Decimal(h), Decimal(low), Decimal(c), Decimal(v))
                )
            except (ValueError, ArithmeticError):
                raise ConfigError(
                    "--market",
                    f"{path.name} line {line_no}: expected timestamp_ms,open,high,low,close,"
                    f"volume, got {','.join(row)!r}",
                ) from None
    rows.sort(key=lambda candle: candle.open_ms)
    return rows


def bundled_candles_dir() -> Path:
    """The January-2018 5-minute candles shipped with Tradewind (7 pairs quoted in BTC)."""
    return Path(str(resources.files("tradewind.venues.simulated") / "data"))
