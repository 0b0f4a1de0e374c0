"""The simulator's own API (`/sim/v1`), for tests and demos: open funded accounts with API
keys (the testnet faucet) and switch faults on and off.

    GET    /sim/v1/accounts/{account_id}/balances -> {asset: {"free", "locked"}}
    GET    /sim/v1/accounts/{account_id}/trades -> [{"symbol", "trade_id", "client_order_id",
                              "side", "price", "quantity", "time_ms"}], oldest first
    GET    /sim/v1/accounts/{account_id}/open_orders -> [{"symbol", "client_order_id",
                              "status"}]: the orders working or waiting on the book
                              (symbols here are BASE/QUOTE, as the platform names them)
    GET    /sim/v1/submissions[?repeated=1] -> new-order requests per client order id
                              (repeated ones with "times_ms": when each came), and
                              "rate_limited": requests refused for rate (429/418/-1015;
                              on Coinbase's API its REST 429s and WebSocket refusals)
    POST   /sim/v1/accounts  {"balances": {"USDT": "10000"}, "permissions": {"trade": true,
                              "withdraw": false, "transfer": false}, "ip_restrict": false,
                              "ed25519_public_key": "-----BEGIN PUBLIC KEY-----…"}
           -> 201 {"api_key", "api_secret", "account_id"} (an HMAC key), or with
              `ed25519_public_key` 201 {"api_key", "account_id"} (an Ed25519 key).
              On a venue served with `--api coinbase`, `"key_type": "cdp"` (default)
              or `"hmac"`: 201 {"api_key": key name, "api_secret": PEM EC private key
              or HMAC secret, "account_id"} (a Coinbase CDP or legacy key; permissions
              map to can_view (always), can_trade, can_transfer)
    GET    /sim/v1/faults    -> the switches, with the seconds each has left
    POST   /sim/v1/faults    {"http_5xx_s": 5, "timeout_s": 0, "rate_limit_s": 0,
                              "hang_s": 10, "drop_websockets": true, "fail_after_accept": 1}
    DELETE /sim/v1/faults    -> every fault off

Loopback clients may call it freely; any other client needs the admin token
(`Authorization: Bearer …`, see `sim_admin`), else 401.

Every field is optional. A malformed request answers 400 {"error": "<what and where>"}.
The API secret is in the 201 body only: it is never logged.

An account opened with `ed25519_public_key` (PEM `-----BEGIN PUBLIC KEY-----`, as
Binance's key generator or `openssl pkey -in key.pem -pubout` writes it) has an Ed25519
API key, Binance's "register your public key": requests are signed with the matching
private key, which never leaves the client, and no secret is issued. A key that is not
PEM, or not Ed25519 (an RSA key, say), is a 400.
"""

from __future__ import annotations

import json
import re
import time
from decimal import Decimal
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tradewind.domain.time_units import NS_PER_MS
from tradewind.venues.simulated.exchange import KeyPermissions
from tradewind.venues.simulated.matching.filters import BALANCE_DECIMALS
from tradewind.venues.simulated.server.binance_errors import json_response
from tradewind.venues.simulated.server.signing import load_ed25519_public_key
from tradewind.venues.simulated.server.state import FaultSwitches, ServerState

_ASSET = re.compile(r"[A-Z0-9]{1,20}")
_AMOUNT = re.compile(r"[0-9]+(\.[0-9]+)?")
_ACCOUNT_FIELDS = ("balances", "permissions", "ip_restrict", "ed25519_public_key", "key_type")
_COINBASE_KEY_TYPES = ("cdp", "hmac")
_PERMISSIONS = ("trade", "withdraw", "transfer")
_FAULT_FIELDS = (
    "http_5xx_s",
    "timeout_s",
    "rate_limit_s",
    "hang_s",
    "drop_websockets",
    "fail_after_accept",
)


class InvalidRequest(ValueError):
    """A simulator API request that cannot be honoured; the message says why."""


