"""The strategy plug-in API: what a strategy is, and what its host must provide.

A strategy is pure decision code: no I/O, no clock, no asyncio. It sees the world only
through the `StrategyContext` its host passes to every hook, and acts only by calling
`ctx.submit` / `ctx.cancel` / `ctx.set_timer`. The same class runs unchanged under the
live strategy service, against the simulated exchange, and in `backtest.run_backtest`.

Units: prices in the symbol's quote asset per base unit, quantities in the base asset,
times in ns since the Unix epoch (UTC), timer intervals in seconds. Money is `Decimal`.

The host's contract
-------------------
1. Build the strategy with validated params (`registry.create`), `restore` the saved
   state if there is one, then call `on_start`; `symbols()` says which instruments'
   market data to deliver.
2. Deliver events one at a time (never concurrently): `on_bar`, `on_tick`, `on_fill`,
   `on_order_rejected`, `on_timer`; `on_stop` when the bot stops.
3. `ctx.submit` turns each call into an `OrderIntent` whose `intent_id` is
   `strategy.next_intent_id(bot_id)` = `f"{bot_id}:{n}"`, with `n` counting up from 1
   per bot and kept in the strategy's state. The host persists `strategy.state()`
   together with the intents an event produced (one transaction, through the outbox)
   *before* acknowledging that event. After a crash the event is redelivered to the
   state saved before it, the strategy decides again and the same numbers are used
   again, so its intents carry the same ids and the venue's dedupe by client order id
   (`client_order_id_for(account_id, bot_id, intent_id)`, from
   `tradewind.domain.client_order_ids`) places each order at most once. Ids are never
   reused for a different decision, since the saved counter only moves forward.
4. Fills and rejections reach the strategy as the domain's `Fill` / `OrderRejected`
   events, whose `client_order_id` is `client_order_id_for(account_id, bot_id,
   intent_id)`; strategies that track their orders keep that id when they submit.
5. `balances()`, `position()` and `open_orders()` already reflect every fill and
   rejection delivered so far: the host applies an event to its view of the account
   before it calls the hook.
6. What `submit`, `cancel` and `set_timer` accept, when an order leaves `open_orders()`
   and which rejections reach `on_order_rejected` are one set of rules that every host
   uses (`submission.py`, `open_orders.py`, `timer_rules.py`), so a strategy behaves the
   same live and in a backtest; `tests/unit/strategies/test_host_contract.py` runs them
   against both hosts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Protocol, Self

import msgspec

from tradewind.domain.client_order_ids import client_order_id_for

__all__ = ["client_order_id_for"]  # re-exported: strategies track orders by this id
from tradewind.domain.events import Bar, Fill, OrderRejected, TradeTick
from tradewind.domain.model import OrderType, Side, TimeInForce
from tradewind.strategies.errors import StrategyStateError
from tradewind.strategies.params import StrategyParams, parse_params
from tradewind.venues.port import Market

#: How often (seconds) schedule-driven strategies ask for a timer: a due time is kept in
#: the strategy's state, so a restart delays a scheduled action by at most this much.
SCHEDULE_CHECK_S = 60


class OpenOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An order the bot submitted that is not yet filled, canceled or rejected (a market
    order counts until it fills). Price in quote per base, quantities in base."""

    intent_id: str
    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    filled_quantity: Decimal = Decimal(0)
    price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC


