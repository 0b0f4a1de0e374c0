"""Exact running totals (`domain/exact_sums.py`): the same sums as `math.fsum`, to the
last bit, whatever was added and taken away, with the array path and the one-at-a-time
path agreeing exactly."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tradewind.domain.exact_sums import ExactTotal, rounded, scaled, scaled_total

# Every kind of float64: small returns, subnormals, zeros of both signs, huge values,
# and now and then an infinity or NaN.
any_float = st.one_of(
    st.floats(-0.05, 0.05),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(allow_subnormal=True, min_value=-1e-300, max_value=1e-300),
    st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 2.0**-1022, 1e308, -1e308]),
    st.floats(),
)
# Long enough for the array path (64 values and more) as well as the short one.
float_lists = st.one_of(
    st.lists(any_float, max_size=10), st.lists(any_float, min_size=64, max_size=300)
)


def fsum_or_none(values: list[float]) -> float | None:
    """`math.fsum`, None where it refuses (a partial sum past the largest float) or has
    no finite value."""
    try:
        total = math.fsum(values)
    except (OverflowError, ValueError):
        return None
    return total if math.isfinite(total) else None


@settings(max_examples=400)
@given(float_lists)
def test_an_arrays_scaled_total_is_the_sum_of_its_values_scaled(values: list[float]) -> None:
    total = scaled_total(np.array(values, dtype=np.float64))
    if not all(map(math.isfinite, values)):
        assert total is None
        return
    assert total == sum(map(scaled, values))
    expected = fsum_or_none(values)
    if expected is not None:
        assert rounded(total).hex() == expected.hex()


@settings(max_examples=400)
@given(float_lists, st.data())
def test_a_running_total_is_fsum_of_what_it_holds(values: list[float], data: st.DataObject) -> None:
    total = ExactTotal()
    total.add_all(np.array(values, dtype=np.float64))
    gone = data.draw(st.integers(0, len(values)))
    for value in values[:gone]:
        total.remove(value)
    more = data.draw(st.lists(any_float, max_size=3))
    repeated = data.draw(st.floats(-1e6, 1e6))
    total.add(repeated, times=3)
    held = [*values[gone:], repeated, repeated, repeated]
    if not all(map(math.isfinite, held + more)):
        assert total.value(*more) is None
        return
    expected = fsum_or_none(held + more)
    if expected is not None:
        assert total.value(*more).hex() == expected.hex()  # type: ignore[union-attr]


def test_a_total_with_an_infinity_has_no_value_until_it_leaves() -> None:
    total = ExactTotal()
    total.add_all(np.array([1.5, math.inf, 2.25] * 30))
    assert total.value() is None
    for _ in range(30):
        total.remove(math.inf)
    assert total.value() == 3.75 * 30
    assert total.value(math.nan) is None


def test_equal_totals_have_equal_reprs_whichever_way_they_were_made() -> None:
    values = [0.1 * i - 3 for i in range(100)]
    at_once, one_by_one = ExactTotal(), ExactTotal()
    at_once.add_all(np.array(values))
    for value in values:
        one_by_one.add(value)
    assert repr(at_once) == repr(one_by_one)
