"""The cache port: keyed bytes, written and read in batches, and groups of live members.
Values are what the writer encoded (msgpack structs); the cache never interprets them.
Nothing here is the system of record: losing the cache loses nothing that is not
recomputed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class Cache(Protocol):
    async def start(self) -> None: ...

    async def put_many(self, items: Mapping[str, bytes], ttl_s: float | None = None) -> None:
        """Store every item (one round trip); `ttl_s` expires them, None keeps them."""
        ...

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The values of `keys`, None where absent, in the same order (one round trip)."""
        ...

    async def heartbeat(self, group: str, members: Mapping[str, bytes], ttl_s: float) -> None:
        """Keep each of `members` (member id -> value) in `group` for `ttl_s` seconds from
        now, replacing its value and its previous expiry (one round trip). A member that
        no heartbeat renews leaves the group; a group whose members all left is gone."""
        ...

    async def live_members(self, group: str) -> dict[str, bytes]:
        """`group`'s members whose last heartbeat is younger than its `ttl_s`, each with
        the value it carried, in no particular order; {} for an unknown group (one round
        trip)."""
        ...

    async def close(self) -> None: ...
