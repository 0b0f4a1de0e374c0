"""Small builders shared by the security tests."""

from __future__ import annotations

import base64
import hashlib

from tradewind.security.master_keys import StaticMasterKeys


def key_bytes(kid: str) -> bytes:
    """A fixed 32-byte key per kid, so `k1` is the same key in every provider."""
    return hashlib.sha256(f"test master key {kid}".encode()).digest()


def key_text(kid: str) -> str:
    """`kid:BASE64` of `key_bytes(kid)`."""
    return f"{kid}:{base64.b64encode(key_bytes(kid)).decode()}"


def master_keys(*kids: str) -> StaticMasterKeys:
    """A provider holding `kids`, the first current."""
    return StaticMasterKeys({kid: key_bytes(kid) for kid in kids}, current_kid=kids[0])
