"""The strategy service's saved state of a bot, as `bots.strategy_state` holds it.

The column holds a `HostedBotState`: the strategy's own `state()` plus what the host
knows of the bot that the strategy does not keep itself: its open orders (so fills of
orders placed before a restart still reach it) and the order events that arrived while
it was paused. A column holding a bare `Strategy.state()` (a msgpack array;
`HostedBotState` is a map) is read as a strategy state with no host data, so a state
written by another host, or reset by hand, still loads.
"""

from __future__ import annotations

import msgspec

from tradewind.domain.events import Fill, OrderRejected
from tradewind.strategies.api import OpenOrder


class HostedBotState(msgspec.Struct, frozen=True, kw_only=True):
    """A hosted bot's saved state. `strategy` is `Strategy.state()`; `open_orders` are
    oldest first; `deferred` are the fills and rejections a paused bot has not heard."""

    strategy: bytes
    open_orders: list[OpenOrder] = []
    deferred: list[Fill | OrderRejected] = []
    host_version: int = 1


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(HostedBotState)


def encode_saved(saved: HostedBotState) -> bytes:
    return _encoder.encode(saved)


def decode_saved(data: bytes) -> HostedBotState:
    """The saved state in `data`; a bare strategy state (a msgpack array) comes back
    with no open orders. Raises `msgspec.DecodeError` when `data` is neither."""
    first = data[0] if data else 0
    if 0x80 <= first <= 0x8F or first in (0xDE, 0xDF):  # a msgpack map
        return _decoder.decode(data)
    return HostedBotState(strategy=data)
