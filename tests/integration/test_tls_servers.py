"""The TLS test servers really speak verified TLS: each is checked with its raw client
library (redis-py, asyncpg, aiokafka), no Tradewind code."""

from __future__ import annotations

import asyncio
import ssl
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.errors import KafkaConnectionError  # type: ignore[import-untyped]
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.tls import CertificateAuthority, Issued
from tests.tls_servers import (
    PostgresTls,
    RedisTls,
    TansuTls,
    postgres_tls,
    redis_plain,
    redis_tls,
    tansu_tls,
)

pytestmark = pytest.mark.servers

NO_RETRY = Retry(NoBackoff(), 0)  # a refused connection must fail at once, not after retries


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tls-servers")


@pytest.fixture(scope="module")
def ca(workdir: Path) -> CertificateAuthority:
    return CertificateAuthority(workdir / "pki")


@pytest.fixture(scope="module")
def client(ca: CertificateAuthority) -> Issued:
    return ca.client("tradewind")


def client_context(ca: CertificateAuthority, client: Issued | None) -> ssl.SSLContext:
    """A context that verifies the server against `ca` (and its host name) and presents
    `client`'s certificate when given."""
    context = ssl.create_default_context(cafile=str(ca.cert))
    if client is not None:
        context.load_cert_chain(client.cert, client.key)
    return context


def timed(name: str, started: float) -> None:
    print(f"{name} started in {time.monotonic() - started:.2f} s")


# --- Redis -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_server(ca: CertificateAuthority, workdir: Path) -> Iterator[RedisTls]:
    started = time.monotonic()
    with redis_tls(ca, workdir) as server:
        timed("redis_tls", started)
        yield server


def redis_client(
    server: RedisTls, ca: CertificateAuthority, client: Issued | None
) -> aioredis.Redis:
    return aioredis.Redis(
        host=server.host,
        port=server.port,
        ssl=True,
        ssl_ca_certs=str(ca.cert),
        ssl_certfile=str(client.cert) if client else None,
        ssl_keyfile=str(client.key) if client else None,
        ssl_check_hostname=True,
        socket_timeout=5,
        retry=NO_RETRY,
    )


async def test_redis_answers_a_verified_tls_client_with_a_certificate(
    redis_server: RedisTls, ca: CertificateAuthority, client: Issued
) -> None:
    assert redis_server.url == f"rediss://localhost:{redis_server.port}/0"
    connection = redis_client(redis_server, ca, client)
    try:
        assert await connection.ping() is True
    finally:
        await connection.aclose()


async def test_redis_refuses_a_tls_client_without_a_certificate(
    redis_server: RedisTls, ca: CertificateAuthority
) -> None:
    connection = redis_client(redis_server, ca, None)
    try:
        with pytest.raises(RedisConnectionError):
            await connection.ping()
    finally:
        await connection.aclose()


async def test_redis_tls_port_refuses_plaintext(redis_server: RedisTls) -> None:
    connection = aioredis.Redis(
        host=redis_server.host, port=redis_server.port, socket_timeout=5, retry=NO_RETRY
    )
    try:
        with pytest.raises(RedisConnectionError):
            await connection.ping()
    finally:
        await connection.aclose()


async def test_redis_certificate_for_another_host_fails_verification(
    ca: CertificateAuthority, workdir: Path, client: Issued
) -> None:
    elsewhere = ca.server("elsewhere", hosts=("elsewhere.example",))
    with redis_tls(ca, workdir, server=elsewhere, client_auth=False) as server:
        connection = redis_client(server, ca, client)
        try:
            with pytest.raises(RedisConnectionError, match=r"(?i)certificate|hostname"):
                await connection.ping()
        finally:
            await connection.aclose()


async def test_redis_plain_speaks_plaintext(workdir: Path) -> None:
    started = time.monotonic()
    with redis_plain(workdir) as server:
        timed("redis_plain", started)
        connection = aioredis.Redis.from_url(server.url, socket_timeout=5)
        try:
            assert await connection.ping() is True
        finally:
            await connection.aclose()


# --- PostgreSQL ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres_server(ca: CertificateAuthority, workdir: Path) -> Iterator[PostgresTls]:
    started = time.monotonic()
    with postgres_tls(ca, workdir) as server:
        timed("postgres_tls", started)
        yield server


async def connect_postgres(
    server: PostgresTls, ssl_option: ssl.SSLContext | bool
) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        database=server.database,
        ssl=ssl_option,
        timeout=10,
    )


async def test_postgres_logs_in_by_client_certificate_over_tls(
    postgres_server: PostgresTls, ca: CertificateAuthority, client: Issued
) -> None:
    assert (
        postgres_server.url == f"postgresql://tradewind@localhost:{postgres_server.port}/tradewind"
    )
    connection = await connect_postgres(postgres_server, client_context(ca, client))
    try:
        assert await connection.fetchval("SELECT 1") == 1
        row = await connection.fetchrow(
            "SELECT ssl, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        )
        assert row is not None and row["ssl"] is True and row["client_dn"] == "/CN=tradewind"
    finally:
        await connection.close()


async def test_postgres_refuses_tls_without_a_client_certificate(
    postgres_server: PostgresTls, ca: CertificateAuthority
) -> None:
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="certificate"):
        await connect_postgres(postgres_server, client_context(ca, None))


async def test_postgres_refuses_plaintext(postgres_server: PostgresTls) -> None:
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="no encryption"):
        await connect_postgres(postgres_server, False)


async def test_postgres_without_client_certificates_trusts_any_verified_tls_client(
    ca: CertificateAuthority, workdir: Path
) -> None:
    with postgres_tls(ca, workdir, client_cert=False) as server:
        connection = await connect_postgres(server, client_context(ca, None))
        try:
            assert await connection.fetchval("SELECT current_user") == "tradewind"
        finally:
            await connection.close()


# --- Tansu (Kafka protocol) ------------------------------------------------------------


@pytest.fixture(scope="module")
def kafka_server(ca: CertificateAuthority, workdir: Path) -> Iterator[TansuTls]:
    started = time.monotonic()
    with tansu_tls(ca, workdir) as server:
        timed("tansu_tls", started)
        yield server


async def test_kafka_produces_and_consumes_over_verified_tls(
    kafka_server: TansuTls, ca: CertificateAuthority
) -> None:
    topic = f"tls-{uuid.uuid4().hex[:8]}"
    context = client_context(ca, None)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_server.bootstrap,
        security_protocol="SSL",
        ssl_context=context,
        request_timeout_ms=10_000,
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"over tls", key=b"k")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_server.bootstrap,
        security_protocol="SSL",
        ssl_context=context,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), 15)
    finally:
        await consumer.stop()
    assert record.value == b"over tls"


async def test_kafka_tls_port_refuses_plaintext(kafka_server: TansuTls) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_server.bootstrap, request_timeout_ms=5_000)
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()


async def test_kafka_with_client_auth_refuses_a_client_without_a_certificate(
    ca: CertificateAuthority, workdir: Path, client: Issued
) -> None:
    with tansu_tls(ca, workdir, client_auth=True) as server:
        with_cert = AIOKafkaProducer(
            bootstrap_servers=server.bootstrap,
            security_protocol="SSL",
            ssl_context=client_context(ca, client),
        )
        await with_cert.start()
        await with_cert.stop()
        without_cert = AIOKafkaProducer(
            bootstrap_servers=server.bootstrap,
            security_protocol="SSL",
            ssl_context=client_context(ca, None),
            request_timeout_ms=5_000,
        )
        with pytest.raises(KafkaConnectionError):
            await without_cert.start()
        await without_cert.stop()
