"""How Binance's error codes are read: its answers to a refused request are
`{"code": -2010, "msg": "..."}`."""

from __future__ import annotations

import json

from tradewind.venues.profile import code_in_message


def error_code(message: str, body: str | None) -> int | None:
    """Binance's code of a refusal: in the ccxt message (ccxt quotes the body:
    `binance {"code":-2010,...}`), or in `body` (the last HTTP body ccxt read) when that
    body's `msg` is what the message reports, so a stale body of an earlier call is
    never taken (ccxt drops the code when it matched the message)."""
    code = code_in_message(message, body)
    if code is not None:
        return code
    try:
        answer = json.loads(body) if body else None
    except ValueError:
        return None
    if isinstance(answer, dict) and isinstance(answer.get("msg"), str) and answer["msg"]:
        found = answer.get("code")
        if isinstance(found, int) and answer["msg"] in message:
            return found
    return None
