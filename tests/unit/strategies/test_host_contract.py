"""One contract for what a strategy can do through its context, run against both hosts it
can meet: the live `BotHost` (with the strategy service's parts around it) and the
backtest's context (`hosts.py` drives both alike).

- `submit`: the same call is accepted (numbered alike) or refused with the same
  exception and message (before, a limit order without a price raised live and came
  back as an `OrderRejected` in a backtest).
- `cancel`: an id the bot never issued raises the same; one whose order ended does
  nothing; a canceled order stays open, and its funds locked, until the cancel takes
  effect, then leaves the book (before, a backtest dropped it at once and a cancel of
  a non-str id raised AttributeError live only).
- The book: an order leaves `open_orders()` before the hook that hears of its fill or
  rejection runs, a rejection is handed back once, an expired order leaves without a
  hook (before, a backtest's order refused at submission was never listed, and a live
  one was until its rejection arrived).
- `set_timer`: a bad interval raises the same and changes nothing (before,
  `set_timer(inf)` raised ValueError live and OverflowError in a backtest, a negative
  one canceled the timer in both); a timer fires at the same times in both, missed
  periods coalesced.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradewind.domain.model import OrderType, Side, TimeInForce
from tradewind.store.database import Database
from tradewind.strategies.api import StrategyContext, client_order_id_for
from tradewind.strategies.timer_rules import MAX_TIMER_S

from .factories import T0, D
from .hosts import ETH, BacktestHost, Host, live_host

S = 10**9  # ns per second


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the schema, copied for each live host (migrating is slow)."""
    path = tmp_path_factory.mktemp("strategy-db") / "template.sqlite"

    async def migrate() -> None:
        database = Database(f"sqlite+aiosqlite:///{path}")
        await database.migrate()
        await database.close()

    asyncio.run(migrate())
    return path


@pytest.fixture(params=["live", "backtest"])
async def host(
    request: pytest.FixtureRequest, migrated_database: Path, tmp_path: Path
) -> AsyncIterator[Host]:
    if request.param == "backtest":
        yield BacktestHost()
        return
    live, database = await live_host(migrated_database, tmp_path)
    yield live
    await database.close()


def cid(intent_id: str) -> str:
    return client_order_id_for("a1", "b1", intent_id)


def open_ids(ctx: StrategyContext) -> list[str]:
    return [order.intent_id for order in ctx.open_orders()]


def limit_buy(
    quantity: str, price: str, tif: TimeInForce = TimeInForce.GTC
) -> Callable[[StrategyContext], str]:
    return lambda ctx: ctx.submit(
        Side.BUY, ETH, D(quantity), order_type=OrderType.LIMIT, price=D(price), tif=tif
    )


def attempt(call: Callable[[], object], caught: list[Exception]) -> None:
    """Make `call`, keeping what it raises (the live host would contain it)."""
    try:
        call()
    except Exception as error:
        caught.append(error)


# -- submit ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        ({"quantity": 1}, TypeError, "quantity and price must be Decimals"),
        ({"quantity": D(0)}, ValueError, "quantity must be above 0, got 0"),
        ({"quantity": D(-1)}, ValueError, "quantity must be above 0"),
        ({"quantity": D("NaN")}, ValueError, "quantity must be above 0"),
        ({"order_type": OrderType.LIMIT}, ValueError, "a limit order of ETH/BTC needs a price"),
        ({"order_type": OrderType.LIMIT, "price": D(0)}, ValueError, "price must be above 0"),
        ({"symbol": "DOGE/BTC"}, ValueError, "no market DOGE/BTC on this bot's venue"),
        ({"side": "sideways"}, ValueError, "'sideways' is not a valid Side"),
    ],
)
async def test_a_malformed_submission_raises_the_same_in_every_host(
    host: Host, call: dict[str, Any], error: type, message: str
) -> None:
    args: dict[str, Any] = {
        "side": Side.BUY, "symbol": ETH, "quantity": D(1), "order_type": OrderType.MARKET,
    }  # fmt: skip
    args.update(call)
    with pytest.raises(error, match=message):
        host.ctx.submit(
            args.pop("side"), args.pop("symbol"), args.pop("quantity"),
            order_type=args.pop("order_type"), **args,
        )  # fmt: skip
    assert host.probe.intent_sequence == 0  # no intent id spent on a refused call
    assert host.ctx.open_orders() == []


