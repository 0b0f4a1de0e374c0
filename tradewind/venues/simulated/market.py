"""Where the simulated exchange's reference prices come from: a seeded synthetic model
or a replay of historical candles. Pure: time is passed in, nothing reads the clock.

Both answer `price(symbol, t_ms)` for the exchange's own clock; the liquidity provider
quotes around that price and background flow trades near it. Both can also have a past:
the candles before the venue started (`past_candles`), which the venue serves as its
history (`back_history`): a replay's data before its start point, or a synthetic
back-history generated from the seed.
"""

from __future__ import annotations

import bisect
import csv
import itertools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
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

    def past_candles(self) -> PastCandles | None:
        """The candles before the venue started, to serve as its history; None if the
        source has no past."""
        ...


@dataclass(frozen=True, slots=True)
class Candle:
    """One OHLCV candle: `open_ms` ms since the epoch (UTC), prices in the quote asset,
    `volume` in the base asset."""

    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True)
class PastCandles:
    """A price source's candles from before the venue started.

    `by_symbol`: each symbol's candles, oldest first, `interval_ms` wide, in the source's
    own time (a replay's data time; they are shared, not copied). `shift_ms` moves them
    onto the wall clock (wall open = `open_ms + shift_ms`); there they end at `end_ms`, a
    multiple of `interval_ms` at or before the venue's start, where live candles begin.
    """

    interval_ms: int
    shift_ms: int
    end_ms: int
    by_symbol: Mapping[str, Sequence[Candle]]


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
SYNTHETIC_PAST_INTERVAL_MS = 5 * 60_000
_PAST_SUBSTEPS = 20  # price steps per past candle (15 s each), for its high and low
#: Quote-asset volume of a synthetic past candle, on average: about what the house
#: background flow trades in 5 minutes on a USDT pair (2 orders/s of 2-60 x 5 USDT).
_PAST_QUOTE_VOLUME = 90_000.0
_PAST_VOLUME_SIGMA = 0.5  # spread of the log of a past candle's volume


class SyntheticMarket:
    """Geometric Brownian motion with Poisson jumps, one path per symbol, in steps of
    `step_ms`. Seeded: the same seed and start give the same prices. The path starts at
    `start_ms`, or at the first time asked for when that is None.

    With `history_ms`, the market also has a past: 5-minute candles over the
    `history_ms` before `start_ms` (rounded down to whole candles), generated from the
    seed by the same model run backwards from the start prices, so that the last past
    candle closes at the price the live path starts from. Same seed, same past."""

    def __init__(
        self,
        specs: Mapping[str, SyntheticSpec] = DEFAULT_SYNTHETIC,
        *,
        seed: int = 7,
        start_ms: int | None = None,
        step_ms: int = 250,
        history_ms: int = 0,
    ) -> None:
        if history_ms < 0:
            raise ValueError(f"history_ms must not be negative, got {history_ms}")
        if history_ms and start_ms is None:
            raise ValueError("a synthetic market with a past needs its start_ms")
        self._specs = dict(specs)
        self._seed = seed
        self._rng = random.Random(seed)
        self._step_ms = step_ms
        self._start_ms = start_ms
        self._t_ms = start_ms  # None: the path starts at the first time asked for
        self._history_ms = history_ms
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

    def past_candles(self) -> PastCandles | None:
        count = self._history_ms // SYNTHETIC_PAST_INTERVAL_MS
        if not count or self._start_ms is None:
            return None
        end_ms = self._start_ms - self._start_ms % SYNTHETIC_PAST_INTERVAL_MS
        by_symbol = {
            symbol: _synthetic_past(symbol, spec, self._seed, end_ms, count)
            for symbol, spec in self._specs.items()
        }
        return PastCandles(SYNTHETIC_PAST_INTERVAL_MS, 0, end_ms, by_symbol)


