"""The simulated exchange's matching engine: books, accounts, orders and fills.

Pure and synchronous: no I/O, no clock (every mutating call takes `ts_ns`, ns since the
epoch), no logging. Prices, quantities and amounts are `Decimal` at this boundary and
integers inside (see `filters`). A refused request raises a `MatchingError` carrying
Binance's code and message and leaves every book and balance as it was.

Semantics, where Binance leaves a choice:

* Self-trade prevention is Binance's default EXPIRE_TAKER: an incoming order that would
  fill against a resting order of its own account stops there and its remainder expires
  (status EXPIRED_IN_MATCH); fills before that point stand, the resting order is kept.
* A market buy by base quantity walks the book spending at most the account's free
  quote; when the next lot is unaffordable it stops and the remainder EXPIRES. It is
  rejected (-2010) only if the account cannot pay for one lot at the best ask.
* A market order by quote amount (`quoteOrderQty`) buys (or sells) whole lots while
  their cost (or proceeds) fits in the amount; it is FILLED when the next lot no longer
  fits and EXPIRED if the book ran out first.
* Market orders are checked against NOTIONAL with the best opposite price (Binance uses
  a 5-minute average price) and against LOT_SIZE (Binance has a separate MARKET_LOT_SIZE).
* A client order id may be used once per account and symbol, ever: reusing one, even of
  a closed order, is "Duplicate order sent." (Binance only refuses ids of open orders;
  the stricter rule keeps a retried intent from ever trading twice).
* Balances move in whole 10**-8 of an asset, as on Binance: a trade's quote amount
  (`quoteQty`) is price * quantity rounded down to 10**-8 (the buyer pays it, the seller
  receives it), a resting buy holds its price * quantity rounded up, and fees are
  fractions of what each side receives rounded down to 10**-8.
* Stop-loss / take-profit orders and OCOs (`contingent`, `stops`, `oco`) trigger on the
  prices of trades; what an order's fills set off comes back in its result's
  `consequences`.
"""

from __future__ import annotations

from decimal import Decimal

from tradewind.domain.events import BookLevel
from tradewind.domain.model import Side, TimeInForce
from tradewind.venues.simulated.matching.book import OrderBook
from tradewind.venues.simulated.matching.contingent import ContingentOrders
from tradewind.venues.simulated.matching.errors import (
    INVALID_QUANTITY,
    INVALID_SYMBOL,
    MANDATORY_QUANTITY,
    ORDER_DOES_NOT_EXIST,
    QUOTE_QTY_NOT_REQUIRED,
    OrderNotFound,
    SubmitRejected,
    UnknownSymbol,
)
from tradewind.venues.simulated.matching.filters import (
    InstrumentSpec,
    MarketRules,
    amount_to_units,
    units_to_amount,
)
from tradewind.venues.simulated.matching.ledger import Ledger
from tradewind.venues.simulated.matching.order_entry import (
    OrderRegistry,
    cancel,
    place_limit,
    place_market,
)
from tradewind.venues.simulated.matching.results import (
    BalanceSnapshot,
    BookTicker,
    DepthSnapshot,
    DepthUpdate,
    OrderSnapshot,
    SubmitResult,
    Trade,
)
from tradewind.venues.simulated.matching.stops import settle

_DEFAULT_FEE = Decimal("0.001")
_BUY = Side.BUY
_SELL = Side.SELL


def _is_buy(side: Side) -> bool:
    if side is _BUY:
        return True
    if side is _SELL:
        return False
    return Side(side) is _BUY  # a plain "BUY"/"SELL" string; ValueError otherwise


