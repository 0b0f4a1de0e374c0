"""Freqtrade trading live on the simulated exchange (see `freqtrade_live`): not in the
default run (`-m bot_framework` selects it); TRADEWIND_FREQTRADE_MINUTES sets how long
it trades (default 10)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.bot_frameworks.freqtrade_live import run

MINUTES = float(os.environ.get("TRADEWIND_FREQTRADE_MINUTES", "10"))

pytestmark = [pytest.mark.bot_framework, pytest.mark.timeout(MINUTES * 60 + 900)]


def test_freqtrade_trades_live_on_the_venue_as_on_binance(tmp_path: Path) -> None:
    outcome = run(MINUTES, tmp_path)
    print(outcome)
    assert outcome.problems() == []
