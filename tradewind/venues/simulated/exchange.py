"""The simulated exchange: matching engine, a living market, funded accounts with API
keys, and what happened, told to listeners (the WebSocket streams, the in-process
venue adapter).

Not thread-safe: one asyncio loop owns it. Time comes from `clock` (ns since epoch), so
tests and backtests can drive it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

import msgspec

from tradewind.domain.matching import (
    DepthUpdate,
    InstrumentSpec,
    MatchingEngine,
    OrderSnapshot,
    OrderStatus,
    SubmitResult,
    Trade,
)
from tradewind.domain.model import OrderType, Side, TimeInForce
from tradewind.venues.simulated.history import MarketHistory
from tradewind.venues.simulated.instruments import spec_for
from tradewind.venues.simulated.liquidity import HOUSE_PREFIX, HouseTraders, LiquidityConfig
from tradewind.venues.simulated.market import CandleReplay, PriceSource

VENUE = "sim"


@dataclass(frozen=True)
class KeyPermissions:
    """What an API key may do, as Binance's apiRestrictions reports it."""

    trade: bool = True
    withdraw: bool = False
    transfer: bool = False
    ip_restrict: bool = False


@dataclass(frozen=True)
class ApiCredentials:
    api_key: str
    secret: str = field(repr=False)
    account_id: str
    permissions: KeyPermissions
    created_ms: int


class OrderUpdate(msgspec.Struct, frozen=True):
    """One change of one account's order, in Binance's executionReport terms.

    `execution_type`: NEW, TRADE, CANCELED or EXPIRED. `status`, `executed_quantity`
    and `cumulative_quote` are as of this event (a TRADE report per fill, in order);
    `trade` is the fill for TRADE reports.
    """

    account_id: str
    execution_type: str
    order: OrderSnapshot
    status: OrderStatus
    executed_quantity: Decimal
    cumulative_quote: Decimal
    trade: Trade | None
    ts_ms: int


class ExchangeListener(Protocol):
    """Told of everything public and private that happens, in order."""

    def on_trades(self, symbol: str, trades: list[Trade]) -> None: ...

    def on_depth(self, update: DepthUpdate) -> None: ...

    def on_order_updates(self, updates: list[OrderUpdate]) -> None: ...

    def on_balances(self, account_id: str, assets: set[str], ts_ms: int) -> None: ...


