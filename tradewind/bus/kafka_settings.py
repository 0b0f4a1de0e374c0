"""Settings of the Kafka bus, read from its URL, and the aiokafka arguments they become.

URL: `kafka://[user:password@]host:port[,host:port...][?option=value&...]`. Credentials
in the user-info part are SASL credentials (percent-encode special characters); they
never appear in error messages, which name the bootstrap servers only.

Options (units in the names; defaults in brackets):

- `partitions` comes from the caller (`open_bus(..., partitions=8)`), not the URL.
- `connect_timeout_s` [5]: total budget of `start()`, retries included.
- `request_timeout_ms` [10000]: longest wait for any one broker response.
- `retry_backoff_ms` [100]: pause before a retriable request is sent again.
- `publish_timeout_s` [10]: longest wait of `publish`/`publish_batch` for the acks.
- `linger_ms` [0]: extra wait to fill a record batch; publish_batch and the request in
  flight already batch, so a linger only adds latency.
- `batch_bytes` [524288]: largest record batch per partition (keep under the broker's
  `message.max.bytes`, 1 MiB by default).
- `compression_type` [none]: `gzip`, `snappy`, `lz4` or `zstd` (all but gzip need
  their Python package installed: python-snappy, lz4, zstandard).
- `enable_idempotence` [false]: exactly-once appends per producer session; the broker
  must support InitProducerId (Tansu 0.6 does not).
- `replication_factor` [1]: for topics the bus creates.
- `session_timeout_ms` [2000]: a member that sends no heartbeat for this long is
  presumed dead and its partitions move. Tansu also holds every rebalance's join phase
  for half of it rounded up to whole seconds (1 s at 2000, 2 s at 2500), which the whole
  group waits out, so a dead member's partitions are read again ~3.3 s after its death
  (bench/takeover.py; 3.2-5.8 s in the chaos runs, ~4.5 s at 2500; docs/failover.md).
  Stock Kafka refuses values under its `group.min.session.timeout.ms` (6000 by
  default): lower that on the brokers, or raise this (take-over then takes longer). See
  docs/failover.md for what a shorter timeout costs.
- `heartbeat_interval_ms` [400]: how often members heartbeat, and so how soon they
  notice a rebalance; at most a third of the session timeout.
- `max_poll_interval_ms` [30000]: longest a handler may take for one batch before the
  member leaves the group (its batch then goes to the others); also the rebalance
  timeout (how long the broker waits for members to rejoin).
- `revoke_wait_ms` [3000]: when the group rebalances, how long a member waits for its
  batch in flight to finish and be committed before it gives up its partitions anyway
  (the whole group waits meanwhile; a batch given up on may be handled twice). Also the
  longest a stopping member waits for its last commit.
- `join_timeout_s` [30]: longest `subscribe` waits for the group to settle before it
  returns anyway (consumption starts whenever the group settles).
- `topic_check_interval_ms` [1000]: how often the bus asks the broker whether its
  topics still exist (one metadata request), creating again any it lost, as a broker
  restarted without its data has (it also checks at once when a producer connection
  closed, and holds publishes until then). Until a lost topic is back, commits on it
  fail and are retried.
- `fetch_max_wait_ms` [20]: longest the broker holds an empty fetch. Tansu holds it that
  long even when events arrive meanwhile, so on Tansu it bounds the latency of a
  caught-up consumer (publish->handler p50 about 12 ms at 20, 42 ms at 100); Kafka
  answers at once. Lower costs CPU: an idle subscription fetches
  1000/`fetch_max_wait_ms` times a second (at 20: ~1.6% of a core here, ~3% in Tansu).
- `fetch_min_bytes` [1]: the broker holds a fetch until this much is there (or
  `fetch_max_wait_ms` passed). Larger means fewer, bigger fetches: on Tansu, 65536
  (with `fetch_max_wait_ms=50`) gave about +30% publish->handler events/s under load,
  but every fetch of a quiet topic then waits the full `fetch_max_wait_ms`.
- `client_id` [tradewind].
- TLS: `security_protocol` (`PLAINTEXT` [default], `SSL`, `SASL_PLAINTEXT`,
  `SASL_SSL`; credentials alone imply `SASL_SSL`), `ssl_cafile`, `ssl_certfile`,
  `ssl_keyfile` (paths), `ssl_check_hostname` [true], `tls_server_name` (the name every
  broker's certificate carries, when it is not the host dialled).
- SASL: `sasl_mechanism` [PLAIN]: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from aiokafka import codec  # type: ignore[import-untyped]
from aiokafka.coordinator.assignors.range import (  # type: ignore[import-untyped]
    RangePartitionAssignor,
)

from tradewind.security.transport import ClientTls

_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
_COMPRESSIONS = ("none", "gzip", "snappy", "lz4", "zstd")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class KafkaSettings:
    """Everything the Kafka bus needs to connect and tune itself; see the module doc."""

    bootstrap_servers: tuple[str, ...]
    partitions: int = 8
    connect_timeout_s: float = 5.0
    request_timeout_ms: int = 10_000
    retry_backoff_ms: int = 100
    publish_timeout_s: float = 10.0
    linger_ms: int = 0
    batch_bytes: int = 512 * 1024
    compression_type: str = "none"
    enable_idempotence: bool = False
    replication_factor: int = 1
    session_timeout_ms: int = 2_000
    heartbeat_interval_ms: int = 400
    max_poll_interval_ms: int = 30_000
    revoke_wait_ms: int = 3_000
    join_timeout_s: float = 30.0
    topic_check_interval_ms: int = 1_000
    fetch_max_wait_ms: int = 20
    fetch_min_bytes: int = 1
    client_id: str = "tradewind"
    security_protocol: str = "PLAINTEXT"
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_check_hostname: bool = True
    tls_server_name: str | None = None
    sasl_mechanism: str = "PLAIN"
    sasl_username: str | None = field(default=None, repr=False)
    sasl_password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str, *, partitions: int = 8) -> KafkaSettings:
        """Parse `kafka://...`; ValueError names the part that is wrong and why."""
        parts = urlsplit(url)
        if parts.scheme != "kafka":
            raise ValueError(f"not a Kafka bus URL (kafka://host:port): {parts.scheme}://...")
        userinfo, _, hosts = parts.netloc.rpartition("@")
        servers = tuple(h.strip() for h in hosts.split(",") if h.strip())
        if not servers:
            raise ValueError("the Kafka bus URL names no broker: use kafka://host:port")
        for server in servers:
            host, sep, port = server.rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"broker {server!r} is not host:port")
        values: dict[str, Any] = {"bootstrap_servers": servers, "partitions": partitions}
        if userinfo:
            user, _, password = userinfo.partition(":")
            values["sasl_username"] = unquote(user)
            values["sasl_password"] = unquote(password)
        types = {f.name: f.type for f in fields(cls)}
        settable = sorted(
            set(types) - {"bootstrap_servers", "partitions", "sasl_username", "sasl_password"}
        )
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        for name, text in query.items():
            if name not in settable:
                raise ValueError(
                    f"unknown Kafka bus option {name!r}; known options: {', '.join(settable)}"
                )
            values[name] = _convert(name, text, str(types[name]))
        if userinfo and "security_protocol" not in query:
            values["security_protocol"] = "SASL_SSL"  # never send a password in clear text
        settings = cls(**values)
        settings._validate()
        return settings

    def _validate(self) -> None:
        if self.partitions < 1:
            raise ValueError("partitions must be at least 1")
        if self.security_protocol not in _PROTOCOLS:
            raise ValueError(
                f"security_protocol={self.security_protocol}: use one of {', '.join(_PROTOCOLS)}"
            )
        if self.sasl_mechanism not in _MECHANISMS:
            raise ValueError(
                f"sasl_mechanism={self.sasl_mechanism}: use one of {', '.join(_MECHANISMS)}"
            )
        if self.compression_type not in _COMPRESSIONS:
            raise ValueError(
                f"compression_type={self.compression_type}: use one of {', '.join(_COMPRESSIONS)}"
            )
        if self.compression_type != "none" and not getattr(codec, f"has_{self.compression_type}")():
            raise ValueError(
                f"compression_type={self.compression_type} needs its Python package "
                "installed (python-snappy, lz4 or zstandard); gzip needs none"
            )
        sasl = self.security_protocol.startswith("SASL_")
        if sasl and not self.sasl_username:
            raise ValueError(
                f"security_protocol={self.security_protocol} needs credentials: "
                "kafka://user:password@host:port"
            )
        if self.sasl_username and not sasl:
            raise ValueError(
                "the URL carries credentials but security_protocol is "
                f"{self.security_protocol}: use SASL_SSL (or SASL_PLAINTEXT on a trusted network)"
            )
        if self.topic_check_interval_ms < 1:
            raise ValueError("topic_check_interval_ms must be at least 1")
        if self.heartbeat_interval_ms * 3 > self.session_timeout_ms:
            raise ValueError(
                f"heartbeat_interval_ms={self.heartbeat_interval_ms} should be at most a third "
                f"of session_timeout_ms={self.session_timeout_ms}"
            )

    @property
    def servers_text(self) -> str:
        """The bootstrap servers as written in messages, e.g. `10.0.0.1:9092,10.0.0.2:9092`."""
        return ",".join(self.bootstrap_servers)

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for `SSL`/`SASL_SSL` (TLS >= 1.2; system CAs unless `ssl_cafile`,
        the broker's name checked unless `ssl_check_hostname=false`); ValueError
        names the certificate file that cannot be loaded."""
        if not self.security_protocol.endswith("SSL"):
            return None
        tls = ClientTls(self.ssl_cafile, self.ssl_certfile, self.ssl_keyfile, self.tls_server_name)
        try:
            return tls.context(check_hostname=self.ssl_check_hostname)
        except (OSError, ssl.SSLError) as exc:
            files = [f for f in (self.ssl_cafile, self.ssl_certfile, self.ssl_keyfile) if f]
            raise ValueError(
                f"cannot load the Kafka TLS files {', '.join(files) or '(system CAs)'}: {exc}"
            ) from None

    def connection_kwargs(self, ssl_context: ssl.SSLContext | None) -> dict[str, Any]:
        """aiokafka arguments every client (producer, consumer, admin) shares."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": list(self.bootstrap_servers),
            "client_id": self.client_id,
            "request_timeout_ms": self.request_timeout_ms,
            "retry_backoff_ms": self.retry_backoff_ms,
            "security_protocol": self.security_protocol,
            "ssl_context": ssl_context,
        }
        if self.sasl_username is not None:
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.sasl_username
            kwargs["sasl_plain_password"] = self.sasl_password
        return kwargs

    def producer_kwargs(self, ssl_context: ssl.SSLContext | None) -> dict[str, Any]:
        """aiokafka producer arguments: every event acknowledged by all in-sync replicas."""
        return {
            **self.connection_kwargs(ssl_context),
            "acks": "all",
            "enable_idempotence": self.enable_idempotence,
            "linger_ms": self.linger_ms,
            "max_batch_size": self.batch_bytes,
            "compression_type": None if self.compression_type == "none" else self.compression_type,
        }

    def consumer_kwargs(self, group: str, ssl_context: ssl.SSLContext | None) -> dict[str, Any]:
        """aiokafka consumer arguments for a member of `group` that commits by hand."""
        return {
            **self.connection_kwargs(ssl_context),
            "group_id": group,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
            "max_poll_interval_ms": self.max_poll_interval_ms,
            "rebalance_timeout_ms": self.max_poll_interval_ms,
            "fetch_max_wait_ms": self.fetch_max_wait_ms,
            "fetch_min_bytes": self.fetch_min_bytes,
            # Range, not aiokafka's round-robin: each member gets the same partition
            # numbers of every topic (they have the same count), so a key's events reach
            # one member whatever their topic (see tradewind/bus/port.py).
            "partition_assignment_strategy": (RangePartitionAssignor,),
        }


def _convert(name: str, text: str, type_name: str) -> Any:
    """One query value as the field's type; ValueError says which option is malformed."""
    try:
        if type_name == "bool":
            lowered = text.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError
        if type_name == "int":
            value: int | float = int(text)
        elif type_name == "float":
            value = float(text)
        else:
            return text or None if "None" in type_name else text
    except ValueError:
        raise ValueError(f"Kafka bus option {name}={text!r} is not a valid {type_name}") from None
    if value < 0:
        raise ValueError(f"Kafka bus option {name}={text!r} must not be negative")
    return value
