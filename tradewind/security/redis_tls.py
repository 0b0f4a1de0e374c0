"""Redis clients: over TLS with a server name of the operator's choosing, and through
Redis Sentinel to whichever server is the master now.

TLS: redis-py checks a TLS server's certificate against the host it dials and has no
parameter for another name; `rediss://10.0.0.5:6380/0?tls_server_name=redis.internal`
asks for one (see `tradewind.security.transport`). `ServerNamedSSLConnection` takes the
URL's `tls_server_name` as a keyword and hands it to asyncio as `server_hostname`, which
is both the name checked and the one sent by SNI.

Sentinel: `redis://[[user]:password@]s1:26379,s2:26379,s3:26379/DB?sentinel_master=NAME`.
The hosts are Sentinels (port 26379 where none is given), NAME is the master's name in
their `sentinel monitor` line, and the user, password and DB are the master's.
`rediss://` speaks TLS to the Sentinels and to the master alike, with the same `ssl_*`
files and `tls_server_name`. Every connection asks the Sentinels where the master is
each time it (re)connects, and drops itself when the server it reached answers as a
replica (READONLY: a demoted master), so after a failover the next attempt of a command
(redis-py's retries) lands on the promoted replica: pooled connections and the bus's
own reading connections alike. (redis-py's `SentinelConnectionPool` does the same for
the connections of one non-blocking pool only, which is why it is not used here.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.connection import Connection, SSLConnection, parse_url
from redis.asyncio.sentinel import MasterNotFoundError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, RedisError

from tradewind.security.transport import SERVER_NAME

#: The URL parameter naming the master a Redis URL's Sentinels watch.
SENTINEL_MASTER = "sentinel_master"
SENTINEL_PORT = 26379
_SENTINEL_TIMEOUT_S = 5.0  # per Sentinel asked, when the connection sets no timeout


class ServerNamedSSLConnection(SSLConnection):
    def __init__(self, *, tls_server_name: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tls_server_name = tls_server_name

    def _connection_arguments(self) -> Mapping[str, Any]:
        arguments = dict(super()._connection_arguments())
        if self.tls_server_name:
            arguments["server_hostname"] = self.tls_server_name
        return arguments


@dataclass(frozen=True, slots=True)
class SentinelGroup:
    """The Sentinels that watch the master named `master`: one URL each (no password,
    the TLS parameters of the URL they came from)."""

    master: str
    urls: tuple[str, ...]

    async def master_address(self, timeout_s: float | None = None) -> tuple[str, int]:
        """The master's host and port as the first Sentinel that answers and sees it up
        reports them. Raises `MasterNotFoundError` (a redis-py ConnectionError, which
        its retries retry) while none does, e.g. between a master's death and the
        promotion of a replica."""
        timeout_s = timeout_s or _SENTINEL_TIMEOUT_S
        problems: list[str] = []
        for url in self.urls:
            sentinel = redis_client(
                url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s, retry=None
            )
            try:
                masters = await sentinel.sentinel_masters()
            except (RedisError, OSError) as exc:
                problems.append(f"{_host_port(url)}: {exc}")
                continue
            finally:
                await sentinel.aclose()
            if isinstance(masters, list):  # RESP3's form of the reply
                masters = {master["name"]: master for master in masters}
            state = masters.get(self.master)
            # As redis-py's Sentinel.check_master_state: a master it thinks down is no answer.
            if state and state["is_master"] and not (state["is_sdown"] or state["is_odown"]):
                return str(state["ip"]), int(state["port"])
            problems.append(f"{_host_port(url)} sees no master {self.master!r} up")
        raise MasterNotFoundError(f"no Sentinel names a master: {'; '.join(problems)}")


class SentinelMasterConnection(Connection):
    """A connection to the master of `sentinels`, looked up at every (re)connect."""

    def __init__(self, *, sentinels: SentinelGroup, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sentinels = sentinels

    async def _connect(self) -> None:
        self.host, self.port = await self.sentinels.master_address(self.socket_connect_timeout)
        await super()._connect()  # type: ignore[no-untyped-call]

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().read_response(*args, **kwargs)
        except ReadOnlyError:
            # A master demoted to a replica: connect again, through the Sentinels.
            await self.disconnect()
            raise RedisConnectionError(
                f"{self.host}:{self.port} is no longer the master of {self.sentinels.master!r}"
            ) from None


_FOLLOWING: dict[type[Connection], type[Connection]] = {}


def follow_sentinels(kind: type[Connection], options: Mapping[str, Any]) -> type[Connection]:
    """`kind` itself, or, when the connection `options` (from `parse_redis_url`) name
    Sentinels, a subclass of `kind` that connects to their master
    (`SentinelMasterConnection` first in its bases). A class is made once per `kind`:
    the bus's connections, which encode commands with hiredis, follow too."""
    if "sentinels" not in options or issubclass(kind, SentinelMasterConnection):
        return kind
    following = _FOLLOWING.get(kind)
    if following is None:
        bases = (SentinelMasterConnection, kind)
        following = cast(type[Connection], type(f"Sentinel{kind.__name__}", bases, {}))
        _FOLLOWING[kind] = following
    return following