def sim_routes(state: ServerState) -> APIRouter:
    router = APIRouter(prefix="/sim/v1")

    async def create_account(request: Request) -> Response:
        try:
            body = _object(await request.body(), _ACCOUNT_FIELDS)
            balances = _balances(body.get("balances", {}))
            permissions = _permissions(body.get("permissions", {}), body.get("ip_restrict", False))
            public_key = _ed25519_public_key(body.get("ed25519_public_key"))
            key_type = _key_type(state, body.get("key_type"), public_key)
            if key_type is not None:  # a coinbase-served venue: a Coinbase key
                creds = state.exchange.create_account(balances, permissions)
                name, secret = state.coinbase_keys.mint(
                    creds.account_id, permissions, kind=key_type
                )
                body = {"api_key": name, "api_secret": secret, "account_id": creds.account_id}
                return json_response(body, 201)
            creds = state.exchange.create_account(
                balances, permissions, ed25519_public_key=public_key
            )
        except InvalidRequest as exc:
            return _bad_request(str(exc))
        if creds.public_key is not None:  # the client holds the private key: no secret
            return json_response({"api_key": creds.api_key, "account_id": creds.account_id}, 201)
        return json_response(
            {"api_key": creds.api_key, "api_secret": creds.secret, "account_id": creds.account_id},
            201,
        )

    async def get_faults(request: Request) -> Response:
        return json_response(_faults_view(state.faults))

    async def set_faults(request: Request) -> Response:
        try:
            body = _object(await request.body(), _FAULT_FIELDS)
            _apply_faults(state.faults, body)
        except InvalidRequest as exc:
            return _bad_request(str(exc))
        return json_response(_faults_view(state.faults))

    async def clear_faults(request: Request) -> Response:
        state.faults.clear()
        return json_response(_faults_view(state.faults))

    async def submissions(request: Request) -> Response:
        """New-order requests per client order id; `?repeated=1` lists only ids sent
        more than once (what an idempotent client never does)."""
        repeated = request.query_params.get("repeated") in ("1", "true")
        rows: list[dict[str, object]] = [
            {"account_id": account, "client_order_id": cid, "requests": n}
            for (account, cid), n in state.submissions.items()
            if n > 1 or not repeated
        ]
        if repeated:
            for row in rows:
                key = (str(row["account_id"]), str(row["client_order_id"]))
                row["times_ms"] = state.repeat_times_ms.get(key, [])
        refused = (
            state.coinbase_limiters.refusals
            + state.ip_limiter.refusals
            + state.sapi_limiter.refusals
            + state.order_limiter.refusals
        )
        return json_response(
            {
                "submissions": rows,
                "total": sum(state.submissions.values()),
                "rate_limited": refused,
            }
        )

    async def balances(request: Request) -> Response:
        """Every asset of a venue account, free and locked (the venue's truth)."""
        account_id = request.path_params["account_id"]
        held = state.exchange.engine.balances(account_id)
        return json_response(
            {
                a: {"free": format(b.free, "f"), "locked": format(b.locked, "f")}
                for a, b in held.items()
            }
        )

    async def trades(request: Request) -> Response:
        """Every trade the venue account took part in (the venue's truth, for checks)."""
        account_id = request.path_params["account_id"]
        found = []
        for trade in state.exchange.engine.account_trades(account_id):
            maker = trade.maker_account_id == account_id
            side = trade.maker_side if maker else trade.maker_side.opposite
            found.append(
                {
                    "symbol": trade.symbol,
                    "trade_id": str(trade.trade_id),
                    "client_order_id": (
                        trade.maker_client_order_id if maker else trade.taker_client_order_id
                    ),
                    "side": side.value,
                    "price": format(trade.price, "f"),
                    "quantity": format(trade.quantity, "f"),
                    "time_ms": trade.ts_ns // NS_PER_MS,
                }
            )
        return json_response(found)

    async def open_orders(request: Request) -> Response:
        """The venue account's open orders (the venue's truth, for checks)."""
        account_id = request.path_params["account_id"]
        return json_response(
            [
                {
                    "symbol": o.symbol,
                    "client_order_id": o.client_order_id,
                    "status": o.status.value,
                }
                for o in state.exchange.engine.open_orders(account_id)
            ]
        )

    router.add_api_route("/accounts", create_account, methods=["POST"], include_in_schema=False)
    router.add_api_route(
        "/accounts/{account_id}/open_orders", open_orders, methods=["GET"],
        include_in_schema=False,
    )  # fmt: skip
    router.add_api_route(
        "/accounts/{account_id}/trades", trades, methods=["GET"], include_in_schema=False
    )
    router.add_api_route(
        "/accounts/{account_id}/balances", balances, methods=["GET"], include_in_schema=False
    )
    router.add_api_route("/submissions", submissions, methods=["GET"], include_in_schema=False)
    router.add_api_route("/faults", get_faults, methods=["GET"], include_in_schema=False)
    router.add_api_route("/faults", set_faults, methods=["POST"], include_in_schema=False)
    router.add_api_route("/faults", clear_faults, methods=["DELETE"], include_in_schema=False)
    return router


def _bad_request(message: str) -> Response:
    return json_response({"error": message}, 400)


