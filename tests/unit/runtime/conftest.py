from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator

import pytest
import structlog

from tradewind.runtime.logging import configure_logging


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Logs configured to a buffer as JSON; the previous logging setup restored after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    yield stream
    root.handlers, root.level = handlers, level
    structlog.reset_defaults()


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test sees no TRADEWIND_* variable but the ones it sets."""
    for name in list(os.environ):
        if name.upper().startswith("TRADEWIND_"):
            monkeypatch.delenv(name)
    yield
