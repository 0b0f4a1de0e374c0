"""Ed25519 API keys on the simulated venue, used the way Binance documents them: a key
pair made by the client, its public key registered (`POST /sim/v1/accounts` with
`ed25519_public_key`), and requests signed with the private key, over raw HTTP (httpx)
and raw WebSocket API frames (`websockets`), no client library. For `test_sim_ed25519`
and the third-party clients' Ed25519 tests."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import websockets
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from websockets.asyncio.client import ClientConnection

from tests.integration.venues.sim_ws_api_support import signature_payload
from tradewind.venues.simulated.server.signing import sign_ed25519

WAIT_S = 5.0
Params = Mapping[str, str | int]


def public_pem(private_key: Ed25519PrivateKey) -> str:
    """The public key as Binance's key generator writes it (`-----BEGIN PUBLIC KEY-----`)."""
    return (
        private_key.public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def private_pem(private_key: Ed25519PrivateKey) -> str:
    """The private key as clients take it: unencrypted PKCS#8 PEM (`BEGIN PRIVATE KEY`)."""
    return private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


@dataclass(frozen=True)
class Ed25519Account:
    api_key: str
    account_id: str
    private_key: Ed25519PrivateKey = field(repr=False)

    @property
    def private_pem(self) -> str:
        return private_pem(self.private_key)


def register_public_key(base_url: str, body: Mapping[str, Any]) -> httpx.Response:
    """`POST /sim/v1/accounts` with `body` as it is (to test the refusals too)."""
    return httpx.post(f"{base_url}/sim/v1/accounts", json=dict(body))


def open_ed25519_account(
    base_url: str, balances: Mapping[str, str], *, trade: bool = True
) -> Ed25519Account:
    """A funded account whose API key is a new Ed25519 key pair's public key."""
    private_key = Ed25519PrivateKey.generate()
    response = register_public_key(
        base_url,
        {
            "balances": dict(balances),
            "permissions": {"trade": trade},
            "ed25519_public_key": public_pem(private_key),
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"api_key", "account_id"}, body  # no secret for an Ed25519 key
    return Ed25519Account(body["api_key"], body["account_id"], private_key)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Ed25519RestClient:
    """An httpx client signing SIGNED requests for `account` as Binance documents for
    Ed25519 keys: base64 of the Ed25519 signature of the query string (then the body),
    URL-encoded, in the last `signature` parameter."""

    def __init__(self, base_url: str, account: Ed25519Account) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=5)
        self.account = account

    def close(self) -> None:
        self.http.close()

    def signed(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        *,
        in_body: bool | None = None,
        signed_by: Ed25519PrivateKey | None = None,
        signature: str | None = None,
        url_encoded: bool = True,
        timestamp_ms: int | None = None,
    ) -> httpx.Response:
        """A SIGNED request: GET and DELETE in the query string, POST and PUT in a form
        body unless `in_body` says otherwise. `signed_by` another key, a given
        `signature`, or one sent as it is (`url_encoded` False) test the refusals."""
        fields: dict[str, str | int] = dict(params or {})
        fields["timestamp"] = timestamp_ms if timestamp_ms is not None else now_ms()
        payload = urlencode(fields)
        if signature is None:
            signature = sign_ed25519(signed_by or self.account.private_key, payload)
        sent = quote(signature, safe="") if url_encoded else signature
        signed_text = f"{payload}&signature={sent}"
        headers = {"X-MBX-APIKEY": self.account.api_key}
        if in_body if in_body is not None else method in ("POST", "PUT"):
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            return self.http.request(method, path, content=signed_text, headers=headers)
        return self.http.request(method, f"{path}?{signed_text}", headers=headers)


def ws_signed(
    account: Ed25519Account,
    params: Mapping[str, Any] | None = None,
    *,
    signed_by: Ed25519PrivateKey | None = None,
) -> dict[str, Any]:
    """WebSocket API `params` signed for `account`: `apiKey` and `timestamp` added (unless
    given), then `signature`, the base64 Ed25519 signature of the params sorted by name."""
    fields = dict(params or {})
    fields.setdefault("apiKey", account.api_key)
    fields.setdefault("timestamp", now_ms())
    fields["signature"] = sign_ed25519(signed_by or account.private_key, signature_payload(fields))
    return fields


class WsApiConnection:
    """One `/ws-api/v3` connection: requests sent as given, replies matched by id, user
    data events kept for `event` (they may come before the reply to what caused them)."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []

    @classmethod
    @asynccontextmanager
    async def connect(cls, base_url: str) -> AsyncIterator[WsApiConnection]:
        url = base_url.replace("http://", "ws://", 1) + "/ws-api/v3"
        async with websockets.connect(url, proxy=None, open_timeout=WAIT_S) as connection:
            yield cls(connection)

    async def call(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The reply to `method`."""
        request_id = f"{method}-{next(self._ids)}"
        frame: dict[str, Any] = {"id": request_id, "method": method}
        if params is not None:
            frame["params"] = dict(params)
        await self.connection.send(json.dumps(frame))
        async with asyncio.timeout(WAIT_S):
            while True:
                message = json.loads(await self.connection.recv())
                if "event" in message:
                    self._events.append(message)
                    continue
                assert message["id"] == request_id, message
                return dict(message)

    async def event(self) -> dict[str, Any]:
        """The oldest user data event not yet taken."""
        if self._events:
            return self._events.pop(0)
        async with asyncio.timeout(WAIT_S):
            while True:
                message = json.loads(await self.connection.recv())
                if "event" in message:
                    return dict(message)
