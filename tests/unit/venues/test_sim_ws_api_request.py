"""Reading WebSocket API request frames (`ws_api_request`): parameters as REST's text, and
the signature payload of Binance's own worked example (web-socket-api.md, "SIGNED
request example (HMAC)")."""

from __future__ import annotations

import json

import pytest

from tradewind.venues.simulated.server.signing import sign
from tradewind.venues.simulated.server.ws_api_request import (
    InvalidWsApiRequest,
    decode_request,
)

# Binance's example key pair and request; the docs give the payload and its signature.
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
DOC_REQUEST = {
    "id": "4885f793-e5ad-4c3b-8f6c-55d891472b71",
    "method": "order.place",
    "params": {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01000000",
        "price": "52000.00",
        "newOrderRespType": "ACK",
        "recvWindow": 100,
        "timestamp": 1645423376532,
        "apiKey": DOC_API_KEY,
        "signature": "cc15477742bd704c29492d96c7ead9414dfd8e0ec4a00f947bb5bb454ddbd08a",
    },
}
DOC_PAYLOAD = (
    f"apiKey={DOC_API_KEY}&newOrderRespType=ACK&price=52000.00&quantity=0.01000000"
    "&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532"
    "&type=LIMIT"
)


def test_signature_payload_of_binances_example_is_its_documented_payload() -> None:
    request = decode_request(json.dumps(DOC_REQUEST))
    assert request.id == DOC_REQUEST["id"] and request.method == "order.place"
    assert request.signature_payload() == DOC_PAYLOAD
    assert sign(DOC_SECRET, request.signature_payload()) == request.values["signature"]


def test_values_are_the_text_a_query_string_would_carry() -> None:
    frame = (
        '{"id": 3, "method": "v3/exchangeInfo", "params": {"quantity": 0.01000000,'
        ' "timestamp": 1700000000000, "returnRateLimits": false, "omit": null,'
        ' "symbols": ["BTCUSDT", "ETHUSDT"], "side": "BUY"}}'
    )
    request = decode_request(frame)
    assert request.method == "exchangeInfo"  # the version prefix is dropped
    assert request.values == {
        "quantity": "0.01000000",  # a number exactly as written
        "timestamp": "1700000000000",
        "returnRateLimits": "false",
        "symbols": '["BTCUSDT","ETHUSDT"]',
        "side": "BUY",
    }  # a null is not sent


def test_request_without_params_has_none() -> None:
    request = decode_request('{"id": null, "method": "ping"}')
    assert (request.id, request.method, dict(request.values)) == (None, "ping", {})


@pytest.mark.parametrize(
    ("frame", "request_id", "msg_start"),
    [
        ("{nope", None, "Invalid JSON request"),
        ('{"id": 5, "params": {}}', 5, "Invalid JSON request"),  # no method
        ('{"id": "a", "method": "time", "params": [1]}', "a", "Invalid 'params'"),
    ],
)
def test_frames_that_are_not_requests_are_1135(
    frame: str, request_id: int | str | None, msg_start: str
) -> None:
    with pytest.raises(InvalidWsApiRequest) as refused:
        decode_request(frame)
    assert (refused.value.code, refused.value.status) == (-1135, 400)
    assert refused.value.request_id == request_id
    assert refused.value.msg.startswith(msg_start)
