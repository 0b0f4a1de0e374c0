"""The `StrategyContext` a backtest gives its strategy: reads come from the simulated
account and the latest bar closes; `submit` acts on that account at once; `cancel` takes
effect, and rejections are handed back, once the hook that caused them returns.

What `submit`, `cancel` and `set_timer` accept, how the bot's open orders change and
which rejections reach the strategy are the rules the live host follows too
(`submission.py`, `open_orders.py`, `timer_rules.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Concatenate, ParamSpec

from tradewind.domain.events import Fill, OrderExpired, OrderRejected
from tradewind.domain.model import OrderType, Side, TimeInForce
from tradewind.errors import TradewindError
from tradewind.strategies.api import OpenOrder, Strategy, StrategyContext
from tradewind.strategies.backtest_account import BacktestAccount
from tradewind.strategies.open_orders import OpenOrders
from tradewind.strategies.submission import next_order
from tradewind.strategies.timer_rules import next_due_ns, timer_interval_ns
from tradewind.venues.port import Market

P = ParamSpec("P")
ZERO = Decimal(0)
#: Rejections answered by more orders that are rejected again, within one event; past
#: this the strategy is looping and the backtest stops with an error.
MAX_CASCADE = 10_000


class BacktestContext:
    """One bot's view of a backtest. `now_ns` and `prices` are advanced by the runner."""

    def __init__(
        self, strategy: Strategy, account: BacktestAccount, *, account_id: str, bot_id: str
    ) -> None:
        self.now_ns = 0
        self.prices: dict[str, Decimal] = {}
        self._strategy = strategy
        self._account = account
        self._account_id = account_id
        self._bot_id = bot_id
        self._orders = OpenOrders()
        self._cancels: list[OpenOrder] = []  # asked in the hook running now
        self._rejections: list[OrderRejected] = []
        self._timer_ns = 0
        self._timer_due_ns = 0
        self._fill_listener: Callable[[Fill], object] = lambda fill: None
        self._reject_listener: Callable[[OrderRejected], object] = lambda rejected: None

    # -- StrategyContext ----------------------------------------------------------

    @property
    def account_id(self) -> str:
        return self._account_id

    @property
    def bot_id(self) -> str:
        return self._bot_id

    def balances(self) -> dict[str, Decimal]:
        return self._account.free_balances()

    def position(self, symbol: str) -> Decimal:
        return self._account.totals.get(self.market(symbol).base, ZERO)

    def price(self, symbol: str) -> Decimal | None:
        return self.prices.get(symbol)

    def market(self, symbol: str) -> Market:
        try:
            return self._account.markets[symbol]
        except KeyError:
            raise TradewindError(f"the backtest has no market {symbol}") from None

    def open_orders(self) -> list[OpenOrder]:
        return list(self._orders.values())

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
        order = next_order(
            self._strategy, account_id=self._account_id, bot_id=self._bot_id,
            listed=symbol in self._account.markets, side=side, symbol=symbol,
            quantity=quantity, order_type=order_type, price=price, tif=tif,
        )  # fmt: skip
        self._orders.add(order)  # open until its rejection, if any, is handed back
        rejected = self._account.submit(
            order, reference_price=self.prices.get(symbol), now_ns=self.now_ns
        )
        if rejected is not None:
            self._rejections.append(rejected)
        return order.intent_id

    def cancel(self, intent_id: str) -> None:
        order = self._orders.to_cancel(
            self._strategy, account_id=self._account_id, bot_id=self._bot_id, intent_id=intent_id
        )
        if order is not None:
            self._cancels.append(order)

    def set_timer(self, interval_s: float) -> None:
        self._timer_ns = timer_interval_ns(interval_s)
        self._timer_due_ns = self.now_ns + self._timer_ns

    # -- driven by the runner -------------------------------------------------------

    def listen(
        self, on_fill: Callable[[Fill], object], on_reject: Callable[[OrderRejected], object]
    ) -> None:
        """Also tell these callbacks of every fill and rejection (for the result)."""
        self._fill_listener, self._reject_listener = on_fill, on_reject

    def run(
        self,
        hook: Callable[Concatenate[StrategyContext, P], None],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> None:
        """Call a strategy hook, then apply the cancels it asked for and hand it the
        rejections its orders met."""
        hook(self, *args, **kwargs)
        self._after_hook()

    def deliver(self, event: Fill | OrderRejected | OrderExpired) -> None:
        """Apply an event of the account's matching to the bot's open orders, then tell
        the strategy of a fill or of a rejection at fill time (an expiry has no hook)."""
        if isinstance(event, Fill):
            self._orders.apply_fill(event)
            self._fill_listener(event)
            self.run(self._strategy.on_fill, event)
        elif isinstance(event, OrderRejected):
            self._rejections.append(event)
            self._after_hook()
        else:
            self._orders.close(event.client_order_id)

    def _after_hook(self) -> None:
        """The cancels asked take effect, then each rejection is handed back (its order
        leaves the book first), as many rounds as the strategy's answers cause."""
        for _ in range(MAX_CASCADE):
            self._apply_cancels()
            if not self._rejections:
                return
            rejected = self._rejections.pop(0)
            self._reject_listener(rejected)
            if self._orders.apply_rejection(rejected) is not None:
                self._strategy.on_order_rejected(self, rejected)
        raise TradewindError(
            f"{self._strategy.name}: over {MAX_CASCADE} orders rejected in a row within one "
            "event; the strategy resubmits rejected orders in a loop"
        )

    def _apply_cancels(self) -> None:
        cancels, self._cancels = self._cancels, []
        for order in cancels:
            # Not in the account: rejected at submission, its rejection still to come.
            if self._account.cancel(order.intent_id):
                self._orders.close(order.client_order_id)

    def fire_timer_if_due(self) -> None:
        """Call `on_timer` once if the timer is due, then schedule its next period."""
        if not self._timer_ns or self.now_ns < self._timer_due_ns:
            return
        self._timer_due_ns = next_due_ns(self._timer_due_ns, self._timer_ns, self.now_ns)
        self.run(self._strategy.on_timer, self.now_ns)
