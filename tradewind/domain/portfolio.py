"""Per-account accounting: cash, positions at average cost, realised and unrealised PnL,
fees and equity, all exact `Decimal`.

A `Portfolio` is one account (one user's account on one venue) valued in its
`valuation_asset` V, e.g. "USDT", or "BTC" for the BTC-quoted markets. Amounts are in
V unless said otherwise; quantities are in the position's base asset.

Scope, spot only:

* Positions are in instruments quoted in V (`ETH/USDT` in a USDT account). A fill on a
  pair quoted in anything else raises `UnsupportedInstrument`: valuing it would need a
  conversion price at fill time.
* No shorts. A sell, fee or withdrawal larger than what is held, or a buy the cash
  cannot pay, raises `InsufficientHoldings` and changes nothing: the venue would not
  have allowed it, so the books are out of step with it; `reset_from_venue` realigns.

Definitions:

    cash               the balance of V
    position           quantity Q of its base asset, cost basis K (what those units
                       cost, in V), mark m (the latest price, V per unit)
    average cost       K / Q; 0 when flat
    unrealised PnL     sum over positions of Q x m - K  (= Q x (m - average cost))
    equity             cash + sum over positions of Q x m
    realised PnL       sum over disposals of units x price - cost released, where giving
                       up u of Q units releases K x u / Q of cost (all of K when u = Q),
                       plus the venue's rounding of sells (below). It is before fees.
    fees               each fee valued in V when charged: a fee in V at face value, a fee
                       in the base asset at the fill price, a fee in another held asset
                       (BNB) at that asset's mark. Negative fees (rebates) only in V.
    net contributions  deposits - withdrawals: V at face value; another asset comes in
                       at a price (given, else its mark) and leaves at its average cost

A fill of q at price p with fee f moves a quote amount a: its `quote_quantity` (the
venue's q x p rounded to V's precision, e.g. down to 10^-8) when it has one,
else q x p; d = a - q x p is that rounding. It is the venue's, so the books keep it
where the venue settled it: in the cost of what a buy received, in what a sell realised.

    buy:   cash -= a;  Q += r, K += r x p + d  where r = q - f if the fee is in the base
           asset (a buyer's fee taken from what it bought: the units received cost p
           each) else r = q; when
           r = 0 or r x p + d < 0 (a fee of all or nearly all the units) K stays and
           the fee is valued at a instead
    sell:  cash += a;  give up u = q + f if the fee is in the base asset else q,
           at price p (a venue charging the seller in V); realised PnL += d
    fee:   in V: cash -= f;  in another asset A: give up f units of A at A's mark
           (which realises A's PnL on them)

A fee paid in the base asset is an expense at the fill price, never part of a cost
basis, so it counts once. A quote quantity that is not a rounding of q x p
(`quote_is_rounding`) is refused as `InvalidFill`. Every step keeps
`cash + sum K = net contributions + realised - fees`, hence, exactly,

    equity = net contributions + realised + unrealised - fees

and over any stretch without deposits or withdrawals
equity_now - equity_start = realised + unrealised - fees, each measured over that
stretch. Sums and products are exact (`exact.EXACT`; do your own arithmetic on these
values under it too: the default context rounds past 28 digits). The one division that
feeds the books, the cost a partial disposal releases, is rounded once and that same
amount leaves K and enters realised PnL: the identity stays exact and the rounding does
not accumulate, since closing a position releases exactly what is left of its cost.

Fills are applied once per (instrument, trade id), not per trade id alone: venues
may number trades per symbol. The venue's balances (`apply_balance_update`,
`reset_from_venue`) are for reconciliation: any difference from the books is booked as
a transfer, so feed them when no fill is in flight (at start, or periodically). A
reading that carries the venue's time of its newest change (`BalanceUpdate.as_of_ns`)
is safe at any time: a fill arriving after it but traded before that time is in it
already and is not booked again (`in_balances`), and a reading older than a fill or a
reading the books hold is refused (`StaleBalances`) rather than undo what that brought.
`revalue` costs O(min(prices, positions)); `equity` and `snapshot` O(positions).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal, localcontext

from tradewind.domain.events import BalanceUpdate, Fill, PortfolioUpdate, PositionUpdate
from tradewind.domain.exact import EXACT, is_positive, quote_is_rounding
from tradewind.domain.model import Instrument, Side
from tradewind.domain.portfolio_errors import (
    InsufficientHoldings,
    InvalidFill,
    MissingPrice,
    PortfolioError,
    StaleBalances,
    UnsupportedInstrument,
)
from tradewind.domain.portfolio_positions import Position
from tradewind.domain.portfolio_state import (
    REMEMBERED_TRADES,
    PortfolioState,
    PositionState,
    instrument_of,
)

__all__ = [
    "InsufficientHoldings",
    "InvalidFill",
    "MissingPrice",
    "Portfolio",
    "PortfolioError",
    "Position",
    "StaleBalances",
    "UnsupportedInstrument",
    "quote_is_rounding",
]

_ZERO = Decimal(0)


class Portfolio:
    """The books of one account on one venue, valued in `valuation_asset`."""

    __slots__ = (
        "_balances_as_of_ns",
        "_cash",
        "_fees",
        "_last_fill_ns",
        "_net_contributions",
        "_positions",
        "_realized_pnl",
        "_seen_trades",
        "_traded",
        "account_id",
        "valuation_asset",
        "venue",
    )

    def __init__(self, account_id: str, venue: str, valuation_asset: str) -> None:
        self.account_id = account_id
        self.venue = venue
        self.valuation_asset = valuation_asset
        self._cash = _ZERO
        self._realized_pnl = _ZERO
        self._fees = _ZERO
        self._net_contributions = _ZERO
        self._traded = _ZERO  # the quote amounts of every fill booked, in V
        self._positions: dict[str, Position] = {}
        # Insertion-ordered, so the most recent can be kept when stored (`to_state`).
        self._seen_trades: dict[tuple[str, str], None] = {}
        # Venue times (ns; 0: not known) of the newest change in the last balances
        # applied, and of the newest trade booked (`in_balances`, `StaleBalances`).
        self._balances_as_of_ns = 0
        self._last_fill_ns = 0

    # -- reading ------------------------------------------------------------------------

    @property
    def cash(self) -> Decimal:
        return self._cash

    @property
    def realized_pnl(self) -> Decimal:
        return self._realized_pnl

    @property
    def fees(self) -> Decimal:
        return self._fees

    @property
    def traded(self) -> Decimal:
        """What every fill booked moved, in the valuation asset (each one's quote
        amount; bought and sold alike): the numerator of turnover."""
        return self._traded

    @property
    def net_contributions(self) -> Decimal:
        return self._net_contributions

    @property
    def unrealized_pnl(self) -> Decimal:
        with localcontext(EXACT):
            return sum((p.quantity * p.mark - p.cost_basis for p in self._open()), _ZERO)

    @property
    def equity(self) -> Decimal:
        with localcontext(EXACT):
            return sum((p.quantity * p.mark for p in self._open()), self._cash)

    @property
    def positions(self) -> Mapping[str, Position]:
        """Positions by symbol (`BASE/QUOTE`), flat ones included."""
        return self._positions

    def position(self, symbol: str) -> Position | None:
        return self._positions.get(symbol)

    def balances(self) -> dict[str, Decimal]:
        """Holdings per asset: the valuation asset's cash and every non-zero position."""
        balances = {self.valuation_asset: self._cash}
        for position in self._open():
            balances[position.instrument.base] = position.quantity
        return balances

    def snapshot(self, *, ts_ns: int) -> PortfolioUpdate:
        """The account's valuation now, as a `portfolio.updates` event."""
        return PortfolioUpdate(
            account_id=self.account_id,
            valuation_asset=self.valuation_asset,
            equity=self.equity,
            cash=self._cash,
            realized_pnl=self._realized_pnl,
            unrealized_pnl=self.unrealized_pnl,
            fees=self._fees,
            balances=self.balances(),
            ts_ns=ts_ns,
            traded=self._traded,
        )

    def position_update(self, symbol: str, *, ts_ns: int) -> PositionUpdate | None:
        """The position in `symbol` as an event; None if the account never held it."""
        position = self._positions.get(symbol)
        if position is None:
            return None
        return PositionUpdate(
            account_id=self.account_id,
            instrument=position.instrument,
            quantity=position.quantity,
            average_cost=position.average_cost,
            ts_ns=ts_ns,
        )

    # -- trading ------------------------------------------------------------------------

    def in_balances(self, fill: Fill) -> bool:
        """Whether the venue's balances applied last already hold this trade: they were
        read after it (by the venue's clock: `BalanceUpdate.as_of_ns`)."""
        return 0 < fill.ts_ns <= self._balances_as_of_ns

    def apply_fill(self, fill: Fill) -> bool:
        """Book one execution; False if this trade was booked already, or is in the
        balances applied last (`in_balances`: booking it too would count it twice; it is
        remembered as booked). The cash it moves is the venue's `quote_quantity` when
        the fill has one (module docstring)."""
        key = (fill.instrument.symbol, fill.trade_id)
        if key in self._seen_trades:
            return False
        if self.in_balances(fill):
            self._seen_trades[key] = None
            return False
        self._check_fill(fill)
        instrument, quantity, price, fee = fill.instrument, fill.quantity, fill.price, fill.fee
        fee_in_base = bool(fee) and fill.fee_asset == instrument.base
        fee_in_cash = bool(fee) and fill.fee_asset == self.valuation_asset
        position = self._positions.get(instrument.symbol)
        if position is None:
            position = Position(instrument, price)
        fee_position: Position | None = None
        with localcontext(EXACT):
            amount = fill.quote_amount
            rounding = amount - quantity * price
            if fill.side is Side.BUY:
                cash = self._cash - amount
                units = quantity - fee if fee_in_base else quantity
            else:
                cash = self._cash + amount
                units = quantity + fee if fee_in_base else quantity
                self._require(position, units, f"sell {quantity} (trade {fill.trade_id})")
            if fee_in_cash:
                cash -= fee
                fee_value = fee
            elif fee_in_base:
                fee_value = fee * price
            elif fee:
                fee_position = self._fee_position(fill)
                fee_value = fee * fee_position.mark
            else:
                fee_value = _ZERO
            extra_cost = rounding  # a buy's units cost r x p + d
            if fill.side is Side.BUY and fee_in_base and (not units or units * price < -rounding):
                extra_cost, fee_value = -units * price, amount  # the fee took all of it
            if cash < 0:
                raise InsufficientHoldings(
                    self.account_id,
                    f"trade {fill.trade_id} needs {-cash} {self.valuation_asset} more than held",
                )
            # Everything is checked: from here on, nothing raises.
            if fill.side is Side.BUY:
                position.acquire(units, price)
                position.cost_basis += extra_cost
            else:
                position.realized_pnl += rounding
                self._realized_pnl += position.dispose(units, price) + rounding
            if fee_position is not None:
                self._realized_pnl += fee_position.dispose(fee, fee_position.mark)
            self._cash = cash
            self._fees += fee_value
            self._traded += amount
        self._positions[instrument.symbol] = position
        self._seen_trades[key] = None
        self._last_fill_ns = max(self._last_fill_ns, fill.ts_ns)
        return True

    def to_state(self) -> PortfolioState:
        """The books as data (see `portfolio_state`), for `from_state` to restore."""
        recent = list(self._seen_trades)[-REMEMBERED_TRADES:]
        return PortfolioState(
            account_id=self.account_id,
            venue=self.venue,
            valuation_asset=self.valuation_asset,
            cash=self._cash,
            realized_pnl=self._realized_pnl,
            fees=self._fees,
            net_contributions=self._net_contributions,
            positions=[
                PositionState(symbol, p.quantity, p.cost_basis, p.mark, p.realized_pnl)
                for symbol, p in self._positions.items()
            ],
            recent_trades=recent,
            balances_as_of_ns=self._balances_as_of_ns,
            last_fill_ns=self._last_fill_ns,
            traded=self._traded,
        )

    @classmethod
    def from_state(cls, state: PortfolioState) -> Portfolio:
        """The books `to_state` described: the same figures to the last digit."""
        portfolio = cls(state.account_id, state.venue, state.valuation_asset)
        portfolio._cash = state.cash
        portfolio._realized_pnl = state.realized_pnl
        portfolio._fees = state.fees
        portfolio._net_contributions = state.net_contributions
        for held in state.positions:
            position = Position(instrument_of(state.venue, held), held.mark)
            position.quantity = held.quantity
            position.cost_basis = held.cost_basis
            position.realized_pnl = held.realized_pnl
            portfolio._positions[held.symbol] = position
        portfolio._seen_trades = dict.fromkeys(
            (symbol, trade) for symbol, trade in state.recent_trades
        )
        portfolio._traded = state.traded
        portfolio._balances_as_of_ns = state.balances_as_of_ns
        portfolio._last_fill_ns = state.last_fill_ns
        return portfolio

    def revalue(self, prices: Mapping[str, Decimal]) -> bool:
        """Mark positions to the latest `prices` (valuation asset per unit, keyed by
        symbol; other symbols are ignored). True if a held position's mark changed, i.e.
        equity did. Raises `PortfolioError` for a price that is not positive; marks are
        independent, so those set before it stand."""
        changed = False
        positions = self._positions
        if len(prices) < len(positions):
            for symbol, price in prices.items():
                position = positions.get(symbol)
                if position is not None:
                    changed |= self._remark(position, price)
        else:
            for symbol, held in positions.items():
                mark = prices.get(symbol)
                if mark is not None:
                    changed |= self._remark(held, mark)
        return changed

    # -- money in and out ---------------------------------------------------------------

    def deposit(self, asset: str, amount: Decimal, *, price: Decimal | None = None) -> None:
        """Add `amount` of `asset`. A non-valuation asset is valued (and costed) at
        `price`, else at its position's mark; `MissingPrice` if there is neither."""
        self._require_positive(amount, f"deposit of {asset}")
        with localcontext(EXACT):
            self._add(asset, amount, price)

    def withdraw(self, asset: str, amount: Decimal) -> None:
        """Remove `amount` of `asset`; a non-valuation asset leaves at its average cost."""
        self._require_positive(amount, f"withdrawal of {asset}")
        with localcontext(EXACT):
            self._remove(asset, amount)

    def apply_balance_update(self, update: BalanceUpdate, *, price: Decimal | None = None) -> bool:
        """Set one asset's holding to the venue's `free + locked`, booking the difference
        as a deposit or withdrawal (valued as those are); True if it changed anything.
        A reading that says when it was taken (`as_of_ns`) and is older than a trade the
        books hold, or than the balances applied before it, raises `StaleBalances`: it
        would undo what they brought."""
        if update.account_id != self.account_id or update.venue != self.venue:
            raise PortfolioError(
                self.account_id, f"balance update of {update.account_id} on {update.venue}"
            )
        as_of = update.as_of_ns
        newest = max(self._last_fill_ns, self._balances_as_of_ns)
        if as_of is not None and as_of < newest:
            raise StaleBalances(
                self.account_id,
                f"the {update.asset} balance as of {as_of} ns is older than what the books "
                f"hold (as of {newest} ns)",
            )
        with localcontext(EXACT):
            total = update.free + update.locked
        prices = {} if price is None else {self._symbol(update.asset): price}
        changed = self._align({update.asset: total}, prices)
        if as_of is not None:
            self._balances_as_of_ns = max(self._balances_as_of_ns, as_of)
        return changed

    def reset_from_venue(
        self, balances: Mapping[str, Decimal], prices: Mapping[str, Decimal] | None = None
    ) -> bool:
        """Make the holdings equal the venue's `balances` (asset -> free + locked; assets
        not listed are zeroed), booking each difference as a deposit or withdrawal.
        Units that arrive are valued at `prices` (valuation asset per unit, by symbol
        `ASSET/VALUATION`), else at their mark. True if anything changed."""
        targets = dict(balances)
        targets.setdefault(self.valuation_asset, _ZERO)
        for position in self._open():
            targets.setdefault(position.instrument.base, _ZERO)
        return self._align(targets, prices or {})

    # -- internals ----------------------------------------------------------------------

    def _align(self, targets: Mapping[str, Decimal], prices: Mapping[str, Decimal]) -> bool:
        """Set each asset's holding to its target. Checks all first: a negative target
        raises `PortfolioError`, units with no positive price `MissingPrice` (naming
        every such asset), before anything changes."""
        missing = []
        for asset, total in targets.items():
            if not (total.is_finite() and total >= 0):
                raise PortfolioError(self.account_id, f"venue balance {total} {asset}")
            if asset != self.valuation_asset and total > self._held(asset):
                price = self._unit_value(asset, prices.get(self._symbol(asset)))
                if price is None or not is_positive(price):
                    missing.append(f"{asset} (price {price})")
        if missing:
            raise MissingPrice(self.account_id, f"cannot value {', '.join(sorted(missing))}")
        changed = False
        with localcontext(EXACT):
            for asset, total in targets.items():
                held = self._held(asset)
                if total > held:
                    self._add(asset, total - held, prices.get(self._symbol(asset)))
                elif total < held:
                    self._remove(asset, held - total)
                changed |= total != held
        return changed

    def _unit_value(self, asset: str, price: Decimal | None) -> Decimal | None:
        """What a unit of `asset` arriving now is worth: `price` if given, else its mark."""
        if price is not None:
            return price
        position = self._positions.get(self._symbol(asset))
        return None if position is None else position.mark

    def _open(self) -> Iterator[Position]:
        return (p for p in self._positions.values() if p.quantity)

    def _symbol(self, asset: str) -> str:
        return f"{asset}/{self.valuation_asset}"

    def _held(self, asset: str) -> Decimal:
        if asset == self.valuation_asset:
            return self._cash
        position = self._positions.get(self._symbol(asset))
        return _ZERO if position is None else position.quantity

    def _check_fill(self, fill: Fill) -> None:
        what = f"trade {fill.trade_id} on {fill.instrument.symbol}"
        if fill.account_id != self.account_id or fill.instrument.venue != self.venue:
            raise InvalidFill(
                self.account_id, f"{what} is for {fill.account_id} on {fill.instrument.venue}"
            )
        if fill.instrument.quote != self.valuation_asset:
            raise UnsupportedInstrument(
                self.account_id,
                f"{what}: the account values in {self.valuation_asset}, "
                f"the pair is quoted in {fill.instrument.quote}",
            )
        if not (is_positive(fill.quantity) and is_positive(fill.price)):
            raise InvalidFill(self.account_id, f"{what}: {fill.quantity} at {fill.price}")
        amount = fill.quote_quantity
        if amount is not None:
            if not (amount.is_finite() and amount >= 0):
                raise InvalidFill(self.account_id, f"{what}: quote quantity {amount}")
            notional = EXACT.multiply(fill.quantity, fill.price)
            if not quote_is_rounding(amount, notional):
                raise InvalidFill(
                    self.account_id,
                    f"{what}: quote quantity {amount} is not a rounding of "
                    f"{fill.quantity} x {fill.price} = {notional}",
                )
        fee = fill.fee
        if not fee.is_finite() or (fee < 0 and fill.fee_asset != self.valuation_asset):
            raise InvalidFill(self.account_id, f"{what}: fee {fee} {fill.fee_asset}")
        if fill.side is Side.BUY and fill.fee_asset == fill.instrument.base and fee > fill.quantity:
            raise InvalidFill(self.account_id, f"{what}: fee {fee} exceeds {fill.quantity}")

    def _fee_position(self, fill: Fill) -> Position:
        position = self._positions.get(self._symbol(fill.fee_asset))
        if position is None:
            raise InsufficientHoldings(
                self.account_id, f"trade {fill.trade_id}: fee in {fill.fee_asset}, none held"
            )
        self._require(position, fill.fee, f"fee of trade {fill.trade_id}")
        return position

    def _require(self, position: Position, units: Decimal, what: str) -> None:
        if units > position.quantity:
            raise InsufficientHoldings(
                self.account_id,
                f"{what} needs {units} {position.instrument.base}, "
                f"{position.quantity} held (no short positions on spot)",
            )

    def _require_positive(self, amount: Decimal, what: str) -> None:
        if not is_positive(amount):
            raise PortfolioError(self.account_id, f"{what}: amount {amount} is not > 0")

    def _remark(self, position: Position, price: Decimal) -> bool:
        if price == position.mark:
            return False
        if not is_positive(price):
            raise PortfolioError(
                self.account_id, f"price {price} of {position.instrument.symbol} is not > 0"
            )
        position.mark = price
        return bool(position.quantity)

    def _add(self, asset: str, amount: Decimal, price: Decimal | None) -> None:
        if asset == self.valuation_asset:
            self._cash += amount
            self._net_contributions += amount
            return
        symbol = self._symbol(asset)
        position = self._positions.get(symbol)
        unit_value = self._unit_value(asset, price)
        if unit_value is None or not is_positive(unit_value):
            raise MissingPrice(self.account_id, f"{amount} {asset} arrived, price {unit_value}")
        if position is None:
            position = self._positions[symbol] = Position(
                Instrument(self.venue, symbol, asset, self.valuation_asset), unit_value
            )
        position.acquire(amount, unit_value)
        self._net_contributions += amount * unit_value

    def _remove(self, asset: str, amount: Decimal) -> None:
        if asset == self.valuation_asset:
            if amount > self._cash:
                raise InsufficientHoldings(
                    self.account_id, f"withdrawal of {amount} {asset}, {self._cash} held"
                )
            self._cash -= amount
            self._net_contributions -= amount
            return
        position = self._positions.get(self._symbol(asset))
        if position is None:
            raise InsufficientHoldings(
                self.account_id, f"withdrawal of {amount} {asset}, none held"
            )
        self._require(position, amount, f"withdrawal of {amount} {asset}")
        # A transfer, not a sale: the units leave at cost and nothing is realised.
        self._net_contributions -= position.release(amount)
