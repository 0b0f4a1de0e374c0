"""Client order ids: the fast encoding gives the ids the platform has always given (a
changed id would let a restarted bot place an intent again under a new id)."""

from __future__ import annotations

import base64
import hashlib

from hypothesis import given
from hypothesis import strategies as st

from tradewind.domain.client_order_ids import client_order_id_for


def reference_id(account_id: str, bot_id: str, intent_id: str) -> str:
    """The definition: SHA-256 over the length-prefixed ids, first 160 bits, base32."""
    digest = hashlib.sha256(b"tradewind/client-order-id/v1")
    for part in (account_id, bot_id, intent_id):
        encoded = part.encode()
        digest.update(len(encoded).to_bytes(8, "big"))
        digest.update(encoded)
    return "tw-" + base64.b32encode(digest.digest()[:20]).decode().lower()


@given(st.text(), st.text(), st.text())
def test_the_id_is_the_reference_encoding_of_the_hash(account: str, bot: str, intent: str) -> None:
    assert client_order_id_for(account, bot, intent) == reference_id(account, bot, intent)


def test_a_known_id_never_changes() -> None:
    # Pinned: orders in flight at an upgrade are found again by this id.
    assert (
        client_order_id_for("acct-1", "bot-1", "bot-1:0") == "tw-fmwtee3kak7fm6bhrlckrx4osdfkp75n"
    )


def test_ids_are_35_characters_of_the_venues_strictest_alphabet() -> None:
    allowed = set("abcdefghijklmnopqrstuvwxyz234567-")
    for n in range(200):
        cid = client_order_id_for(f"a{n}", "b", f"b:{n}")
        assert len(cid) == 35 and set(cid) <= allowed


def test_the_length_prefix_keeps_different_triples_apart() -> None:
    assert client_order_id_for("ab", "c", "d") != client_order_id_for("a", "bc", "d")