async def test_a_good_submission_is_numbered_alike_and_open_in_every_host(host: Host) -> None:
    ids: list[str] = []

    def submit_two(ctx: StrategyContext) -> None:
        ids.append(limit_buy("1", "0.04")(ctx))
        ids.append(ctx.submit(Side.BUY, ETH, Decimal("0.5"), order_type=OrderType.MARKET))

    await host.run(submit_two)
    assert ids == ["b1:1", "b1:2"]
    assert open_ids(host.ctx) == ["b1:1", "b1:2"]


# -- cancel ----------------------------------------------------------------------------

NOT_ISSUED = (
    "not an intent id this bot issued (b1:1 to b1:1); cancel takes the id `submit` "
    "returned, not a client order id"
)


@pytest.mark.parametrize(
    ("intent_id", "error", "message"),
    [
        ("nonsense", ValueError, f"cannot cancel 'nonsense': {NOT_ISSUED}"),
        ("b1:2", ValueError, f"cannot cancel 'b1:2': {NOT_ISSUED}"),  # not yet issued
        ("b2:1", ValueError, f"cannot cancel 'b2:1': {NOT_ISSUED}"),  # another bot's
        ("b1:01", ValueError, f"cannot cancel 'b1:01': {NOT_ISSUED}"),
        ("b1:0", ValueError, f"cannot cancel 'b1:0': {NOT_ISSUED}"),
        ("b1:-1", ValueError, f"cannot cancel 'b1:-1': {NOT_ISSUED}"),
        (cid("b1:1"), ValueError, f"cannot cancel '{cid('b1:1')}': {NOT_ISSUED}"),
        (1, TypeError, "cancel takes the intent id `submit` returned (a str), not 1"),
        (None, TypeError, "cancel takes the intent id `submit` returned (a str), not None"),
    ],
)
async def test_a_cancel_of_an_id_the_bot_never_issued_raises_the_same_in_every_host(
    host: Host, intent_id: Any, error: type, message: str
) -> None:
    await host.run(limit_buy("1", "0.04"))
    caught: list[Exception] = []
    await host.run(lambda ctx: attempt(lambda: ctx.cancel(intent_id), caught))
    await host.cancels_take_effect()
    assert [(type(e), str(e)) for e in caught] == [(error, message)]
    assert open_ids(host.ctx) == ["b1:1"]  # nothing was canceled


async def test_a_cancel_before_any_submission_says_none_were_issued(host: Host) -> None:
    caught: list[Exception] = []
    await host.run(lambda ctx: attempt(lambda: ctx.cancel("b1:1"), caught))
    assert [str(e) for e in caught] == [
        "cannot cancel 'b1:1': not an intent id this bot issued (none yet); cancel takes "
        "the id `submit` returned, not a client order id"
    ]


async def test_a_canceled_order_stays_open_and_locked_until_the_cancel_takes_effect(
    host: Host,
) -> None:
    await host.run(limit_buy("2", "0.04"))  # holds 0.08 BTC
    during: dict[str, object] = {}

    def cancel_twice(ctx: StrategyContext) -> None:
        ctx.cancel("b1:1")
        ctx.cancel("b1:1")  # asking again does nothing more
        during.update(open=open_ids(ctx), free=ctx.balances()["BTC"])

    await host.run(cancel_twice)
    await host.cancels_take_effect()
    assert during == {"open": ["b1:1"], "free": D("0.92")}
    assert host.ctx.open_orders() == []
    assert host.ctx.balances()["BTC"] == D(1)
    await host.market_fills_everything()
    assert host.probe.heard == []  # a canceled order does not fill


async def test_a_cancel_of_an_order_that_ended_does_nothing(host: Host) -> None:
    await host.run(limit_buy("1", "0.04"))
    await host.market_fills_everything()
    caught: list[Exception] = []
    await host.run(lambda ctx: attempt(lambda: ctx.cancel("b1:1"), caught))
    await host.cancels_take_effect()
    assert caught == []
    assert host.probe.heard == [("fill", cid("b1:1"), [])]


# -- the book: when an order leaves it -----------------------------------------------


