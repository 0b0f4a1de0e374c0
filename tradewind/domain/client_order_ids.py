"""Client order ids derived from intents, so an intent is placed at most once.

A retry, a redelivered `orders.approved` event or a restart derives the same id, and the
venue refuses a second order with it (the simulated exchange forever, some venues only while
the first is open; execution looks an order up by this id before it sends it again).
"""

from __future__ import annotations

import base64
import hashlib

CLIENT_ORDER_ID_PREFIX = "tw-"
_DOMAIN = b"tradewind/client-order-id/v1"


def client_order_id_for(account_id: str, bot_id: str, intent_id: str) -> str:
    """The client order id of an intent: `tw-` and 32 lowercase base32 characters.

    35 characters from `[a-z2-7-]`, within the strictest client-id rule of the venues
    served (`[A-Za-z0-9_-]`, at most 36). It is the first 160 bits of a SHA-256 over the
    three ids, each length-prefixed so that no two different triples hash the same input.
    """
    digest = hashlib.sha256(_DOMAIN)
    for part in (account_id, bot_id, intent_id):
        encoded = part.encode()
        digest.update(len(encoded).to_bytes(8, "big"))
        digest.update(encoded)
    return CLIENT_ORDER_ID_PREFIX + base64.b32encode(digest.digest()[:20]).decode().lower()
