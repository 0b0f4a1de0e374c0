from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from tradewind.runtime.logging import get_logger, redact_secrets


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def redact(**event: Any) -> dict[str, Any]:
    return dict(redact_secrets(None, "info", event))


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "db_password",
        "secret",
        "api_secret",
        "api_key",
        "apiKey",
        "token",
        "access_token",
        "Authorization",
        "private_key",
    ],
)
def test_secret_named_keys_are_redacted(key: str) -> None:
    assert redact(event="login", **{key: "value"}) == {"event": "login", key: "***"}


def test_ordinary_keys_are_kept() -> None:
    event = {"event": "fill", "account_id": "a1", "key": "binance:BTC/USDT", "attempts": 3}
    assert redact(**event) == event


def test_nested_secrets_and_url_passwords_are_redacted() -> None:
    redacted = redact(
        event="connecting to redis://:pw@cache:6379/0",
        venue={"name": "binance", "api_secret": "s", "urls": ["kafka://u:p@h:9092"]},
    )
    assert redacted == {
        "event": "connecting to redis://:***@cache:6379/0",
        "venue": {"name": "binance", "api_secret": "***", "urls": ["kafka://u:***@h:9092"]},
    }


def test_lines_are_json_with_timestamp_level_logger_and_event(log_stream: io.StringIO) -> None:
    get_logger("tradewind.services.deadletters", service="deadletters").info(
        "dead letter", topic="orders.intent", password="hunter2"
    )
    [line] = lines(log_stream)
    assert list(line)[:4] == ["timestamp", "level", "logger", "event"]
    assert line["timestamp"].endswith("Z")
    assert line["level"] == "info"
    assert line["logger"] == "tradewind.services.deadletters"
    assert line["event"] == "dead letter"
    assert line["service"] == "deadletters"
    assert line["password"] == "***"


def test_standard_library_loggers_share_the_format(log_stream: io.StringIO) -> None:
    logging.getLogger("aiokafka").warning("lost %s", "redis://:pw@h:1/0")
    [line] = lines(log_stream)
    assert line["logger"] == "aiokafka"
    assert line["level"] == "warning"
    assert line["event"] == "lost redis://:***@h:1/0"


def test_lines_below_the_level_are_dropped(log_stream: io.StringIO) -> None:
    get_logger("tradewind.test").debug("noise")
    assert log_stream.getvalue() == ""


def test_exceptions_are_rendered_into_the_line(log_stream: io.StringIO) -> None:
    try:
        raise RuntimeError("cannot reach redis://u:pw@h:6379/0")
    except RuntimeError:
        get_logger("tradewind.test").exception("failed")
    [line] = lines(log_stream)
    assert "RuntimeError: cannot reach redis://u:***@h:6379/0" in line["exception"]


def test_tokens_and_signatures_in_request_lines_are_redacted() -> None:
    from tradewind.runtime.logging import redact_secrets

    line = '127.0.0.1:5 - "WebSocket /api/v1/stream?token=eyJhbGciOi.abc.def&x=1" 101'
    out = redact_secrets(None, "info", {"event": line, "q": "a=1&signature=deadbeef"})
    assert "eyJhbGciOi" not in out["event"] and "x=1" in out["event"]
    assert "deadbeef" not in out["q"]