def _synthetic_past(
    symbol: str, spec: SyntheticSpec, seed: int, end_ms: int, count: int
) -> list[Candle]:
    """`count` 5-minute candles ending at `end_ms`, the last closing at `spec.start`: the
    model walked backwards (each step undoes a move drawn as the forward path draws it).
    Each symbol has its own generator, seeded by the market's seed and its name."""
    rng = random.Random(f"synthetic-past/{seed}/{symbol}")
    step_ms = SYNTHETIC_PAST_INTERVAL_MS / _PAST_SUBSTEPS
    dt_years = step_ms / _MS_PER_YEAR
    sigma = spec.volatility
    drift = -0.5 * sigma * sigma * dt_years
    scale = sigma * math.sqrt(dt_years)
    jump_probability = spec.jumps_per_day * step_ms / 86_400_000
    log_price = math.log(float(spec.start))
    newest_first: list[Candle] = []
    for index in range(1, count + 1):
        close = high = low = log_price
        for _ in range(_PAST_SUBSTEPS):
            move = drift + scale * rng.gauss()
            if rng.random() < jump_probability:
                move += rng.gauss() * spec.jump_sigma
            log_price -= move
            high, low = max(high, log_price), min(low, log_price)
        quote_volume = _PAST_QUOTE_VOLUME * math.exp(_PAST_VOLUME_SIGMA * rng.gauss())
        newest_first.append(
            Candle(
                end_ms - index * SYNTHETIC_PAST_INTERVAL_MS,
                _round_significant(math.exp(log_price)),
                _round_significant(math.exp(high)),
                _round_significant(math.exp(low)),
                spec.start if index == 1 else _round_significant(math.exp(close)),
                _round_significant(quote_volume / math.exp(close)),
            )
        )
    newest_first.reverse()
    return newest_first


def _round_significant(value: float) -> Decimal:
    exponent = math.floor(math.log10(value)) - _SIGNIFICANT + 1
    return Decimal(round(value / 10.0**exponent)).scaleb(exponent)


class CandleReplay:
    """Replays candle files at `speed` times real time: exchange time `start_ms` plays
    the moment `from_ms` of the data (rounded down to the data's candle grid; by default
    the first candle), and the candles before it are the replay's past.

    Within a candle the price walks open -> low -> high -> close when the candle rose
    (open -> high -> low -> close when it fell), in equal thirds of its interval; a
    gap in the data holds the last close.
    """

    def __init__(
        self,
        candles: Mapping[str, list[Candle]],
        *,
        speed: float,
        start_ms: int,
        from_ms: int | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"replay speed must be positive, got {speed}")
        if not candles:
            raise ValueError("no candles to replay")
        self._candles = {s: c for s, c in candles.items() if c}
        self._speed = speed
        self._start_ms = start_ms
        self.data_start_ms = min(c[0].open_ms for c in self._candles.values())
        self.data_end_ms = max(c[-1].open_ms for c in self._candles.values())
        self.interval_ms = _interval_ms(next(iter(self._candles.values())))
        origin = self.data_start_ms if from_ms is None else from_ms
        if not self.data_start_ms <= origin <= self.data_end_ms:
            raise ValueError(
                f"from_ms {origin} is outside the data [{self.data_start_ms}, {self.data_end_ms}]"
            )
        self.from_ms = origin - (origin - self.data_start_ms) % self.interval_ms
        self._cursor = dict.fromkeys(self._candles, 0)

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._candles)

    def data_time(self, t_ms: int) -> int:
        """The moment in the data that exchange time `t_ms` corresponds to."""
        return self.from_ms + int((t_ms - self._start_ms) * self._speed)

    def finished(self, t_ms: int) -> bool:
        return self.data_time(t_ms) >= self.data_end_ms + self.interval_ms

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
        if offset >= self.interval_ms:
            return candle.close
        return _inside(candle, offset / self.interval_ms)

    def past_candles(self) -> PastCandles | None:
        """The data before `from_ms`, ending on the wall clock at `start_ms` rounded down
        to the data's interval: candle widths are kept whatever the speed."""
        if self.from_ms == self.data_start_ms:
            return None
        end_ms = self._start_ms - self._start_ms % self.interval_ms
        by_symbol = {
            symbol: candles[: bisect.bisect_left(candles, self.from_ms, key=_open_ms)]
            for symbol, candles in self._candles.items()
        }
        return PastCandles(self.interval_ms, end_ms - self.from_ms, end_ms, by_symbol)


def _open_ms(candle: Candle) -> int:
    return candle.open_ms


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
    return (start + (end - start) * within).quantize(_quantum(candle), ROUND_HALF_EVEN)


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
