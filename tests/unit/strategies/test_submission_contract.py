"""One contract for `ctx.submit`, run against both hosts a strategy can meet: the live
`BotHost` and the backtest's context. The same call is accepted (numbered alike) or
refused with the same exception and message in both; before, a limit order without a
price raised live and came back as an `OrderRejected` in a backtest."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from tradewind.bus.memory import MemoryBus
from tradewind.domain.model import OrderType, Side
from tradewind.services.strategy.account_view import AccountView
from tradewind.services.strategy.host import BotHost
from tradewind.services.strategy.metrics import StrategyMetrics
from tradewind.services.strategy.outbound import Outbound
from tradewind.services.strategy.roster import OrderRoutes
from tradewind.services.strategy.timers import TimerWheel
from tradewind.store.database import Database
from tradewind.strategies.api import Strategy, StrategyContext
from tradewind.strategies.backtest_account import BacktestAccount, Fees
from tradewind.strategies.backtest_context import BacktestContext
from tradewind.strategies.params import StrategyParams

from .factories import D, market

ETH = "ETH/BTC"


class _Params(StrategyParams, frozen=True):
    pass


class _Idle(Strategy):
    name = "idle"
    Params = _Params

    def symbols(self) -> tuple[str, ...]:
        return (ETH,)


def live_host(strategy: Strategy) -> StrategyContext:
    outbound = Outbound(
        MemoryBus(), Database("sqlite+aiosqlite://"), OrderRoutes(),
        StrategyMetrics(CollectorRegistry()),
    )  # fmt: skip
    account = AccountView("a1", "sim", {ETH: market(ETH)}, {ETH: D("0.05")})
    return BotHost("b1", strategy, account, outbound, TimerWheel())


def backtest_host(strategy: Strategy) -> StrategyContext:
    account = BacktestAccount(
        {"BTC": D(1)}, {ETH: market(ETH)}, Fees(), account_id="a1", venue="sim"
    )
    return BacktestContext(strategy, account, account_id="a1", bot_id="b1")


HOSTS: dict[str, Callable[[Strategy], StrategyContext]] = {
    "live": live_host,
    "backtest": backtest_host,
}


@pytest.fixture(params=sorted(HOSTS))
def ctx(request: pytest.FixtureRequest) -> tuple[Strategy, StrategyContext]:
    strategy = _Idle(_Params())
    return strategy, HOSTS[request.param](strategy)


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
def test_a_malformed_submission_raises_the_same_in_every_host(
    ctx: tuple[Strategy, StrategyContext], call: dict[str, Any], error: type, message: str
) -> None:
    strategy, host = ctx
    args: dict[str, Any] = {
        "side": Side.BUY, "symbol": ETH, "quantity": D(1), "order_type": OrderType.MARKET,
    }  # fmt: skip
    args.update(call)
    with pytest.raises(error, match=message):
        host.submit(
            args.pop("side"), args.pop("symbol"), args.pop("quantity"),
            order_type=args.pop("order_type"), **args,
        )  # fmt: skip
    assert strategy.intent_sequence == 0  # no intent id spent on a refused call


def test_a_good_submission_is_numbered_alike_in_every_host(
    ctx: tuple[Strategy, StrategyContext],
) -> None:
    _, host = ctx
    first = host.submit(Side.BUY, ETH, D(1), order_type=OrderType.LIMIT, price=D("0.04"))
    second = host.submit(Side.BUY, ETH, Decimal("0.5"), order_type=OrderType.MARKET)
    assert (first, second) == ("b1:1", "b1:2")
    assert [o.intent_id for o in host.open_orders()][:1] == ["b1:1"]
