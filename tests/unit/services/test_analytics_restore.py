"""An account met by the analytics service (a start, a take-over) restored from its
recorded valuations in one go (`AccountSeries.restore`) is the series that taking them
one at a time (`add`) builds, to the last bit: the same figures, the same exact totals
(exponents included), and the same figures again after more live valuations."""

from __future__ import annotations

from array import array
from decimal import Decimal

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from tradewind.domain.events import AnalyticsUpdate
from tradewind.services.analytics.benchmark import BenchmarkRound
from tradewind.services.analytics.tracker import AccountSeries

MINUTE_NS = 60 * 1_000_000_000
#: A recorded valuation: (ts_ns, asset, equity, realised, unrealised, fees, traded).
Valuation = tuple[int, str, Decimal, Decimal, Decimal, Decimal, Decimal | None]
T0 = 1_800_000_000 * 1_000_000_000

Drawn = tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal | None, str]


@st.composite
def recorded(draw: st.DrawFn) -> list[Valuation]:
    """Valuations as the record holds them: mostly one asset, each with what was traded
    (the path in one go); sometimes a time twice, a second asset or a traded unknown
    (the fall-back one at a time). Fees and traded are cumulative, as the books give
    them; traded may fall (a correction: not turnover)."""
    odd = draw(st.booleans())
    gap = st.one_of(
        st.integers(min_value=1 - odd, max_value=70 * 1_000_000_000),  # often the same minute
        st.integers(min_value=1, max_value=300 * MINUTE_NS),  # a gap of up to 5 hours
    )
    trade = st.decimals(min_value="-100", max_value="1000", places=1)
    drawn = draw(
        st.lists(
            st.tuples(
                gap,
                st.decimals(min_value="-50", max_value="100000", places=2),  # equity (<= 0 too)
                st.decimals(min_value="-500", max_value="500", places=3),  # realised PnL
                st.decimals(min_value="-50", max_value="50", places=4),  # unrealised PnL
                st.sampled_from([Decimal(0), Decimal("0.5"), Decimal("1.25"), Decimal("1.250")]),
                st.one_of(st.none(), trade) if odd else trade,
                st.sampled_from(["USDT", "BTC"]) if odd else st.just("USDT"),
            ),
            min_size=1,
            max_size=60,
        )
    )
    rows: list[Valuation] = []
    ts, fees, traded = T0, Decimal(0), Decimal(0)
    for step, equity, realized, unrealized, fee, moved, asset in drawn:
        ts += step
        fees += fee
        if moved is not None:
            traded += moved
        rows.append((ts, asset, equity, realized, unrealized, fees,
                     None if moved is None else traded))  # fmt: skip
    return rows


def one_at_a_time(rows: list[Valuation], keep_minutes: int) -> AccountSeries:
    series = AccountSeries("a1", keep_minutes)
    for row in rows:
        series.add(*row)
    return series


def at_once(rows: list[Valuation], keep_minutes: int) -> AccountSeries:
    series = AccountSeries("a1", keep_minutes)
    columns = tuple(map(list, zip(*rows, strict=True)))
    assert series.restore(columns) == len({ts for ts, *_ in rows})  # type: ignore[arg-type]
    return series


def figures(series: AccountSeries, now_ns: int) -> bytes:
    """Every figure, exactly: msgpack of the update (Decimals as their text)."""
    benchmark = BenchmarkRound({T0 // MINUTE_NS + m: (m % 7 - 3) / 1000 for m in range(20_000)})
    update = series.analytics(now_ns, benchmark, "BTC/USDT")
    return msgspec.msgpack.encode(update)


def state(series: AccountSeries) -> list[str]:
    """What a series keeps, exactly: each kept amount and total as its repr (exponent
    included), the arrays of returns and equities as lists."""
    return [_exactly(getattr(series, name)) for name in AccountSeries.__slots__]


def _exactly(value: object) -> str:
    if isinstance(value, tuple):  # the equities' two arrays
        return repr([_exactly(v) for v in value])
    if isinstance(value, array):
        return repr(value.tolist())
    if hasattr(value, "total"):  # amounts kept with their times, and their tally
        kept = [(ts, repr(amount)) for ts, amount in value._kept]  # type: ignore[attr-defined]
        tally = getattr(value, "tally", None)
        counted = None if tally is None else [repr(getattr(tally, n)) for n in tally.__slots__]
        return repr((kept, repr(value.total), counted))
    return repr(value)


@settings(max_examples=300)
@given(recorded(), st.sampled_from([5, 60, 1440]), recorded())
def test_a_restored_series_is_the_one_added_one_at_a_time_to_the_last_bit(
    rows: list[Valuation], keep_minutes: int, later: list[Valuation]
) -> None:
    ours, theirs = at_once(rows, keep_minutes), one_at_a_time(rows, keep_minutes)
    assert state(ours) == state(theirs)
    now_ns = rows[-1][0] + 1
    assert figures(ours, now_ns) == figures(theirs, now_ns)
    shift = rows[-1][0] - T0 + MINUTE_NS // 2  # the live valuations after the meet
    for ts_ns, *rest in later:
        assert ours.add(ts_ns + shift, *rest) == theirs.add(ts_ns + shift, *rest)  # type: ignore[arg-type]
    assert state(ours) == state(theirs)
    now_ns = later[-1][0] + shift + 1
    assert figures(ours, now_ns) == figures(theirs, now_ns)


def test_a_day_of_minutes_is_restored_in_one_go_with_its_trades_and_fees() -> None:
    """The record's day of an account (one valuation a minute, every minute a trade):
    the columns' path, not the fall-back one at a time."""
    rows: list[Valuation] = []
    realized, fees = Decimal(0), Decimal(0)
    for minute in range(1440):
        realized += Decimal(minute % 5 - 2)
        fees += Decimal("0.10")
        rows.append((T0 + minute * MINUTE_NS + 7, "USDT", Decimal(1000) + realized - fees,
                     realized, Decimal(0), fees, Decimal(20 * minute)))  # fmt: skip
    ours, theirs = at_once(rows, 1440), one_at_a_time(rows, 1440)
    assert state(ours) == state(theirs)
    assert figures(ours, rows[-1][0]) == figures(theirs, rows[-1][0])
    update = msgspec.msgpack.decode(figures(ours, rows[-1][0]), type=AnalyticsUpdate)
    assert update.periods == 1439
    assert update.trades == 1439 * 4 // 5  # a change of realised PnL four minutes in five
    assert update.fees == Decimal("143.90")  # the window's changes, the first one's before
