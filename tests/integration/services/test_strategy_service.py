"""The strategy service on the real memory bus, a real SQLite database, the in-process
simulated exchange's markets and the built-in strategies: bots load from the database
and trade on timers and market data, commands start and pause them, fills reach the bot
that placed the order, a restart resumes every bot's intent sequence, a failing
strategy is paused alone, and a thousand bots run in one process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.waiting import wait_until_async
from tradewind.bus import topics
from tradewind.bus.envelope import Envelope, Payload, envelope
from tradewind.bus.memory import MemoryBus
from tradewind.bus.topics import ORDERS_CANCEL
from tradewind.domain.bot_lifecycle import BotAction, BotState
from tradewind.domain.client_order_ids import client_order_id_for
from tradewind.domain.commands import BotCommand, OrderCancelRequest, OrderIntent
from tradewind.domain.events import Bar, Fill, PortfolioUpdate, TradeTick
from tradewind.domain.model import Instrument, Liquidity, OrderType, Side
from tradewind.runtime.logging import get_logger
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import Resources, ServiceContext
from tradewind.runtime.service_settings import StrategySettings
from tradewind.runtime.settings import Settings
from tradewind.services.strategy import InstanceSlot, StrategyService
from tradewind.store import accounts, bots, portfolio_snapshots, users
from tradewind.store.database import Database
from tradewind.strategies import registry
from tradewind.strategies.api import Strategy, StrategyContext, StrategyMemory
from tradewind.strategies.momentum import MomentumMemory
from tradewind.strategies.params import StrategyParams
from tradewind.venues.directory import SimulatedVenues
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket

D = Decimal
BTC = Instrument.parse("sim", "BTC/USDT")
ETH = Instrument.parse("sim", "ETH/USDT")
SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT")
PRICES = {
    "BTC/USDT": D(30000),
    "ETH/USDT": D(2000),
    "SOL/USDT": D(100),
    "BNB/USDT": D(300),
    "XRP/USDT": D("0.5"),
}
#: Every-second DCA of 10 USDT of BTC.
DCA = {"symbol": "BTC/USDT", "quote_amount": "10", "interval_s": 1}
#: Levels 29,000 / 29,500 / 30,000 / 30,500 / 31,000; 100 USDT per buy; no seed buy.
GRID = {
    "symbol": "BTC/USDT",
    "lower": "29000",
    "upper": "31000",
    "levels": 5,
    "order_value": "100",
    "buy_initial_inventory": False,
}
FAST = StrategySettings(
    strategy_timer_tick_s=0.05, strategy_save_interval_s=0.5, strategy_max_errors_in_row=3
)


class OneSymbolParams(StrategyParams, frozen=True):
    symbol: str = "BTC/USDT"


class EveryBarStrategy(Strategy):
    """Submits a buy on every bar it is shown."""

    name = "every-bar"
    Params = OneSymbolParams
    params: OneSymbolParams
    memory: StrategyMemory

    def symbols(self) -> tuple[str, ...]:
        return (self.params.symbol,)

    def on_bar(self, ctx: StrategyContext, bar: Bar) -> None:
        ctx.submit(Side.BUY, self.params.symbol, D("0.001"), order_type=OrderType.MARKET)


class EveryTickStrategy(EveryBarStrategy):
    """Submits a buy on every trade it is shown."""

    name = "every-tick"

    def on_bar(self, ctx: StrategyContext, bar: Bar) -> None:
        pass

    def on_tick(self, ctx: StrategyContext, tick: TradeTick) -> None:
        ctx.submit(Side.BUY, self.params.symbol, D("0.001"), order_type=OrderType.MARKET)


class ExplodingStrategy(EveryBarStrategy):
    """Submits a buy on every bar, then raises."""

    name = "exploding"

    def on_bar(self, ctx: StrategyContext, bar: Bar) -> None:
        super().on_bar(ctx, bar)
        raise RuntimeError("the strategy divided by zero")


def create_strategy(name: str, params: Mapping[str, Any]) -> Strategy:
    for strategy in (ExplodingStrategy, EveryBarStrategy, EveryTickStrategy):
        if name == strategy.name:
            return strategy.from_params(params)
    return registry.create(name, params)


@dataclass
class Platform:
    """The real things around the service, and what it published."""

    bus: MemoryBus
    db: Database
    venues: SimulatedVenues
    intents: list[tuple[Envelope, OrderIntent]] = field(default_factory=list)
    cancels: list[OrderCancelRequest] = field(default_factory=list)
    services: list[StrategyService] = field(default_factory=list)
    metrics: RuntimeMetrics = field(default_factory=RuntimeMetrics)
    _next_user: int = 0

    async def take_intents(self, batch: Sequence[Envelope]) -> None:
        for env in batch:
            assert isinstance(env.payload, OrderIntent)
            self.intents.append((env, env.payload))

    async def take_cancels(self, batch: Sequence[Envelope]) -> None:
        for env in batch:
            assert isinstance(env.payload, OrderCancelRequest)
            self.cancels.append(env.payload)

    async def start_service(self, **options: Any) -> StrategyService:
        service = StrategyService(
            InstanceSlot(), settings=FAST, create_strategy=create_strategy, **options
        )
        resources = Resources(venues=self.venues, database=self.db)
        self.metrics = RuntimeMetrics()
        ctx = ServiceContext(Settings(), self.bus, get_logger("test"), self.metrics, resources)
        await service.start(ctx)
        self.services.append(service)
        return service

    async def stop_service(self, service: StrategyService) -> None:
        self.services.remove(service)
        await service.stop()

    async def account(self, usdt: str = "100000", **held: str) -> str:
        """A new user's account on `sim`, with a portfolio snapshot holding `usdt` USDT
        (and `held` other assets) that the service seeds its balances from."""
        self._next_user += 1
        async with self.db.transaction() as conn:
            user = await users.create_user(
                conn,
                email_index=f"idx-{self._next_user}",
                email_encrypted="ciphertext",
                password_hash="$argon2id$...",
                roles=("trader",),
            )
            account = await accounts.add_account(
                conn,
                user_id=user.id,
                venue="sim",
                label="",
                api_key_masked="abcd…wxyz",
                api_key_encrypted="ciphertext",
                api_secret_encrypted="ciphertext",
                valuation_asset="USDT",
            )
            balances = {"USDT": D(usdt)} | {asset: D(amount) for asset, amount in held.items()}
            await portfolio_snapshots.insert_snapshot(conn, portfolio(account.id, balances))
        return account.id

    async def bot(
        self,
        account_id: str,
        strategy: str,
        params: Mapping[str, Any],
        state: BotState = BotState.RUNNING,
    ) -> str:
        async with self.db.transaction() as conn:
            account = await accounts.get_account(conn, account_id)
            assert account is not None
            bot = await bots.create_bot(
                conn,
                user_id=account.user_id,
                account_id=account_id,
                strategy=strategy,
                params=dict(params),
            )
            if state is not BotState.STOPPED:
                await bots.set_bot_state(conn, bot.id, state)
        return bot.id

    async def bot_state(self, bot_id: str) -> BotState:
        async with self.db.read() as conn:
            record = await bots.get_bot(conn, bot_id)
        assert record is not None
        return record.state

    def intents_of(self, bot_id: str) -> list[OrderIntent]:
        return [intent for _, intent in self.intents if intent.bot_id == bot_id]


def portfolio(account_id: str, balances: dict[str, Decimal]) -> PortfolioUpdate:
    return PortfolioUpdate(
        account_id=account_id,
        valuation_asset="USDT",
        equity=balances["USDT"],
        cash=balances["USDT"],
        realized_pnl=D(0),
        unrealized_pnl=D(0),
        fees=D(0),
        balances=balances,
        ts_ns=time.time_ns(),
    )


def trade(instrument: Instrument, price: Decimal) -> TradeTick:
    return TradeTick(
        instrument=instrument,
        price=price,
        quantity=D("0.1"),
        aggressor=Side.BUY,
        trade_id=str(time.time_ns()),
        ts_ns=time.time_ns(),
    )


def bar(instrument: Instrument, close: Decimal, open_ns: int | None = None) -> Bar:
    return Bar(
        instrument=instrument,
        interval_s=60,
        open_ns=open_ns if open_ns is not None else time.time_ns() - 60_000_000_000,
        open=close,
        high=close,
        low=close,
        close=close,
        volume=D(1),
    )


def command(account_id: str, bot_id: str, action: BotAction) -> BotCommand:
    return BotCommand(
        account_id=account_id,
        bot_id=bot_id,
        action=action,
        issued_by="user-1",
        ts_ns=time.time_ns(),
    )


def fill_of(intent: OrderIntent, trade_id: str) -> Fill:
    """The whole of `intent` executed at its limit price, without fee."""
    assert intent.price is not None
    return Fill(
        account_id=intent.account_id,
        client_order_id=client_order_id_for(intent.account_id, intent.bot_id, intent.intent_id),
        venue_order_id=f"v-{trade_id}",
        trade_id=trade_id,
        instrument=intent.instrument,
        side=intent.side,
        price=intent.price,
        quantity=intent.quantity,
        fee=D(0),
        fee_asset="USDT",
        liquidity=Liquidity.MAKER,
        ts_ns=time.time_ns(),
    )


async def publish(bus: MemoryBus, topic: str, payload: Payload, key: str) -> None:
    await bus.publish(topic, envelope(payload, key))


async def _is_state(platform: Platform, bot_id: str, state: BotState) -> bool:
    return await platform.bot_state(bot_id) is state


async def eventually(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    try:
        async with asyncio.timeout(timeout_s):
            while not condition():  # noqa: ASYNC110 (polls state several tasks change)
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError("the condition did not hold in time") from None


async def stays(condition: Callable[[], bool], for_s: float) -> None:
    for _ in range(max(1, int(for_s / 0.02))):
        assert condition()
        await asyncio.sleep(0.02)


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    async with running_platform(f"sqlite:///{tmp_path / 'tradewind.db'}") as found:
        yield found


@asynccontextmanager
async def running_platform(database_url: str) -> AsyncIterator[Platform]:
    """A memory bus, a migrated database at `database_url`, the simulated venues, and the
    test's stand-ins for execution (intents, cancels); the services started on it are
    stopped at the end."""
    bus = MemoryBus()
    await bus.start()
    db = Database(database_url)
    await db.migrate()
    venues = SimulatedVenues(SimulatedExchange(SyntheticMarket(seed=1)))
    found = Platform(bus, db, venues)
    await bus.subscribe((topics.ORDERS_INTENT,), "test-execution", found.take_intents)
    await bus.subscribe((ORDERS_CANCEL,), "test-cancels", found.take_cancels)
    try:
        yield found
    finally:
        for service in list(found.services):
            await found.stop_service(service)
        await bus.close()
        await db.close()


async def test_a_running_dca_bot_buys_on_its_timer(platform: Platform) -> None:
    account_id = await platform.account()
    bot_id = await platform.bot(account_id, "dca", DCA)
    service = await platform.start_service()
    assert service.summary()["running"] == 1

    await publish(platform.bus, topics.MD_TRADE, trade(BTC, D(30000)), BTC.key)
    await eventually(lambda: len(platform.intents_of(bot_id)) >= 2)

    first, second = platform.intents_of(bot_id)[:2]
    assert (first.intent_id, second.intent_id) == (f"{bot_id}:1", f"{bot_id}:2")
    assert first.account_id == account_id and first.instrument == BTC
    assert (first.side, first.order_type) == (Side.BUY, OrderType.MARKET)
    assert first.quantity == D("0.000333")  # 10 USDT at 30,000, down to the step
    envelopes = [env for env, intent in platform.intents if intent.bot_id == bot_id]
    assert all(env.key == account_id for env in envelopes)


async def test_a_bot_started_by_command_trades_and_stops_trading_when_paused(
    platform: Platform,
) -> None:
    account_id = await platform.account()
    bot_id = await platform.bot(account_id, "dca", DCA, state=BotState.STOPPED)
    service = await platform.start_service()
    assert service.summary()["running"] == 0

    await publish(
        platform.bus, topics.BOT_COMMANDS, command(account_id, bot_id, BotAction.START), account_id
    )
    await eventually(lambda: service.summary()["running"] == 1)
    await publish(platform.bus, topics.MD_TRADE, trade(BTC, D(30000)), BTC.key)
    await eventually(lambda: len(platform.intents_of(bot_id)) >= 1)
    assert await platform.bot_state(bot_id) is BotState.RUNNING

    await publish(
        platform.bus, topics.BOT_COMMANDS, command(account_id, bot_id, BotAction.PAUSE), account_id
    )
    await eventually(lambda: service.summary()["paused"] == 1)
    paused_at = len(platform.intents_of(bot_id))
    await stays(lambda: len(platform.intents_of(bot_id)) == paused_at, for_s=1.5)
    assert await platform.bot_state(bot_id) is BotState.PAUSED

    await publish(
        platform.bus, topics.BOT_COMMANDS, command(account_id, bot_id, BotAction.START), account_id
    )
    await eventually(lambda: len(platform.intents_of(bot_id)) > paused_at)
    ids = [intent.intent_id for intent in platform.intents_of(bot_id)]
    assert ids == [f"{bot_id}:{n}" for n in range(1, len(ids) + 1)]


async def test_a_fill_reaches_the_grid_that_placed_the_order_and_re_arms_it(
    platform: Platform,
) -> None:
    account_id = await platform.account()
    bot_a = await platform.bot(account_id, "grid", GRID)
    bot_b = await platform.bot(account_id, "grid", GRID)
    await platform.start_service()

    await publish(platform.bus, topics.MD_TRADE, trade(BTC, D(30100)), BTC.key)
    await eventually(
        lambda: len(platform.intents_of(bot_a)) == len(platform.intents_of(bot_b)) == 2
    )
    buys = {intent.price: intent for intent in platform.intents_of(bot_a)}
    assert set(buys) == {D(29000), D(29500)}  # below the level nearest the price

    filled = buys[D(29500)]
    await publish(platform.bus, topics.ORDERS_EVENTS, fill_of(filled, "t-1"), account_id)
    await eventually(lambda: len(platform.intents_of(bot_a)) == 3)
    sell = platform.intents_of(bot_a)[2]
    assert (sell.side, sell.price, sell.quantity) == (Side.SELL, D(30000), filled.quantity)
    assert sell.intent_id == f"{bot_a}:3"
    await stays(lambda: len(platform.intents_of(bot_b)) == 2, for_s=0.3)

    # The same fill again (redelivered with a new envelope) changes nothing.
    await publish(platform.bus, topics.ORDERS_EVENTS, fill_of(filled, "t-1"), account_id)
    await stays(lambda: len(platform.intents_of(bot_a)) == 3, for_s=0.3)

    # Stopping the bot asks execution to cancel what it still has open.
    await publish(
        platform.bus, topics.BOT_COMMANDS, command(account_id, bot_a, BotAction.STOP), account_id
    )
    await eventually(lambda: len(platform.cancels) == 2)
    open_ids = {buys[D(29000)].intent_id, sell.intent_id}
    assert {c.intent_id for c in platform.cancels} == open_ids
    assert {c.client_order_id for c in platform.cancels} == {
        client_order_id_for(account_id, bot_a, intent_id) for intent_id in open_ids
    }
    # The flush publishes the cancel requests first, then writes the bot's row.
    await wait_until_async(lambda: _is_state(platform, bot_a, BotState.STOPPED))


async def test_a_paused_grid_hears_of_its_fills_when_it_resumes(platform: Platform) -> None:
    account_id = await platform.account()
    grid = await platform.bot(account_id, "grid", GRID)
    service = await platform.start_service()
    await publish(platform.bus, topics.MD_TRADE, trade(BTC, D(30100)), BTC.key)
    await eventually(lambda: len(platform.intents_of(grid)) == 2)
    pause = command(account_id, grid, BotAction.PAUSE)
    await publish(platform.bus, topics.BOT_COMMANDS, pause, account_id)
    await eventually(lambda: service.summary()["paused"] == 1)

    buy = next(i for i in platform.intents_of(grid) if i.price == D(29500))
    await publish(platform.bus, topics.ORDERS_EVENTS, fill_of(buy, "t-1"), account_id)
    await stays(lambda: len(platform.intents_of(grid)) == 2, for_s=0.5)

    start = command(account_id, grid, BotAction.START)
    await publish(platform.bus, topics.BOT_COMMANDS, start, account_id)
    await eventually(lambda: len(platform.intents_of(grid)) == 3)
    sell = platform.intents_of(grid)[2]
    assert (sell.side, sell.price, sell.quantity) == (Side.SELL, D(30000), buy.quantity)


async def test_a_restart_resumes_each_bot_where_it_left_off(platform: Platform) -> None:
    account_id = await platform.account()
    dca = await platform.bot(account_id, "dca", DCA)
    grid = await platform.bot(account_id, "grid", GRID)
    service = await platform.start_service()
    await publish(platform.bus, topics.MD_TRADE, trade(BTC, D(30100)), BTC.key)
    await eventually(
        lambda: len(platform.intents_of(dca)) >= 2 and len(platform.intents_of(grid)) == 2
    )
    await platform.stop_service(service)
    before = {intent.intent_id for _, intent in platform.intents}

    await platform.start_service()
    await publish(platform.bus, topics.MD_TRADE, trade(BTC, D(30100)), BTC.key)
    await eventually(lambda: len(platform.intents) >= len(before) + 1)
    # A fill of an order placed before the restart still reaches the grid.
    buy = next(i for i in platform.intents_of(grid) if i.price == D(29500))
    await publish(platform.bus, topics.ORDERS_EVENTS, fill_of(buy, "t-1"), account_id)
    await eventually(lambda: len(platform.intents_of(grid)) == 3)

    after = [intent.intent_id for _, intent in platform.intents][len(before) :]
    assert not before & set(after)  # no id is used twice
    dca_ids = [intent.intent_id for intent in platform.intents_of(dca)]
    assert dca_ids == [f"{dca}:{n}" for n in range(1, len(dca_ids) + 1)]
    sell = platform.intents_of(grid)[2]
    assert (sell.intent_id, sell.side, sell.price) == (f"{grid}:3", Side.SELL, D(30000))


async def test_a_failing_strategy_is_paused_without_hurting_the_others(
    platform: Platform,
) -> None:
    account_id = await platform.account()
    exploding = await platform.bot(account_id, "exploding", {})
    steady = await platform.bot(
        account_id, "momentum", {"symbol": "BTC/USDT", "fast": 1, "slow": 2}
    )
    service = await platform.start_service()

    # fast 1 / slow 2: the third bar is a golden cross (one buy), the fourth is not.
    closes = [D(30000), D(29000), D(31000), D(32000)]
    start_ns = time.time_ns() - 10 * 60_000_000_000
    for n, close in enumerate(closes):
        await publish(
            platform.bus, topics.MD_BAR, bar(BTC, close, start_ns + n * 60_000_000_000), BTC.key
        )
    await eventually(lambda: len(platform.intents_of(steady)) == 1)
    await eventually(lambda: service.summary()["paused"] == 1)

    assert platform.intents_of(exploding) == []  # what a failing hook submitted is dropped
    assert service.summary()["running"] == 1
    # The database's state is written with the batch's flush, after the bot paused.
    async with asyncio.timeout(5.0):
        while await platform.bot_state(exploding) is not BotState.PAUSED:  # noqa: ASYNC110 (the database, polled)
            await asyncio.sleep(0.02)
    errors = platform.metrics.registry.get_sample_value(
        "tradewind_strategy_errors_total", {"strategy": "exploding"}
    )
    assert errors == FAST.strategy_max_errors_in_row


async def test_a_bar_published_twice_reaches_the_bots_once(platform: Platform) -> None:
    # Two marketdata instances on one market publish each bar twice (as separate events);
    # the bots must act on it once.
    account_id = await platform.account()
    bot_id = await platform.bot(account_id, "every-bar", {})
    await platform.start_service()
    start_ns = time.time_ns() - 10 * 60_000_000_000
    for n in range(3):
        once = bar(BTC, D(30000 + n), start_ns + n * 60_000_000_000)
        for _ in range(2):
            await publish(platform.bus, topics.MD_BAR, once, BTC.key)
    await eventually(lambda: len(platform.intents_of(bot_id)) == 3)
    await stays(lambda: len(platform.intents_of(bot_id)) == 3, for_s=0.3)
    repeated = platform.metrics.registry.get_sample_value("tradewind_strategy_bars_repeated_total")
    assert repeated == 3


async def test_a_trade_published_twice_reaches_the_bots_once(platform: Platform) -> None:
    account_id = await platform.account()
    bot_id = await platform.bot(account_id, "every-tick", {})
    await platform.start_service()
    for n in range(3):
        once = trade(BTC, D(30000 + n))
        for _ in range(2):
            await publish(platform.bus, topics.MD_TRADE, once, BTC.key)
    await eventually(lambda: len(platform.intents_of(bot_id)) == 3)
    await stays(lambda: len(platform.intents_of(bot_id)) == 3, for_s=0.3)
    name = "tradewind_strategy_trades_repeated_total"
    assert platform.metrics.registry.get_sample_value(name) == 3


async def test_a_thousand_bots_load_and_run_in_one_process(platform: Platform) -> None:
    bot_ids: list[str] = []
    for _ in range(100):
        account_id = await platform.account()
        for n in range(10):
            symbol = SYMBOLS[n % len(SYMBOLS)]
            params = {"symbol": symbol, "quote_amount": "10", "interval_s": 3600}
            bot_ids.append(await platform.bot(account_id, "dca", params))
    service = await platform.start_service()
    assert service.summary() == {"running": 1000, "paused": 0, "accounts": 100, "timers": 1000}

    for symbol in SYMBOLS:
        instrument = Instrument.parse("sim", symbol)
        await publish(platform.bus, topics.MD_BAR, bar(instrument, PRICES[symbol]), instrument.key)
    await eventually(lambda: len(platform.intents) == 1000, timeout_s=20)
    assert {intent.bot_id for _, intent in platform.intents} == set(bot_ids)
    assert {intent.intent_id.rsplit(":", 1)[1] for _, intent in platform.intents} == {"1"}


def test_instance_slots_split_accounts_between_instances() -> None:
    slots = [InstanceSlot(index, 3) for index in range(3)]
    accounts_ = [f"account-{n}" for n in range(300)]
    owners = [[slot.index for slot in slots if slot.owns(a)] for a in accounts_]
    assert all(len(found) == 1 for found in owners)
    assert {found[0] for found in owners} == {0, 1, 2}
    assert InstanceSlot().account_group == "strategy"
    assert slots[1].account_group == "strategy-1-of-3"
    settings = StrategySettings(instance_index=2, instance_count=3)
    assert InstanceSlot.from_settings(settings) == slots[2]


async def test_instances_share_the_bots_by_partition_and_take_over_a_stopped_ones(
    platform: Platform,
) -> None:
    """Two instances in the shared group host disjoint halves of the bots (by the
    account partitions each reads); when one stops, the other loads its bots. Instances
    used to take fixed slots: two with the default slot both ran every bot, and a dead
    slot's bots stopped until it came back."""
    bot_ids = set()
    for _ in range(12):
        account_id = await platform.account()
        bot_ids.add(await platform.bot(account_id, "dca", DCA))
    first = await platform.start_service()
    second = await platform.start_service()

    def split() -> bool:
        one, two = set(first.roster.hosts), set(second.roster.hosts)
        return bool(one) and bool(two) and not one & two and one | two == bot_ids

    await eventually(split, timeout_s=10)
    await platform.stop_service(first)
    await eventually(lambda: set(second.roster.hosts) == bot_ids, timeout_s=10)
    assert second.summary()["running"] == 12


