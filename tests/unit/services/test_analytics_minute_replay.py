"""The minute replay of `tradewind analytics rebuild`: a bot's book valued at each
minute's close, written by the live rule (only a changed PnL), around the minutes the
record holds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.domain.bot_pnl import BotFill, BotPnl
from tradewind.domain.model import Side
from tradewind.services.analytics.minute_replay import (
    Closes,
    Equities,
    MissingPrice,
    ReplayedMinute,
    replay_minutes,
)

D = Decimal
MINUTE_NS = 60 * 1_000_000_000
M0 = 29_000_000  # a minute counted from the epoch


def fill(minute: int, second: int, side: Side, qty: str, price: str, trade_id: str) -> BotFill:
    return BotFill(
        ts_ns=(M0 + minute) * MINUTE_NS + second * 1_000_000_000, symbol="BTC/USDT",
        side=side, price=D(price), quantity=D(qty), fee=D(1), fee_asset="USDT",
        trade_id=trade_id,
    )  # fmt: skip


FILLS = [
    fill(1, 59, Side.BUY, "1", "100", "t1"),  # the last second of minute 1
    fill(4, 0, Side.SELL, "1", "110", "t2"),
]
#: Minute 3 has no candle: its price is minute 2's close.
CLOSES = Closes({"BTC/USDT": [(M0, D(99)), (M0 + 1, D(101)), (M0 + 2, D(105)), (M0 + 4, D(120))]})
#: Valued at 1,000 before minute 0, 1,010 within minute 2, then in another asset.
EQUITIES = Equities(
    [
        (M0 * MINUTE_NS - 1, "USDT", D(1000)),
        ((M0 + 2) * MINUTE_NS + 5, "USDT", D(1010)),
        ((M0 + 4) * MINUTE_NS + 5, "BTC", D(9)),
    ]
)


def replay(
    recorded: dict[int, BotPnl | None], previous: BotPnl | None = None, closes: Closes = CLOSES
) -> list[tuple[int, Decimal, Decimal | None]]:
    found = replay_minutes(
        FILLS, "USDT", M0, M0 + 5, recorded={M0 + m: p for m, p in recorded.items()},
        previous=previous, closes=closes, equities=EQUITIES,
    )  # fmt: skip
    return [(m.minute - M0, m.pnl.total, m.equity) for m in found.written]


def test_each_minute_is_valued_at_its_close_with_the_fills_executed_by_its_end() -> None:
    assert replay({}) == [
        (1, D(0), D(1000)),  # bought at 100 in its last second, valued at 101, fee 1
        (2, D(4), D(1010)),  # 105; the equity recorded within the minute
        # minute 3: no candle, 105 still: unchanged, not written
        (4, D(8), None),  # sold at 110: realised 10 less 2 fees; the equity is in BTC
        # minute 5: nothing held, nothing changed
    ]


def test_recorded_minutes_are_kept_and_compared_with_never_written_again() -> None:
    same = BotPnl(D(0), D(5), D(1), D(4))  # minute 2 as the live service wrote it
    assert replay({2: same}) == [(1, D(0), D(1000)), (4, D(8), None)]
    # A row the replay disagrees with is kept, and minute 3 (PnL 4) differs from it.
    other = BotPnl(D(0), D(4), D(1), D(3))
    assert replay({2: other}) == [(1, D(0), D(1000)), (3, D(4), D(1010)), (4, D(8), None)]
    # A row in another quote takes its minute and is not compared with (as the live
    # service reads back only its quote's): minute 5's PnL differs from minute 3's.
    assert replay({2: other, 4: None}) == [
        (1, D(0), D(1000)), (3, D(4), D(1010)), (5, D(8), None)
    ]  # fmt: skip
    # The row before the span is the first comparison: minute 1's PnL equals it.
    previous = BotPnl(D(0), D(1), D(1), D(0))
    assert replay({}, previous)[0] == (2, D(4), D(1010))


def test_holes_are_the_runs_between_recorded_minutes_that_were_written_in() -> None:
    found = replay_minutes(
        FILLS, "USDT", M0, M0 + 5, recorded={M0 + 2: None}, previous=None, closes=CLOSES,
        equities=EQUITIES,
    )  # fmt: skip
    assert [m.minute - M0 for m in found.written] == [1, 3, 4]
    assert found.holes_filled == 2
    assert isinstance(found.written[0], ReplayedMinute)


def test_a_minute_without_a_price_for_what_the_bot_holds_is_refused() -> None:
    late = Closes({"BTC/USDT": [(M0 + 3, D(100))]})  # the candles begin in minute 3
    with pytest.raises(MissingPrice) as refused:
        replay({}, closes=late)
    assert (refused.value.symbol, refused.value.minute) == ("BTC/USDT", M0 + 1)
    # Once the bot holds nothing of it, no price is needed.
    after = replay_minutes(
        FILLS, "USDT", M0 + 4, M0 + 5, recorded={}, previous=None, closes=Closes({}),
        equities=EQUITIES,
    )  # fmt: skip
    assert [(m.minute - M0, m.pnl.total) for m in after.written] == [(4, D(8))]
