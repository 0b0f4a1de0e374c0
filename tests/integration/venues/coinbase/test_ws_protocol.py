"""The Coinbase WebSocket's protocol with a raw client: the envelope and its per-connection
sequence numbers, the `subscriptions` acknowledgement, unsubscribing, heartbeats,
errors for bad requests and bad JWTs, the connection limit and injected drops."""

from __future__ import annotations

import asyncio
import json
import time

import jwt
import pytest
import websockets
from cryptography.hazmat.primitives.asymmetric import ec

from tests.integration.venues.coinbase.ws_support import (
    WAIT_S,
    coinbase_ws_venue,
    is_error,
    on_channel,
    receive_until,
    send,
    subscribe,
    unsubscribe,
)
from tradewind.venues.simulated.server.coinbase.streams import USER_DATA_PATH, WsRateLimit


def ws_jwt(key_name: str, pem: str, *, lifetime_s: int = 120, audience: str = "") -> str:
    """A WebSocket JWT as ccxt's coinbase signs one (ES256, no uri claim)."""
    now = int(time.time())
    claims = {
        "sub": key_name,
        "iss": "coinbase-cloud",
        "nbf": now,
        "exp": now + lifetime_s,
        "iat": now,
        "aud": [audience or "retail_rest_api_proxy"],
    }
    return jwt.encode(claims, pem, algorithm="ES256", headers={"kid": key_name, "nonce": "n1"})


async def test_messages_carry_the_envelope_with_sequence_numbers_increasing_per_connection() -> (
    None
):
    async with coinbase_ws_venue() as venue, venue.connect() as first, venue.connect() as second:
        await send(first, subscribe("level2", "BTC-USD"))
        await send(first, subscribe("heartbeats"))
        await send(second, subscribe("market_trades", "ETH-USD"))
        for client in (first, second):
            numbers: list[int] = []
            async with asyncio.timeout(WAIT_S):
                while len(numbers) < 8:
                    message = json.loads(await client.recv())
                    assert set(message) == {
                        "channel", "client_id", "timestamp", "sequence_num", "events"
                    }  # fmt: skip
                    assert message["client_id"] == ""
                    assert message["timestamp"].endswith("Z")
                    numbers.append(message["sequence_num"])
            assert numbers == list(range(numbers[0], numbers[0] + 8))
            assert numbers[0] == 0


async def test_subscribe_is_acknowledged_with_every_subscription_of_the_connection() -> None:
    async with coinbase_ws_venue() as venue, venue.connect() as client:
        await send(client, subscribe("ticker", "BTC-USD"))
        await receive_until(client, on_channel("subscriptions"))
        await send(client, subscribe("ticker", "ETH-USD"))
        await send(client, subscribe("heartbeats"))
        wanted = {"ticker": ["BTC-USD", "ETH-USD"], "heartbeats": []}
        ack = await receive_until(
            client,
            lambda m: on_channel("subscriptions")(m) and m["events"][0]["subscriptions"] == wanted,
        )
        assert ack["events"] == [{"subscriptions": wanted}]


async def test_unsubscribe_stops_the_channel_and_an_empty_acknowledgement_follows() -> None:
    async with coinbase_ws_venue() as venue, venue.connect() as client:
        await send(client, subscribe("heartbeats"))
        await receive_until(client, on_channel("heartbeats"))
        await send(client, unsubscribe("heartbeats"))
        ack = await receive_until(client, on_channel("subscriptions"))
        assert ack["events"] == [{"subscriptions": {}}]
        # nothing follows: no heartbeat within well over a heartbeat's period
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(2.5):
                await client.recv()
        assert venue.hub.connections == 1


async def test_heartbeats_come_every_second_with_a_counter_that_grows_by_one() -> None:
    async with coinbase_ws_venue() as venue, venue.connect() as client:
        await send(client, subscribe("heartbeats"))
        beats = []
        while len(beats) < 3:
            beats.append(await receive_until(client, on_channel("heartbeats")))
        counters = [beat["events"][0]["heartbeat_counter"] for beat in beats]
        assert counters == [counters[0], counters[0] + 1, counters[0] + 2]
        current_time = beats[0]["events"][0]["current_time"]
        assert " +0000 UTC m=+" in current_time


