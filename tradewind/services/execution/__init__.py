"""The execution service: order lifecycle, venue sessions, rate limits, circuit breakers."""

from tradewind.services.execution.credentials import (
    AccountCredentials,
    AccountUnavailable,
    CredentialsSource,
    StoredCredentials,
)
from tradewind.services.execution.service import ExecutionService
from tradewind.services.execution.settings import ExecutionSettings, load_execution_settings

__all__ = [
    "AccountCredentials",
    "AccountUnavailable",
    "CredentialsSource",
    "ExecutionService",
    "ExecutionSettings",
    "StoredCredentials",
    "load_execution_settings",
]