class StrategyContext(Protocol):
    """What a running strategy may see and do; one per bot, implemented by the host."""

    @property
    def account_id(self) -> str: ...

    @property
    def bot_id(self) -> str: ...

    @property
    def now_ns(self) -> int:
        """The host's current time (ns since epoch): the event's time, in backtests too."""
        ...

    def balances(self) -> dict[str, Decimal]:
        """Free (not locked by open orders) balance of every asset the account holds."""
        ...

    def position(self, symbol: str) -> Decimal:
        """The account's holding of `symbol`'s base asset (free + locked), base units."""
        ...

    def price(self, symbol: str) -> Decimal | None:
        """The latest price of `symbol` (last trade or bar close), None if none yet."""
        ...

    def market(self, symbol: str) -> Market:
        """`symbol`'s filters: tick size, step size, minimum quantity and notional."""
        ...

    def open_orders(self) -> list[OpenOrder]:
        """This bot's open orders, oldest first: from `submit` until filled whole,
        canceled, expired or rejected (an order leaves before the hook that hears of its
        end runs; one whose cancel was asked stays until the cancel takes effect)."""
        ...

    def submit(
        self,
        side: Side,
        symbol: str,
        quantity: Decimal,
        *,
        order_type: OrderType,
        price: Decimal | None = None,
        tif: TimeInForce = TimeInForce.GTC,
    ) -> str:
        """Send an order intent; returns its intent id. `price` (quote per base) is
        required for limit orders. A malformed call (not Decimals, quantity or price not
        above 0, a limit order without a price, a symbol the venue does not list) raises
        at once, in every host alike (`submission.next_order`); what the market refuses
        (filters, funds) arrives later through `on_order_rejected`."""
        ...

    def cancel(self, intent_id: str) -> None:
        """Ask to cancel the open order `submit` returned `intent_id` for; it stays open
        (and may fill) until the cancel takes effect: live when execution confirms it,
        in a backtest once this hook returns. Asking again, or for an order that has
        ended, does nothing; an id this bot never issued raises ValueError (a non-str,
        TypeError) (`open_orders.OpenOrders.to_cancel`)."""
        ...

    def set_timer(self, interval_s: float) -> None:
        """Call `on_timer` every `interval_s` seconds from now, replacing any earlier
        timer; 0 cancels it. Missed periods coalesce into one call. An interval that is
        not a finite number of seconds >= 0 raises ValueError (not a number, TypeError)
        (`timer_rules.timer_interval_ns`)."""
        ...


class StrategyMemory(msgspec.Struct, kw_only=True):
    """Base of a strategy's mutable state; `Strategy.state()` saves it as msgpack. Give
    every new field a default so states saved by older code still load."""


class _Snapshot(msgspec.Struct, frozen=True, array_like=True):
    strategy: str
    version: int
    intent_sequence: int
    memory: msgspec.Raw