@pytest.mark.parametrize(
    ("message", "says"),
    [
        ({"type": "subscribe", "channel": "level3", "product_ids": ["BTC-USD"]}, "unknown channel"),
        (
            {"type": "subscribe", "channel": "level2", "product_ids": ["DOGE-USD"]},
            "unknown product",
        ),
        ({"type": "subscribe", "channel": "level2", "product_ids": []}, "needs product_ids"),
        ({"type": "subscribe", "channel": "user", "product_ids": []}, "authentication failure"),
        ({"type": "hello", "channel": "level2"}, "failure to parse message"),
    ],
)
async def test_a_bad_subscription_is_answered_with_an_error(
    message: dict[str, object], says: str
) -> None:
    async with coinbase_ws_venue() as venue, venue.connect() as client:
        await send(client, message)
        error = await receive_until(client, is_error)
        assert says in error["message"]
        await send(client, subscribe("heartbeats"))  # the connection stays usable
        await receive_until(client, on_channel("heartbeats"))


async def test_text_that_is_not_json_is_answered_with_an_error() -> None:
    async with coinbase_ws_venue() as venue, venue.connect() as client:
        await client.send("{not json")
        error = await receive_until(client, is_error)
        assert error["message"] == "failure to parse message"


async def test_a_jwt_of_an_unknown_or_foreign_key_is_refused_with_authentication_failure() -> None:
    async with coinbase_ws_venue() as venue, venue.connect() as client:
        _, name, _ = venue.account()
        stranger = ec.generate_private_key(ec.SECP256R1())
        from cryptography.hazmat.primitives import serialization

        forged_pem = stranger.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()
        for token in (ws_jwt(name, forged_pem), ws_jwt("organizations/x/apiKeys/y", forged_pem)):
            await send(client, subscribe("user", jwt=token))
            error = await receive_until(client, is_error)
            assert error["message"] == "authentication failure"
            assert forged_pem not in json.dumps(error)
            assert token not in json.dumps(error)
        # a bad JWT on a public channel is refused too, as Coinbase does
        await send(client, subscribe("ticker", "BTC-USD", jwt="not-a-jwt"))
        error = await receive_until(client, is_error)
        assert error["message"] == "authentication failure"
        assert not venue.hub.watched_accounts


async def test_an_expired_jwt_is_refused() -> None:
    async with coinbase_ws_venue() as venue, venue.connect() as client:
        _, name, pem = venue.account()
        token = ws_jwt(name, pem, lifetime_s=-60)
        await send(client, subscribe("user", jwt=token))
        error = await receive_until(client, is_error)
        assert error["message"] == "authentication failure"
        assert "expired" in error["reason"]


async def test_the_user_data_endpoint_serves_heartbeats_and_user_only() -> None:
    async with coinbase_ws_venue() as venue, venue.connect(USER_DATA_PATH) as client:
        await send(client, subscribe("level2", "BTC-USD"))
        error = await receive_until(client, is_error)
        assert "unknown channel" in error["message"]
        await send(client, subscribe("heartbeats"))
        await receive_until(client, on_channel("heartbeats"))


async def test_connections_over_the_per_address_limit_are_refused_at_the_handshake() -> None:
    limit = WsRateLimit(2, 600.0)
    async with coinbase_ws_venue(connections=limit) as venue, venue.connect(), venue.connect():
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with venue.connect():
                pass
        assert refused.value.response.status_code == 429
        assert venue.state.coinbase_limiters.refusals == 1  # as /sim/v1 reports it


async def test_a_venue_without_coinbase_rate_limits_refuses_no_connection() -> None:
    limit = WsRateLimit(1, 600.0)
    async with (
        coinbase_ws_venue(connections=limit, messages=limit, lifted=True) as venue,
        venue.connect() as first,
        venue.connect(),
    ):
        for product in ("BTC-USD", "ETH-USD"):
            await send(first, subscribe("ticker", product))
        wanted = {"ticker": ["BTC-USD", "ETH-USD"]}
        await receive_until(
            first,
            lambda m: on_channel("subscriptions")(m) and m["events"][0]["subscriptions"] == wanted,
        )


async def test_unauthenticated_messages_over_the_per_address_limit_are_refused() -> None:
    limit = WsRateLimit(2, 600.0)
    async with coinbase_ws_venue(messages=limit) as venue, venue.connect() as client:
        for product in ("BTC-USD", "ETH-USD", "BTC-USD"):
            await send(client, subscribe("ticker", product))
        error = await receive_until(client, is_error)
        assert error["message"] == "rate limit exceeded"
        assert venue.state.coinbase_limiters.refusals == 1


async def test_dropping_websockets_closes_every_connection() -> None:
    async with coinbase_ws_venue() as venue, venue.connect() as client:
        await send(client, subscribe("heartbeats"))
        await receive_until(client, on_channel("heartbeats"))
        venue.state.faults.drop_websockets()
        async with asyncio.timeout(WAIT_S):
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await client.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        while venue.hub.connections:  # noqa: ASYNC110 (the hub forgets it on the loop)
            await asyncio.sleep(0.01)
