"""The two hosts a strategy can meet, driven through one interface for the host contract
(`test_host_contract.py`): the live `BotHost` with the strategy service's real parts
around it (hook runner, account events, timer wheel, outbound flushed to the in-process
bus and a SQLite database), and the backtest's context over a simulated account.

Each host hears of the market its own way: live, the test plays execution and delivers
the order events an exchange would cause; in a backtest, the account's matching decides
from a bar. Each method below says what the market does, and both hosts reach the same
state by their own path. The account holds 1 BTC; ETH/BTC trades at 0.05.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from prometheus_client import CollectorRegistry

from tradewind.bus.memory import MemoryBus
from tradewind.domain.commands import OrderCancelRequest, OrderIntent
from tradewind.domain.events import Bar, Fill, OrderCanceled, OrderExpired, OrderRejected
from tradewind.domain.model import Liquidity, TimeInForce
from tradewind.services.strategy.account_events import AccountEvents
from tradewind.services.strategy.hooks import HookRunner
from tradewind.services.strategy.host import BotHost
from tradewind.services.strategy.metrics import StrategyMetrics
from tradewind.services.strategy.outbound import Outbound
from tradewind.services.strategy.roster import BotRoster
from tradewind.services.strategy.timers import TimerWheel
from tradewind.store.database import Database
from tradewind.strategies.api import Strategy, StrategyContext, client_order_id_for
from tradewind.strategies.backtest_account import BacktestAccount, Fees
from tradewind.strategies.backtest_context import BacktestContext
from tradewind.strategies.params import StrategyParams

from .factories import T0, D, bar, market

ETH = "ETH/BTC"
PRICE = D("0.05")
STEP_NS = 60 * 10**9  # each market step is a minute
Action = Callable[[StrategyContext], object]


class _Params(StrategyParams, frozen=True):
    pass


class Probe(Strategy):
    """Runs the test's action in `on_bar`; records every fill, rejection and timer it
    hears, with the intent ids `open_orders()` listed during that hook."""

    name = "probe"
    Params = _Params

    def __init__(self) -> None:
        super().__init__(_Params())
        self.action: Action | None = None
        self.heard: list[tuple[str, object, list[str]]] = []

    def symbols(self) -> tuple[str, ...]:
        return (ETH,)

    def on_bar(self, ctx: StrategyContext, bar: Bar) -> None:
        action, self.action = self.action, None
        if action is not None:
            action(ctx)

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        self.heard.append(("fill", fill.client_order_id, _open(ctx)))

    def on_order_rejected(self, ctx: StrategyContext, rejected: OrderRejected) -> None:
        self.heard.append(("rejected", rejected.client_order_id, _open(ctx)))

    def on_timer(self, ctx: StrategyContext, now_ns: int) -> None:
        self.heard.append(("timer", now_ns, _open(ctx)))


def _open(ctx: StrategyContext) -> list[str]:
    return [order.intent_id for order in ctx.open_orders()]


class Host(Protocol):
    """One host of `probe`, at time `now_ns` (T0 at first)."""

    probe: Probe
    ctx: StrategyContext
    now_ns: int

    async def run(self, action: Action) -> None:
        """The next minute: `action` runs in a hook (`on_bar`), and the host does what
        follows a hook (live: publish; backtest: cancels take effect, rejections are
        handed back)."""

    async def market_fills_everything(self) -> None:
        """The next minute: the market trades through every open order's price, so each
        fills whole (limits at their price)."""

    async def market_stands_still(self) -> None:
        """The next minute: the market trades at 0.05 only; IOC and FOK orders that did
        not fill expire, the rest stay."""

    async def cancels_take_effect(self) -> None:
        """The cancels asked are done (live: execution reports them canceled)."""

    async def market_refused(self, intent_id: str) -> OrderRejected:
        """The market refuses the order (tests submit one the account cannot fund):
        live, its rejection arrives now; a backtest's account refused it at submission
        and handed it back after that hook. Returns the rejection."""

    async def rejection_again(self, rejected: OrderRejected) -> None:
        """The same rejection arrives a second time."""

    async def time_passes(self, now_ns: int) -> None:
        """The clock reaches `now_ns`; a due timer fires."""


class LiveHost:
    def __init__(self, database: Database) -> None:
        self.probe = Probe()
        self.now_ns = T0
        self.roster = BotRoster()
        self.roster.add_venue("sim", {ETH: market(ETH)})
        self.roster.set_price("sim", ETH, PRICE, T0)
        account = self.roster.account("a1", "sim")
        account.apply_portfolio({"BTC": D(1)}, ts_ns=1)
        metrics = StrategyMetrics(CollectorRegistry())
        self.outbound = Outbound(MemoryBus(), database, self.roster.routes, metrics)
        self.timers: TimerWheel[BotHost] = TimerWheel(lambda: self.now_ns)
        self.host = BotHost("b1", self.probe, account, self.outbound, self.timers)
        self.host.running = True
        self.roster.add(self.host)
        self.hooks = HookRunner(outbound=self.outbound, metrics=metrics, max_errors_in_row=3,
                                give_up=lambda host, error: None)  # fmt: skip
        self.events = AccountEvents(self.roster, self.hooks)
        self.ctx: StrategyContext = self.host
        #: What execution holds: the intents published and not yet ended.
        self.at_venue: dict[str, OrderIntent] = {}
        self.cancel_requests: list[OrderCancelRequest] = []
        self._trades = 0

    async def run(self, action: Action) -> None:
        self.now_ns += STEP_NS
        self.probe.action = action
        self.hooks.bars([self.host], bar(ETH, PRICE, open_ns=self.now_ns - STEP_NS), self.now_ns)
        await self._publish()

    async def market_fills_everything(self) -> None:
        self.now_ns += STEP_NS
        for client_order_id, intent in list(self.at_venue.items()):
            del self.at_venue[client_order_id]
            self._trades += 1
            price = intent.price or PRICE
            self.events.fill(
                Fill(
                    account_id="a1", client_order_id=client_order_id,
                    venue_order_id=intent.intent_id, trade_id=f"t-{self._trades}",
                    instrument=intent.instrument, side=intent.side, price=price,
                    quantity=intent.quantity, fee=D(0), fee_asset="BTC",
                    liquidity=Liquidity.MAKER, ts_ns=self.now_ns,
                )
            )  # fmt: skip
            await self._publish()

    async def market_stands_still(self) -> None:
        self.now_ns += STEP_NS
        for client_order_id, intent in list(self.at_venue.items()):
            if intent.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
                del self.at_venue[client_order_id]
                self.events.finished(
                    OrderExpired(
                        account_id="a1", client_order_id=client_order_id,
                        instrument=intent.instrument, ts_ns=self.now_ns,
                        venue_order_id=intent.intent_id, filled_quantity=D(0),
                    )
                )  # fmt: skip
        await self._publish()

    async def cancels_take_effect(self) -> None:
        requests, self.cancel_requests = self.cancel_requests, []
        for request in requests:
            if self.at_venue.pop(request.client_order_id, None) is not None:
                self.events.finished(
                    OrderCanceled(
                        account_id="a1", client_order_id=request.client_order_id,
                        instrument=request.instrument, ts_ns=self.now_ns,
                        venue_order_id=request.intent_id, filled_quantity=D(0),
                    )
                )  # fmt: skip
        await self._publish()

    async def market_refused(self, intent_id: str) -> OrderRejected:
        [client_order_id] = [c for c, i in self.at_venue.items() if i.intent_id == intent_id]
        intent = self.at_venue.pop(client_order_id)
        rejected = OrderRejected(
            account_id="a1", client_order_id=client_order_id, instrument=intent.instrument,
            ts_ns=self.now_ns, reason="insufficient BTC", source="venue",
        )  # fmt: skip
        self.events.rejected(rejected)
        await self._publish()
        return rejected

    async def rejection_again(self, rejected: OrderRejected) -> None:
        self.events.rejected(rejected)
        await self._publish()

    async def time_passes(self, now_ns: int) -> None:
        self.now_ns = now_ns
        self.hooks.timers(self.timers.pop_due(now_ns, limit=10), now_ns)
        await self._publish()

    async def _publish(self) -> None:
        """The service's flush after a batch: what it publishes reaches execution."""
        for pending in self.outbound.intents:
            self.at_venue[pending.client_order_id] = pending.intent
        self.cancel_requests += self.outbound.cancels
        await self.outbound.flush()


