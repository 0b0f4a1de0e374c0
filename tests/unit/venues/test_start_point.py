"""`venue serve --start`: dates, timestamps and offsets into a replay's data, and the
back-history of a synthetic market; every refusal names the option and what would do."""

from __future__ import annotations

import pytest

from tradewind.errors import ConfigError
from tradewind.venues.simulated.start_point import (
    format_offset,
    offset_ms,
    replay_start_ms,
    synthetic_history_ms,
)

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
DATA_START = 1_515_560_100_000  # 2018-01-10 04:55 UTC, the bundled data's first candle
DATA_END = 1_517_287_800_000  # 2018-01-30 04:50 UTC, its last


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2d", 2 * DAY),
        ("36h", 36 * HOUR),
        ("90m", 90 * MINUTE),
        ("1w", 7 * DAY),
        ("1d12h", 36 * HOUR),
        ("+2d6h30m", 2 * DAY + 6 * HOUR + 30 * MINUTE),
        ("0m", 0),
    ],
)
def test_offsets_are_weeks_days_hours_and_minutes(text: str, expected: int) -> None:
    assert offset_ms(text) == expected


@pytest.mark.parametrize("text", ["", "2", "d", "2x", "12h1d", "-2d", "2018-01-15"])
def test_anything_else_is_no_offset(text: str) -> None:
    assert offset_ms(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2d", DATA_START + 2 * DAY),
        ("2018-01-15", 1_515_974_400_000),
        ("2018-01-15T12:30", 1_515_974_400_000 + 12 * HOUR + 30 * MINUTE),
        ("2018-01-15T12:30Z", 1_515_974_400_000 + 12 * HOUR + 30 * MINUTE),
        ("2018-01-15T13:30+01:00", 1_515_974_400_000 + 12 * HOUR + 30 * MINUTE),
        ("1516000000000", 1_516_000_000_000),
        ("0m", DATA_START),
    ],
)
def test_a_replay_starts_at_a_date_a_timestamp_or_an_offset_into_its_data(
    text: str, expected: int
) -> None:
    assert replay_start_ms(text, DATA_START, DATA_END) == expected


@pytest.mark.parametrize("text", ["2019-01-01", "2018-01-10T04:50", "1516", "21d", "4w"])
def test_a_replay_start_outside_the_data_names_the_option_and_the_range(text: str) -> None:
    with pytest.raises(ConfigError) as refused:
        replay_start_ms(text, DATA_START, DATA_END)
    assert refused.value.setting == "--start"
    assert "from 2018-01-10 04:55 to 2018-01-30 04:50 UTC" in str(refused.value)
    assert "offsets 0m to 19d23h55m" in str(refused.value)


def test_a_replay_start_that_is_no_moment_says_what_would_be() -> None:
    with pytest.raises(ConfigError, match=r"expected a date .* got 'soon'") as refused:
        replay_start_ms("soon", DATA_START, DATA_END)
    assert refused.value.setting == "--start"


def test_a_synthetic_market_takes_an_offset_of_at_most_30_days() -> None:
    assert synthetic_history_ms("2d") == 2 * DAY
    assert synthetic_history_ms("30d") == 30 * DAY
    with pytest.raises(ConfigError, match="at most 30d"):
        synthetic_history_ms("31d")
    with pytest.raises(ConfigError, match="a synthetic market starts now") as refused:
        synthetic_history_ms("2018-01-15")
    assert refused.value.setting == "--start"


def test_offsets_format_as_they_are_written() -> None:
    assert format_offset(DATA_END - DATA_START) == "19d23h55m"
    assert format_offset(36 * HOUR + 59_999) == "1d12h"
    assert format_offset(0) == "0m"
