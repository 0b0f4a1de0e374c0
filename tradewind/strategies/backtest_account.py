"""The simulated spot account a backtest trades: balances with holds, orders checked
against the market's filters, and fills decided from bars. Pure and exact (`Decimal`).

Limit orders hold their funds (quote for buys, base for sells) from submission; market
orders hold nothing and are checked against the free balance when they fill, in
submission order, as a venue executing them one by one would.

Fill rules (orders in submission order, each against its symbol's bar, if it has one, for
orders submitted before that bar opened):
- a market order fills whole at the bar's open, as a taker;
- a limit buy (sell) fills whole when the bar's low (high) reaches its price: at the
  open, as a taker, if the open is already through the price on the first bar the order
  sees (it would have crossed on arrival), otherwise at its own price, as a maker;
- IOC / FOK limit orders that do not fill on their first bar expire (`OrderExpired`); a
  post-only (GTX) order that would fill on arrival is rejected.
Fees are a fraction of the traded amount charged in the asset received (base for buys,
quote for sells), as Binance does without a fee token. Volume is not a limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext

import msgspec

from tradewind.domain.events import Bar, Fill, OrderExpired, OrderRejected
from tradewind.domain.exact import EXACT
from tradewind.domain.model import Instrument, Liquidity, OrderType, Side, TimeInForce
from tradewind.errors import ConfigError
from tradewind.strategies.api import OpenOrder
from tradewind.venues.port import Market

ZERO = Decimal(0)
#: The account's arithmetic: wide enough for any realistic balance, and it raises rather
#: than round if a result ever needed more digits, so balances stay exact.


class Fees(msgspec.Struct, frozen=True, kw_only=True):
    """Fee rates as fractions of the traded amount (0.001 = 0.1% = 10 basis points)."""

    maker: Decimal = Decimal("0.001")
    taker: Decimal = Decimal("0.001")

    def __post_init__(self) -> None:
        for name in ("maker", "taker"):
            rate = getattr(self, name)
            if not (isinstance(rate, Decimal) and rate.is_finite() and 0 <= rate < 1):
                raise ConfigError(f"fees.{name}", f"must be a Decimal in [0, 1), got {rate!r}")


@dataclass(slots=True)
class _Order:
    view: OpenOrder
    instrument: Instrument
    eligible_ns: int  # the first bar that may fill it opens at or after this time
    hold_asset: str
    hold: Decimal  # set aside for it: quote for limit buys, base for limit sells, or 0
    seen_bar: bool = False


class BacktestAccount:
    """Balances (`totals`, `locked`) per asset and the bot's open orders."""

    def __init__(
        self,
        balances: Mapping[str, Decimal],
        markets: Mapping[str, Market],
        fees: Fees,
        *,
        account_id: str,
        venue: str,
    ) -> None:
        for asset, amount in balances.items():
            if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
                raise ValueError(f"initial balance of {asset} must be a Decimal >= 0: {amount!r}")
        self.totals: dict[str, Decimal] = dict(balances)
        self.locked: dict[str, Decimal] = {}
        self.markets = dict(markets)
        self.fees = fees
        self.account_id = account_id
        self.venue = venue
        self._orders: dict[str, _Order] = {}  # by intent id, in submission order
        self._fill_count = 0

    def free(self, asset: str) -> Decimal:
        return self.totals.get(asset, ZERO) - self.locked.get(asset, ZERO)

    def free_balances(self) -> dict[str, Decimal]:
        return {asset: self.free(asset) for asset in self.totals}

    def open_orders(self) -> list[OpenOrder]:
        return [order.view for order in self._orders.values()]

    # -- submitting and canceling -----------------------------------------------------

    def submit(
        self, view: OpenOrder, *, reference_price: Decimal | None, now_ns: int
    ) -> OrderRejected | None:
        """Accept the order (holding its funds) or return why it is rejected."""
        with localcontext(EXACT):
            return self._submit(view, reference_price, now_ns)

    def _submit(
        self, view: OpenOrder, reference_price: Decimal | None, now_ns: int
    ) -> OrderRejected | None:
        market = self.markets.get(view.symbol)
        if market is None:
            return self._rejected(view, None, now_ns, f"unknown symbol {view.symbol}")
        instrument = Instrument(self.venue, view.symbol, market.base, market.quote)
        problem = _filter_problem(view, market, reference_price)
        if problem is not None:
            return self._rejected(view, instrument, now_ns, problem)
        if view.order_type is OrderType.MARKET:
            # Funds are checked when it fills: a live venue executes an account's market
            # orders one after the other, so a sell submitted first pays for a buy.
            asset, hold = market.quote, ZERO
        elif view.side is Side.BUY:
            assert view.price is not None  # _filter_problem checked it
            asset, hold = market.quote, view.quantity * view.price
        else:
            asset, hold = market.base, view.quantity
        if hold > self.free(asset):
            problem = f"insufficient {asset}: needs {hold}, free {self.free(asset)}"
            return self._rejected(view, instrument, now_ns, problem)
        self.locked[asset] = self.locked.get(asset, ZERO) + hold
        self._orders[view.intent_id] = _Order(view, instrument, now_ns, asset, hold)
        return None

    def cancel(self, intent_id: str) -> bool:
        order = self._orders.pop(intent_id, None)
        if order is None:
            return False
        with localcontext(EXACT):
            self._release(order)
        return True

    # -- fills --------------------------------------------------------------------

    def match(
        self, bars: Mapping[str, Bar], ts_ns: int
    ) -> list[Fill | OrderRejected | OrderExpired]:
        """Fill or expire the open orders that `bars` (by symbol, all opening at the same
        time) can decide, in submission order; limit fills are stamped `ts_ns` (the
        bars' close), market fills the bar's open, expiries `ts_ns`."""
        events: list[Fill | OrderRejected | OrderExpired] = []
        for order in list(self._orders.values()):
            bar = bars.get(order.view.symbol)
            if bar is None or order.eligible_ns > bar.open_ns:
                continue
            first_bar, order.seen_bar = not order.seen_bar, True
            event = self._try_fill(order, bar, first_bar, ts_ns)
            if event is not None:
                events.append(event)
        return events

    def _try_fill(
        self, order: _Order, bar: Bar, first_bar: bool, ts_ns: int
    ) -> Fill | OrderRejected | OrderExpired | None:
        view = order.view
        if view.order_type is OrderType.MARKET:
            return self._fill(order, bar.open, Liquidity.TAKER, bar.open_ns)
        limit = view.price
        assert limit is not None
        buy = view.side is Side.BUY
        through_at_open = bar.open <= limit if buy else bar.open >= limit
        if first_bar and through_at_open:
            if view.time_in_force is TimeInForce.GTX:
                self._drop(order)
                return self._rejected(view, order.instrument, ts_ns, "post-only order would take")
            return self._fill(order, bar.open, Liquidity.TAKER, ts_ns)
        if (bar.low <= limit) if buy else (bar.high >= limit):
            return self._fill(order, limit, Liquidity.MAKER, ts_ns)
        if view.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            self._drop(order)
            return OrderExpired(
                account_id=self.account_id,
                client_order_id=view.client_order_id,
                instrument=order.instrument,
                ts_ns=ts_ns,
                venue_order_id=view.intent_id,
                filled_quantity=ZERO,
            )
        return None

    def _fill(
        self, order: _Order, price: Decimal, liquidity: Liquidity, ts_ns: int
    ) -> Fill | OrderRejected:
        with localcontext(EXACT):
            return self._settle(order, price, liquidity, ts_ns)

    def _settle(
        self, order: _Order, price: Decimal, liquidity: Liquidity, ts_ns: int
    ) -> Fill | OrderRejected:
        view, inst = order.view, order.instrument
        rate = self.fees.maker if liquidity is Liquidity.MAKER else self.fees.taker
        quantity, value = view.quantity, view.quantity * price
        self._drop(order)
        if view.side is Side.BUY:
            if value > self.free(inst.quote):
                problem = f"insufficient {inst.quote} at fill: needs {value}, free "
                return self._rejected(view, inst, ts_ns, problem + str(self.free(inst.quote)))
            fee, fee_asset = quantity * rate, inst.base
            self._add(inst.quote, -value)
            self._add(inst.base, quantity - fee)
        else:
            if quantity > self.free(inst.base):
                problem = f"insufficient {inst.base} at fill: needs {quantity}, free "
                return self._rejected(view, inst, ts_ns, problem + str(self.free(inst.base)))
            fee, fee_asset = value * rate, inst.quote
            self._add(inst.base, -quantity)
            self._add(inst.quote, value - fee)
        self._fill_count += 1
        return Fill(
            account_id=self.account_id,
            client_order_id=view.client_order_id,
            venue_order_id=view.intent_id,
            trade_id=f"bt-{self._fill_count}",
            instrument=inst,
            side=view.side,
            price=price,
            quantity=quantity,
            fee=fee,
            fee_asset=fee_asset,
            liquidity=liquidity,
            ts_ns=ts_ns,
            quote_quantity=value,  # this account moves price x quantity, unrounded
        )

    def _add(self, asset: str, amount: Decimal) -> None:
        self.totals[asset] = self.totals.get(asset, ZERO) + amount

    def _drop(self, order: _Order) -> None:
        del self._orders[order.view.intent_id]
        self._release(order)

    def _release(self, order: _Order) -> None:
        self.locked[order.hold_asset] -= order.hold

    def _rejected(
        self, view: OpenOrder, instrument: Instrument | None, ts_ns: int, reason: str
    ) -> OrderRejected:
        return OrderRejected(
            account_id=self.account_id,
            client_order_id=view.client_order_id,
            instrument=instrument or Instrument(self.venue, view.symbol, "", ""),
            ts_ns=ts_ns,
            reason=reason,
            source="venue",
        )


def _filter_problem(view: OpenOrder, market: Market, reference: Decimal | None) -> str | None:
    """Why the market's filters refuse the order, or None if they accept it."""
    quantity = view.quantity
    if not quantity.is_finite() or quantity <= 0:
        return f"quantity {quantity} must be positive"
    if quantity % market.step_size:
        return f"quantity {quantity} is not a multiple of step size {market.step_size}"
    if quantity < market.min_quantity:
        return f"quantity {quantity} is below the minimum {market.min_quantity}"
    if view.order_type is OrderType.LIMIT:
        price = view.price
        if price is None or not price.is_finite() or price <= 0:
            return f"limit price {price} must be positive"
        if price % market.tick_size:
            return f"price {price} is not a multiple of tick size {market.tick_size}"
    else:
        price = reference
        if price is None:
            return f"no price for {view.symbol} yet to execute a market order"
    if quantity * price < market.min_notional:
        return f"notional {quantity * price} is below the minimum {market.min_notional}"
    return None