class SimulatedExchange:
    """A complete simulated venue. `step(now)` moves the market; the order methods
    act for accounts; listeners hear about every trade, book change and order update."""

    def __init__(
        self,
        prices: PriceSource,
        *,
        liquidity: LiquidityConfig | None = None,
        clock: Callable[[], int] = time.time_ns,
        seed: int = 11,
        fees: Decimal = Decimal("0.001"),
    ) -> None:
        self.prices = prices
        self.clock = clock
        self.engine = MatchingEngine(maker_fee=fees, taker_fee=fees)
        now_ms = clock() // 1_000_000
        self.specs: dict[str, InstrumentSpec] = {}
        for symbol in prices.symbols:
            spec = spec_for(VENUE, symbol, prices.price(symbol, now_ms))
            self.engine.add_instrument(spec)
            self.specs[symbol] = spec
        self.history = MarketHistory(self.specs)
        self._house = HouseTraders(
            self.engine, self.specs, liquidity or LiquidityConfig(), seed=seed
        )
        self._listeners: list[ExchangeListener] = []
        # Listeners of one account's orders and balances only (the in-process venue's
        # watchers): told just their account's updates, so the cost of an order does
        # not grow with the number of accounts watching.
        self._account_listeners: dict[str, list[ExchangeListener]] = {}
        self._keys: dict[str, ApiCredentials] = {}
        self._last_step_ns: int | None = None

    # -- listeners and accounts -------------------------------------------------------

    def add_listener(self, listener: ExchangeListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: ExchangeListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def add_account_listener(self, account_id: str, listener: ExchangeListener) -> None:
        """Tell `listener` only `account_id`'s order updates and balance changes."""
        self._account_listeners.setdefault(account_id, []).append(listener)

    def remove_account_listener(self, account_id: str, listener: ExchangeListener) -> None:
        listeners = self._account_listeners.get(account_id)
        if listeners is not None and listener in listeners:
            listeners.remove(listener)
            if not listeners:
                del self._account_listeners[account_id]

    def create_account(
        self, balances: dict[str, Decimal], permissions: KeyPermissions | None = None
    ) -> ApiCredentials:
        """Open a funded account with a new API key (the testnet faucet)."""
        for asset, amount in balances.items():
            if amount < 0:
                raise ValueError(f"balance of {asset} must not be negative, got {amount}")
        account_id = f"acct-{secrets.token_hex(6)}"
        for asset, amount in balances.items():
            self.engine.deposit(account_id, asset, amount)
        creds = ApiCredentials(
            api_key=secrets.token_urlsafe(48)[:64],
            secret=secrets.token_urlsafe(48)[:64],
            account_id=account_id,
            permissions=permissions or KeyPermissions(),
            created_ms=self.clock() // 1_000_000,
        )
        self._keys[creds.api_key] = creds
        return creds

    def credentials(self, api_key: str) -> ApiCredentials | None:
        return self._keys.get(api_key)

    # -- orders -----------------------------------------------------------------------

    def submit_order(
        self,
        account_id: str,
        symbol: str,
        side: Side,
        order_type: OrderType,
        *,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
        quote_quantity: Decimal | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        client_order_id: str | None = None,
    ) -> SubmitResult:
        """Place an order for `account_id`; raises MatchingError with Binance's code."""
        ts_ns = self.clock()
        if order_type is OrderType.MARKET:
            result = self.engine.submit_market(
                account_id,
                symbol,
                side,
                quantity=quantity,
                quote_quantity=quote_quantity,
                client_order_id=client_order_id,
                ts_ns=ts_ns,
            )
        else:
            if quantity is None or price is None:
                from tradewind.domain.matching.errors import MANDATORY_QUANTITY, OrderRejected

                raise OrderRejected(MANDATORY_QUANTITY, "a LIMIT order needs quantity and price")
            result = self.engine.submit_limit(
                account_id,
                symbol,
                side,
                quantity,
                price,
                time_in_force=time_in_force,
                client_order_id=client_order_id,
                ts_ns=ts_ns,
            )
        self._publish([result], ts_ns)
        return result

    def cancel_order(
        self,
        account_id: str,
        symbol: str,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> OrderSnapshot:
        ts_ns = self.clock()
        order = self.engine.cancel_order(
            account_id, symbol, order_id=order_id, client_order_id=client_order_id, ts_ns=ts_ns
        )
        self._publish_cancels([order], ts_ns)
        return order

    def cancel_open_orders(self, account_id: str, symbol: str) -> list[OrderSnapshot]:
        ts_ns = self.clock()
        orders = self.engine.cancel_open_orders(account_id, symbol, ts_ns=ts_ns)
        self._publish_cancels(orders, ts_ns)
        return orders

    # -- the market -------------------------------------------------------------------

    def step(self) -> None:
        """Advance the market to now: re-quote the ladders, run background flow."""
        now_ns = self.clock()
        elapsed_s = 0.0 if self._last_step_ns is None else (now_ns - self._last_step_ns) / 1e9
        self._last_step_ns = now_ns
        now_ms = now_ns // 1_000_000
        for symbol in self.specs:
            reference = self.prices.price(symbol, now_ms)
            results = self._house.requote(symbol, reference, now_ns)
            results += self._house.trade(symbol, elapsed_s, now_ns)
            self._publish(results, now_ns)
        self._publish_depth()
        self.history.close_klines(now_ms)

    def replay_finished(self) -> bool:
        prices = self.prices
        return isinstance(prices, CandleReplay) and prices.finished(self.clock() // 1_000_000)

    # -- telling listeners ------------------------------------------------------------

    def _publish(self, results: list[SubmitResult], ts_ns: int) -> None:
        ts_ms = ts_ns // 1_000_000
        updates: list[OrderUpdate] = []
        touched: dict[str, set[str]] = {}
        for result in results:
            order = result.order
            if result.trades:
                self.history.record_trades(order.symbol, result.trades)
                for listener in self._listeners:
                    listener.on_trades(order.symbol, result.trades)
            instrument = self.specs[order.symbol].instrument
            assets = {instrument.base, instrument.quote}
            if _is_client(order.account_id):
                touched.setdefault(order.account_id, set()).update(assets)
                updates += _taker_updates(result, ts_ms)
            for trade in result.trades:
                if not _is_client(trade.maker_account_id):
                    continue
                maker = self.engine.get_order(
                    trade.maker_account_id, order.symbol, order_id=trade.maker_order_id
                )
                touched.setdefault(maker.account_id, set()).update(assets)
                updates.append(
                    _update(maker, "TRADE", trade.maker_status, trade.maker_executed_steps,
                            trade.maker_cumulative_notional, trade, ts_ms)
                )  # fmt: skip
        self._tell(updates, touched, ts_ms)

    def _publish_cancels(self, orders: list[OrderSnapshot], ts_ns: int) -> None:
        ts_ms = ts_ns // 1_000_000
        touched: dict[str, set[str]] = {}
        updates = []
        for order in orders:
            if not _is_client(order.account_id):
                continue
            instrument = self.specs[order.symbol].instrument
            touched.setdefault(order.account_id, set()).update((instrument.base, instrument.quote))
            updates.append(
                _update(order, "CANCELED", order.status, order.executed_steps,
                        order.cumulative_notional, None, ts_ms)
            )  # fmt: skip
        self._tell(updates, touched, ts_ms)
        self._publish_depth()

    def _tell(self, updates: list[OrderUpdate], touched: dict[str, set[str]], ts_ms: int) -> None:
        if updates:
            for listener in self._listeners:
                listener.on_order_updates(updates)
            if self._account_listeners:
                by_account: dict[str, list[OrderUpdate]] = {}
                for update in updates:
                    by_account.setdefault(update.account_id, []).append(update)
                for account_id, mine in by_account.items():
                    for listener in self._account_listeners.get(account_id, ()):
                        listener.on_order_updates(mine)
        for account_id, assets in touched.items():
            for listener in self._listeners:
                listener.on_balances(account_id, assets, ts_ms)
            for listener in self._account_listeners.get(account_id, ()):
                listener.on_balances(account_id, assets, ts_ms)
        self._publish_depth()

    def _publish_depth(self) -> None:
        for symbol in self.specs:
            update = self.engine.drain_depth_update(symbol)
            if update is not None:
                for listener in self._listeners:
                    listener.on_depth(update)


def _is_client(account_id: str) -> bool:
    """False for the exchange's own liquidity provider and background flow."""
    return not account_id.startswith(HOUSE_PREFIX)


def _taker_updates(result: SubmitResult, ts_ms: int) -> list[OrderUpdate]:
    """NEW, a TRADE per fill, then EXPIRED if the remainder expired."""
    order = result.order
    updates = [_update(order, "NEW", OrderStatus.NEW, 0, 0, None, ts_ms)]
    last = len(result.trades) - 1
    for i, trade in enumerate(result.trades):
        done = order.status is OrderStatus.FILLED and i == last
        status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
        updates.append(
            _update(order, "TRADE", status, trade.taker_executed_steps,
                    trade.taker_cumulative_notional, trade, ts_ms)
        )  # fmt: skip
    if order.status in (OrderStatus.EXPIRED, OrderStatus.EXPIRED_IN_MATCH):
        updates.append(
            _update(order, "EXPIRED", order.status, order.executed_steps,
                    order.cumulative_notional, None, ts_ms)
        )  # fmt: skip
    return updates


def _update(
    order: OrderSnapshot,
    execution_type: str,
    status: OrderStatus,
    executed_steps: int,
    cumulative_notional: int,
    trade: Trade | None,
    ts_ms: int,
) -> OrderUpdate:
    rules = order.rules
    return OrderUpdate(
        account_id=order.account_id,
        execution_type=execution_type,
        order=order,
        status=status,
        executed_quantity=rules.quantity(executed_steps),
        cumulative_quote=rules.notional(cumulative_notional),
        trade=trade,
        ts_ms=ts_ms,
    )
