"""Which aiokafka failures mean "Kafka cannot be reached" (`BusUnavailable`) and which are
a refusal (`BusError`), for the Kafka bus's producer and consumers alike."""

from __future__ import annotations

from aiokafka.errors import (  # type: ignore[import-untyped]
    KafkaConnectionError,
    KafkaTimeoutError,
    LeaderNotAvailableError,
    NodeNotReadyError,
    NotLeaderForPartitionError,
    RequestTimedOutError,
)

from tradewind.bus.delivery import describe
from tradewind.errors import BusError, BusUnavailable

#: Failures that mean the broker is not reachable (right now), as opposed to a refusal.
UNREACHABLE: tuple[type[BaseException], ...] = (
    KafkaConnectionError,
    KafkaTimeoutError,
    LeaderNotAvailableError,
    NodeNotReadyError,
    NotLeaderForPartitionError,
    RequestTimedOutError,
    OSError,
    TimeoutError,
)


def failure_reason(exc: BaseException) -> str:
    """One line saying why: the error's type and message, its type named once (aiokafka
    errors already start their message with it)."""
    text = describe(exc)
    name = type(exc).__name__
    doubled = f"{name}: {name}"
    return text.replace(doubled, name, 1) if text.startswith(doubled) else text


def bus_error(what: str, exc: BaseException) -> BusError:
    """`BusUnavailable` or `BusError` saying `what` failed and why (never credentials:
    `what` names the bootstrap servers, `exc` is aiokafka's reason)."""
    error = BusUnavailable if isinstance(exc, UNREACHABLE) else BusError
    return error(f"{what}: {failure_reason(exc)}")
