"""The simulated exchange: matching engine, a living market, funded accounts with API
keys, and what happened, told to listeners (the WebSocket streams, the in-process
venue adapter).

Not thread-safe: one asyncio loop owns it. Time comes from `clock` (ns since epoch), so
tests and backtests can drive it.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tradewind.domain.model import OrderType, Side, TimeInForce
from tradewind.domain.time_units import NS_PER_MS, NS_PER_S
from tradewind.venues.simulated.history import MarketHistory
from tradewind.venues.simulated.instruments import spec_for
from tradewind.venues.simulated.liquidity import HOUSE_PREFIX, HouseTraders, LiquidityConfig
from tradewind.venues.simulated.market import CandleReplay, PriceSource
from tradewind.venues.simulated.matching import (
    DepthUpdate,
    InstrumentSpec,
    MatchingEngine,
    OcoLeg,
    OrderListSnapshot,
    OrderSnapshot,
    StopType,
    SubmitResult,
    Trade,
)
from tradewind.venues.simulated.matching.errors import MANDATORY_QUANTITY, SubmitRejected
from tradewind.venues.simulated.order_updates import Happenings, OrderUpdate

__all__ = ["ApiCredentials", "ExchangeListener", "KeyPermissions", "OrderUpdate"]

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
    """An API key and what checks its signatures, of one of Binance's two kinds served
    here: an HMAC key (`public_key` None) signs with `secret`, shared with the client; an
    Ed25519 key signs with the client's private key and is checked with its registered
    `public_key`. An Ed25519 key's `secret` is random and never handed out, so that code
    comparing secrets (the in-process venue directory) refuses the key."""

    api_key: str
    secret: str = field(repr=False)
    account_id: str
    permissions: KeyPermissions
    created_ms: int
    public_key: Ed25519PublicKey | None = field(default=None, repr=False, hash=False)


class ExchangeListener(Protocol):
    """Told of everything public and private that happens, in order."""

    def on_trades(self, symbol: str, trades: list[Trade]) -> None: ...

    def on_depth(self, update: DepthUpdate) -> None: ...

    def on_order_updates(self, updates: list[OrderUpdate]) -> None: ...

    def on_balances(self, account_id: str, assets: set[str], ts_ms: int) -> None: ...


@runtime_checkable
class OrderListListener(Protocol):
    """A listener that is also told of clients' order lists changing status (placed,
    done or canceled): Binance's listStatus events. `add_listener` notices it."""

    def on_order_lists(self, order_lists: list[OrderListSnapshot]) -> None: ...


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
        self.fees = fees
        """The maker and taker fee of a new account (fraction of what it receives)."""
        self.engine = MatchingEngine(maker_fee=fees, taker_fee=fees)
        now_ms = clock() // NS_PER_MS
        self.specs: dict[str, InstrumentSpec] = {}
        for symbol in prices.symbols:
            spec = spec_for(VENUE, symbol, prices.price(symbol, now_ms))
            self.engine.add_instrument(spec)
            self.specs[symbol] = spec
        self.history = MarketHistory(self.specs, prices.past_candles())
        for symbol in self.specs:  # live trade ids continue those of the past's trades
            self.engine.continue_trade_ids(symbol, self.history.next_trade_id(symbol))
        self._house = HouseTraders(
            self.engine, self.specs, liquidity or LiquidityConfig(), seed=seed
        )
        self._listeners: list[ExchangeListener] = []
        self._list_listeners: list[OrderListListener] = []
        # Listeners of one account's orders and balances only (the in-process venue's
        # watchers): told just their account's updates, so the cost of an order does
        # not grow with the number of accounts watching.
        self._account_listeners: dict[str, list[ExchangeListener]] = {}
        self._keys: dict[str, ApiCredentials] = {}
        self._last_step_ns: int | None = None
        self._balances_changed_ms: dict[str, int] = {}  # account -> its last change

    # -- listeners and accounts -------------------------------------------------------

    def add_listener(self, listener: ExchangeListener) -> None:
        self._listeners.append(listener)
        if isinstance(listener, OrderListListener):
            self._list_listeners.append(listener)

    def remove_listener(self, listener: ExchangeListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)
        if isinstance(listener, OrderListListener) and listener in self._list_listeners:
            self._list_listeners.remove(listener)

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
        self,
        balances: dict[str, Decimal],
        permissions: KeyPermissions | None = None,
        *,
        ed25519_public_key: Ed25519PublicKey | None = None,
    ) -> ApiCredentials:
        """Open a funded account with a new API key (the testnet faucet): an HMAC key with
        a new secret or, given the client's `ed25519_public_key`, an Ed25519 key."""
        for asset, amount in balances.items():
            if amount < 0:
                raise ValueError(f"balance of {asset} must not be negative, got {amount}")
        account_id = f"acct-{secrets.token_hex(6)}"
        for asset, amount in balances.items():
            self.engine.deposit(account_id, asset, amount)
        creds = ApiCredentials(
            api_key=_alphanumeric(64),
            secret=_alphanumeric(64),
            account_id=account_id,
            permissions=permissions or KeyPermissions(),
            created_ms=self.clock() // NS_PER_MS,
            public_key=ed25519_public_key,
        )
        self._keys[creds.api_key] = creds
        self._balances_changed_ms[account_id] = creds.created_ms
        return creds

    def balances_changed_ms(self, account_id: str) -> int:
        """When the account's balances last changed (ms since the epoch; Binance's
        `updateTime`): every trade of the account at or before it is in them."""
        return self._balances_changed_ms.get(account_id, 0)

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
                raise SubmitRejected(MANDATORY_QUANTITY, "a LIMIT order needs quantity and price")
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

    def submit_stop_order(
        self,
        account_id: str,
        symbol: str,
        side: Side,
        stop_type: StopType,
        quantity: Decimal,
        stop_price: Decimal,
        *,
        price: Decimal | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        client_order_id: str | None = None,
    ) -> SubmitResult:
        """Place a stop-loss or take-profit order (MARKET when triggered, LIMIT with a
        `price`); raises MatchingError with Binance's code."""
        ts_ns = self.clock()
        result = self.engine.submit_stop(
            account_id, symbol, side, stop_type, quantity, stop_price, price=price,
            time_in_force=time_in_force, client_order_id=client_order_id, ts_ns=ts_ns,
        )  # fmt: skip
        self._publish([result], ts_ns)
        return result

    def submit_oco(
        self,
        account_id: str,
        symbol: str,
        side: Side,
        quantity: Decimal,
        *,
        above: OcoLeg,
        below: OcoLeg,
        list_client_order_id: str | None = None,
    ) -> OrderListSnapshot:
        """Place an OCO order list; raises MatchingError with Binance's code."""
        ts_ns = self.clock()
        order_list = self.engine.submit_oco(
            account_id, symbol, side, quantity, above=above, below=below,
            list_client_order_id=list_client_order_id, ts_ns=ts_ns,
        )  # fmt: skip
        told = self._happenings()
        for order in order_list.orders:
            told.add_new(order, ts_ns // NS_PER_MS)
        told.add_list(order_list)
        self._tell(told, ts_ns // NS_PER_MS)
        return order_list

    def cancel_order(
        self,
        account_id: str,
        symbol: str,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> OrderSnapshot:
        """Cancel an open order (a leg of an executing OCO cancels the whole list)."""
        ts_ns = self.clock()
        order = self.engine.cancel_order(
            account_id, symbol, order_id=order_id, client_order_id=client_order_id, ts_ns=ts_ns
        )
        if order.order_list_id >= 0:
            order_list = self.engine.get_order_list(account_id, order_list_id=order.order_list_id)
            self._publish_list_cancel(order_list, ts_ns)
        else:
            self._publish_cancels([order], ts_ns)
        return order

    def cancel_order_list(
        self,
        account_id: str,
        symbol: str,
        *,
        order_list_id: int | None = None,
        list_client_order_id: str | None = None,
    ) -> OrderListSnapshot:
        ts_ns = self.clock()
        order_list = self.engine.cancel_order_list(
            account_id, symbol, order_list_id=order_list_id,
            list_client_order_id=list_client_order_id, ts_ns=ts_ns,
        )  # fmt: skip
        self._publish_list_cancel(order_list, ts_ns)
        return order_list

    def cancel_open_orders(self, account_id: str, symbol: str) -> list[OrderSnapshot]:
        ts_ns = self.clock()
        orders = self.engine.cancel_open_orders(account_id, symbol, ts_ns=ts_ns)
        self._publish_cancels(orders, ts_ns)
        return orders

    # -- the market -------------------------------------------------------------------

    def step(self) -> None:
        """Advance the market to now: re-quote the ladders, run background flow."""
        now_ns = self.clock()
        elapsed_s = 0.0 if self._last_step_ns is None else (now_ns - self._last_step_ns) / NS_PER_S
        self._last_step_ns = now_ns
        now_ms = now_ns // NS_PER_MS
        for symbol in self.specs:
            reference = self.prices.price(symbol, now_ms)
            results = self._house.requote(symbol, reference, now_ns)
            results += self._house.trade(symbol, elapsed_s, now_ns)
            self._publish(results, now_ns)
        self._publish_depth()
        self.history.close_klines(now_ms)

    def replay_finished(self) -> bool:
        prices = self.prices
        return isinstance(prices, CandleReplay) and prices.finished(self.clock() // NS_PER_MS)

    # -- telling listeners ------------------------------------------------------------

    def _happenings(self) -> Happenings:
        return Happenings(_is_client)

    def _publish(self, results: list[SubmitResult], ts_ns: int) -> None:
        ts_ms = ts_ns // NS_PER_MS
        engine = self.engine

        def maker_of(trade: Trade) -> OrderSnapshot:
            return engine.get_order(
                trade.maker_account_id, trade.symbol, order_id=trade.maker_order_id
            )

        told = self._happenings()
        for result in results:
            told.add_result(result, ts_ms, maker_of)
        for symbol, trades in told.trades:
            self.history.record_trades(symbol, trades)
            for listener in self._listeners:
                listener.on_trades(symbol, trades)
        self._tell(told, ts_ms)

    def _publish_cancels(self, orders: list[OrderSnapshot], ts_ns: int) -> None:
        ts_ms = ts_ns // NS_PER_MS
        told = self._happenings()
        lists: dict[int, str] = {}
        for order in orders:
            told.add_closed(order, "CANCELED", ts_ms)
            if order.order_list_id >= 0:
                lists[order.order_list_id] = order.account_id
        for order_list_id, account_id in lists.items():
            told.add_list(self.engine.get_order_list(account_id, order_list_id=order_list_id))
        self._tell(told, ts_ms)

    def _publish_list_cancel(self, order_list: OrderListSnapshot, ts_ns: int) -> None:
        ts_ms = ts_ns // NS_PER_MS
        told = self._happenings()
        for order in order_list.orders:
            told.add_closed(order, "CANCELED", ts_ms)
        told.add_list(order_list)
        self._tell(told, ts_ms)

    def _tell(self, told: Happenings, ts_ms: int) -> None:
        updates = told.updates
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
        if told.order_lists:
            for list_listener in self._list_listeners:
                list_listener.on_order_lists(told.order_lists)
        changed = self._balances_changed_ms
        for account_id, assets in told.touched.items():
            changed[account_id] = ts_ms
            for listener in self._listeners:
                listener.on_balances(account_id, assets, ts_ms)
            for listener in self._account_listeners.get(account_id, ()):
                listener.on_balances(account_id, assets, ts_ms)
        self._publish_depth()

    def _publish_depth(self) -> None:
        for update in self.engine.drain_depth_updates():
            for listener in self._listeners:
                listener.on_depth(update)


def _is_client(account_id: str) -> bool:
    """False for the exchange's own liquidity provider and background flow."""
    return not account_id.startswith(HOUSE_PREFIX)


_KEY_ALPHABET = string.ascii_letters + string.digits


def _alphanumeric(length: int) -> str:
    """A random key or secret as Binance's look: letters and digits only (one that began
    with "-" read as an option to a command line that took it as an argument)."""
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(length))
