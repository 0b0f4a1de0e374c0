"""Time units: datetimes and integer nanoseconds convert exactly, with no float in
between, and a naive datetime is refused rather than read in the machine's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradewind.domain.time_units import (
    NS_PER_DAY,
    NS_PER_MS,
    NS_PER_S,
    datetime_from_ms,
    datetime_from_ns,
    ms_from_datetime,
    ns_from_datetime,
    ns_from_seconds,
)

_AWARE = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
_NS = st.integers(0, 7_000_000_000 * NS_PER_S)


def test_a_datetime_is_its_nanoseconds_to_the_microsecond() -> None:
    moment = datetime(2026, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)
    assert ns_from_datetime(moment) == 1_773_500_966_535_897_000
    assert datetime_from_ns(1_773_500_966_535_897_999) == moment


def test_the_float_timestamp_gets_this_datetime_wrong_and_the_integers_do_not() -> None:
    moment = datetime(2026, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)
    assert int(moment.timestamp() * 1e9) == 1_773_500_966_535_897_088  # the float's error
    assert ns_from_datetime(moment) == 1_773_500_966_535_897_000


def test_sub_microseconds_are_dropped_toward_the_past() -> None:
    assert datetime_from_ns(999) == datetime(1970, 1, 1, tzinfo=UTC)
    assert datetime_from_ns(NS_PER_S + 1_999) == datetime(1970, 1, 1, 0, 0, 1, 1, tzinfo=UTC)


@given(_AWARE)
def test_datetime_to_ns_and_back_is_the_same_datetime(moment: datetime) -> None:
    assert datetime_from_ns(ns_from_datetime(moment)) == moment


@given(_NS)
def test_ns_to_datetime_and_back_is_ns_floored_to_the_microsecond(ns: int) -> None:
    assert ns_from_datetime(datetime_from_ns(ns)) == ns - ns % 1_000


@given(_AWARE)
def test_milliseconds_floor_the_same_instant(moment: datetime) -> None:
    ms = ms_from_datetime(moment)
    assert ms == ns_from_datetime(moment) // NS_PER_MS
    assert datetime_from_ms(ms) <= moment < datetime_from_ms(ms + 1)


def test_any_zone_counts_as_its_instant() -> None:
    paris = datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    assert ns_from_datetime(paris) == ns_from_datetime(datetime(2026, 1, 1, tzinfo=UTC))


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        ns_from_datetime(datetime(2026, 1, 1))


def test_seconds_settings_become_whole_nanoseconds() -> None:
    assert ns_from_seconds(0.5) == 500_000_000
    assert ns_from_seconds(2) == 2 * NS_PER_S
    assert NS_PER_DAY == 86_400 * NS_PER_S
