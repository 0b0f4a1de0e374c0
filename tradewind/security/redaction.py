"""Masks for secrets that must be recognisable but never readable: in logs, in API
responses ("your key abcd…wxyz"), in error messages.

`mask_api_key` shows at most 4 leading and 4 trailing characters, and less of a short
key; `redact_secret_fields` is a structlog processor that masks any field whose name
says it holds a secret, so a careless `log.info("connected", api_secret=...)` leaks
nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

MASK = "****"
"""What a fully hidden value is replaced by, whatever its length."""

_FULL_REVEAL_MIN_CHARS = 20  # 4 + 4 shown of at least 20: never more than 40 %
_TAIL_REVEAL_MIN_CHARS = 12  # last 4 shown of at least 12: at most a third

_SECRET_FIELD = re.compile(
    r"(secret|passw(or)?d|passphrase|token|api_?key|private_?key|master_?key|"
    r"authorization|cookie|signature|credential)",
    re.IGNORECASE,
)


def mask_api_key(key: str | None) -> str:
    """`key` masked for display: `abcd…wxyz` for keys of 20 characters or more,
    `…wxyz` for 12-19, and `****` for anything shorter (or empty, or None), so a short
    key is never mostly revealed and the mask never tells the length."""
    text = (key or "").strip()
    if len(text) >= _FULL_REVEAL_MIN_CHARS:
        return f"{text[:4]}…{text[-4:]}"
    if len(text) >= _TAIL_REVEAL_MIN_CHARS:
        return f"…{text[-4:]}"
    return MASK


def is_secret_field(name: str) -> bool:
    """Whether a field called `name` holds a secret by its name (`api_secret`,
    `password`, `refresh_token`, `Authorization` …)."""
    return _SECRET_FIELD.search(name) is not None


def redact_mapping(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `data` with the value of every secret-named field (see
    `is_secret_field`) replaced by `****` unless it is None or a number, nested mappings
    and lists included. A field
    named like an API key (`api_key`, `apiKey`) is masked with `mask_api_key` instead, so
    it stays recognisable."""
    return {key: _redact_value(key, value) for key, value in data.items()}


def redact_secret_fields(
    logger: object, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: `redact_mapping` applied to every log event; put it last
    before the renderer."""
    return redact_mapping(event_dict)


def _redact_value(name: str, value: Any) -> Any:
    if is_secret_field(name):
        if isinstance(value, str) and re.search(r"api_?key", name, re.IGNORECASE):
            return mask_api_key(value)
        # None, numbers and flags carry no secret (`token_ttl_s=900`); all else is hidden.
        return value if value is None or isinstance(value, int | float) else MASK
    if isinstance(value, Mapping):
        return {str(key): _redact_value(str(key), item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(name, item) for item in value]
    return value
