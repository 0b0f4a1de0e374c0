"""One exception hierarchy; every error says what was wrong and, where known, the fix."""

from __future__ import annotations


class TradewindError(Exception):
    """Base of every error Tradewind raises on purpose."""


class ConfigError(TradewindError):
    """A setting is missing, malformed or points at something unreachable.

    `setting` names it the way the user sets it, e.g. `TRADEWIND_BUS_URL`.
    """

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting}: {problem}")


class BusError(TradewindError):
    """The message bus failed to do what was asked."""


class BusUnavailable(BusError):
    """The broker could not be reached within the retry budget; nothing was published."""
