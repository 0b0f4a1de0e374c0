"""The envelope every event and command travels in, its ids, and the msgpack codec."""

from __future__ import annotations

import os
import threading
import time

import msgspec

from tradewind.domain.commands import Command
from tradewind.domain.events import Event

#: The envelope/payload schema this code writes and the newest it can read.
SCHEMA_VERSION = 1

#: What an envelope carries: any event or command, told apart by its `type` tag.
Payload = Event | Command


class Envelope(msgspec.Struct, frozen=True, array_like=True):
    """One event or command on the bus.

    `event_id` is unique and sorts by creation time (see `new_event_id`); `key` decides
    the partition and so the order (account id for account events, `venue:SYMBOL` for
    market data); `ts_ns` is the creation time in ns since the epoch; `trace_id` follows
    an order from signal to fill.
    """

    event_id: str
    type: str
    key: str
    ts_ns: int
    trace_id: str
    schema_version: int
    payload: Payload


class _EventIds:
    """32 hex digits: 16 of time (ns, strictly increasing in this process), 8 of a
    per-process random node id, 8 of a counter. Lexicographic order is time order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ns = 0
        self._counter = 0
        self._node = _node_hex()  # formatted once: an id is made per event published

    def next(self) -> str:
        now = time.time_ns()
        with self._lock:
            if now <= self._last_ns:
                now = self._last_ns + 1
            self._last_ns = now
            counter = self._counter = (self._counter + 1) & 0xFFFFFFFF
        return f"{now:016x}{self._node}{counter:08x}"

    def reseed(self) -> None:
        """Pick a new node id; called in a forked child so it never repeats the parent."""
        self._node = _node_hex()


def _node_hex() -> str:
    return f"{int.from_bytes(os.urandom(4), 'big'):08x}"


_ids = _EventIds()
new_event_id = _ids.next
os.register_at_fork(after_in_child=_ids.reseed)


def envelope(payload: Payload, key: str, trace_id: str | None = None) -> Envelope:
    """Wrap `payload` for publishing under `key`; a new trace starts unless one is given."""
    event_id = new_event_id()
    return Envelope(
        event_id=event_id,
        type=type(payload).__struct_config__.tag,  # type: ignore[arg-type]
        key=key,
        ts_ns=time.time_ns(),
        trace_id=trace_id or event_id,
        schema_version=SCHEMA_VERSION,
        payload=payload,
    )


class UnreadableEvent(Exception):
    """A message that is not an envelope this code can read; `reason` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Envelope)
encode = _encoder.encode


def decode(raw: bytes) -> Envelope:
    """Decode one message; raises UnreadableEvent with the reason on any failure."""
    try:
        env = _decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise UnreadableEvent(f"cannot decode event: {exc}") from None
    if env.schema_version > SCHEMA_VERSION:
        raise UnreadableEvent(
            f"schema version {env.schema_version} is newer than this consumer reads "
            f"({SCHEMA_VERSION}); upgrade the consumer"
        )
    return env
