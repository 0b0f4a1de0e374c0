"""RecentlySeen and BoundedLru: at most `capacity` entries, the oldest forgotten first;
re-adding refreshes only a `BoundedLru(refresh=True)` (or a `touch`)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradewind.domain.bounded import BoundedLru, RecentlySeen


def test_recently_seen_says_whether_a_key_is_new_and_forgets_the_oldest() -> None:
    seen: RecentlySeen[str] = RecentlySeen(2)
    assert seen.add("a") and seen.add("b")
    assert not seen.add("a")
    assert seen.add("c")
    assert list(seen) == ["b", "c"]
    assert "a" not in seen and "b" in seen and len(seen) == 2


def test_re_adding_a_seen_key_does_not_keep_it_longer() -> None:
    seen: RecentlySeen[int] = RecentlySeen(2)
    seen.add(1)
    seen.add(2)
    seen.add(1)
    seen.add(3)
    assert list(seen) == [2, 3]


@given(st.lists(st.integers(0, 20)), st.integers(1, 8))
def test_recently_seen_holds_the_last_distinct_first_arrivals(keys: list[int], cap: int) -> None:
    seen: RecentlySeen[int] = RecentlySeen(cap)
    model: list[int] = []
    for key in keys:
        assert seen.add(key) == (key not in model)
        if key not in model:
            model = [*model, key][-cap:]
    assert list(seen) == model


def test_without_refresh_setting_a_held_key_keeps_its_place() -> None:
    kept: BoundedLru[str, int] = BoundedLru(2)
    kept["a"] = 1
    kept["b"] = 2
    kept["a"] = 3
    kept["c"] = 4
    assert list(kept) == ["b", "c"]
    assert kept.get("a") is None and kept["c"] == 4


def test_with_refresh_setting_a_held_key_makes_it_the_newest() -> None:
    kept: BoundedLru[str, int] = BoundedLru(2, refresh=True)
    kept["a"] = 1
    kept["b"] = 2
    kept["a"] = 3
    kept["c"] = 4
    assert list(kept) == ["a", "c"]
    assert kept["a"] == 3


def test_touch_and_get() -> None:
    kept: BoundedLru[str, int] = BoundedLru(2)
    kept["a"] = 1
    kept["b"] = 2
    assert kept.get("a") == 1  # reading does not refresh
    kept.touch("a")
    kept["c"] = 3
    assert list(kept) == ["a", "c"]


def test_evictions_are_reported_deletions_are_not() -> None:
    gone: list[tuple[str, int]] = []
    kept: BoundedLru[str, int] = BoundedLru(1, on_evict=lambda k, v: gone.append((k, v)))
    kept["a"] = 1
    del kept["a"]
    kept["b"] = 2
    kept["c"] = 3
    assert gone == [("b", 2)]
    assert list(reversed(kept.values())) == [3] and len(kept) == 1


@given(st.lists(st.tuples(st.integers(0, 10), st.integers())), st.integers(1, 5), st.booleans())
def test_bounded_lru_matches_a_list_model(
    writes: list[tuple[int, int]], cap: int, refresh: bool
) -> None:
    kept: BoundedLru[int, int] = BoundedLru(cap, refresh=refresh)
    model: dict[int, int] = {}
    for key, value in writes:
        if key in model and refresh:
            del model[key]
        model[key] = value
        while len(model) > cap:
            del model[next(iter(model))]
        kept[key] = value
    assert list(kept) == list(model)
    assert [kept[k] for k in kept] == list(model.values())


def test_a_capacity_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RecentlySeen(0)
    with pytest.raises(ValueError, match="at least 1"):
        BoundedLru(0)


def test_get_gives_the_default_for_a_key_not_held() -> None:
    kept: BoundedLru[str, int] = BoundedLru(1)
    kept["a"] = 1
    assert kept.get("b", 7) == 7 and kept.get("a", 7) == 1
