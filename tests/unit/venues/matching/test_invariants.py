"""Property tests: random sequences of deposits, orders (stop-loss / take-profit orders
and OCOs among them, resting and triggering) and cancels by several accounts on three
books that share assets, one of them (LTC/BTC) on a grid finer than 10**-8 BTC, checking
after every step that

1. nothing is created or destroyed: per asset, balances + fees collected == deposits,
2. no book is ever crossed,
3. no order executes more than its quantity,
4. each account's locked funds equal what its open orders need (a waiting stop what it
   held at placement, an executing OCO its dearer leg once, a resting order what it held
   when it came to rest less what its fills paid; a buy's holds are rounded up to
   10**-8),
5. no balance is ever negative,
6. every balance, free and locked, and every fee collected is a whole 10**-8,

and that no account trades with itself, that the depth equals the open orders, and that
the drained depth diffs, applied in update-id order, rebuild the depth.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tradewind.domain.model import Instrument, OrderType, Side, TimeInForce
from tradewind.venues.simulated.matching import (
    InstrumentSpec,
    MatchingEngine,
    MatchingError,
    MatchingOrderStatus,
    OcoLeg,
    OrderSnapshot,
    StopType,
    SubmitResult,
    SymbolFilters,
    Trade,
)

from .factories import T0, D

ACCOUNTS = ("a", "b", "c")
ASSETS = ("USDT", "BTC", "ETH", "LTC")
# symbol -> (tick, step, typical price in ticks)
BOOKS = {
    "BTC/USDT": (D("0.5"), D("0.01"), 200),
    "ETH/BTC": (D("0.001"), D("0.1"), 50),
    # A notional unit of 10**-13 BTC: price * quantity has up to 13 decimals.
    "LTC/BTC": (D("0.00000001"), D("0.00001"), 9_123_457),
}
EIGHT_DECIMALS = D("0.00000001")


def _engine() -> MatchingEngine:
    engine = MatchingEngine()
    for symbol, (tick, step, _) in BOOKS.items():
        filters = SymbolFilters(
            tick_size=tick, step_size=step, min_qty=step, max_qty=D("1000"),
            min_notional=tick * step * 10,
        )  # fmt: skip
        engine.add_instrument(InstrumentSpec(Instrument.parse("sim", symbol), filters))
    engine.set_fee_rates("b", maker=D("0"), taker=D("0.00075"))
    engine.set_fee_rates("c", maker=D("0.0002"), taker=D("0.0015"))
    for account in ACCOUNTS:
        # Enough for a few dozen orders each, so most steps trade rather than bounce.
        for asset, amount in (("USDT", "3000"), ("BTC", "30"), ("ETH", "300"), ("LTC", "300")):
            engine.deposit(account, asset, D(amount))
    return engine


class MatchingEngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = _engine()
        self.ts = T0
        self.placed: list[tuple[str, str, int, str]] = []  # account, symbol, id, client id
        self.replica: dict[str, dict[str, dict[Decimal, Decimal]]] = {
            s: {"bids": {}, "asks": {}} for s in BOOKS
        }
        self.final_update_id = dict.fromkeys(BOOKS, 0)

    def _tick(self) -> int:
        self.ts += 1_000_000
        return self.ts

    # -- rules ---------------------------------------------------------------------

    @rule(
        account=st.sampled_from(ACCOUNTS),
        asset=st.sampled_from(ASSETS),
        amount=st.integers(1, 10**6).map(lambda n: Decimal(n).scaleb(-3)),
    )
    def deposit(self, account: str, asset: str, amount: Decimal) -> None:
        self.engine.deposit(account, asset, amount)

    @rule(
        account=st.sampled_from(ACCOUNTS),
        symbol=st.sampled_from(sorted(BOOKS)),
        side=st.sampled_from(Side),
        offset=st.integers(-8, 8),
        steps=st.integers(1, 300),
        time_in_force=st.sampled_from(TimeInForce),
        client_order_id=st.sampled_from([None, None, None, "x", "y"]),
    )
    def limit(
        self,
        account: str,
        symbol: str,
        side: Side,
        offset: int,
        steps: int,
        time_in_force: TimeInForce,
        client_order_id: str | None,
    ) -> None:
        tick, step, mid = BOOKS[symbol]
        price = tick * (mid + offset)
        try:
            result = self.engine.submit_limit(
                account, symbol, side, step * steps, price,
                time_in_force=time_in_force, client_order_id=client_order_id, ts_ns=self._tick(),
            )  # fmt: skip
        except MatchingError:
            return
        order = result.order
        self.placed.append((account, symbol, order.order_id, order.client_order_id))
        _tally("limit", result)
        _check_quote_amounts(result)
        assert sum(t.quantity for t in result.trades) == order.executed_quantity
        for trade in result.trades:
            assert trade.price <= price if side is Side.BUY else trade.price >= price
            assert trade.maker_account_id != trade.taker_account_id  # self-trade prevention
        if time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            assert not order.is_open
        if time_in_force is TimeInForce.FOK:
            assert order.status in (MatchingOrderStatus.FILLED, MatchingOrderStatus.EXPIRED)
        if time_in_force is TimeInForce.GTX:
            assert result.trades == []

    @rule(
        account=st.sampled_from(ACCOUNTS),
        symbol=st.sampled_from(sorted(BOOKS)),
        side=st.sampled_from(Side),
        offset=st.integers(-8, 8),
        steps=st.integers(1, 300),
    )
    def gtc_limit(self, account: str, symbol: str, side: Side, offset: int, steps: int) -> None:
        """GTC orders again, so that books fill up and most other orders find liquidity."""
        self.limit(account, symbol, side, offset, steps, TimeInForce.GTC, None)

    @rule(
        account=st.sampled_from(ACCOUNTS),
        symbol=st.sampled_from(sorted(BOOKS)),
        side=st.sampled_from(Side),
        steps=st.integers(1, 500),
        by_quote=st.booleans(),
    )
    def market(self, account: str, symbol: str, side: Side, steps: int, by_quote: bool) -> None:
        tick, step, mid = BOOKS[symbol]
        try:
            if by_quote:
                amount = tick * step * mid * steps
                result = self.engine.submit_market(
                    account, symbol, side, quote_quantity=amount, ts_ns=self._tick()
                )
                assert result.order.cumulative_quote_quantity <= amount
            else:
                result = self.engine.submit_market(
                    account, symbol, side, quantity=step * steps, ts_ns=self._tick()
                )
        except MatchingError:
            return
        _tally("market by quote" if by_quote else "market", result)
        _check_quote_amounts(result)
        assert not result.order.is_open
        assert all(t.maker_account_id != account for t in result.trades)
        self.placed.append((account, symbol, result.order.order_id, ""))

    @rule(
        account=st.sampled_from(ACCOUNTS),
        symbol=st.sampled_from(sorted(BOOKS)),
        side=st.sampled_from(Side),
        stop_type=st.sampled_from(StopType),
        stop_offset=st.integers(-8, 8),
        limit_offset=st.one_of(st.none(), st.integers(-8, 8)),
        steps=st.integers(1, 300),
        time_in_force=st.sampled_from([TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK]),
    )
    def stop(
        self,
        account: str,
        symbol: str,
        side: Side,
        stop_type: StopType,
        stop_offset: int,
        limit_offset: int | None,
        steps: int,
        time_in_force: TimeInForce,
    ) -> None:
        tick, step, mid = BOOKS[symbol]
        price = None if limit_offset is None else tick * (mid + limit_offset)
        try:
            result = self.engine.submit_stop(
                account, symbol, side, stop_type, step * steps, tick * (mid + stop_offset),
                price=price, time_in_force=time_in_force, ts_ns=self._tick(),
            )  # fmt: skip
        except MatchingError:
            return
        order = result.order
        assert (
            order.status is MatchingOrderStatus.NEW and not order.is_working and not result.trades
        )
        self.placed.append((account, symbol, order.order_id, order.client_order_id))

    @rule(
        account=st.sampled_from(ACCOUNTS),
        symbol=st.sampled_from(sorted(BOOKS)),
        side=st.sampled_from(Side),
        spread=st.integers(1, 8),
        steps=st.integers(1, 300),
        stop_limit=st.booleans(),
    )
    def oco(
        self, account: str, symbol: str, side: Side, spread: int, steps: int, stop_limit: bool
    ) -> None:
        tick, step, mid = BOOKS[symbol]
        last = self.engine.last_price(symbol)
        center = int(last / tick) if last is not None else mid
        high, low = tick * (center + spread), tick * (center - spread)
        stop_at = high if side is Side.BUY else low
        loss = OcoLeg(
            order_type="STOP_LOSS_LIMIT" if stop_limit else "STOP_LOSS",
            stop_price=stop_at,
            price=stop_at if stop_limit else None,
            time_in_force=TimeInForce.GTC if stop_limit else None,
        )
        maker = OcoLeg(order_type="LIMIT_MAKER", price=low if side is Side.BUY else high)
        above, below = (loss, maker) if side is Side.BUY else (maker, loss)
        try:
            placed = self.engine.submit_oco(
                account, symbol, side, step * steps, above=above, below=below, ts_ns=self._tick()
            )
        except MatchingError:
            return
        for order in placed.orders:
            self.placed.append((account, symbol, order.order_id, order.client_order_id))

    @precondition(lambda self: bool(self.placed))
    @rule(data=st.data(), by_client_id=st.booleans())
    def cancel(self, data: st.DataObject, by_client_id: bool) -> None:
        account, symbol, order_id, client_id = data.draw(st.sampled_from(self.placed))
        was_open = self.engine.get_order(account, symbol, order_id=order_id).is_open
        try:
            if by_client_id and client_id:
                order = self.engine.get_order(account, symbol, client_order_id=client_id)
                assert order.order_id == order_id
                self.engine.cancel_order(account, symbol, client_order_id=client_id, ts_ns=self.ts)
            else:
                self.engine.cancel_order(account, symbol, order_id=order_id, ts_ns=self.ts)
        except MatchingError as refused:
            assert not was_open and refused.code == -2011
            return
        assert was_open

    # -- invariants ----------------------------------------------------------------

    @invariant()
    def nothing_is_created_or_destroyed(self) -> None:
        fees = self.engine.fees_collected()
        for asset, deposited in self.engine.total_deposits().items():
            held = sum(
                self.engine.balance(a, asset).free + self.engine.balance(a, asset).locked
                for a in ACCOUNTS
            )
            assert held + fees.get(asset, 0) == deposited, asset

    @invariant()
    def no_book_is_crossed(self) -> None:
        for symbol in BOOKS:
            ticker = self.engine.book_ticker(symbol)
            if ticker.bid_price is not None and ticker.ask_price is not None:
                assert ticker.bid_price < ticker.ask_price

    @invariant()
    def no_order_executes_more_than_its_quantity(self) -> None:
        for account in ACCOUNTS:
            for order in self.engine.all_orders(account):
                assert 0 <= order.executed_quantity <= order.quantity
                assert order.is_open == (order.status in {"NEW", "PARTIALLY_FILLED"})
                if order.is_open:
                    assert order.remaining_quantity > 0

    @invariant()
    def locked_funds_equal_what_open_orders_need(self) -> None:
        for account in ACCOUNTS:
            taken, paid = _fills_by_order(account, self.engine.account_trades(account))
            needed: dict[str, Decimal] = defaultdict(Decimal)
            executing: set[int] = set()
            for order in self.engine.open_orders(account):
                base, quote = order.symbol.split("/")
                asset = quote if order.side is Side.BUY else base
                if order.order_list_id >= 0:
                    listed = self.engine.get_order_list(account, order_list_id=order.order_list_id)
                    if listed.is_open:
                        if order.order_list_id not in executing:
                            executing.add(order.order_list_id)
                            needed[asset] += max(_full_need(leg) for leg in listed.orders)
                        continue
                if not order.is_working:
                    needed[asset] += _full_need(order)
                elif order.side is Side.BUY:
                    # It held price * what it rested with (rounded up); its fills as
                    # maker (each rounded down) paid out of that.
                    rested = order.quantity - taken[order.order_id]
                    needed[quote] += _rounded_up(order.price * rested) - paid[order.order_id]
                else:
                    needed[base] += order.remaining_quantity
            for asset in ASSETS:
                assert self.engine.balance(account, asset).locked == needed[asset]

    @invariant()
    def no_balance_or_fee_has_more_than_8_decimals(self) -> None:
        for account in ACCOUNTS:
            for balance in self.engine.balances(account).values():
                assert _has_8_decimals(balance.free), (account, balance)
                assert _has_8_decimals(balance.locked), (account, balance)
        for asset, collected in self.engine.fees_collected().items():
            assert _has_8_decimals(collected), (asset, collected)

    @invariant()
    def no_balance_is_negative(self) -> None:
        for account in ACCOUNTS:
            for balance in self.engine.balances(account).values():
                assert balance.free >= 0 and balance.locked >= 0

    @invariant()
    def depth_equals_open_orders_and_diffs_rebuild_it(self) -> None:
        for symbol in BOOKS:
            expected: dict[str, dict[Decimal, Decimal]] = {"bids": {}, "asks": {}}
            for account in ACCOUNTS:
                for order in self.engine.open_orders(account, symbol):
                    if not order.is_working:
                        continue  # a stop waiting for its price is not on the book
                    side = expected["bids" if order.side is Side.BUY else "asks"]
                    side[order.price] = side.get(order.price, 0) + order.remaining_quantity
            depth = self.engine.depth(symbol, limit=10_000)
            assert {lvl.price: lvl.quantity for lvl in depth.bids} == expected["bids"]
            assert {lvl.price: lvl.quantity for lvl in depth.asks} == expected["asks"]
            assert [lvl.price for lvl in depth.bids] == sorted(expected["bids"], reverse=True)
            assert [lvl.price for lvl in depth.asks] == sorted(expected["asks"])

            update = self.engine.drain_depth_update(symbol)
            if update is not None:
                assert update.first_update_id == self.final_update_id[symbol] + 1
                assert update.final_update_id == depth.last_update_id
                self.final_update_id[symbol] = update.final_update_id
                for name, levels in (("bids", update.bids), ("asks", update.asks)):
                    replica = self.replica[symbol][name]
                    for level in levels:
                        if level.quantity:
                            replica[level.price] = level.quantity
                        else:
                            replica.pop(level.price, None)
            assert self.replica[symbol] == expected


def _tally(rule: str, result: SubmitResult) -> None:
    """Tell Hypothesis's statistics what a rule did, per book: whether it traded, whether
    a fill's quote amount was rounded, how often stops fired and OCOs ended."""
    symbol = result.order.symbol
    if result.trades:
        event(f"{rule} traded on {symbol}")
        if any(t.quote_quantity != t.price * t.quantity for t in result.trades):
            event(f"{rule} rounded a quote amount on {symbol}")
    for consequence in result.consequences:
        event(f"{type(consequence).__name__} on {symbol}")


