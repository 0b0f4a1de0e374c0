from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tradewind.chaos.platform import serving_venue


@pytest.fixture
def venue_url(tmp_path: Path) -> Iterator[str]:
    """`tradewind venue serve` on a free port, publishing and enforcing Binance's limits
    (request weight per client address, new orders per account)."""
    with serving_venue(tmp_path, "--seed", "3") as url:
        yield url


@pytest.fixture
def coinbase_venue_url(tmp_path: Path) -> Iterator[str]:
    """`tradewind venue serve --api coinbase` (USD and USDC pairs) on a free port,
    enforcing Coinbase's published limits (30 requests a second per user, 10 per IP
    address on public routes, and its WebSocket's); its base URL, to be declared as
    `coinbase+` it."""
    with serving_venue(tmp_path, "--seed", "4", api="coinbase") as url:
        yield url
