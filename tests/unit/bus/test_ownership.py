"""Following the partitions a subscription reads: what came, what left for good, and
what lapsed and came back within the grace."""

from __future__ import annotations

from tradewind.bus.ownership import OwnedPartitions


class Reads:
    """What the subscription says it reads now; the test moves it."""

    def __init__(self, *partitions: int) -> None:
        self.now = frozenset(partitions)

    def __call__(self) -> frozenset[int]:
        return self.now


def follow(reads: Reads, grace_s: float = 3.0) -> OwnedPartitions:
    partitions = OwnedPartitions(reads, lambda key: int(key), grace_s=grace_s)
    gained, lost = partitions.changes(0.0)
    partitions.followed |= gained
    partitions.followed -= lost
    return partitions


def test_a_partition_that_came_is_gained_and_one_gone_past_the_grace_is_lost() -> None:
    reads = Reads(0, 1)
    partitions = follow(reads)
    assert partitions.followed == {0, 1}
    reads.now = frozenset({1, 2})
    assert partitions.changes(1.0) == ({2}, set())  # 0 is only lapsing so far
    assert partitions.changes(4.0) == ({2}, {0})


def test_a_partition_that_lapsed_and_came_back_within_the_grace_is_reported_regained_once() -> None:
    reads = Reads(0, 1)
    partitions = follow(reads)
    reads.now = frozenset({1})
    assert partitions.changes(1.0) == (set(), set())
    assert partitions.take_regained() == set()
    reads.now = frozenset({0, 1})
    assert partitions.changes(2.0) == (set(), set())
    assert partitions.take_regained() == {0}
    assert partitions.take_regained() == set()
    assert partitions.changes(10.0) == (set(), set())  # nothing lapsing any more


def test_a_partition_lost_for_good_is_not_regained_when_it_comes_back_later() -> None:
    reads = Reads(0)
    partitions = follow(reads)
    reads.now = frozenset()
    partitions.changes(1.0)
    _, lost = partitions.changes(5.0)
    assert lost == {0}
    partitions.followed -= lost
    reads.now = frozenset({0})
    assert partitions.changes(6.0) == ({0}, set())  # gained afresh: its state is reloaded
    assert partitions.take_regained() == set()
