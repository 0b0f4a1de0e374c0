"""Time units: how many nanoseconds are in a microsecond, millisecond, second, minute,
hour and day, and exact conversions between datetimes and integer nanoseconds.

The platform's clock is integer nanoseconds since the Unix epoch (UTC); venues speak
milliseconds and the database speaks microsecond datetimes. A conversion through
`datetime.timestamp()` goes through a float, whose 53 bits cannot hold a 2020s instant
to the nanosecond or even always to the microsecond (`int(dt.timestamp() * 1e9)` is off
for most datetimes), so these compute on integers only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

NS_PER_US = 1_000
NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_S
NS_PER_HOUR = 60 * NS_PER_MINUTE
NS_PER_DAY = 24 * NS_PER_HOUR

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def ns_from_datetime(moment: datetime) -> int:
    """Nanoseconds since the epoch of `moment`, exactly (a datetime holds microseconds,
    so the result is a multiple of 1,000). Raises `ValueError` for a naive datetime,
    whose instant depends on the machine's time zone."""
    if moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone: give an aware datetime (UTC)")
    return (moment - EPOCH) // _ONE_US * NS_PER_US


def datetime_from_ns(ns: int) -> datetime:
    """The UTC datetime of `ns` nanoseconds since the epoch, its sub-microsecond part
    dropped (rounded toward the past), so that it never lies after `ns`."""
    return EPOCH + timedelta(microseconds=ns // NS_PER_US)


def ms_from_datetime(moment: datetime) -> int:
    """Milliseconds since the epoch of `moment`, rounded toward the past; aware only."""
    return ns_from_datetime(moment) // NS_PER_MS


def datetime_from_ms(ms: int) -> datetime:
    """The UTC datetime of `ms` milliseconds since the epoch."""
    return EPOCH + timedelta(milliseconds=ms)


def ns_from_seconds(seconds: float) -> int:
    """A duration given in seconds (a setting such as 0.5) in whole nanoseconds,
    truncated toward zero."""
    return int(seconds * NS_PER_S)