async def test_a_filled_order_leaves_the_book_before_the_strategy_hears_of_the_fill(
    host: Host,
) -> None:
    def two_buys(ctx: StrategyContext) -> None:
        limit_buy("1", "0.04")(ctx)
        limit_buy("1", "0.03")(ctx)

    await host.run(two_buys)
    await host.market_fills_everything()
    assert host.probe.heard == [("fill", cid("b1:1"), ["b1:2"]), ("fill", cid("b1:2"), [])]
    assert host.ctx.open_orders() == []


async def test_a_refused_order_is_open_until_its_rejection_is_handed_back_once(
    host: Host,
) -> None:
    during: list[object] = []

    def buy_too_much(ctx: StrategyContext) -> None:
        during.append(limit_buy("100", "0.04")(ctx))  # 4 BTC; the account holds 1
        during.append(open_ids(ctx))

    await host.run(buy_too_much)
    rejected = await host.market_refused("b1:1")
    assert during == ["b1:1", ["b1:1"]]
    assert host.probe.heard == [("rejected", cid("b1:1"), [])]
    await host.rejection_again(rejected)
    assert host.probe.heard == [("rejected", cid("b1:1"), [])]  # once
    assert host.ctx.open_orders() == []
    assert host.ctx.balances()["BTC"] == D(1)


async def test_an_expired_order_leaves_the_book_without_a_hook(host: Host) -> None:
    def ioc_and_gtc(ctx: StrategyContext) -> None:
        limit_buy("1", "0.04", TimeInForce.IOC)(ctx)
        limit_buy("1", "0.03")(ctx)

    await host.run(ioc_and_gtc)
    await host.market_stands_still()
    assert open_ids(host.ctx) == ["b1:2"]
    assert host.probe.heard == []


# -- timers ----------------------------------------------------------------------------

BAD_NUMBER = "a timer's interval must be a finite number of seconds from 0 (which cancels the "
BAD_NUMBER += f"timer) to {MAX_TIMER_S}, not "


@pytest.mark.parametrize(
    ("interval_s", "error", "message"),
    [
        (math.inf, ValueError, BAD_NUMBER + "inf"),
        (-math.inf, ValueError, BAD_NUMBER + "-inf"),
        (math.nan, ValueError, BAD_NUMBER + "nan"),
        (D("NaN"), ValueError, BAD_NUMBER + "NaN"),
        (-1, ValueError, BAD_NUMBER + "-1"),
        (-0.5, ValueError, BAD_NUMBER + "-0.5"),
        (MAX_TIMER_S + 1, ValueError, BAD_NUMBER + str(MAX_TIMER_S + 1)),
        (1e-10, ValueError, "a timer's interval must be 0 or at least 1 ns, not 1e-10 s"),
        ("60", TypeError, "a timer's interval is a number of seconds, not '60'"),
        (None, TypeError, "a timer's interval is a number of seconds, not None"),
        (True, TypeError, "a timer's interval is a number of seconds, not True"),
    ],
)
async def test_a_bad_timer_interval_raises_the_same_in_every_host_and_changes_nothing(
    host: Host, interval_s: Any, error: type, message: str
) -> None:
    caught: list[Exception] = []

    def arm(ctx: StrategyContext) -> None:
        ctx.set_timer(60)
        attempt(lambda: ctx.set_timer(interval_s), caught)

    await host.run(arm)  # at T0 + 60 s
    await host.time_passes(T0 + 120 * S)
    assert [(type(e), str(e)) for e in caught] == [(error, message)]
    assert host.probe.heard == [("timer", T0 + 120 * S, [])]  # the timer set before


async def test_a_timer_fires_alike_in_every_host_with_missed_periods_coalesced(
    host: Host,
) -> None:
    await host.run(lambda ctx: ctx.set_timer(150))  # at T0 + 60 s: due at 210 s
    for at_s in (209, 210, 300, 360, 1000, 1110, 1149, 1150):
        await host.time_passes(T0 + at_s * S)
    fired = [(at - T0) // S for kind, at, _ in host.probe.heard if isinstance(at, int)]
    # At 1000 s the periods due at 510, 660, 810 and 960 s coalesce into one call; the
    # next is one period after that call, not on the old grid (1110 s).
    assert fired == [210, 360, 1000, 1150]


async def test_a_timer_of_zero_cancels_it_in_every_host(host: Host) -> None:
    await host.run(lambda ctx: ctx.set_timer(1))
    await host.run(lambda ctx: ctx.set_timer(0))
    await host.time_passes(T0 + 3600 * S)
    assert host.probe.heard == []
