"""Where Binance's kline intervals start: epoch multiples, Monday weeks, calendar months,
and the `timeZone` that moves them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tradewind.venues.simulated.kline_intervals import (
    DAY_MS,
    HOUR_MS,
    KLINE_INTERVALS,
    MINUTE_MS,
    WEEK_MS,
    candle_bounds,
    time_zone_offset_ms,
)


def ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp() * 1000)


def test_every_binance_interval_is_known() -> None:
    assert KLINE_INTERVALS == (
        "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h",
        "1d", "3d", "1w", "1M",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("interval", "opens", "width"),
    [
        ("1s", ms(2024, 5, 15, 13, 47, 29), 1000),
        ("15m", ms(2024, 5, 15, 13, 45), 15 * MINUTE_MS),
        ("6h", ms(2024, 5, 15, 12), 6 * HOUR_MS),
        ("8h", ms(2024, 5, 15, 8), 8 * HOUR_MS),
        ("12h", ms(2024, 5, 15, 12), 12 * HOUR_MS),
        ("1d", ms(2024, 5, 15), DAY_MS),
    ],
)
def test_fixed_intervals_start_at_epoch_multiples(interval: str, opens: int, width: int) -> None:
    moment = ms(2024, 5, 15, 13, 47, 29) + 512
    assert candle_bounds(interval, moment) == (opens, width)


def test_three_day_candles_are_counted_from_the_epoch() -> None:
    opens, width = candle_bounds("3d", ms(2024, 5, 15, 13))
    assert width == 3 * DAY_MS and opens % (3 * DAY_MS) == 0
    assert opens <= ms(2024, 5, 15, 13) < opens + width


def test_a_week_starts_on_monday_midnight_utc() -> None:
    wednesday = ms(2024, 5, 15, 13, 47)
    assert candle_bounds("1w", wednesday) == (ms(2024, 5, 13), WEEK_MS)
    monday = ms(2024, 5, 13)
    assert candle_bounds("1w", monday)[0] == monday
    sunday_night = ms(2024, 5, 19, 23, 59, 59)
    assert candle_bounds("1w", sunday_night)[0] == monday


def test_a_month_starts_on_the_first_and_is_as_long_as_the_month() -> None:
    assert candle_bounds("1M", ms(2024, 2, 29, 23)) == (ms(2024, 2, 1), 29 * DAY_MS)
    assert candle_bounds("1M", ms(2023, 12, 31, 23, 59)) == (ms(2023, 12, 1), 31 * DAY_MS)
    assert candle_bounds("1M", ms(2024, 4, 1)) == (ms(2024, 4, 1), 30 * DAY_MS)


def test_a_time_zone_moves_the_boundaries() -> None:
    eight_hours = 8 * HOUR_MS
    # 2024-05-15 20:00 UTC is 04:00 on the 16th at UTC+8: that day began 16:00 UTC.
    assert candle_bounds("1d", ms(2024, 5, 15, 20), eight_hours)[0] == ms(2024, 5, 15, 16)
    # Monday 2024-05-13 02:00 at UTC+8 is Sunday 18:00 UTC: the week began 2024-05-12 16:00 UTC.
    assert candle_bounds("1w", ms(2024, 5, 12, 18), eight_hours)[0] == ms(2024, 5, 12, 16)
    # 2024-05-31 20:00 UTC is already June at UTC+8.
    assert candle_bounds("1M", ms(2024, 5, 31, 20), eight_hours) == (
        ms(2024, 5, 31, 16),
        30 * DAY_MS,
    )
    assert candle_bounds("1h", ms(2024, 5, 15, 13, 50), 45 * MINUTE_MS)[0] == ms(
        2024, 5, 15, 13, 15
    )


def test_an_unknown_interval_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        candle_bounds("7m", 0)


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("0", 0),
        ("8", 8 * HOUR_MS),
        ("+8", 8 * HOUR_MS),
        ("-1:00", -HOUR_MS),
        ("05:45", 5 * HOUR_MS + 45 * MINUTE_MS),
        ("14", 14 * HOUR_MS),
        ("-12:00", -12 * HOUR_MS),
        ("15", None),
        ("-12:30", None),
        ("5:60", None),
        ("UTC", None),
        ("8h", None),
    ],
)
def test_time_zones_are_hours_or_hours_and_minutes_within_binance_range(
    text: str, offset: int | None
) -> None:
    assert time_zone_offset_ms(text) == offset
