"""How the engine's refusals, times and ids read in Coinbase's words."""

from __future__ import annotations

from decimal import Decimal

from tradewind.venues.simulated.matching import errors as matching
from tradewind.venues.simulated.matching.errors import SubmitRejected
from tradewind.venues.simulated.server.coinbase import errors
from tradewind.venues.simulated.server.coinbase.orders import coinbase_order_id, iso_time
from tradewind.venues.simulated.server.coinbase.products import plain, product_id


def test_insufficient_balance_is_the_failure_ccxt_maps_to_insufficient_funds() -> None:
    failure = errors.failure_of(SubmitRejected(matching.INSUFFICIENT_BALANCE))
    body = errors.order_failure(failure, {"limit_limit_gtc": {}})
    assert body["success"] is False
    response = body["error_response"]
    assert isinstance(response, dict)
    assert response["error"] == "INSUFFICIENT_FUND"
    assert response["preview_failure_reason"] == "PREVIEW_INSUFFICIENT_FUND"


def test_a_post_only_order_that_would_take_names_coinbases_reason() -> None:
    failure = errors.failure_of(SubmitRejected(matching.WOULD_TAKE))
    assert failure.error == "INVALID_LIMIT_PRICE_POST_ONLY"


def test_an_unlisted_engine_refusal_keeps_its_message() -> None:
    failure = errors.failure_of(SubmitRejected(matching.UNSUPPORTED_COMBINATION))
    assert failure.error == "UNKNOWN_FAILURE_REASON"
    assert failure.message == matching.UNSUPPORTED_COMBINATION.msg


def test_error_bodies_have_coinbases_shapes() -> None:
    v3 = errors.unauthorized("the JWT has expired").response()
    assert v3.status_code == 401
    assert b'"error":"unauthorized"' in v3.body and b"expired" in v3.body
    v2 = errors.unauthorized("no credentials", v2=True).response()
    assert b'"errors":[{"id":"authentication_error"' in v2.body
    limited = errors.rate_limited(30, "per user", 1).response()
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"


def test_times_are_rfc3339_utc_with_microseconds() -> None:
    assert iso_time(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456Z"


def test_order_ids_are_stable_uuids_per_product_and_engine_id() -> None:
    assert coinbase_order_id("BTC/USD", 7) == coinbase_order_id("BTC/USD", 7)
    assert coinbase_order_id("BTC/USD", 7) != coinbase_order_id("ETH/USD", 7)
    assert len(coinbase_order_id("BTC/USD", 7)) == 36


def test_decimals_are_written_without_exponent_or_trailing_zeros() -> None:
    assert plain(Decimal("0.00001000")) == "0.00001"
    assert plain(Decimal("1E+2")) == "100"
    assert plain(Decimal("0E-8")) == "0"
    assert product_id("ETH/USDC") == "ETH-USDC"
