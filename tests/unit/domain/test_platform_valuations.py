"""The platform's valuations: many accounts' summed after each change, so that its return
and drawdown come from the same code as an account's, with every account's deposits, and
its arrival, taken as flows of the whole (`performance.summed_valuations`)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tradewind.domain.performance import (
    Valuation,
    net_deposits,
    samples_from_valuations,
    summed_valuations,
    time_weighted_returns,
)

D = Decimal
S = 1_000_000_000


def valuation(ts_s: int, equity: str, realized: str = "0", unrealized: str = "0") -> Valuation:
    return (ts_s * S, D(equity), D(realized), D(unrealized), D(0))


def test_an_account_that_arrives_is_a_flow_not_a_return() -> None:
    opening = {"a": valuation(0, "1000")}
    changes = [
        ("a", valuation(60, "1010", unrealized="10")),  # +1 %
        ("b", valuation(120, "500")),  # a new account: 500 deposited
        ("a", valuation(180, "1020", unrealized="20")),
    ]
    summed = summed_valuations(opening, changes, start_ns=0)
    assert [row[1] for row in summed] == [D(1000), D(1010), D(1510), D(1520)]
    samples = samples_from_valuations((ts, e, r, u, f) for ts, e, r, u, f in summed)
    assert [s.flow for s in samples] == [D(0), D(0), D(500), D(0)]
    returns = [round(r.value, 12) for r in time_weighted_returns(samples)]
    assert returns == [0.01, 0.0, round(10 / 1510, 12)]


def test_without_an_opening_the_first_change_opens_the_series() -> None:
    changes = [("a", valuation(60, "100")), ("a", valuation(120, "110"))]
    assert [row[1] for row in summed_valuations({}, changes, start_ns=0)] == [D(100), D(110)]


def test_an_opening_without_changes_is_one_flat_row_at_the_start() -> None:
    summed = summed_valuations({"a": valuation(0, "5"), "b": valuation(1, "7")}, [], start_ns=9)
    assert summed == [(9, D(12), D(0), D(0), D(0))]


amounts = st.integers(0, 10**6).map(lambda n: D(n) / 100)


@st.composite
def histories(draw: st.DrawFn) -> tuple[dict[str, Valuation], list[tuple[str, Valuation]]]:
    accounts = [f"acct-{i}" for i in range(draw(st.integers(1, 5)))]
    opening = {
        a: (0, draw(amounts), draw(amounts), draw(amounts), draw(amounts))
        for a in accounts
        if draw(st.booleans())
    }
    changes = [
        (draw(st.sampled_from(accounts)), (t * S, *(draw(amounts) for _ in range(4))))
        for t in range(1, draw(st.integers(0, 30)))
    ]
    return opening, changes  # type: ignore[return-value]


@settings(max_examples=200)
@given(histories())
def test_the_sums_end_at_every_accounts_latest_and_the_flows_add_up_to_the_deposits(
    history: tuple[dict[str, Valuation], list[tuple[str, Valuation]]],
) -> None:
    opening, changes = history
    summed = summed_valuations(opening, changes, start_ns=0)
    latest = dict(opening) | dict(changes)
    if not latest:
        assert summed == []
        return
    assert summed[-1][1:] == tuple(sum((v[i] for v in latest.values()), D(0)) for i in range(1, 5))
    samples = samples_from_valuations(summed)
    first, last = summed[0], summed[-1]
    assert sum((s.flow for s in samples), D(0)) == net_deposits(*last[1:]) - net_deposits(
        *first[1:]
    )
