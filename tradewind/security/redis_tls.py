"""Redis over TLS with a server name of the operator's choosing.

redis-py checks a TLS server's certificate against the host it dials and has no
parameter for another name; `rediss://10.0.0.5:6380/0?tls_server_name=redis.internal`
asks for one (see `tradewind.security.transport`). `ServerNamedSSLConnection` takes the
URL's `tls_server_name` as a keyword and hands it to asyncio as `server_hostname`, which
is both the name checked and the one sent by SNI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import SSLConnection

from tradewind.security.transport import SERVER_NAME


class ServerNamedSSLConnection(SSLConnection):
    def __init__(self, *, tls_server_name: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tls_server_name = tls_server_name

    def _connection_arguments(self) -> Mapping[str, Any]:
        arguments = dict(super()._connection_arguments())
        if self.tls_server_name:
            arguments["server_hostname"] = self.tls_server_name
        return arguments


def redis_client(url: str, **options: Any) -> aioredis.Redis:
    """`redis.asyncio.Redis.from_url(url, **options)` that understands `tls_server_name`
    on a `rediss://` URL (a `redis://` URL with it is refused by `secure_url` first)."""
    pool = aioredis.ConnectionPool.from_url(url, **options)
    if pool.connection_class is SSLConnection:
        pool.connection_class = ServerNamedSSLConnection
    elif SERVER_NAME in pool.connection_kwargs:
        raise ValueError(f"{SERVER_NAME} applies to rediss:// (Redis over TLS) only")
    return aioredis.Redis.from_pool(pool)  # closes the pool with the client
