"""The analytics service: per-account performance and risk from portfolio updates,
published on analytics.updates, off the order path."""

from tradewind.services.analytics.service import AnalyticsService

__all__ = ["AnalyticsService"]