def parse_redis_url(url: str) -> dict[str, Any]:
    """redis-py's `parse_url(url)`: the connection keyword arguments a redis:// or
    rediss:// URL gives (`connection_class` SSLConnection for TLS). For a Sentinel URL
    (see the module docstring) `sentinels`, a `SentinelGroup`, stands in for host and
    port. ValueError says what is wrong."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    master = dict(query).get(SENTINEL_MASTER)
    if master is None:
        if "," in parts.netloc:
            raise ValueError(
                f"several hosts in a Redis URL are Sentinels: add ?{SENTINEL_MASTER}=NAME"
            )
        return dict(parse_url(url))
    if not master:
        raise ValueError(f"{SENTINEL_MASTER}= must name the master the Sentinels watch")
    userinfo, at, hosts = parts.netloc.rpartition("@")
    addresses = [_with_port(host) for host in hosts.split(",") if host]
    if not addresses:
        raise ValueError("a Sentinel URL names no Sentinel (host:port)")
    rest = [(name, value) for name, value in query if name != SENTINEL_MASTER]
    tls = urlencode([(name, value) for name, value in rest if _is_tls_parameter(name)])
    sentinels = SentinelGroup(
        master, tuple(urlunsplit((parts.scheme, a, "", tls, "")) for a in addresses)
    )
    # The master's own options: the URL as if it named one server.
    one_server = parts._replace(netloc=f"{userinfo}{at}sentinel-master", query=urlencode(rest))
    options = dict(parse_url(urlunsplit(one_server)))
    del options["host"]
    return {**options, "sentinels": sentinels}


def redis_address(url: str) -> str:
    """Where a Redis URL points, safe to show: `host:port`, or for a Sentinel URL
    `master NAME via s1:26379,s2:26379`."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    hosts = parts.netloc.rpartition("@")[2]
    if SENTINEL_MASTER in query:
        sentinels = ",".join(_with_port(host) for host in hosts.split(",") if host)
        return f"master {query[SENTINEL_MASTER]!r} via {sentinels}"
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"


def redis_client(url: str, **options: Any) -> aioredis.Redis:
    """`redis.asyncio.Redis.from_url(url, **options)` that understands `tls_server_name`
    on a `rediss://` URL (a `redis://` URL with it is refused by `secure_url` first) and
    Sentinel URLs (see the module docstring). As in redis-py, what the URL says wins."""
    arguments = parse_redis_url(url)
    if "sentinels" not in arguments:
        pool = aioredis.ConnectionPool.from_url(url, **options)
        if pool.connection_class is SSLConnection:
            pool.connection_class = ServerNamedSSLConnection
        elif SERVER_NAME in pool.connection_kwargs:
            raise ValueError(f"{SERVER_NAME} applies to rediss:// (Redis over TLS) only")
        return aioredis.Redis.from_pool(pool)  # closes the pool with the client
    tls = arguments.pop("connection_class", None) is SSLConnection
    if SERVER_NAME in arguments and not tls:
        raise ValueError(f"{SERVER_NAME} applies to rediss:// (Redis over TLS) only")
    kind = follow_sentinels(ServerNamedSSLConnection if tls else Connection, arguments)
    pool = aioredis.ConnectionPool(connection_class=kind, **{**options, **arguments})
    return aioredis.Redis.from_pool(pool)


def _with_port(host: str) -> str:
    """`host` (`name`, `name:port`, `[v6]`, `[v6]:port`) with the Sentinel port where it
    has none; ValueError for a port that is not a number."""
    parsed = urlsplit(f"//{host}")
    if not parsed.hostname:
        raise ValueError(f"cannot read the Sentinel address {host!r}")
    return host if parsed.port is not None else f"{host}:{SENTINEL_PORT}"


def _host_port(url: str) -> str:
    return urlsplit(url).netloc


def _is_tls_parameter(name: str) -> bool:
    return name.startswith("ssl_") or name == SERVER_NAME
