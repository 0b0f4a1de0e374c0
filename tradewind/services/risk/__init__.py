"""The risk service: pre-trade limits and kill switches between strategies and
execution."""

from tradewind.services.risk.desk import Decisions, RiskDesk
from tradewind.services.risk.service import RiskService
from tradewind.services.risk.settings import DEFAULT_LIMITS, RiskSettings

__all__ = ["DEFAULT_LIMITS", "Decisions", "RiskDesk", "RiskService", "RiskSettings"]
