"""Binance request signing: the examples of Binance's own documentation, where the
signature may sit, and the timestamp / recvWindow rule."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.venues.simulated.server.signing import (
    AHEAD_OF_SERVER,
    OUTSIDE_RECV_WINDOW,
    sign,
    signature_matches,
    signed_payload,
    timestamp_problem,
)

# The example key, request and signatures of Binance's spot API documentation
# ("SIGNED Endpoint Examples for POST /api/v3/order").
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_PARAMS = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    "&recvWindow=5000&timestamp=1499827319559"
)
DOC_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
DOC_MIXED_SIGNATURE = "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"


def test_sign_reproduces_binance_documentation_example() -> None:
    assert sign(DOC_SECRET, DOC_PARAMS) == DOC_SIGNATURE


@pytest.mark.parametrize(
    ("raw_query", "raw_body"),
    [
        (f"{DOC_PARAMS}&signature={DOC_SIGNATURE}", ""),
        ("", f"{DOC_PARAMS}&signature={DOC_SIGNATURE}"),
        (f"signature={DOC_SIGNATURE}&{DOC_PARAMS}", ""),
    ],
    ids=["in-query", "in-body", "first-in-query"],
)
def test_signed_payload_drops_the_signature_wherever_it_is(raw_query: str, raw_body: str) -> None:
    assert signed_payload(raw_query, raw_body) == DOC_PARAMS


def test_signed_payload_concatenates_query_and_body_without_separator() -> None:
    query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
    body = "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
    payload = signed_payload(query, f"{body}&signature={DOC_MIXED_SIGNATURE}")
    assert payload == query + body
    assert signature_matches(DOC_SECRET, payload, DOC_MIXED_SIGNATURE)


def test_signature_check_ignores_hex_case_but_not_content() -> None:
    assert signature_matches(DOC_SECRET, DOC_PARAMS, DOC_SIGNATURE.upper())
    assert not signature_matches(DOC_SECRET, DOC_PARAMS + "&x=1", DOC_SIGNATURE)
    assert not signature_matches("another-secret", DOC_PARAMS, DOC_SIGNATURE)
    assert not signature_matches(DOC_SECRET, DOC_PARAMS, "not-hex")


@pytest.mark.parametrize(
    ("timestamp", "recv_window", "expected"),
    [
        (10_000, Decimal(5000), None),  # now
        (5_000, Decimal(5000), None),  # exactly recvWindow old
        (4_999, Decimal(5000), OUTSIDE_RECV_WINDOW),
        (5_000, Decimal("4999.999"), OUTSIDE_RECV_WINDOW),  # recvWindow with microseconds
        (10_999, Decimal(5000), None),  # less than 1 s ahead
        (11_000, Decimal(5000), AHEAD_OF_SERVER),
    ],
)
def test_timestamp_must_be_within_recv_window_and_under_a_second_ahead(
    timestamp: int, recv_window: Decimal, expected: str | None
) -> None:
    assert timestamp_problem(timestamp, recv_window, server_ms=10_000) == expected
