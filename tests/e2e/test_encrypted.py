"""The distributed platform with every link encrypted and verified, under
TRADEWIND_REQUIRE_TLS=true: the services as OS processes on a Redis that speaks only TLS
and asks for client certificates (bus and cache), a PostgreSQL cluster that rejects
connections without TLS and logs in by client certificate, the simulated exchange on
HTTPS/WSS with a certificate from the test's own CA (Binance's rate limits on, execution
pacing by them), and the gateway on HTTPS. At the end the platform agrees with the venue
as in the plaintext run, the venue refused no request for rate, and PostgreSQL saw no
connection in clear text. (Kafka over TLS is covered by tests/integration/test_transport.py
through a TLS front end: the Tansu broker of the test suite cannot serve TLS.)"""

from __future__ import annotations

import contextlib
import ssl
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.tls import CertificateAuthority, Issued
from tests.tls_servers import postgres_tls, redis_tls
from tradewind.bus.tansu import free_port
from tradewind.chaos.platform import (
    SERVICES,
    Process,
    open_demo_accounts,
    platform_env,
    refused_for_rate,
    serving_venue,
    start_services,
    trade_for,
    trades_missing_from_fills,
    venue_http,
    wait_until_portfolios_match,
)
from tradewind.security.master_keys import generate_master_key

pytestmark = pytest.mark.servers

BOTS = 20
RUN_S = 15.0
MIN_ORDERS = 20
SERVICES_AND_GATEWAY = (*SERVICES, "gateway")


def venue_over_https(server: Issued, logs: Path) -> contextlib.AbstractContextManager[str]:
    """`tradewind venue serve` on HTTPS/WSS with `server`'s certificate."""
    tls = ("--tls-cert", str(server.cert), "--tls-key", str(server.key))
    return serving_venue(logs, "--seed", "5", *tls, url="https://localhost")


def with_files(url: str, ca: CertificateAuthority, client: Issued) -> str:
    """A PostgreSQL URL carrying its TLS files, for this test's own connections."""
    return (
        f"{url}?sslmode=verify-full&sslrootcert={ca.cert}&sslcert={client.cert}&sslkey={client.key}"
    )


async def test_every_link_encrypted_and_verified_the_platform_agrees_with_the_venue(
    tmp_path: Path,
) -> None:
    ca = CertificateAuthority(tmp_path / "pki")
    server, client = ca.server(), ca.client("tradewind")
    prefix = f"tls{uuid.uuid4().hex[:8]}"
    with (
        redis_tls(ca, tmp_path, server=server, client_auth=True) as redis,
        postgres_tls(ca, tmp_path, server=server, client_cert=True) as postgres,
        venue_over_https(server, tmp_path) as venue_url,
    ):
        ca_file = str(ca.cert)
        own_database_url = with_files(postgres.url, ca, client)
        master_keys = generate_master_key()
        accounts = await open_demo_accounts(own_database_url, master_keys, venue_url, BOTS, ca_file)
        gateway_port = free_port()
        env = platform_env(
            bus_url=f"{redis.url}?prefix={prefix}", redis_url=redis.url, prefix=prefix,
            database_url=f"{postgres.url}?sslmode=verify-full", venues=venue_url,
            master_keys=master_keys,
        )  # fmt: skip
        env |= {
            "TRADEWIND_REQUIRE_TLS": "true",
            "TRADEWIND_TLS_CA_FILE": ca_file,
            "TRADEWIND_TLS_CLIENT_CERT_FILE": str(client.cert),
            "TRADEWIND_TLS_CLIENT_KEY_FILE": str(client.key),
            "TRADEWIND_VENUE_CA_FILE": ca_file,
            "TRADEWIND_TLS_CERT_FILE": str(server.cert),
            "TRADEWIND_TLS_KEY_FILE": str(server.key),
            "TRADEWIND_HTTP_PORT": str(gateway_port),
            "TRADEWIND_JWT_SECRET": "an-e2e-secret-of-at-least-32-bytes!!",
        }
        processes: list[Process] = []
        try:
            await start_services(env, tmp_path, processes, SERVICES_AND_GATEWAY)
            await sign_up_and_in_over_https(f"https://localhost:{gateway_port}", ca_file)
            await trade_for(venue_url, min_s=RUN_S, orders=MIN_ORDERS, max_s=90, ca_file=ca_file)
            for process in reversed(processes[2:5]):  # strategy, marketdata, risk
                assert process.stop() == 0, f"{process.name} did not exit 0"
            await wait_until_portfolios_match(
                accounts, own_cache_url(env, ca, client), venue_url, within_s=60, ca_file=ca_file
            )
            missing = await trades_missing_from_fills(
                accounts, own_database_url, venue_url, ca_file
            )
            assert missing == [], f"{len(missing)} venue trades not in fills, e.g. {missing[:3]}"
            assert await connections_in_clear_text(postgres.port, ca, client) == 0
        finally:
            for process in processes:
                process.close()
        async with venue_http(venue_url, ca_file) as http:
            repeated = (await http.get("/sim/v1/submissions?repeated=1")).json()["submissions"]
        assert repeated == [], f"client order ids sent twice: {repeated[:5]}"
        refused = await refused_for_rate(venue_url, ca_file)
        assert refused == 0, f"the venue refused {refused} requests for rate"


async def sign_up_and_in_over_https(gateway_url: str, ca_file: str) -> None:
    """A user signs up and in at the gateway over HTTPS (HSTS on every answer)."""
    verify = ssl.create_default_context(cafile=ca_file)
    async with httpx.AsyncClient(base_url=gateway_url, verify=verify, timeout=30) as http:
        credentials = {"email": "tls@example.com", "password": "a-long-enough-password"}
        assert (await http.post("/api/v1/auth/register", json=credentials)).status_code == 202
        login = await http.post("/api/v1/auth/login", json=credentials)
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        answer = await http.get("/api/v1/strategies", headers={"authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        assert answer.headers["strict-transport-security"].startswith("max-age=")


def own_cache_url(env: dict[str, str], ca: CertificateAuthority, client: Issued) -> str:
    files = f"ssl_ca_certs={ca.cert}&ssl_certfile={client.cert}&ssl_keyfile={client.key}"
    return f"{env['TRADEWIND_CACHE_URL']}&{files}"


async def connections_in_clear_text(port: int, ca: CertificateAuthority, client: Issued) -> int:
    """Client connections to the PostgreSQL cluster without TLS (the services' included)."""
    context = ssl.create_default_context(cafile=str(ca.cert))
    context.load_cert_chain(client.cert, client.key)
    conn = await asyncpg.connect(
        host="localhost", port=port, user="tradewind", database="tradewind", ssl=context
    )
    try:
        query = (
            "SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
            "WHERE a.client_addr IS NOT NULL AND NOT s.ssl"
        )
        return int(await conn.fetchval(query))
    finally:
        await conn.close()