async def test_a_momentum_bot_warms_up_on_its_venues_history_and_is_not_fed_it_twice(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A market with six hours of past (5-minute candles, and the trades they imply);
    # bars of 60 s, as marketdata builds them.
    monkeypatch.setenv("TRADEWIND_BAR_INTERVAL_S", "60")
    now_ms = time.time_ns() // 1_000_000
    exchange = SimulatedExchange(SyntheticMarket(seed=1, start_ms=now_ms, history_ms=6 * 3600_000))
    platform.venues = SimulatedVenues(exchange)
    account_id = await platform.account()
    params = {"symbol": "BTC/USDT", "fast": 3, "slow": 5}
    bot_id = await platform.bot(account_id, "momentum", params)
    service = await platform.start_service()

    history = await platform.venues.public("sim").fetch_candles("BTC/USDT", 60, 6)
    assert len(history) == 6
    host = service.roster.hosts[bot_id]
    memory = host.strategy.memory
    assert isinstance(memory, MomentumMemory)
    assert memory.closes == [c.close for c in history[-5:]]
    assert memory.last_spread is not None  # it can act on its first live bar
    assert host.history_until == {"BTC/USDT": history[-1].open_ms * 1_000_000}

    # The last bar of its history, published live: not taken again.
    await publish(
        platform.bus, topics.MD_BAR, bar(BTC, D(1), history[-1].open_ms * 1_000_000), BTC.key
    )
    await stays(lambda: memory.closes == [c.close for c in history[-5:]], for_s=0.2)
    # Newer ones are: low closes until the fast average is below the slow one (none at
    # all if it already was), then a close far above both crosses them: a buy.
    opens = history[-1].open_ms * 1_000_000
    closes = [D(1)] * 5 + [D(10**6)]
    for n, close in enumerate(closes, start=1):
        if close == 1 and memory.last_spread is not None and memory.last_spread < 0:
            continue
        live = bar(BTC, close, opens + n * 60 * 10**9)
        await publish(platform.bus, topics.MD_BAR, live, BTC.key)
        await eventually(lambda c=close: memory.closes[-1] == c)
    await eventually(lambda: len(platform.intents_of(bot_id)) == 1)
    [buy] = platform.intents_of(bot_id)
    assert buy.side is Side.BUY and memory.golden_crosses == 1
