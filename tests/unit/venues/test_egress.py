"""TRADEWIND_EGRESS: the source addresses accounts' venue calls leave from, each account
always from the same one, spread evenly."""

from __future__ import annotations

from collections import Counter

import pytest

from tradewind.errors import ConfigError
from tradewind.runtime.settings import Settings
from tradewind.venues.egress import egress_for, parse_egress


def test_addresses_are_read_in_order_and_written_canonically() -> None:
    assert parse_egress("") == ()
    assert parse_egress(" 127.0.0.2, 127.0.0.3 ,") == ("127.0.0.2", "127.0.0.3")
    assert parse_egress("2001:DB8::1") == ("2001:db8::1",)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("127.0.0.2,eth0", "'eth0' is not an IP address"),
        ("10.0.0.5:80", "'10.0.0.5:80' is not an IP address"),
        ("127.0.0.2,127.0.0.02", "is not an IP address"),
        ("127.0.0.2,127.0.0.2", "127.0.0.2 is given twice"),
    ],
)
def test_a_bad_pool_is_a_config_error_naming_the_setting(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_egress(text)
    assert caught.value.setting == "TRADEWIND_EGRESS"
    assert problem in caught.value.problem


def test_the_settings_refuse_a_bad_pool_before_anything_starts() -> None:
    with pytest.raises(ValueError, match="'eth0' is not an IP address"):
        Settings(egress="eth0")


def test_an_account_always_leaves_from_the_same_address_and_accounts_spread_evenly() -> None:
    pool = parse_egress("127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5")
    accounts = [f"account-{n}" for n in range(1000)]
    chosen = [egress_for(a, pool) for a in accounts]
    assert chosen == [egress_for(a, pool) for a in accounts]  # stable
    assert egress_for("account-0", pool) == "127.0.0.4"  # crc32: the same in every process
    counts = Counter(chosen)
    assert set(counts) == set(pool)
    assert all(200 <= n <= 300 for n in counts.values()), counts
    assert egress_for("account-0", ()) is None
