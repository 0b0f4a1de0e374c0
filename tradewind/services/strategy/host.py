"""`BotHost`: one hosted bot, and the `StrategyContext` its strategy sees.

Reads come from the bot's `AccountView` (balances, positions, prices, markets) and the
bot's open orders (`strategies.open_orders.OpenOrders`). `submit` and `cancel` only
append to the service's `Outbound`, which publishes after the batch; `set_timer` goes to
the one `TimerWheel`. What these calls accept, and how the open orders change, are the
rules every host shares with the backtest (`strategies/submission.py`,
`strategies/open_orders.py`, `strategies/timer_rules.py`). Nothing here awaits or logs:
hooks run synchronously, one bot at a time.

Orders are known by one id everywhere: `client_order_id_for(account_id, bot_id,
intent_id)` (`tradewind.domain.client_order_ids`), which execution sends to the venue,
`orders.events` carry, and strategies compute to track their orders.
"""

from __future__ import annotations

from decimal import Decimal

from tradewind.domain.commands import OrderCancelRequest, OrderIntent
from tradewind.domain.events import Fill, OrderRejected
from tradewind.domain.model import OrderType, Side, TimeInForce
from tradewind.services.strategy.account_view import AccountView
from tradewind.services.strategy.outbound import Outbound, PendingIntent
from tradewind.services.strategy.saved_state import HostedBotState, encode_saved
from tradewind.services.strategy.timers import TimerWheel
from tradewind.strategies.api import OpenOrder, Strategy
from tradewind.strategies.open_orders import OpenOrders
from tradewind.strategies.submission import next_order
from tradewind.venues.port import Market

#: Order events kept for a paused bot; beyond this the oldest are dropped.
MAX_DEFERRED = 1000


class BotHost:
    """A hosted bot. The service sets `now_ns` before each hook (the event's time, or
    the wall clock for timers and commands) and flips `running`; `orders` are the bot's
    open orders by client order id, oldest first."""

    __slots__ = (
        "_outbound",
        "_timers",
        "account",
        "bot_id",
        "deferred",
        "dirty",
        "errors_in_row",
        "history_until",
        "now_ns",
        "orders",
        "running",
        "saved_digest",
        "strategy",
        "timer_generation",
        "timer_interval_ns",
    )

    def __init__(
        self,
        bot_id: str,
        strategy: Strategy,
        account: AccountView,
        outbound: Outbound,
        timers: TimerWheel[BotHost],
    ) -> None:
        self.bot_id = bot_id
        self.strategy = strategy
        self.account = account
        self._outbound = outbound
        self._timers = timers
        self.now_ns = 0
        self.running = False
        self.orders = OpenOrders()
        self.deferred: list[Fill | OrderRejected] = []
        self.errors_in_row = 0
        #: symbol -> open of the last bar its warm-up gave it: live bars up to it are
        #: not given again (`warm_up.WarmUp`); None without a warm-up.
        self.history_until: dict[str, int] | None = None
        self.dirty = False
        self.saved_digest = 0
        self.timer_interval_ns = 0
        self.timer_generation = 0

    # -- StrategyContext --------------------------------------------------------------

    @property
    def account_id(self) -> str:
        return self.account.account_id

    def balances(self) -> dict[str, Decimal]:
        return self.account.free_balances()

    def position(self, symbol: str) -> Decimal:
        return self.account.total(self.account.market(symbol).base)

    def price(self, symbol: str) -> Decimal | None:
        return self.account.prices.get(symbol)

    def market(self, symbol: str) -> Market:
        return self.account.market(symbol)

    def open_orders(self) -> list[OpenOrder]:
        return list(self.orders.values())

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
        account_id = self.account.account_id
        order = next_order(
            self.strategy, account_id=account_id, bot_id=self.bot_id,
            listed=symbol in self.account.markets, side=side, symbol=symbol,
            quantity=quantity, order_type=order_type, price=price, tif=tif,
        )  # fmt: skip
        intent = OrderIntent(
            account_id=account_id,
            bot_id=self.bot_id,
            intent_id=order.intent_id,
            instrument=self.account.instrument(symbol),
            side=order.side,
            order_type=order.order_type,
            quantity=quantity,
            price=price,
            time_in_force=order.time_in_force,
            ts_ns=self.now_ns,
        )
        client_order_id = order.client_order_id
        self.orders.add(order)
        self.account.order_added(order)
        outbound = self._outbound
        outbound.intents.append(PendingIntent(self, client_order_id, intent, outbound.cause))
        self._outbound.save(self)
        return order.intent_id

    def cancel(self, intent_id: str) -> None:
        account_id, bot_id = self.account.account_id, self.bot_id
        order = self.orders.to_cancel(
            self.strategy, account_id=account_id, bot_id=bot_id, intent_id=intent_id
        )
        if order is not None:
            self.request_cancel(order.client_order_id, "canceled by the strategy")

    def set_timer(self, interval_s: float) -> None:
        self._timers.schedule(self, interval_s)

    # -- for the service --------------------------------------------------------------

    def request_cancel(self, client_order_id: str, reason: str) -> None:
        """Ask execution to cancel the open order `client_order_id`; it stays open until
        execution says it is canceled (or filled)."""
        order = self.orders[client_order_id]
        self._outbound.cancels.append(
            OrderCancelRequest(
                account_id=self.account.account_id,
                bot_id=self.bot_id,
                intent_id=order.intent_id,
                client_order_id=client_order_id,
                instrument=self.account.instrument(order.symbol),
                reason=reason,
                ts_ns=self.now_ns,
            )
        )
        self._outbound.save(self)

    def save_soon(self) -> None:
        """Write this bot's saved state at the next flush."""
        self._outbound.save(self)

    def defer(self, event: Fill | OrderRejected) -> None:
        """Keep an order event for when the paused bot resumes."""
        self.deferred.append(event)
        if len(self.deferred) > MAX_DEFERRED:
            del self.deferred[0]
        self._outbound.save(self)

    def saved_state(self) -> bytes:
        """The strategy's state and the host's open orders and deferred events."""
        return encode_saved(
            HostedBotState(
                strategy=self.strategy.state(),
                open_orders=list(self.orders.values()),
                deferred=list(self.deferred),
            )
        )

    def restore_orders(self, saved: HostedBotState) -> None:
        """Take back the open orders and deferred events of a saved state."""
        for order in saved.open_orders:
            self.orders.add(order)
        self.deferred = list(saved.deferred)
        self.account.orders_changed()
