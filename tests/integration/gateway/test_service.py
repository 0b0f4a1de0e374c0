"""The `gateway` service in the runtime: serving HTTP and HTTPS, migrating its database,
relaying bot commands to the bus, reporting its peers, and refusing bad configuration
by naming the setting."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from tests.integration.gateway.serving import free_port, gateway_settings, serving
from tests.integration.gateway.support import Api
from tests.unit.security.factories import master_keys
from tradewind.bus.envelope import Envelope
from tradewind.bus.topics import BOT_COMMANDS
from tradewind.domain.bot_lifecycle import BotAction
from tradewind.domain.commands import BotCommand
from tradewind.errors import ConfigError
from tradewind.runtime.service import AdminEndpoints, Resources, Service, ServiceContext
from tradewind.runtime.service_status import this_instance
from tradewind.security.encryption import Encryptor, StoredSecret
from tradewind.services.execution.gate import BreakerStatus
from tradewind.store.database import Database
from tradewind.store.schema import exchange_accounts
from tradewind.venues.directory import SimulatedVenues
from tradewind.venues.simulated.exchange import SimulatedExchange


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "gateway.crt", tmp_path / "gateway.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file


async def test_the_gateway_serves_https_with_the_configured_certificate(
    tmp_path: Path, exchange: SimulatedExchange
) -> None:
    cert, key = self_signed(tmp_path)
    settings = gateway_settings(tmp_path, tls_cert_file=str(cert), tls_key_file=str(key))
    async with serving(settings, exchange) as server:
        assert server.url.startswith("https://")
        trusted = ssl.create_default_context(cafile=str(cert))
        async with httpx.AsyncClient(base_url=server.url, verify=trusted) as client:
            api = Api(client, server.state, exchange)
            user = await api.sign_up()
            me = await client.get("/api/v1/me", headers=user.headers)
            assert me.status_code == 200
            missing = await client.get("/api/v1/bots/0123", headers=user.headers)
            assert missing.status_code == 404
        rendered = server.metrics.render().decode()
        assert (
            'tradewind_gateway_requests_total{method="GET",route="/api/v1/me",status="200"} 2.0'
            in rendered
        )
        assert 'route="/api/v1/bots/{bot_id}",status="404"' in rendered
        assert "tradewind_gateway_websocket_clients 0.0" in rendered
        plain = server.url.replace("https", "http", 1)
        async with httpx.AsyncClient(base_url=plain) as client:
            with pytest.raises(httpx.HTTPError):
                await client.get("/openapi.json")


async def test_bot_commands_reach_the_bus_through_the_outbox_relay(
    tmp_path: Path, exchange: SimulatedExchange
) -> None:
    async with serving(gateway_settings(tmp_path), exchange) as server:
        received: list[Envelope] = []
        done = asyncio.Event()

        async def collect(batch: Sequence[Envelope]) -> None:
            received.extend(batch)
            done.set()

        await server.bus.subscribe([BOT_COMMANDS], "strategy", collect)
        async with httpx.AsyncClient(base_url=server.url) as client:
            api = Api(client, server.state, exchange)
            user = await api.sign_up()
            bot = await api.create_bot(user, (await api.connect_account(user))["id"])
            started = await client.post(f"/api/v1/bots/{bot['id']}/start", headers=user.headers)
            assert started.status_code == 200
        async with asyncio.timeout(5):
            await done.wait()
        command = received[0].payload
        assert isinstance(command, BotCommand)
        assert (command.bot_id, command.action, command.issued_by) == (
            bot["id"],
            BotAction.START,
            user.id,
        )


class Execution(Service):
    name = "execution"

    async def start(self, ctx: ServiceContext) -> None: ...

    async def stop(self) -> None: ...

    @property
    def ready(self) -> bool:
        return True

    def admin_endpoints(self) -> AdminEndpoints:
        # What the real execution service answers (ExecutionService.breakers).
        status = BreakerStatus(venue="sim", state="open", open_for_s=3.0, blocked_for_s=0.0)
        return {"/breakers": lambda: [status]}


async def test_operators_see_peer_health_breakers_and_kill_switches(
    tmp_path: Path, exchange: SimulatedExchange
) -> None:
    async with (
        serving(gateway_settings(tmp_path), exchange, peers=[Execution()]) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        operator = await Api(client, server.state, exchange).as_roles("operator")
        here = this_instance()  # the gateway's process, which its peers share
        health = await client.get("/api/v1/admin/health", headers=operator.headers)
        assert health.json() == [
            {"name": "gateway", "instance": here, "status": "ready"},
            {"name": "execution", "instance": here, "status": "ready"},
        ]
        breakers = await client.get("/api/v1/admin/breakers", headers=operator.headers)
        assert breakers.json() == [{"venue": "sim", "instance": here, "state": "open"}]

        engaged = await client.post(
            "/api/v1/admin/kill-switches",
            json={"scope": "venue", "target": "sim", "reason": "exchange incident"},
            headers=operator.headers,
        )
        assert engaged.status_code == 200, engaged.text
        assert engaged.json()["published"] is True
        listed = await client.get("/api/v1/admin/kill-switches", headers=operator.headers)
        assert [(s["scope"], s["target"]) for s in listed.json()] == [("venue", "sim")]
        bad = await client.post(
            "/api/v1/admin/kill-switches",
            json={"scope": "global", "target": "sim", "reason": "x"},
            headers=operator.headers,
        )
        assert bad.status_code == 422
        released = await client.post(
            "/api/v1/admin/kill-switches/release",
            json={"scope": "venue", "target": "sim"},
            headers=operator.headers,
        )
        assert released.json()["changed"] is True
        audit = await client.get(
            "/api/v1/admin/audit",
            params={"action": "kill_switch.engaged"},
            headers=operator.headers,
        )
        assert audit.json()["items"][0]["detail"] == {"reason": "exchange incident"}


async def test_within_a_run_the_gateway_uses_the_shared_database_venues_and_encryptor(
    tmp_path: Path, exchange: SimulatedExchange
) -> None:
    shared = Database(f"sqlite:///{tmp_path / 'shared.db'}")
    await shared.migrate()
    resources = Resources(
        venues=SimulatedVenues(exchange), database=shared, encryptor=Encryptor(master_keys("r1"))
    )
    resources.services = (Execution(),)  # the runner's: every service of the process
    settings = gateway_settings(tmp_path, master_keys=None, venue_urls="")
    async with (
        serving(settings, None, resources=resources, peers=None) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        api = Api(client, server.state, exchange)
        await api.connect_account(await api.sign_up())
        # The other services of the run are the gateway's peers (they were never seen
        # under `tradewind up` while the gateway looked for a field Resources lacked).
        operator = await api.as_roles("operator")
        health = await client.get("/api/v1/admin/health", headers=operator.headers)
        assert [peer["name"] for peer in health.json()] == ["gateway", "execution"]
        breakers = await client.get("/api/v1/admin/breakers", headers=operator.headers)
        assert [(b["venue"], b["state"]) for b in breakers.json()] == [("sim", "open")]
    async with shared.read() as conn:  # still open: the run closes what it shares
        stored = (await conn.execute(select(exchange_accounts))).mappings().one()
    assert StoredSecret.from_json(stored["api_secret_encrypted"]).kid == "r1"
    assert not (tmp_path / "tradewind.db").exists()
    await shared.close()


async def test_without_a_jwt_secret_a_sqlite_gateway_keeps_a_private_one_by_the_database(
    tmp_path: Path, exchange: SimulatedExchange
) -> None:
    settings = gateway_settings(tmp_path, jwt_secret=None)
    async with (
        serving(settings, exchange) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        user = await Api(client, server.state, exchange).sign_up()
    secret_file = tmp_path / "tradewind.db.jwt-secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    async with (
        serving(settings, exchange) as server,  # the same secret again
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        me = await client.get("/api/v1/me", headers=user.headers)
        assert me.status_code == 200


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"master_keys": None}, "TRADEWIND_MASTER_KEYS"),
        (
            {"database_url": "postgresql://127.0.0.1:1/x", "jwt_secret": None},
            "TRADEWIND_JWT_SECRET",
        ),
        ({"jwt_secret": "too-short"}, "TRADEWIND_JWT_SECRET"),
        ({"tls_cert_file": "/nonexistent.crt"}, "TRADEWIND_TLS_KEY_FILE"),
        (
            {"tls_cert_file": "/nonexistent.crt", "tls_key_file": "/nonexistent.key"},
            "TRADEWIND_TLS_CERT_FILE",
        ),
    ],
)
async def test_bad_configuration_is_a_config_error_naming_the_setting(
    tmp_path: Path, exchange: SimulatedExchange, overrides: dict[str, Any], setting: str
) -> None:
    with pytest.raises(ConfigError) as error:
        async with serving(gateway_settings(tmp_path, **overrides), exchange):
            pass
    assert error.value.setting == setting


async def test_no_venues_and_a_busy_port_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        async with serving(gateway_settings(tmp_path), None):
            pass
    assert error.value.setting == "TRADEWIND_VENUE_URLS"
    port = free_port()
    settings = gateway_settings(tmp_path, http_port=port, venue_urls="sim=http://127.0.0.1:1")
    async with serving(settings, None):
        with pytest.raises(ConfigError) as busy:
            async with serving(settings, None):
                pass
    assert busy.value.setting == "TRADEWIND_HTTP_PORT"
