"""The APIs the simulated exchange serves, as the rest of the platform names them: a
venue's URL in TRADEWIND_VENUE_URLS says which one by its prefix, and `--api` takes
their names."""

from __future__ import annotations

import pytest

from tradewind.errors import ConfigError
from tradewind.venues.directory import parse_venue_urls
from tradewind.venues.simulated.apis import (
    APIS,
    DEFAULT_API,
    Api,
    api_named,
    declared_url,
    served_api,
)
from tradewind.venues.simulated.client import SERVED_APIS
from tradewind.venues.simulated.server.serve import build_state


def test_every_served_api_is_declared_by_its_prefix_and_read_back() -> None:
    for name in APIS:
        declared = declared_url(name, "http://127.0.0.1:8766")
        assert served_api(declared) == (name, "http://127.0.0.1:8766")
        assert parse_venue_urls(f"v={declared}/") == {"v": declared}
    assert served_api("https://sim.example:8765") == (DEFAULT_API, "https://sim.example:8765")
    assert set(SERVED_APIS) == set(APIS)  # ccxt reaches each one
    assert next(iter(APIS)) == DEFAULT_API


def test_a_url_the_registry_does_not_know_is_refused_naming_every_prefix() -> None:
    with pytest.raises(ConfigError, match="TRADEWIND_VENUE_URLS") as raised:
        parse_venue_urls("v=kraken+http://127.0.0.1:1")
    for api in APIS.values():
        if api.url_prefix:
            assert f"{api.url_prefix}https://… for a venue serving the {api.title}" in str(
                raised.value
            )


def test_api_named_takes_a_served_api_and_names_the_choices_otherwise() -> None:
    assert [api_named(name) for name in APIS] == list(APIS)
    with pytest.raises(ConfigError, match="--api") as raised:
        api_named("kraken")
    assert all(name in str(raised.value) for name in APIS)


@pytest.mark.parametrize("api", list(APIS))
def test_unlimited_lifts_the_served_apis_limits_and_by_default_they_are_published(
    api: Api,
) -> None:
    published = build_state(api=api, start="0m")
    assert published.rate_limits and published.coinbase_rate_limits is not None
    lifted = build_state(api=api, start="0m", unlimited=True)
    assert lifted.rate_limits == () and lifted.coinbase_rate_limits is None
