"""Structured logs: one JSON object per line on stderr, secrets removed.

Every line has `timestamp` (ISO 8601, UTC), `level`, `logger` (the dotted module or
service logger name) and `event`, plus whatever the call bound (`service=`, `topic=` …).
Libraries that log through the standard `logging` module (uvicorn, aiokafka, redis) go
through the same processors, so the whole process writes one format. Values under keys
named like a secret (`password`, `secret`, `api_key`, `token` …) become `***`, and
passwords inside URLs anywhere in a line are hidden.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from tradewind.runtime.settings import LogFormat, LogLevel, redact_url

REDACTED = "***"
_SECRET_KEY = re.compile(
    r"secret|passw(?:or)?d|api_?key|token|authorization|credential|private_?key", re.IGNORECASE
)


def redact_secrets(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> MutableMapping[str, Any]:
    """structlog processor: hide secret-named keys' values (in nested dicts and lists too)
    and the passwords of URLs in any string."""
    return {key: _redacted(key, value) for key, value in event_dict.items()}


#: Secret-bearing query parameters, e.g. a WebSocket's `?token=` in a server's request
#: line, or a Binance `signature=`.
_SECRET_QUERY = re.compile(
    r"(?i)\b(token|access_token|refresh_token|signature|api_?key|secret|password)=[^&\s\"']+"
)


def _redacted(key: str, value: Any) -> Any:
    if _SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, str):
        if "=" in value:
            value = _SECRET_QUERY.sub(lambda m: f"{m.group(1)}={REDACTED}", value)
        return redact_url(value) if "://" in value or "password=" in value else value
    if isinstance(value, dict):
        return {k: _redacted(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted("", item) for item in value]
    return value


_LEADING_KEYS = ("timestamp", "level", "logger", "event")


def _leading_keys_first(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> MutableMapping[str, Any]:
    """Put timestamp, level, logger and event first, so lines read alike."""
    ordered = {key: event_dict[key] for key in _LEADING_KEYS if key in event_dict}
    ordered.update(event_dict)
    return ordered


def configure_logging(
    level: LogLevel = "info", log_format: LogFormat = "json", stream: TextIO | None = None
) -> None:
    """Send this process's logs, structlog's and the standard library's, to `stream`
    (stderr by default) as JSON lines, or as coloured console lines when
    `log_format="console"` (`"auto"`: console lines if `stream` is a terminal, else
    JSON). Safe to call again; the last call wins."""
    stream = stream or sys.stderr
    if log_format == "auto":
        log_format = "console" if stream.isatty() else "json"
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    before_render: list[Processor] = [
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        timestamper,
    ]
    renderer: Processor
    if log_format == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=stream.isatty())
    else:
        renderer = structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            *before_render,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=before_render,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_secrets,
            _leading_keys_first,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())


def get_logger(name: str, **bound: Any) -> structlog.stdlib.BoundLogger:
    """A logger named `name` (shown as `logger`) with `bound` key-values on every line."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger.bind(**bound) if bound else logger
