"""Errors of portfolio accounting; each names the account and leaves its books unchanged."""

from __future__ import annotations

from tradewind.errors import TradewindError


class PortfolioError(TradewindError):
    """Something the account's books cannot take; nothing changed. Names the account."""

    def __init__(self, account_id: str, message: str) -> None:
        self.account_id = account_id
        super().__init__(f"account {account_id}: {message}")


class InsufficientHoldings(PortfolioError):
    """A sell, fee, withdrawal or buy needs more of an asset than the books hold; if the
    venue did it anyway, the books missed something: call `reset_from_venue`."""


class UnsupportedInstrument(PortfolioError):
    """A fill on a pair this account cannot value (quoted in another asset)."""


class InvalidFill(PortfolioError):
    """A fill of another account or venue, or with a quantity, price or fee that cannot be."""


class MissingPrice(PortfolioError):
    """Units of an asset arrived with no price to value them: pass one (`price=`, or the
    `prices` of `reset_from_venue`, keyed by symbol `ASSET/VALUATION`)."""


class StaleBalances(PortfolioError):
    """Venue balances read before a trade the books already hold (`BalanceUpdate.as_of_ns`
    older than that fill): setting the holdings to them would undo the trade."""
