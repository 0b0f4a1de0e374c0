"""The collector's tuning for service processes: fewer collections, and start-up's
objects never scanned again."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from tradewind.runtime.collector import THRESHOLDS, freeze_startup_heap, tune_collector


@pytest.fixture
def collector_restored() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("collector_restored")
def test_services_collect_cycles_far_less_often_than_pythons_default() -> None:
    tune_collector()
    assert gc.get_threshold() == THRESHOLDS
    young, middle, old = THRESHOLDS
    assert young >= 50 * 700 and young * middle * old > 700 * 10 * 10 * 1000


@pytest.mark.usefixtures("collector_restored")
def test_what_start_up_made_is_left_out_of_later_collections() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: only the collector frees it

    started = [Node() for _ in range(1000)]
    gc.collect()
    freeze_startup_heap()
    assert gc.get_freeze_count() >= len(started)
    tracked = {id(o) for o in gc.get_objects()}
    assert not any(id(node) in tracked for node in started)  # never scanned again