class MatchingEngine(ContingentOrders):
    """Order books for the listed instruments and the accounts that trade on them.

    Accounts are identified by any string and open on first use with the default fees.
    Not thread-safe: one owner (the simulated venue's event loop, a backtest) calls it.
    """

    def __init__(
        self, *, maker_fee: Decimal = _DEFAULT_FEE, taker_fee: Decimal = _DEFAULT_FEE
    ) -> None:
        """`maker_fee` / `taker_fee`: fees of new accounts, fractions (0.001 = 0.1 %)."""
        self._books: dict[str, OrderBook] = {}
        self._ledger = Ledger(maker_fee, taker_fee)
        self._registry = OrderRegistry()

    # -- setup ---------------------------------------------------------------------

    def add_instrument(self, spec: InstrumentSpec) -> None:
        """List an instrument, keyed by `spec.instrument.symbol` (e.g. "BTC/USDT").

        Raises InvalidInstrumentSpec if its filters cannot be represented exactly.
        """
        symbol = spec.instrument.symbol
        if symbol in self._books:
            raise ValueError(f"{symbol} is already listed")
        rules = MarketRules(spec)
        ledger = self._ledger
        self._books[symbol] = OrderBook(
            rules, ledger.fee_pot(rules.base), ledger.fee_pot(rules.quote)
        )

    def continue_trade_ids(self, symbol: str, next_trade_id: int) -> None:
        """Number `symbol`'s next trades from `next_trade_id` on (after trades that
        happened elsewhere, e.g. a market's replayed past). Raises ValueError to go
        back: trade ids only grow."""
        book = self._book(symbol)
        if next_trade_id < book.next_trade_id:
            raise ValueError(
                f"{symbol}: trade ids only grow; the next is {book.next_trade_id}, "
                f"not {next_trade_id}"
            )
        book.next_trade_id = next_trade_id

    def instruments(self) -> list[InstrumentSpec]:
        """The listed instruments, in listing order."""
        return [book.rules.spec for book in self._books.values()]

    def deposit(self, account_id: str, asset: str, amount: Decimal) -> BalanceSnapshot:
        """Credit `amount` of `asset` to the account's free balance (the faucet)."""
        self._ledger.deposit(account_id, asset, amount)
        return self.balance(account_id, asset)

    def set_fee_rates(self, account_id: str, *, maker: Decimal, taker: Decimal) -> None:
        """Set an account's fees, fractions of what it receives (0.001 = 0.1 %).

        Applies to the account's next fills, resting orders included; ValueError unless
        each rate is between 0 and 1.
        """
        self._ledger.set_fee_rates(account_id, maker, taker)

    def fee_rates(self, account_id: str) -> tuple[Decimal, Decimal]:
        """The account's (maker, taker) fee fractions."""
        account = self._ledger.account(account_id)
        return account.fees.maker.rate, account.fees.taker.rate

    # -- orders --------------------------------------------------------------------

    def submit_limit(
        self,
        account_id: str,
        symbol: str,
        side: Side,
        quantity: Decimal,
        price: Decimal,
        *,
        time_in_force: TimeInForce = TimeInForce.GTC,
        client_order_id: str | None = None,
        ts_ns: int,
    ) -> SubmitResult:
        """Place a limit order: `quantity` of the base asset at `price` (quote per base).

        GTC rests what does not fill; IOC expires it; FOK fills completely or expires
        without touching the book; GTX (post-only) is rejected if it would take.
        Raises SubmitRejected (filters, balance, post-only, duplicate) or UnknownSymbol.
        """
        book = self._books.get(symbol) or self._book(symbol)
        rules = book.rules
        ticks = rules.price_ticks(price)
        steps = rules.quantity_steps(quantity)
        notional = ticks * steps
        if notional < rules.min_notional or notional > rules.max_notional:
            rules.check_notional(notional)
        if type(time_in_force) is not TimeInForce:
            time_in_force = TimeInForce(time_in_force)
        result = place_limit(
            self._ledger, self._registry, book, account_id,
            True if side is _BUY else False if side is _SELL else _is_buy(side),
            ticks, steps, time_in_force, client_order_id, ts_ns,
        )  # fmt: skip
        if result.trades and (book.stops.live or book.list_legs):
            return settle(self._ledger, self._registry, book, result, ts_ns)
        return result

    def submit_market(
        self,
        account_id: str,
        symbol: str,
        side: Side,
        *,
        quantity: Decimal | None = None,
        quote_quantity: Decimal | None = None,
        client_order_id: str | None = None,
        ts_ns: int,
    ) -> SubmitResult:
        """Place a market order by base `quantity` or by `quote_quantity` (quoteOrderQty).

        Fills from the best price outwards; what cannot fill EXPIRES (see the module
        docstring). Raises SubmitRejected or UnknownSymbol.
        """
        book = self._book(symbol)
        rules = book.rules
        is_buy = _is_buy(side)
        if quantity is not None:
            if quote_quantity is not None:
                raise SubmitRejected(QUOTE_QTY_NOT_REQUIRED, "send quantity or quote_quantity")
            steps = rules.quantity_steps(quantity)
            quote_units = 0
            best = (book.asks if is_buy else book.bids).best()
            if best is not None:
                self._check_market_notional(rules, best * steps)
        elif quote_quantity is not None:
            quote_units = amount_to_units(quote_quantity)
            if quote_units <= 0:
                raise SubmitRejected(INVALID_QUANTITY, f"quote quantity {quote_quantity} <= 0")
            steps = rules.max_qty_steps
            self._check_market_notional(rules, quote_units // rules.quote_units_per_notional)
        else:
            raise SubmitRejected(MANDATORY_QUANTITY, "send quantity or quote_quantity")
        result = place_market(
            self._ledger, self._registry, book, account_id, is_buy, steps, quote_units,
            client_order_id, ts_ns,
        )  # fmt: skip
        if result.trades and (book.stops.live or book.list_legs):
            return settle(self._ledger, self._registry, book, result, ts_ns)
        return result

    def cancel_order(
        self,
        account_id: str,
        symbol: str,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
        ts_ns: int,
    ) -> OrderSnapshot:
        """Cancel an open order by `order_id`, or else by `client_order_id`; frees its hold.

        A leg of an executing OCO cancels the whole list (read it with `get_order_list`).
        Raises CancelRejected (-2011) if the account has no such open order on `symbol`.
        """
        book = self._book(symbol)
        return cancel(
            self._ledger, self._registry, book, account_id, order_id, client_order_id, ts_ns
        )

    def cancel_open_orders(
        self, account_id: str, symbol: str, *, ts_ns: int
    ) -> list[OrderSnapshot]:
        """Cancel all of the account's open orders on `symbol`, oldest first (both legs
        of an OCO, the stop-loss leg first)."""
        book = self._book(symbol)
        account = self._ledger.account(account_id)
        open_orders = account.open_orders
        mine = [o.order_id for o in open_orders.values() if o.rules is book.rules]
        canceled = []
        for order_id in mine:
            if order_id not in open_orders:
                continue  # the other leg of an OCO canceled just before
            order = cancel(self._ledger, self._registry, book, account_id, order_id, None, ts_ns)
            if order.order_list_id < 0:
                canceled.append(order)
            else:
                canceled += self.get_order_list(
                    account_id, order_list_id=order.order_list_id
                ).orders
        return canceled

    # -- reads ---------------------------------------------------------------------

    def get_order(
        self,
        account_id: str,
        symbol: str,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> OrderSnapshot:
        """One of the account's orders on `symbol`; raises OrderNotFound (-2013)."""
        order = self._registry.find(self._book(symbol), account_id, order_id, client_order_id)
        if order is None:
            ref = order_id if order_id is not None else client_order_id
            raise OrderNotFound(ORDER_DOES_NOT_EXIST, f"no order {ref!r} on {symbol}")
        return order.snapshot()

    def open_orders(self, account_id: str, symbol: str | None = None) -> list[OrderSnapshot]:
        """The account's resting orders (on `symbol`, or on all symbols), oldest first."""
        rules = self._book(symbol).rules if symbol is not None else None
        orders = self._ledger.account(account_id).open_orders.values()
        return [o.snapshot() for o in orders if rules is None or o.rules is rules]

    def all_orders(self, account_id: str, symbol: str | None = None) -> list[OrderSnapshot]:
        """Every order the account placed (on `symbol`, or anywhere), oldest first."""
        rules = self._book(symbol).rules if symbol is not None else None
        orders = self._ledger.account(account_id).orders
        return [o.snapshot() for o in orders if rules is None or o.rules is rules]

    def account_trades(self, account_id: str, symbol: str | None = None) -> list[Trade]:
        """Every fill the account took part in (on `symbol`, or anywhere), oldest first."""
        if symbol is not None:
            self._book(symbol)
        trades = self._ledger.account(account_id).trades
        return [t for t in trades if symbol is None or t.symbol == symbol]

    def balance(self, account_id: str, asset: str) -> BalanceSnapshot:
        """The account's free and locked amount of `asset` (zero if it never had any)."""
        holding = self._ledger.account(account_id).holding(asset)
        return BalanceSnapshot(
            asset, units_to_amount(holding.free), units_to_amount(holding.locked)
        )

    def balances(self, account_id: str) -> dict[str, BalanceSnapshot]:
        """Every asset the account ever held, by asset."""
        holdings = self._ledger.account(account_id).holdings
        return {asset: self.balance(account_id, asset) for asset in holdings}

    def fees_collected(self) -> dict[str, Decimal]:
        """Fees the exchange took so far, by asset."""
        return {asset: units_to_amount(pot.free) for asset, pot in self._ledger.fees.items()}

    def total_deposits(self) -> dict[str, Decimal]:
        """Everything ever deposited, by asset."""
        return {asset: units_to_amount(u) for asset, u in self._ledger.deposits.items()}

    def depth(self, symbol: str, limit: int = 100) -> DepthSnapshot:
        """The book's top `limit` aggregated levels per side, best first."""
        book = self._book(symbol)
        rules = book.rules
        bids, asks = (
            tuple(BookLevel(rules.price(p), rules.quantity(q)) for p, q in side.depth(limit))
            for side in (book.bids, book.asks)
        )
        return DepthSnapshot(symbol, book.update_id, bids, asks)

    def book_ticker(self, symbol: str) -> BookTicker:
        """Best bid and ask with their total quantities."""
        book = self._book(symbol)
        rules = book.rules
        quotes: list[Decimal | None] = []
        for side in (book.bids, book.asks):
            best = side.best()
            if best is None:
                quotes += [None, None]
            else:
                quotes += [rules.price(best), rules.quantity(side.levels[best].quantity)]
        return BookTicker(symbol, book.update_id, *quotes)

    def update_id(self, symbol: str) -> int:
        """The book's update id: +1 on every operation that changed the book."""
        return self._book(symbol).update_id

    def drain_depth_update(self, symbol: str) -> DepthUpdate | None:
        """Levels changed since the previous drain, with their update-id range, or None.

        Drain after every operation for per-operation diffs, or every 100 ms for
        Binance-style `depthUpdate` events.
        """
        return self._book(symbol).drain_depth_update()

    def drain_depth_updates(self) -> list[DepthUpdate]:
        """`drain_depth_update` of every book that changed since its previous drain, in
        listing order; books that did not change cost one attribute read."""
        updates = []
        for book in self._books.values():
            if book.pending_from:
                update = book.drain_depth_update()
                if update is not None:
                    updates.append(update)
        return updates

    def last_price(self, symbol: str) -> Decimal | None:
        """Price of the book's most recent trade, or None before the first trade."""
        book = self._book(symbol)
        return book.rules.price(book.last_price) if book.last_price else None

    # -- internals -----------------------------------------------------------------

    def _book(self, symbol: str) -> OrderBook:
        book = self._books.get(symbol)
        if book is None:
            raise UnknownSymbol(INVALID_SYMBOL, f"{symbol!r} is not listed")
        return book

    @staticmethod
    def _check_market_notional(rules: MarketRules, notional: int) -> None:
        filters = rules.spec.filters
        if filters.apply_min_to_market and notional < rules.min_notional:
            rules.check_notional(notional)
        if filters.apply_max_to_market and notional > rules.max_notional:
            rules.check_notional(notional)
