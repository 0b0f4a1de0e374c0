"""Binance's kline intervals and where their candles start, pure arithmetic on ms.

Fixed-width intervals (`1s` … `3d`) start at whole multiples of their width counted
from the Unix epoch; `1w` starts on Monday 00:00 and `1M` on the 1st of the month, both
in the requested time zone (Binance's `timeZone`, UTC by default). A time zone moves
every boundary: with `timeZone=8` a `1d` candle opens at 16:00 UTC.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime

from tradewind.domain.time_units import datetime_from_ms, ms_from_datetime

SECOND_MS = 1000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS

#: Width of every fixed-width interval, ms (Binance's names, case-sensitive).
FIXED_INTERVALS_MS = {
    "1s": SECOND_MS,
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS,
    "8h": 8 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": DAY_MS,
    "3d": 3 * DAY_MS,
}
#: Every interval Binance's spot klines accept, in its documented order.
KLINE_INTERVALS = (*FIXED_INTERVALS_MS, "1w", "1M")

_MONDAY_OFFSET_DAYS = 3  # 1970-01-01 was a Thursday: day d is (d + 3) % 7 days after Monday
_TIME_ZONE = re.compile(r"([+-]?)([0-9]{1,2})(?::([0-9]{2}))?")
_MIN_OFFSET_MS = -12 * HOUR_MS
_MAX_OFFSET_MS = 14 * HOUR_MS


def candle_bounds(interval: str, ts_ms: int, offset_ms: int = 0) -> tuple[int, int]:
    """(open ms, width ms) of the `interval` candle holding `ts_ms` (UTC ms), with
    boundaries in the time zone `offset_ms` ahead of UTC. A `1M` candle is as wide as
    its month. Raises KeyError for an interval not in KLINE_INTERVALS."""
    local_ms = ts_ms + offset_ms
    width = FIXED_INTERVALS_MS.get(interval)
    if width is not None:
        return local_ms - local_ms % width - offset_ms, width
    if interval == "1w":
        day = local_ms // DAY_MS
        monday = day - (day + _MONDAY_OFFSET_DAYS) % 7
        return monday * DAY_MS - offset_ms, WEEK_MS
    if interval == "1M":
        moment = datetime_from_ms(local_ms)
        first = datetime(moment.year, moment.month, 1, tzinfo=UTC)
        days = calendar.monthrange(moment.year, moment.month)[1]
        return ms_from_datetime(first) - offset_ms, days * DAY_MS
    raise KeyError(interval)


def time_zone_offset_ms(text: str) -> int | None:
    """Binance's `timeZone` parameter as ms ahead of UTC: hours (`8`, `-1`) or
    hours:minutes (`05:45`, `-1:00`), within [-12:00, +14:00]; None if malformed."""
    match = _TIME_ZONE.fullmatch(text)
    if match is None:
        return None
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if minutes >= 60:
        return None
    offset = hours * HOUR_MS + minutes * MINUTE_MS
    offset = -offset if sign == "-" else offset
    if not _MIN_OFFSET_MS <= offset <= _MAX_OFFSET_MS:
        return None
    return offset