class Strategy:
    """Base of every strategy. Subclasses set `name` (the registry key) and `Params`,
    narrow the `params` / `memory` annotations to their own types, implement `symbols`,
    `new_memory` and the hooks they need. Hooks default to doing nothing."""

    name: ClassVar[str]
    Params: ClassVar[type[StrategyParams]]
    #: Bump when `memory`'s layout changes incompatibly; old snapshots are then refused.
    memory_version: ClassVar[int] = 1

    params: StrategyParams
    memory: StrategyMemory

    def __init__(self, params: StrategyParams) -> None:
        if not isinstance(params, self.Params):
            raise TypeError(
                f"{self.name}: params must be {self.Params.__name__}, "
                f"got {type(params).__name__}; use {type(self).__name__}.from_params(dict)"
            )
        self.params = params
        self.memory = self.new_memory()
        self._intent_sequence = 0

    # -- parameters -----------------------------------------------------------------

    @classmethod
    def parse_params(cls, raw: Mapping[str, Any]) -> StrategyParams:
        """Validate user parameters; raises `InvalidParams` naming the bad field."""
        return parse_params(cls.name, cls.Params, raw)

    @classmethod
    def from_params(cls, raw: Mapping[str, Any]) -> Self:
        """A fresh strategy from user parameters (validated, defaults filled in)."""
        return cls(cls.parse_params(raw))

    @classmethod
    def params_schema(cls) -> dict[str, Any]:
        """The JSON schema of `Params` (decimals are strings of format `decimal`)."""
        return msgspec.json.schema(cls.Params)

    # -- what subclasses provide ----------------------------------------------------

    def symbols(self) -> tuple[str, ...]:
        """The unified symbols (`BASE/QUOTE`) whose market data this strategy needs."""
        raise NotImplementedError(f"{type(self).__name__} must define symbols()")

    def new_memory(self) -> StrategyMemory:
        """The state of a bot that has never run."""
        return StrategyMemory()

    def history_bars(self) -> int:
        """How many closed bars of each of `symbols()` this strategy needs before it can
        act; 0 (the default) for none. The host hands them to `warm_up` before the bot
        starts (live: from the venue's candles; backtest: from the data before its
        start), so that a strategy with a 26-bar average acts on its first live bar."""
        return 0

    def warm_up(self, history: Mapping[str, Sequence[Bar]]) -> None:
        """Learn from `history`: per symbol, up to `history_bars()` closed bars, oldest
        first, all before any bar `on_bar` will be given (fewer, or none, when the venue
        has fewer). No context: nothing may be ordered here. Replaces what the memory
        held of the past; called before `on_start` each time the bot starts."""

    def on_start(self, ctx: StrategyContext) -> None:
        """The bot starts, fresh or restored; set timers here."""

    def on_bar(self, ctx: StrategyContext, bar: Bar) -> None:
        """A bar of one of `symbols()` closed; `ctx.now_ns` is its close time."""

    def on_tick(self, ctx: StrategyContext, tick: TradeTick) -> None:
        """A public trade of one of `symbols()`."""

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        """One execution of this bot's order (`fill.client_order_id` identifies it)."""

    def on_order_rejected(self, ctx: StrategyContext, rejected: OrderRejected) -> None:
        """Risk or the venue refused this bot's order; it will not be open."""

    def on_timer(self, ctx: StrategyContext, now_ns: int) -> None:
        """The timer set with `ctx.set_timer` fired at `now_ns`."""

    def on_stop(self, ctx: StrategyContext) -> None:
        """The bot stops; open orders are the host's to cancel or keep."""

    # -- state that survives restarts -----------------------------------------------

    @property
    def intent_sequence(self) -> int:
        """How many intent ids this bot has used."""
        return self._intent_sequence

    def next_intent_id(self, bot_id: str) -> str:
        """Allocate the next intent id, `f"{bot_id}:{n}"`. For hosts' `submit` only."""
        self._intent_sequence += 1
        return f"{bot_id}:{self._intent_sequence}"

    def state(self) -> bytes:
        """Everything the bot needs to resume (memory and intent counter), as msgpack."""
        memory = msgspec.Raw(msgspec.msgpack.encode(self.memory))
        snapshot = _Snapshot(self.name, self.memory_version, self._intent_sequence, memory)
        return msgspec.msgpack.encode(snapshot)

    def restore(self, data: bytes) -> None:
        """Resume from `state()` output; raises `StrategyStateError` if it is not this
        strategy's, of another memory version, or corrupt."""
        try:
            snapshot = msgspec.msgpack.decode(data, type=_Snapshot)
        except msgspec.DecodeError as error:
            raise StrategyStateError(f"{self.name}: saved state is unreadable: {error}") from None
        if snapshot.strategy != self.name:
            raise StrategyStateError(
                f"saved state belongs to strategy {snapshot.strategy!r}, not {self.name!r}"
            )
        if snapshot.version != self.memory_version:
            raise StrategyStateError(
                f"{self.name}: saved state is version {snapshot.version}, this code reads "
                f"version {self.memory_version}; start the bot fresh or migrate the state"
            )
        try:
            memory = msgspec.msgpack.decode(snapshot.memory, type=type(self.memory))
        except msgspec.DecodeError as error:
            raise StrategyStateError(f"{self.name}: saved memory is unreadable: {error}") from None
        self.memory = memory
        self._intent_sequence = snapshot.intent_sequence
