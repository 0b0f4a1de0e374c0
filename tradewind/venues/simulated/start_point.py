"""`tradewind venue serve --start`: where the venue's history ends and live trading begins.

In a replay, `--start` names a moment inside the data: an ISO 8601 date or time (UTC
unless it gives an offset), a timestamp in ms since the epoch, or an offset from the
data's first candle (`2d`, `36h`, `1d12h`). The data before it are served as history;
the replay plays on from it. A synthetic market starts now, so there `--start` is an
offset only: how much back-history to generate.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tradewind.domain.time_units import datetime_from_ms, ms_from_datetime
from tradewind.errors import ConfigError
from tradewind.venues.simulated.kline_intervals import DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS

OPTION = "--start"
#: Two days: 576 five-minute candles, more than the 500 a client gets by default
#: (Binance's `limit`, and ccxt's `fetch_ohlcv(..., limit=500)`).
DEFAULT_START = "2d"
#: The longest back-history a synthetic market generates.
MAX_SYNTHETIC_HISTORY_MS = 30 * DAY_MS

_OFFSET = re.compile(r"\+?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?")
_OFFSET_UNITS_MS = (WEEK_MS, DAY_MS, HOUR_MS, MINUTE_MS)


def offset_ms(text: str) -> int | None:
    """An offset (`2d`, `36h`, `90m`, `1w`, `1d12h`; weeks, days, hours, minutes in that
    order) in ms; None if `text` is not one."""
    match = _OFFSET.fullmatch(text.strip())
    if match is None or not any(match.groups()):
        return None
    return sum(int(n) * unit for n, unit in zip(match.groups(), _OFFSET_UNITS_MS, strict=True) if n)


def replay_start_ms(text: str, data_start_ms: int, data_end_ms: int) -> int:
    """The moment of the data that `--start` names (ms since the epoch); ConfigError if
    `text` is no date, timestamp or offset, or names a moment outside
    [`data_start_ms`, `data_end_ms`] (the first and the last candle's open)."""
    relative = offset_ms(text)
    if relative is not None:
        moment = data_start_ms + relative
    else:
        absolute = _absolute_ms(text)
        if absolute is None:
            raise ConfigError(
                OPTION,
                f"expected a date (2018-01-15, 2018-01-15T12:00), a timestamp in ms or an "
                f"offset into the data (2d, 36h, 1d12h), got {text!r}",
            )
        moment = absolute
    if not data_start_ms <= moment <= data_end_ms:
        raise ConfigError(
            OPTION,
            f"{text} is outside the data, which runs from {_utc(data_start_ms)} to "
            f"{_utc(data_end_ms)} UTC (offsets 0m to {format_offset(data_end_ms - data_start_ms)})",
        )
    return moment


def synthetic_history_ms(text: str) -> int:
    """How much back-history `--start` asks a synthetic market for (ms); ConfigError for
    anything but an offset of at most MAX_SYNTHETIC_HISTORY_MS."""
    relative = offset_ms(text)
    if relative is None:
        raise ConfigError(
            OPTION,
            f"a synthetic market starts now: give how much history it should have as an "
            f"offset (2d, 36h, 1d12h; 0m for none), got {text!r}",
        )
    if relative > MAX_SYNTHETIC_HISTORY_MS:
        raise ConfigError(
            OPTION,
            f"a synthetic market generates at most {format_offset(MAX_SYNTHETIC_HISTORY_MS)} "
            f"of history, got {text}",
        )
    return relative


def format_offset(ms: int) -> str:
    """`ms` as an offset `--start` accepts, to the minute below: `19d23h55m`, `0m`."""
    minutes = ms // MINUTE_MS
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return "".join(parts) or "0m"


def _absolute_ms(text: str) -> int | None:
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return ms_from_datetime(moment)


def _utc(ms: int) -> str:
    return datetime_from_ms(ms).strftime("%Y-%m-%d %H:%M")
