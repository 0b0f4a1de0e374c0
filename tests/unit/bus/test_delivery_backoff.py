"""The pauses between an event's tries in `deliver`: the consumer's base doubled each
try, full jitter, capped at two seconds."""

from __future__ import annotations

import random

import pytest

from tradewind.bus.delivery import _retry_backoff
from tradewind.bus.port import ConsumerOptions


class _Highest(random.Random):
    """Jitter that always draws the top of its range: the ceiling of each pause."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.mark.parametrize(
    ("base_s", "ceilings"),
    [
        (0.5, [0.5, 1.0, 2.0, 2.0]),
        (0.02, [0.02, 0.04, 0.08, 0.16]),
        (5.0, [2.0, 2.0, 2.0, 2.0]),
        (0.0, [0.0, 0.0, 0.0, 0.0]),
    ],
)
def test_pauses_double_from_the_consumers_base_up_to_two_seconds(
    base_s: float, ceilings: list[float]
) -> None:
    backoff = _retry_backoff(ConsumerOptions(retry_backoff_s=base_s))
    backoff.rng = _Highest()
    assert [backoff.delay_s(n) for n in range(1, 5)] == ceilings


def test_pauses_are_jittered_within_zero_and_their_ceiling() -> None:
    backoff = _retry_backoff(ConsumerOptions(retry_backoff_s=0.5))
    backoff.rng = random.Random(7)
    for attempt in range(1, 20):
        assert 0.0 <= backoff.delay_s(attempt) <= min(2.0, 0.5 * 2 ** (attempt - 1))