def _object(raw: bytes, fields: tuple[str, ...]) -> dict[str, Any]:
    """The JSON object body (empty body = {}), with only known `fields`."""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise InvalidRequest(f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidRequest("body must be a JSON object")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise InvalidRequest(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(fields)}")
    return body


def _balances(raw: object) -> dict[str, Decimal]:
    if not isinstance(raw, dict):
        raise InvalidRequest('balances must be an object of asset -> amount, e.g. {"USDT": "10"}')
    balances: dict[str, Decimal] = {}
    for asset, amount in raw.items():
        if not _ASSET.fullmatch(asset):
            raise InvalidRequest(f"balances: asset {asset!r} must be 1-20 of A-Z, 0-9")
        if not isinstance(amount, str) or not _AMOUNT.fullmatch(amount):
            raise InvalidRequest(
                f'balances.{asset}: amount must be a decimal string >= 0 such as "10.5", '
                f"got {json.dumps(amount)}"
            )
        decimals = len(amount.partition(".")[2])
        if decimals > BALANCE_DECIMALS:  # as the exchange's balances: see `filters`
            raise InvalidRequest(
                f"balances.{asset}: at most {BALANCE_DECIMALS} decimals, got {decimals}"
            )
        balances[asset] = Decimal(amount)
    return balances


def _permissions(raw: object, ip_restrict: object) -> KeyPermissions:
    if not isinstance(raw, dict):
        raise InvalidRequest('permissions must be an object such as {"trade": true}')
    unknown = sorted(set(raw) - set(_PERMISSIONS))
    if unknown:
        raise InvalidRequest(
            f"permissions: unknown {', '.join(unknown)}; known: {', '.join(_PERMISSIONS)}"
        )
    for name, value in raw.items():
        if not isinstance(value, bool):
            raise InvalidRequest(f"permissions.{name} must be true or false")
    if not isinstance(ip_restrict, bool):
        raise InvalidRequest("ip_restrict must be true or false")
    defaults = KeyPermissions()
    return KeyPermissions(
        trade=raw.get("trade", defaults.trade),
        withdraw=raw.get("withdraw", defaults.withdraw),
        transfer=raw.get("transfer", defaults.transfer),
        ip_restrict=ip_restrict,
    )


def _ed25519_public_key(raw: object) -> Ed25519PublicKey | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidRequest(
            "ed25519_public_key must be a string: the PEM public key, -----BEGIN PUBLIC KEY-----…"
        )
    try:
        return load_ed25519_public_key(raw)
    except ValueError as exc:
        raise InvalidRequest(f"ed25519_public_key {exc}") from None


def _key_type(
    state: ServerState, raw: object, public_key: Ed25519PublicKey | None
) -> Literal["cdp", "hmac"] | None:
    """The Coinbase key kind to mint: "cdp" (default) or "hmac" on a coinbase-served
    venue, None (a Binance key) on a binance-served one."""
    if state.api != "coinbase":
        if raw is not None:
            raise InvalidRequest("key_type applies to a venue served with --api coinbase")
        return None
    if public_key is not None:
        raise InvalidRequest("ed25519_public_key applies to a venue served with --api binance")
    if raw is None or raw == "cdp":
        return "cdp"
    if raw == "hmac":
        return "hmac"
    raise InvalidRequest(f"key_type must be one of {', '.join(_COINBASE_KEY_TYPES)}, got {raw!r}")


def _seconds(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InvalidRequest(f"{name} must be a number of seconds >= 0, got {json.dumps(value)}")
    return float(value)


def _apply_faults(faults: FaultSwitches, body: dict[str, Any]) -> None:
    """Validate everything first, then switch: a bad request changes nothing."""
    durations = {name: _seconds(body, name) for name in ("http_5xx_s", "timeout_s", "rate_limit_s")}
    hang_s = _seconds(body, "hang_s")
    drop = body.get("drop_websockets", False)
    if not isinstance(drop, bool):
        raise InvalidRequest("drop_websockets must be true or false")
    fail_after = body.get("fail_after_accept")
    if fail_after is not None and (
        isinstance(fail_after, bool) or not isinstance(fail_after, int) or fail_after < 0
    ):
        raise InvalidRequest(f"fail_after_accept must be an integer >= 0, got {fail_after!r}")
    now_ms = int(time.time() * 1000)
    until = {name: now_ms + int(s * 1000) if s else 0 for name, s in durations.items()}
    if durations["http_5xx_s"] is not None:
        faults.http_5xx_until_ms = until["http_5xx_s"]
    if durations["timeout_s"] is not None:
        faults.timeout_until_ms = until["timeout_s"]
    if durations["rate_limit_s"] is not None:
        faults.rate_limit_until_ms = until["rate_limit_s"]
    if hang_s is not None:
        faults.hang_s = hang_s
    if fail_after is not None:
        faults.fail_after_accept = fail_after
    if drop:
        faults.drop_websockets()


def _faults_view(faults: FaultSwitches) -> dict[str, object]:
    now_ms = time.time() * 1000

    def left_s(until_ms: int) -> float:
        return round(max(0.0, (until_ms - now_ms) / 1000), 3)

    return {
        "http_5xx_s": left_s(faults.http_5xx_until_ms),
        "timeout_s": left_s(faults.timeout_until_ms),
        "rate_limit_s": left_s(faults.rate_limit_until_ms),
        "hang_s": faults.hang_s,
        "fail_after_accept": faults.fail_after_accept,
        "websocket_epoch": faults.websocket_epoch,
    }
