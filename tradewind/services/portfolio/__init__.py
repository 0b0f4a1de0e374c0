"""The portfolio service: positions, balances, cost basis, PnL and equity per account."""

from tradewind.services.portfolio.service import PortfolioService, PortfolioSummary, cache_key

__all__ = [
    "PortfolioService",
    "PortfolioSummary",
    "cache_key",
]
