"""The portfolio service: positions, balances, cost basis, PnL and equity per account."""

from tradewind.services.portfolio.service import PortfolioService, PortfolioSummary, cache_key
from tradewind.services.portfolio.settings import PortfolioSettings, load_portfolio_settings

__all__ = [
    "PortfolioService",
    "PortfolioSettings",
    "PortfolioSummary",
    "cache_key",
    "load_portfolio_settings",
]
