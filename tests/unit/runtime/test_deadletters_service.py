"""The dead-letters service on the real in-memory bus: a consumer that keeps failing
gets its event dead-lettered by the bus, and the service records, counts and logs it."""

from __future__ import annotations

import io
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence

import pytest

from tests import waiting
from tradewind.bus import topics
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.factory import open_bus
from tradewind.bus.port import Bus, ConsumerOptions
from tradewind.domain.bot_lifecycle import BotAction
from tradewind.domain.commands import BotCommand
from tradewind.domain.events import DeadLetter
from tradewind.runtime.logging import get_logger
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import ServiceContext
from tradewind.runtime.settings import Settings
from tradewind.services.deadletters import DeadLettersService


def bot_command(account_id: str = "acct-1") -> Envelope:
    command = BotCommand(
        account_id=account_id,
        bot_id="bot-1",
        action=BotAction.START,
        issued_by="user-1",
        ts_ns=time.time_ns(),
    )
    return envelope(command, key=account_id)


def dead_letter_of(original: Envelope, raw: bytes = b"raw") -> Envelope:
    letter = DeadLetter(
        topic=topics.BOT_COMMANDS,
        group="strategy",
        reason="handler failed 5 times: KeyError: 'bot-1'",
        attempts=5,
        event_id=original.event_id,
        raw=raw,
        ts_ns=time.time_ns(),
    )
    return envelope(letter, key=original.key)


async def wait_until(condition: Callable[[], object], timeout_s: float = 5.0) -> None:
    await waiting.wait_until(condition, timeout_s, poll_s=0.01)


@pytest.fixture
async def bus() -> AsyncIterator[Bus]:
    bus = open_bus("memory://", partitions=2)
    await bus.start()
    yield bus
    await bus.close()


async def test_a_consumers_dead_letter_is_recorded_counted_and_served(bus: Bus) -> None:
    metrics = RuntimeMetrics()
    service = DeadLettersService()
    log = get_logger("tradewind.services.deadletters", service=service.name)
    await service.start(ServiceContext(Settings(), bus, log, metrics))
    assert service.ready

    async def always_fails(batch: Sequence[Envelope]) -> None:
        raise RuntimeError("strategy state is corrupt")

    options = ConsumerOptions(max_attempts=2, retry_backoff_s=0.001)
    failing = await bus.subscribe([topics.BOT_COMMANDS], "strategy", always_fails, options)
    command = bot_command()
    await bus.publish(topics.BOT_COMMANDS, command)

    await wait_until(service.recent)
    await failing.stop()
    await service.stop()

    [record] = service.recent()
    assert (record.topic, record.group, record.attempts) == ("bot.commands", "strategy", 2)
    assert record.event_id == command.event_id
    assert record.reason == "handler failed 2 times: RuntimeError: strategy state is corrupt"
    assert service.admin_endpoints()["/deadletters"]() == [record]
    assert not service.ready
    labels = {"topic": "bot.commands", "group": "strategy"}
    assert metrics.registry.get_sample_value("tradewind_bus_dead_letters_total", labels) == 1
    consumed = {"group": "deadletters", "type": "bus.dead_letter"}
    assert metrics.registry.get_sample_value("tradewind_bus_events_consumed_total", consumed) == 1


def test_a_redelivered_dead_letter_is_recorded_once() -> None:
    service = DeadLettersService()
    letter = dead_letter_of(bot_command())
    assert service.record(letter) is not None
    assert service.record(letter) is None
    assert len(service.recent()) == 1


def test_only_the_newest_are_kept_newest_first() -> None:
    service = DeadLettersService(keep=3)
    letters = [dead_letter_of(bot_command(f"acct-{n}")) for n in range(5)]
    for letter in letters:
        service.record(letter)
    assert [r.dead_letter_id for r in service.recent()] == [
        letters[4].event_id,
        letters[3].event_id,
        letters[2].event_id,
    ]


def test_the_log_line_names_the_failure_but_never_holds_the_raw_event(
    log_stream: io.StringIO,
) -> None:
    service = DeadLettersService()
    original = bot_command()
    service.record(dead_letter_of(original, raw=b"account-data-123"))
    [line] = [json.loads(text) for text in log_stream.getvalue().splitlines()]
    assert line["level"] == "warning"
    assert line["event"] == "dead letter"
    assert line["topic"] == "bot.commands"
    assert line["group"] == "strategy"
    assert line["attempts"] == 5
    assert line["event_id"] == original.event_id
    assert "account-data-123" not in log_stream.getvalue()


def test_an_event_that_is_no_dead_letter_is_logged_and_skipped(log_stream: io.StringIO) -> None:
    service = DeadLettersService()
    assert service.record(bot_command()) is None
    assert service.recent() == []
    assert json.loads(log_stream.getvalue())["event"] == "not a dead letter on a dead-letter topic"
