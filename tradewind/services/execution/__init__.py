"""The execution service: order lifecycle, venue sessions, rate limits, circuit breakers."""

from tradewind.services.execution.credentials import (
    AccountCredentials,
    AccountUnavailable,
    CredentialsSource,
    StoredCredentials,
)
from tradewind.services.execution.service import ExecutionService

__all__ = [
    "AccountCredentials",
    "AccountUnavailable",
    "CredentialsSource",
    "ExecutionService",
    "StoredCredentials",
]
