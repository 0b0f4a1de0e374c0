"""One account as its bots see it: balances, open orders, markets and prices.

Balances start from the account's latest `PortfolioUpdate` (totals per asset: free plus
locked) and, between updates, move with every fill of the account as it arrives on
`orders.events`, so a strategy sees a fill's effect in the very hook that hears of it.
A later update replaces the totals; the fills that update cannot contain yet (those
executed after it was computed, `fill.ts_ns > update.ts_ns`) are applied again on top.
That rule is a heuristic on two clocks; an exact one needs portfolio to say which fills
an update includes (see the package README).

Free balance = total - what this account's hosted open orders lock: the remaining
quantity of a sell (base), remaining x limit price of a buy (quote; a market buy at the
latest price). Every bot of an account is hosted by the same instance, so these are all
the orders the platform placed for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING

from tradewind.domain.bounded import RecentlySeen
from tradewind.domain.events import Fill
from tradewind.domain.exact import WIDE
from tradewind.domain.model import Instrument, Side
from tradewind.errors import TradewindError
from tradewind.strategies.api import OpenOrder
from tradewind.venues.port import Market

if TYPE_CHECKING:
    from tradewind.services.strategy.host import BotHost

ZERO = Decimal(0)
#: Fills remembered per account to drop a fill delivered twice.
_SEEN_TRADES = 1024
#: Fills kept to re-apply over a portfolio update computed before them.
_UNCONFIRMED = 1000


class AccountView:
    """The state every hosted bot of one account reads. `prices` is shared by the
    accounts of one venue (symbol -> latest price, quote per base)."""

    __slots__ = (
        "_free",
        "_instruments",
        "_portfolio_ns",
        "_seen_trades",
        "_totals",
        "_unconfirmed",
        "account_id",
        "hosts",
        "markets",
        "prices",
        "venue",
    )

    def __init__(
        self,
        account_id: str,
        venue: str,
        markets: Mapping[str, Market],
        prices: dict[str, Decimal],
    ) -> None:
        self.account_id = account_id
        self.venue = venue
        self.markets = markets
        self.prices = prices
        self.hosts: list[BotHost] = []
        self._instruments: dict[str, Instrument] = {}
        self._totals: dict[str, Decimal] = {}
        self._free: dict[str, Decimal] | None = None
        self._portfolio_ns = 0
        self._unconfirmed: list[Fill] = []
        self._seen_trades: RecentlySeen[tuple[str, str]] = RecentlySeen(_SEEN_TRADES)

    # -- reads ----------------------------------------------------------------------

    def market(self, symbol: str) -> Market:
        try:
            return self.markets[symbol]
        except KeyError:
            raise TradewindError(f"{self.venue} lists no market {symbol}") from None

    def instrument(self, symbol: str) -> Instrument:
        instrument = self._instruments.get(symbol)
        if instrument is None:
            market = self.market(symbol)
            instrument = Instrument(self.venue, symbol, market.base, market.quote)
            self._instruments[symbol] = instrument
        return instrument

    def total(self, asset: str) -> Decimal:
        """Free plus locked, in `asset` units."""
        return self._totals.get(asset, ZERO)

    def free_balances(self) -> dict[str, Decimal]:
        """Each asset's total less what open orders lock, never below 0 (a copy)."""
        if self._free is None:
            self._free = self._compute_free()
        return dict(self._free)

    # -- changes --------------------------------------------------------------------

    def orders_changed(self) -> None:
        """An open order was filled or closed: recompute what is locked."""
        self._free = None

    def order_added(self, order: OpenOrder) -> None:
        """A new open order locks its amount (kept up to date without a recount: a grid
        placing ten orders reads its balances between each)."""
        if self._free is None:
            return
        locked = self._locked(order)
        if locked is not None:
            asset, amount = locked
            with localcontext(WIDE):
                remaining = self._free.get(asset, ZERO) - amount
            self._free[asset] = remaining if remaining > 0 else ZERO

    def apply_portfolio(self, balances: Mapping[str, Decimal], ts_ns: int) -> None:
        """Take the totals of a portfolio update computed at `ts_ns`; an update older
        than the one already taken is ignored."""
        if ts_ns < self._portfolio_ns:
            return
        self._portfolio_ns = ts_ns
        self._totals = dict(balances)
        self._unconfirmed = [fill for fill in self._unconfirmed if fill.ts_ns > ts_ns]
        for fill in self._unconfirmed:
            self._book(fill)
        self._free = None

    def apply_fill(self, fill: Fill) -> bool:
        """Move the totals by one execution; False (and nothing changes) if this trade
        was applied already."""
        key = (fill.instrument.symbol, fill.trade_id)
        if not self._seen_trades.add(key):
            return False
        if fill.ts_ns > self._portfolio_ns:
            self._book(fill)
            self._unconfirmed.append(fill)
            if len(self._unconfirmed) > _UNCONFIRMED:
                del self._unconfirmed[0]
            self._free = None
        return True

    def _book(self, fill: Fill) -> None:
        totals, instrument = self._totals, fill.instrument
        with localcontext(WIDE):
            bought = fill.side is Side.BUY
            quantity = fill.quantity if bought else -fill.quantity
            paid = fill.quote_amount if bought else -fill.quote_amount  # the venue's amount
            totals[instrument.base] = totals.get(instrument.base, ZERO) + quantity
            totals[instrument.quote] = totals.get(instrument.quote, ZERO) - paid
            if fill.fee:
                totals[fill.fee_asset] = totals.get(fill.fee_asset, ZERO) - fill.fee

    def _compute_free(self) -> dict[str, Decimal]:
        free = dict(self._totals)
        with localcontext(WIDE):
            for host in self.hosts:
                for order in host.orders.values():
                    locked = self._locked(order)
                    if locked is not None:
                        asset, amount = locked
                        free[asset] = free.get(asset, ZERO) - amount
        return {asset: amount if amount > 0 else ZERO for asset, amount in free.items()}

    def _locked(self, order: OpenOrder) -> tuple[str, Decimal] | None:
        """The asset and amount `order` locks; None if nothing (or unknown)."""
        remaining = order.quantity - order.filled_quantity
        market = self.markets.get(order.symbol)
        if remaining <= 0 or market is None:
            return None
        if order.side is Side.SELL:
            return market.base, remaining
        price = order.price if order.price is not None else self.prices.get(order.symbol)
        return None if price is None else (market.quote, remaining * price)
