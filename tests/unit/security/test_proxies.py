"""Who the client is behind proxies: X-Forwarded-For only from trusted peers."""

from __future__ import annotations

import re

import pytest

from tradewind.security.proxies import client_address, parse_trusted_proxies

PROXIES = parse_trusted_proxies("10.0.0.0/8, 192.0.2.7")


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address("127.0.0.1", ["203.0.113.9"], ()) == "127.0.0.1"


def test_an_untrusted_peer_cannot_choose_its_address() -> None:
    assert client_address("198.51.100.1", ["203.0.113.9"], PROXIES) == "198.51.100.1"


def test_the_rightmost_untrusted_hop_is_the_client() -> None:
    # The client sent "1.2.3.4" itself; the proxies appended what they saw.
    header = ["1.2.3.4, 203.0.113.9, 10.1.1.1"]
    assert client_address("192.0.2.7", header, PROXIES) == "203.0.113.9"


def test_garbage_ends_the_walk_at_the_last_trusted_hop_and_is_never_returned() -> None:
    assert client_address("192.0.2.7", ["x" * 100 + ", 10.0.0.5"], PROXIES) == "10.0.0.5"
    assert client_address("192.0.2.7", ["not-an-ip"], PROXIES) == "192.0.2.7"


def test_addresses_come_back_canonical_and_short() -> None:
    found = client_address("10.0.0.1", ["[2001:0DB8:0000::0001]:443"], PROXIES)
    assert found == "2001:db8::1"
    assert len(client_address("x" * 300, [], PROXIES)) <= 45


def test_a_bad_trusted_proxy_setting_names_the_entry() -> None:
    with pytest.raises(ValueError, match=re.escape("'10.0.0.300'")):
        parse_trusted_proxies("10.0.0.0/8, 10.0.0.300")