class BacktestHost:
    def __init__(self) -> None:
        self.probe = Probe()
        self.now_ns = T0
        self.account = BacktestAccount(
            {"BTC": D(1)}, {ETH: market(ETH)}, Fees(), account_id="a1", venue="sim"
        )
        self.context = BacktestContext(self.probe, self.account, account_id="a1", bot_id="b1")
        self.context.now_ns = T0
        self.context.prices[ETH] = PRICE
        self.refused: list[OrderRejected] = []
        self.context.listen(lambda fill: None, self.refused.append)
        self.ctx: StrategyContext = self.context

    async def run(self, action: Action) -> None:
        self._step()
        self.probe.action = action
        self.context.run(self.probe.on_bar, bar(ETH, PRICE, open_ns=self.now_ns - STEP_NS))

    async def market_fills_everything(self) -> None:
        self._match(low="0.00001", high="1000")

    async def market_stands_still(self) -> None:
        self._match(low=PRICE, high=PRICE)

    async def cancels_take_effect(self) -> None:
        pass  # they did when the hook that asked returned

    async def market_refused(self, intent_id: str) -> OrderRejected:
        client_order_id = client_order_id_for("a1", "b1", intent_id)
        [rejected] = [r for r in self.refused if r.client_order_id == client_order_id]
        return rejected

    async def rejection_again(self, rejected: OrderRejected) -> None:
        self.context.deliver(rejected)

    async def time_passes(self, now_ns: int) -> None:
        self.now_ns = self.context.now_ns = now_ns
        self.context.fire_timer_if_due()

    def _match(self, *, low: str | Decimal, high: str | Decimal) -> None:
        """A minute's bar opening now at 0.05: the account fills or expires what it can,
        the strategy hears of it at the bar's close."""
        opens_ns = self.now_ns
        self._step()
        market_bar = bar(ETH, PRICE, open_ns=opens_ns, low=low, high=high)
        for event in self.account.match({ETH: market_bar}, self.now_ns):
            self.context.deliver(event)

    def _step(self) -> None:
        self.now_ns += STEP_NS
        self.context.now_ns = self.now_ns


async def live_host(template: Path, directory: Path) -> tuple[LiveHost, Database]:
    """A live host whose database is a copy of the migrated `template`."""
    path = directory / "strategy.sqlite"
    shutil.copyfile(template, path)
    database = Database(f"sqlite+aiosqlite:///{path}")
    return LiveHost(database), database