def _check_quote_amounts(result: SubmitResult) -> None:
    """Each fill moved price * quantity rounded down to 10**-8; the order reports their sum."""
    for trade in result.trades:
        exact = trade.price * trade.quantity
        assert trade.quote_quantity == exact.quantize(EIGHT_DECIMALS, ROUND_FLOOR), trade
    reported = result.order.cumulative_quote_quantity
    assert reported == sum(t.quote_quantity for t in result.trades)


def _fills_by_order(
    account: str, trades: list[Trade]
) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """Per order id of `account`: the quantity it took as a taker, and the quote it
    paid or received as a maker."""
    taken: dict[int, Decimal] = defaultdict(Decimal)
    paid: dict[int, Decimal] = defaultdict(Decimal)
    for trade in trades:
        if trade.taker_account_id == account:
            taken[trade.taker_order_id] += trade.quantity
        else:
            paid[trade.maker_order_id] += trade.quote_quantity
    return taken, paid


def _rounded_up(quote: Decimal) -> Decimal:
    return quote.quantize(EIGHT_DECIMALS, ROUND_CEILING)


def _has_8_decimals(amount: Decimal) -> bool:
    return amount == amount.quantize(EIGHT_DECIMALS)


def _full_need(order: OrderSnapshot) -> Decimal:
    """What an order waiting whole holds: price (stop price for a stop that becomes a
    market order) * quantity of quote, rounded up to 10**-8, for a buy, the quantity of
    base for a sell."""
    if order.side is Side.SELL:
        return order.quantity
    price = order.price if order.order_type is OrderType.LIMIT else order.stop_price
    return _rounded_up(price * order.quantity)


MatchingEngineMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=50, deadline=None
)
TestMatchingEngineInvariants = MatchingEngineMachine.TestCase
