"""One WebSocket API request frame, read the way Binance reads it (web-socket-api.md,
"Request format" and "SIGNED request security").

A frame is `{"id": INT | STRING | null, "method": STRING, "params": OBJECT}`; `params`
may be left out, and a method may carry a version prefix (`"v3/order.place"`). Each
parameter is kept as the text a REST query string would carry, so the REST validation
(`rest_params.Params`) applies unchanged: strings as they are, numbers exactly as
written in the JSON, booleans `true` / `false`, arrays (`symbols`) as compact JSON; a
null counts as not sent. The signature payload is those texts, `signature` left out,
sorted by name and joined `name=value&...` without URL-encoding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import msgspec

from tradewind.venues.simulated.server.binance_errors import BinanceError

_VERSION_PREFIX = "v3/"
_NO_PARAMS = msgspec.Raw(b"{}")


class _Frame(msgspec.Struct, frozen=True):
    method: str
    params: msgspec.Raw = _NO_PARAMS
    id: int | str | None = None


class _FrameId(msgspec.Struct, frozen=True):
    id: int | str | None = None


@dataclass(frozen=True)
class WsApiRequest:
    """A decoded request: its `id` (echoed in the reply), the method name without a
    version prefix, and its parameters as text."""

    id: int | str | None
    method: str
    values: Mapping[str, str]

    def signature_payload(self) -> str:
        """What the client signed: every parameter but `signature`, sorted by name."""
        return "&".join(
            f"{name}={value}" for name, value in sorted(self.values.items()) if name != "signature"
        )


class InvalidWsApiRequest(BinanceError):
    """A frame that is not a request: -1135, with the frame's `request_id` if it has a
    readable one (the reply echoes it)."""

    def __init__(self, msg: str, request_id: int | str | None) -> None:
        super().__init__(-1135, msg)
        self.request_id = request_id


def decode_request(text: str) -> WsApiRequest:
    """The request in `text`; raises InvalidWsApiRequest if it is not one."""
    try:
        frame = msgspec.json.decode(text, type=_Frame)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidWsApiRequest(f"Invalid JSON request: {exc}", _frame_id(text)) from None
    try:
        raw_params = msgspec.json.decode(frame.params, type=dict[str, msgspec.Raw])
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise InvalidWsApiRequest(
            "Invalid 'params' in JSON request; expected an object.", frame.id
        ) from None
    values: dict[str, str] = {}
    for name, raw in raw_params.items():
        value = _text(raw)
        if value is not None:
            values[name] = value
    return WsApiRequest(frame.id, frame.method.removeprefix(_VERSION_PREFIX), values)


def _text(raw: msgspec.Raw) -> str | None:
    value = msgspec.json.decode(raw)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return bytes(raw).decode().strip()  # as written: "0.01000000" stays so
    return msgspec.json.encode(value).decode()


def _frame_id(text: str) -> int | str | None:
    try:
        return msgspec.json.decode(text, type=_FrameId).id
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
