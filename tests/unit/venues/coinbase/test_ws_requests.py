"""Reading the Coinbase WebSocket's subscribe and unsubscribe messages."""

from __future__ import annotations

import json

import pytest

from tradewind.venues.simulated.server.coinbase.streams import (
    USER_DATA_CHANNELS,
    RequestRefused,
    read_request,
)
from tradewind.venues.simulated.server.coinbase.streams_hub import CHANNELS

PRODUCTS = {"BTC-USD", "ETH-USD"}


def read(message: object, channels: tuple[str, ...] = CHANNELS) -> object:
    return read_request(json.dumps(message), PRODUCTS, channels)


def test_a_subscription_as_ccxt_sends_it() -> None:
    request = read({"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "level2"})
    assert request == read_request(
        '{"type":"subscribe","channel":"level2","product_ids":["BTC-USD"]}', PRODUCTS, CHANNELS
    )
    assert (request.type, request.channel, request.product_ids, request.jwt) == (  # type: ignore[attr-defined]
        "subscribe", "level2", ["BTC-USD"], None,
    )  # fmt: skip


def test_user_subscription_with_a_jwt_and_no_products_and_legacy_fields_ignored() -> None:
    request = read(
        {"type": "subscribe", "product_ids": [], "channel": "user", "jwt": "a.b.c",
         "api_key": "k", "timestamp": "1", "signature": "s"}
    )  # fmt: skip
    assert request.jwt == "a.b.c"  # type: ignore[attr-defined]


def test_heartbeats_need_no_products_and_unsubscribe_may_name_none() -> None:
    read({"type": "subscribe", "channel": "heartbeats"})
    read({"type": "unsubscribe", "channel": "level2", "product_ids": []})


@pytest.mark.parametrize(
    ("message", "says"),
    [
        ("not json", "failure to parse message"),
        ({"type": "subscribe", "channel": "level2", "product_ids": "BTC-USD"}, "failure to parse"),
        ({"type": "subscribe", "channel": "level2", "product_ids": [1]}, "failure to parse"),
        ({"type": "ping"}, "failure to parse message"),
        ({"type": "subscribe", "channel": "full", "product_ids": ["BTC-USD"]}, "unknown channel"),
        ({"type": "subscribe", "channel": "ticker", "product_ids": ["XRP-EUR"]}, "unknown product"),
        ({"type": "subscribe", "channel": "candles", "product_ids": []}, "needs product_ids"),
    ],
)
def test_bad_messages_are_refused_saying_why(message: object, says: str) -> None:
    text = message if isinstance(message, str) else json.dumps(message)
    with pytest.raises(RequestRefused) as refused:
        read_request(text, PRODUCTS, CHANNELS)
    assert says in str(refused.value)


def test_the_user_data_endpoint_refuses_market_channels() -> None:
    read({"type": "subscribe", "channel": "user"}, USER_DATA_CHANNELS)
    with pytest.raises(RequestRefused, match="unknown channel 'ticker'"):
        read(
            {"type": "subscribe", "channel": "ticker", "product_ids": ["BTC-USD"]},
            USER_DATA_CHANNELS,
        )
