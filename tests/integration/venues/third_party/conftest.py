"""The venue of every third-party client test: one per module and market mode."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.venues.third_party.venue_support import (
    MODES,
    SEED,
    Traders,
    Venue,
    serving,
)


@pytest.fixture(scope="module", params=MODES)
def venue(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Venue]:
    with serving(request.param, SEED, tmp_path_factory.mktemp("candles")) as served:
        yield served


@pytest.fixture(scope="module")
def traders(venue: Venue) -> Iterator[Traders]:
    helpers = Traders(venue)
    try:
        yield helpers
    finally:
        helpers.close()
