"""Every account's books (`domain.portfolio.Portfolio`), the latest marks, and which
accounts need revaluing: the portfolio service's state, with no I/O.

Ticks only record the latest price of their symbol and that it moved; `revalue` then
turns the moved symbols into the accounts that hold them and revalues each changed
account once, however many ticks came in between.

What is not booked, and why (`SkipReason`):

- a fill on a pair not quoted in the account's valuation asset (ETH/BTC in a USDT
  account): valuing it would need a conversion price at fill time, which the domain does
  not guess. The venue's balances still reach the books through `BalanceUpdate`s (the
  assets of such pairs are valued through their own `ASSET/VALUATION` pair, if listed);
- a fill the books cannot pay for (they are out of step with the venue, e.g. after a
  restart): the next balances from execution realign them;
- balances of an asset with no price yet: kept, and booked at the first mark of
  `ASSET/VALUATION`; an asset that has no such pair stays unbooked;
- a fill the venue's balances applied before it already hold (traded before they were
  read, by the venue's clock: from another instance, or an order that was in flight),
  and balances read before a fill the books hold (`Portfolio.in_balances`,
  `StaleBalances`): either way booking it would count that trade twice or undo it;
- an unsettled balances reading that does not say when it was taken, when the books
  have a starting point (`BalanceUpdate.settled`: the fills that follow may be in it).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from decimal import Decimal

from tradewind.domain.events import BalanceUpdate, Fill, PortfolioUpdate, TradeTick
from tradewind.domain.portfolio import (
    InsufficientHoldings,
    MissingPrice,
    Portfolio,
    PortfolioError,
    StaleBalances,
    UnsupportedInstrument,
)
from tradewind.domain.portfolio_state import PortfolioState


class SkipReason(enum.StrEnum):
    UNSUPPORTED_INSTRUMENT = "unsupported_instrument"
    OUT_OF_STEP = "out_of_step"
    UNPRICED = "unpriced"
    INVALID = "invalid"
    UNSETTLED = "unsettled"
    IN_BALANCES = "in_balances"
    STALE = "stale"


class AccountBooks:
    """Every account's books, the latest marks, and which accounts need revaluing: the
    portfolio service's state, no I/O. Prices are in the quote asset per unit."""

    def __init__(self) -> None:
        self.portfolios: dict[str, Portfolio] = {}
        self._marks: dict[str, dict[str, Decimal]] = {}  # venue -> symbol -> price
        self._holders: dict[tuple[str, str], set[str]] = {}  # (venue, symbol) -> accounts
        self._moved: set[tuple[str, str]] = set()
        self._changed: set[str] = set()
        self._unpriced: dict[str, dict[str, BalanceUpdate]] = {}  # account -> asset -> update
        #: (venue, symbol) -> the accounts with a balance waiting for that symbol's mark:
        #: a revalue retries the balances of the marks that moved, not every waiting one
        #: (accounts holding an asset that has no mark wait for good).
        self._waiting_on: dict[tuple[str, str], set[str]] = {}
        self._recheck: set[str] = set()  # accounts whose waiting balances are retried next
        #: account -> `ts_ns` of the balances reading that gave its books their starting
        #: point (0: fills, or books restored from storage, did).
        self._started: dict[str, int] = {}

    def open(self, account_id: str, venue: str, valuation_asset: str) -> Portfolio:
        """The account's books, new and empty if it had none."""
        portfolio = self.portfolios.get(account_id)
        if portfolio is None:
            portfolio = self.portfolios[account_id] = Portfolio(account_id, venue, valuation_asset)
        return portfolio

    def restore(self, state: PortfolioState, unpriced: Iterable[BalanceUpdate]) -> Portfolio:
        """Put back an account's stored books (replacing any in memory) and the balances
        that were waiting for a price; it is revalued and published at the next
        `revalue`."""
        self._forget_waiting(state.account_id)
        portfolio = Portfolio.from_state(state)
        self.portfolios[state.account_id] = portfolio
        self._started[state.account_id] = 0
        for symbol in portfolio.positions:
            self._holds(portfolio, symbol)
        waiting = {update.asset: update for update in unpriced}
        if waiting:
            self._unpriced[state.account_id] = waiting
            self._recheck.add(state.account_id)  # its marks may be known already
            for asset in waiting:
                symbol = f"{asset}/{portfolio.valuation_asset}"
                self._holds(portfolio, symbol)
                self._waiting_on.setdefault((portfolio.venue, symbol), set()).add(state.account_id)
        self._changed.add(state.account_id)
        return portfolio

    def stored(self, account_id: str) -> tuple[PortfolioState, list[BalanceUpdate]]:
        """What `restore` needs to put this account's books back."""
        waiting = self._unpriced.get(account_id, {})
        return self.portfolios[account_id].to_state(), list(waiting.values())

    def forget(self, account_id: str) -> None:
        """Drop an account's books (another instance has newer ones, or owns it now)."""
        self._forget_waiting(account_id)
        portfolio = self.portfolios.pop(account_id, None)
        self._started.pop(account_id, None)
        self._changed.discard(account_id)
        if portfolio is None:
            return
        for key, holders in list(self._holders.items()):
            if key[0] == portfolio.venue:
                holders.discard(account_id)
                if not holders:
                    del self._holders[key]

    def apply_fill(self, fill: Fill) -> SkipReason | None:
        """Book a fill (once per trade); the reason if it was not booked."""
        portfolio = self.portfolios[fill.account_id]
        if portfolio.in_balances(fill):
            portfolio.apply_fill(fill)  # remembered as booked
            return SkipReason.IN_BALANCES
        try:
            booked = portfolio.apply_fill(fill)
        except UnsupportedInstrument:
            return SkipReason.UNSUPPORTED_INSTRUMENT
        except InsufficientHoldings:
            return SkipReason.OUT_OF_STEP
        except PortfolioError:
            return SkipReason.INVALID
        if booked:
            self._started.setdefault(fill.account_id, 0)
            self._changed.add(fill.account_id)
            self._holds(portfolio, fill.instrument.symbol)
            if fill.fee_asset not in (fill.instrument.base, portfolio.valuation_asset):
                self._holds(portfolio, f"{fill.fee_asset}/{portfolio.valuation_asset}")
        return None

    def apply_balance(self, update: BalanceUpdate) -> SkipReason | None:
        """Set one asset's holding to the venue's; the reason if it could not be yet, or
        should not be: an unsettled reading (`BalanceUpdate.settled`) that does not say
        when it was taken (`as_of_ns`) only gives books without one their starting
        point, every asset of that one reading."""
        started = self._started.setdefault(update.account_id, update.ts_ns)
        if not update.settled and update.as_of_ns is None and started != update.ts_ns:
            return SkipReason.UNSETTLED
        portfolio = self.portfolios[update.account_id]
        symbol = f"{update.asset}/{portfolio.valuation_asset}"
        price = self._marks.get(portfolio.venue, {}).get(symbol)
        try:
            changed = portfolio.apply_balance_update(update, price=price)
        except MissingPrice:
            self._unpriced.setdefault(update.account_id, {})[update.asset] = update
            self._waiting_on.setdefault((portfolio.venue, symbol), set()).add(update.account_id)
            self._holds(portfolio, symbol)  # its first mark books it
            return SkipReason.UNPRICED
        except StaleBalances:
            self._done_waiting(update)  # a waiting one, overtaken by fills meanwhile
            return SkipReason.STALE
        except PortfolioError:
            return SkipReason.INVALID
        self._done_waiting(update)
        if changed:
            self._changed.add(update.account_id)
            if update.asset != portfolio.valuation_asset:
                self._holds(portfolio, symbol)
        return None

    def mark(self, tick: TradeTick) -> None:
        """Remember the latest price of the tick's symbol."""
        instrument, price = tick.instrument, tick.price
        marks = self._marks.get(instrument.venue)
        if marks is None:
            marks = self._marks[instrument.venue] = {}
        if marks.get(instrument.symbol) == price or not (price.is_finite() and price > 0):
            return
        marks[instrument.symbol] = price
        self._moved.add((instrument.venue, instrument.symbol))

    def touch(self, account_ids: Iterable[str]) -> None:
        """Have these accounts published again at the next `revalue` (those still held:
        a publication that failed may end after its accounts were forgotten)."""
        portfolios = self.portfolios
        self._changed.update(a for a in account_ids if a in portfolios)

    def revalue(self, ts_ns: int) -> tuple[list[PortfolioUpdate], int, list[SkipReason | None]]:
        """Revalue every account that a fill, a balance or a moved mark touched since the
        last call, once each. Returns the valuations of the accounts that changed, the
        number of revaluations, and the outcomes of the waiting balances it retried."""
        retried = self._retry_unpriced(self._moved)
        changed, self._changed = self._changed, set()
        touched = set(changed)
        for key in self._moved:
            touched |= self._holders.get(key, set())
        self._moved.clear()
        updates, revaluations = [], 0
        for account_id in touched:
            portfolio = self.portfolios[account_id]
            marks = self._marks.get(portfolio.venue)
            revalued = False
            if marks:
                revaluations += 1
                revalued = portfolio.revalue(marks)
            if revalued or account_id in changed:
                updates.append(portfolio.snapshot(ts_ns=ts_ns))
        return updates, revaluations, retried

    def _retry_unpriced(self, moved: Iterable[tuple[str, str]]) -> list[SkipReason | None]:
        """Book the waiting balances whose asset has a mark now: those of the accounts
        waiting on a mark that `moved` (set since the last revalue), and those restored."""
        accounts, self._recheck = self._recheck, set()
        waiting_on = self._waiting_on
        for key in moved:
            waiters = waiting_on.get(key)
            if waiters:
                accounts |= waiters
        outcomes: list[SkipReason | None] = []
        for account_id in accounts:
            waiting = self._unpriced.get(account_id)
            if not waiting:
                continue
            portfolio = self.portfolios[account_id]
            marks = self._marks.get(portfolio.venue, {})
            for asset, update in list(waiting.items()):
                if f"{asset}/{portfolio.valuation_asset}" in marks:
                    outcomes.append(self.apply_balance(update))
        return outcomes

    def _done_waiting(self, update: BalanceUpdate) -> None:
        """The asset's balances waiting for a price are superseded (or refused)."""
        waiting = self._unpriced.get(update.account_id)
        if waiting is not None and waiting.pop(update.asset, None) is not None:
            self._stop_waiting(self.portfolios[update.account_id], update.asset)
            if not waiting:
                del self._unpriced[update.account_id]

    def _forget_waiting(self, account_id: str) -> None:
        """The account's waiting balances dropped (its books are replaced or gone)."""
        self._recheck.discard(account_id)
        waiting = self._unpriced.pop(account_id, {})
        portfolio = self.portfolios.get(account_id)
        if portfolio is not None:
            for asset in waiting:
                self._stop_waiting(portfolio, asset)

    def _stop_waiting(self, portfolio: Portfolio, asset: str) -> None:
        key = (portfolio.venue, f"{asset}/{portfolio.valuation_asset}")
        waiters = self._waiting_on.get(key)
        if waiters is not None:
            waiters.discard(portfolio.account_id)
            if not waiters:
                del self._waiting_on[key]

    def _holds(self, portfolio: Portfolio, symbol: str) -> None:
        key = (portfolio.venue, symbol)
        holders = self._holders.get(key)
        if holders is None:
            holders = self._holders[key] = set()
        holders.add(portfolio.account_id)
