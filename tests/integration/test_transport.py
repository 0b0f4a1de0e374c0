"""Every link of the platform to its servers over verified TLS, through the platform's own
settings and adapters: Redis (bus and cache) and PostgreSQL on servers that speak TLS
themselves and ask for a client certificate, Kafka through a TLS front end (Tansu 0.6
cannot serve TLS, see tests/tls_servers.py). And each misconfiguration an operator can
make - a wrong CA, an expired certificate, a certificate for another name, a plaintext
server - refused at start-up with an error that names the link and says why; nothing
falls back to plaintext."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from redis.exceptions import RedisError
from sqlalchemy import text

from tests.tls import CertificateAuthority, Issued
from tests.tls_servers import postgres_tls, redis_plain, redis_tls, tansu_tls
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.factory import open_bus
from tradewind.cache.factory import open_cache
from tradewind.domain.events import TradeTick
from tradewind.domain.model import Instrument, Side
from tradewind.errors import ConfigError
from tradewind.runtime.settings import Settings, check_reachable, load_settings
from tradewind.store.database import Database

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("transport")


@pytest.fixture(scope="module")
def ca(workdir: Path) -> CertificateAuthority:
    return CertificateAuthority(workdir / "pki")


@pytest.fixture(scope="module")
def client(ca: CertificateAuthority) -> Issued:
    return ca.client("tradewind")  # PostgreSQL maps the certificate's CN to its user


def settings_for(ca: CertificateAuthority, client: Issued, **urls: str) -> Settings:
    return load_settings(
        require_tls=True,
        tls_ca_file=str(ca.cert),
        tls_client_cert_file=str(client.cert),
        tls_client_key_file=str(client.key),
        **urls,
    )


def tick(seq: int) -> Envelope:
    payload = TradeTick(
        instrument=Instrument.parse("sim", "BTC/USDT"),
        price=Decimal("100.5"),
        quantity=Decimal("0.01"),
        aggressor=Side.BUY,
        trade_id=str(seq),
        ts_ns=seq,
    )
    return envelope(payload, "k")


async def a_round_trip_on_the_bus(url: str) -> None:
    """One event published and handled through the bus at `url`."""
    bus = open_bus(url, partitions=1)
    await bus.start()
    got: asyncio.Queue[Envelope] = asyncio.Queue()

    async def handle(batch: Any) -> None:
        for event in batch:
            got.put_nowait(event)

    try:
        topic = f"tls.{uuid.uuid4().hex[:8]}"
        subscription = await bus.subscribe([topic], f"g{uuid.uuid4().hex[:6]}", handle)
        await bus.publish(topic, tick(7))
        received = await asyncio.wait_for(got.get(), 30)
        assert isinstance(received.payload, TradeTick) and received.payload.trade_id == "7"
        await subscription.stop()
    finally:
        await bus.close()


async def test_redis_bus_and_cache_and_postgres_work_over_verified_tls(
    ca: CertificateAuthority, client: Issued, workdir: Path
) -> None:
    with (
        redis_tls(ca, workdir, client_auth=True) as redis,
        postgres_tls(ca, workdir, client_cert=True) as postgres,
    ):
        prefix = f"tls{uuid.uuid4().hex[:8]}"
        settings = settings_for(
            ca, client,
            bus_url=f"{redis.url}?prefix={prefix}",
            cache_url=f"{redis.url}?prefix={prefix}:cache:",
            database_url=f"{postgres.url}?sslmode=verify-full",
        )  # fmt: skip
        await check_reachable(settings)
        await a_round_trip_on_the_bus(settings.bus_url)
        cache = open_cache(settings.cache_url)
        await cache.start()
        try:
            await cache.put_many({"hello": b"world"})
            assert await cache.get_many(["hello"]) == [b"world"]
        finally:
            await cache.close()
        database = Database(settings.database_url)
        try:
            await database.migrate()
            async with database.read() as conn:
                query = "SELECT ssl, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
                encrypted, client_dn = (await conn.execute(text(query))).one()
            assert encrypted and client_dn == "/CN=tradewind"
        finally:
            await database.close()


async def test_the_kafka_bus_works_over_verified_tls(
    ca: CertificateAuthority, client: Issued, workdir: Path
) -> None:
    with tansu_tls(ca, workdir, client_auth=True) as kafka:
        settings = settings_for(
            ca, client, bus_url=f"kafka://{kafka.bootstrap}?security_protocol=SSL"
        )
        await check_reachable(settings)
        await a_round_trip_on_the_bus(settings.bus_url)


@pytest.mark.parametrize("link", ("redis", "postgres", "kafka"))
async def test_a_server_is_checked_against_the_name_the_operator_gives(
    link: str, ca: CertificateAuthority, client: Issued, workdir: Path
) -> None:
    """A server whose certificate names neither `localhost` nor its address (a server
    behind a tunnel or reached by IP) is reached with `tls_server_name`, through the
    start check and the adapter itself; without it, the same URL is refused."""
    named = ca.server("internal", hosts=(f"{link}.internal",))
    server_name = f"tls_server_name={link}.internal"
    if link == "redis":
        with redis_tls(ca, workdir, server=named, client_auth=True) as redis:
            url = f"{redis.url}?prefix=tls{uuid.uuid4().hex[:8]}"
            await a_round_trip_on_the_bus(
                settings_for(ca, client, bus_url=f"{url}&{server_name}").bus_url
            )
            await a_refused_and_a_named_start(ca, client, "cache_url", url, server_name)
            cache = open_cache(settings_for(ca, client, cache_url=f"{url}&{server_name}").cache_url)
            await cache.start()
            await cache.close()
    elif link == "postgres":
        with postgres_tls(ca, workdir, server=named, client_cert=True) as postgres:
            url = f"{postgres.url}?sslmode=verify-full"
            await a_refused_and_a_named_start(ca, client, "database_url", url, server_name)
    else:
        with tansu_tls(ca, workdir, server=named) as kafka:
            url = f"kafka://{kafka.bootstrap}?security_protocol=SSL"
            await a_refused_and_a_named_start(ca, client, "bus_url", url, server_name)
            await a_round_trip_on_the_bus(
                settings_for(ca, client, bus_url=f"{url}&{server_name}").bus_url
            )


async def a_refused_and_a_named_start(
    ca: CertificateAuthority, client: Issued, field: str, url: str, server_name: str
) -> None:
    with pytest.raises(ConfigError, match="Hostname mismatch"):
        await check_reachable(settings_for(ca, client, **{field: url}), timeout_s=5)
    await check_reachable(settings_for(ca, client, **{field: f"{url}&{server_name}"}), timeout_s=5)


# -- what is refused -------------------------------------------------------------------

LINKS = ("redis", "postgres", "kafka")
FAULTS = ("wrong CA", "expired", "another name", "plaintext")
REASONS = {
    "wrong CA": "the server's certificate was refused: it is not signed by a CA this client "
    "trusts (TRADEWIND_TLS_CA_FILE)",
    "expired": "the server's certificate was refused: certificate has expired",
    "another name": "the server's certificate was refused: Hostname mismatch, certificate is "
    "not valid for 'localhost'",
    "plaintext": "",  # per link, below
}
PLAINTEXT = {
    "redis": "no answer to the TLS handshake within 3 s (a plaintext server?)",
    "postgres": "the server does not offer TLS",
    "kafka": "cannot connect to localhost:",
}
VARIABLE = {"redis": "TRADEWIND_CACHE_URL", "postgres": "TRADEWIND_DATABASE_URL"}
VARIABLE["kafka"] = "TRADEWIND_BUS_URL"


@contextlib.contextmanager
def faulty_link(
    link: str, fault: str, ca: CertificateAuthority, workdir: Path, postgres_url: str
) -> Iterator[dict[str, str]]:
    """The settings URL of a `link` server with `fault`."""
    server: Issued | None = None
    if fault == "expired":
        server = ca.server(expired=True)
    elif fault == "another name":
        server = ca.server("elsewhere", hosts=("elsewhere.example",))
    serving_ca = (
        CertificateAuthority(workdir / "other-ca", "Other CA") if fault == "wrong CA" else ca
    )
    if link == "redis":
        if fault == "plaintext":
            with redis_plain(workdir) as plain:
                yield {"cache_url": plain.url.replace("redis://", "rediss://")}
            return
        with redis_tls(serving_ca, workdir, server=server, client_auth=False) as redis:
            yield {"cache_url": redis.url}
    elif link == "postgres":
        if fault == "plaintext":  # the suite's own server runs with ssl off
            yield {"database_url": f"{postgres_url}?sslmode=verify-full"}
            return
        with postgres_tls(serving_ca, workdir, server=server, client_cert=False) as postgres:
            yield {"database_url": f"{postgres.url}?sslmode=verify-full"}
    else:
        with tansu_tls(serving_ca, workdir, server=server) as kafka:
            address = kafka.bootstrap
            if fault == "plaintext":  # Tansu's own port speaks plaintext only
                address = f"localhost:{kafka.broker_port}"
            yield {"bus_url": f"kafka://{address}?security_protocol=SSL"}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("link", LINKS)
async def test_a_misconfigured_link_is_refused_at_start_naming_it(
    link: str,
    fault: str,
    ca: CertificateAuthority,
    client: Issued,
    workdir: Path,
    postgres_url: str,
) -> None:
    with faulty_link(link, fault, ca, workdir, postgres_url) as urls:
        settings = settings_for(ca, client, **urls)
        with pytest.raises(ConfigError) as refused:
            await check_reachable(settings, timeout_s=3)
    message = str(refused.value)
    assert message.startswith(f"{VARIABLE[link]}: ")
    assert (REASONS[fault] or PLAINTEXT[link]) in message


async def test_no_link_falls_back_to_plaintext_after_the_start_check(
    ca: CertificateAuthority, client: Issued, workdir: Path
) -> None:
    """The adapters themselves refuse a plaintext server too, not only the start check."""
    with redis_plain(workdir) as plain:
        settings = settings_for(ca, client, cache_url=plain.url.replace("redis://", "rediss://"))
        cache = open_cache(settings.cache_url)
        try:
            with pytest.raises((ConfigError, RedisError)):
                await cache.start()
                await cache.put_many({"k": b"v"})
        finally:
            await cache.close()
