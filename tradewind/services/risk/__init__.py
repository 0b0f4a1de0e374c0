"""The risk service: pre-trade limits and kill switches between strategies and
execution."""

from tradewind.services.risk.desk import Decisions, RiskDesk
from tradewind.services.risk.service import RiskService

__all__ = ["Decisions", "RiskDesk", "RiskService"]
