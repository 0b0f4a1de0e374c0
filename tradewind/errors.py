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
    """The broker could not be reached within the retry budget. For a publish, the
    events may or may not be stored: publish them again (consumers dedupe by event id)."""


class VenueError(TradewindError):
    """A venue (exchange) call failed; `venue` names it."""

    def __init__(self, venue: str, message: str) -> None:
        self.venue = venue
        super().__init__(f"{venue}: {message}")


class VenueUnavailable(VenueError):
    """The venue did not answer properly (timeout, 5xx, connection lost). For an order
    the outcome is unknown: look it up by client order id before sending it again."""


class VenueUnreached(VenueUnavailable):
    """The request never left: its connection was found closing before a byte of it was
    written (a pooled connection the server had just closed). The venue did not get it,
    so it says nothing of the venue's health; an order is still looked up before it is
    sent again, as for any unavailable venue."""


class RateLimited(VenueError):
    """The venue refused the request for rate; wait `retry_after_s` seconds.
    `per_account`: the account's own order count was over its limit (not the requests
    of the egress address every account shares)."""

    def __init__(
        self, venue: str, message: str, retry_after_s: float, *, per_account: bool = False
    ) -> None:
        self.retry_after_s = retry_after_s
        self.per_account = per_account
        super().__init__(venue, message)


class AuthenticationFailed(VenueError):
    """The venue refused the API key or signature."""


class OrderRejectedByVenue(VenueError):
    """The venue refused the order; `code` is the venue's own code when it gave one."""

    def __init__(self, venue: str, message: str, code: int | None = None) -> None:
        self.code = code
        super().__init__(venue, message)


class InsufficientFunds(OrderRejectedByVenue):
    """Not enough free balance for the order."""


class DuplicateClientOrderId(OrderRejectedByVenue):
    """The venue already has an order with this client order id: a resend of an order
    that did arrive (look it up), or an id used before."""


class UnknownOrder(VenueError):
    """The venue has no order with that id."""
