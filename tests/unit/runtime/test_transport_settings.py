"""Transport settings: what TRADEWIND_REQUIRE_TLS refuses (naming the link and what to
write instead), how the CA and client certificate reach every TLS URL, and files read
from TRADEWIND_SECRETS_DIR."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.tls import CertificateAuthority
from tradewind.errors import ConfigError
from tradewind.runtime.settings import load_settings
from tradewind.security.transport import (
    ClientTls,
    describe_tls_error,
    is_encrypted,
    postgres_ssl,
    secure_url,
)
from tradewind.store.database import postgres_tls


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.upper().startswith("TRADEWIND_"):
            monkeypatch.delenv(name)
    yield


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority(tmp_path_factory.mktemp("pki"))


def refused(**overrides: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(require_tls="true", **overrides)
    return str(caught.value)


@pytest.mark.parametrize(
    ("field", "url", "variable", "advice"),
    [
        ("bus_url", "redis://r:6379/0", "TRADEWIND_BUS_URL", "rediss://"),
        ("cache_url", "redis://r:6379/0", "TRADEWIND_CACHE_URL", "rediss://"),
        ("bus_url", "kafka://k:9092", "TRADEWIND_BUS_URL", "security_protocol=SSL"),
        (
            "bus_url",
            "kafka://u:p@k:9092?security_protocol=SASL_PLAINTEXT&sasl_mechanism=SCRAM-SHA-512",
            "TRADEWIND_BUS_URL",
            "security_protocol=SSL",
        ),
        ("database_url", "postgresql://p/db", "TRADEWIND_DATABASE_URL", "sslmode=verify-full"),
        (
            "database_url",
            "postgresql://p/db?sslmode=disable",
            "TRADEWIND_DATABASE_URL",
            "verify-full",
        ),
        (
            "database_url",
            "postgresql://p/db?sslmode=require",
            "TRADEWIND_DATABASE_URL",
            "verify-full",
        ),
        (
            "database_url",
            "postgresql://p/db?ssl=verify-ca",
            "TRADEWIND_DATABASE_URL",
            "verify-full",
        ),
        ("venue_urls", "sim=http://v:8765", "TRADEWIND_VENUE_URLS", "https://"),
    ],
)
def test_require_tls_refuses_each_plaintext_link_by_name(
    field: str, url: str, variable: str, advice: str
) -> None:
    error = refused(**{field: url})
    assert error.startswith(f"{variable}:")
    assert advice in error
    load_settings(**{field: url})  # allowed when TLS is not required


@pytest.mark.parametrize(
    "url",
    [
        "rediss://r:6379/0?ssl_cert_reqs=none",
        "rediss://r:6379/0?ssl_check_hostname=false",
        "kafka://k:9092?security_protocol=SSL&ssl_check_hostname=false",
    ],
)
def test_require_tls_refuses_urls_that_turn_certificate_checks_off(url: str) -> None:
    error = refused(bus_url=url)
    assert error.startswith("TRADEWIND_BUS_URL:") and "turns certificate checks off" in error


def test_require_tls_accepts_every_link_encrypted_and_local_ones() -> None:
    settings = load_settings(
        require_tls="true",
        bus_url="kafka://u:pw@k:9093?sasl_mechanism=SCRAM-SHA-512",
        cache_url="rediss://r:6380/0",
        database_url="postgresql://p/db?sslmode=verify-full",
        venue_urls="sim=https://v:8765",
    )
    assert settings.require_tls
    for local in ("memory://", "sqlite:///./x.db", "postgresql:///db"):
        field = "database_url" if "sql" in local else "bus_url"
        load_settings(require_tls="true", **{field: local})


def test_the_ca_and_client_certificate_reach_every_tls_url(ca: CertificateAuthority) -> None:
    client = ca.client()
    settings = load_settings(
        tls_ca_file=str(ca.cert),
        tls_client_cert_file=str(client.cert),
        tls_client_key_file=str(client.key),
        bus_url="kafka://k:9093?security_protocol=SSL",
        cache_url="rediss://r:6380/0?prefix=x",
        database_url="postgresql://p/db?ssl=verify-full",
    )
    kafka = dict(parse_qsl(urlsplit(settings.bus_url).query))
    assert (kafka["ssl_cafile"], kafka["ssl_certfile"]) == (str(ca.cert), str(client.cert))
    redis = dict(parse_qsl(urlsplit(settings.cache_url).query))
    assert redis["prefix"] == "x" and redis["ssl_ca_certs"] == str(ca.cert)
    assert redis["ssl_keyfile"] == str(client.key)
    database = dict(parse_qsl(urlsplit(settings.database_url).query))
    assert database["sslmode"] == "verify-full" and database["sslrootcert"] == str(ca.cert)
    assert database["sslkey"] == str(client.key)


def test_kafka_credentials_alone_mean_tls_and_get_the_ca(ca: CertificateAuthority) -> None:
    url = secure_url("kafka://u:pw@k:9093", ClientTls(str(ca.cert)))
    assert dict(parse_qsl(urlsplit(url).query)) == {"ssl_cafile": str(ca.cert)}


def test_plaintext_urls_get_no_certificate_files(ca: CertificateAuthority) -> None:
    tls = ClientTls(str(ca.cert))
    for url in ("redis://r:6379/0", "kafka://k:9092", "postgresql://p/db", "memory://"):
        assert secure_url(url, tls) == url


def test_a_url_with_files_of_its_own_keeps_them(ca: CertificateAuthority) -> None:
    url = "rediss://r:6380/0?ssl_ca_certs=/etc/other-ca.pem"
    assert secure_url(url, ClientTls(str(ca.cert))) == url


def test_sslmodes_that_fall_back_to_plaintext_are_not_offered() -> None:
    for mode in ("prefer", "allow"):
        with pytest.raises(ConfigError, match=f"sslmode={mode} is not offered"):
            load_settings(database_url=f"postgresql://p/db?sslmode={mode}")


def test_tls_files_must_be_readable_and_belong_together(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(ConfigError, match=r"TRADEWIND_TLS_CA_FILE: cannot read .*nope.pem"):
        load_settings(tls_ca_file=str(missing))
    client, other = ca.client(), ca.client("other")
    with pytest.raises(ConfigError, match=r"set TRADEWIND_TLS_CLIENT_CERT_FILE and .*together"):
        load_settings(tls_client_cert_file=str(client.cert))
    with pytest.raises(ConfigError, match="is not the key of"):
        load_settings(tls_client_cert_file=str(client.cert), tls_client_key_file=str(other.key))


def test_postgres_urls_become_asyncpg_arguments(ca: CertificateAuthority) -> None:
    url = f"postgresql+asyncpg://u@p/db?sslmode=verify-full&sslrootcert={ca.cert}&x=1"
    engine_url, tls = postgres_tls(url)
    assert engine_url == "postgresql+asyncpg://u@p/db?x=1"
    assert isinstance(tls, ssl.SSLContext)
    assert tls.check_hostname and tls.verify_mode is ssl.CERT_REQUIRED
    assert tls.minimum_version is ssl.TLSVersion.TLSv1_2
    verify_ca = postgres_ssl({"sslmode": "verify-ca", "sslrootcert": str(ca.cert)})
    assert isinstance(verify_ca, ssl.SSLContext) and not verify_ca.check_hostname
    assert postgres_ssl({"sslmode": "require"}) == "require"
    assert postgres_ssl({}) is None
    with pytest.raises(ConfigError, match=r"cannot load the PostgreSQL TLS files /no/ca\.pem"):
        postgres_tls("postgresql+asyncpg://u@p/db?sslmode=verify-full&sslrootcert=/no/ca.pem")


def test_a_server_name_is_accepted_on_every_link_that_checks_names(
    ca: CertificateAuthority,
) -> None:
    settings = load_settings(
        tls_ca_file=str(ca.cert),
        bus_url="kafka://10.0.0.7:9093?security_protocol=SSL&tls_server_name=kafka.internal",
        cache_url="rediss://10.0.0.5:6380/0?tls_server_name=redis.internal",
        database_url="postgresql://u@10.0.0.6/db?sslmode=verify-full&tls_server_name=pg.internal",
    )
    assert "tls_server_name=kafka.internal" in settings.bus_url
    assert "tls_server_name=redis.internal" in settings.cache_url
    _, tls = postgres_tls(settings.database_url)
    assert isinstance(tls, ssl.SSLContext) and tls.check_hostname
    assert getattr(tls, "server_name", None) == "pg.internal"


@pytest.mark.parametrize(
    ("field", "url", "problem"),
    [
        ("cache_url", "redis://r:6379/0?tls_server_name=r.internal", "applies to a TLS link"),
        ("bus_url", "kafka://k:9092?tls_server_name=k.internal", "applies to a TLS link"),
        (
            "database_url",
            "postgresql://p/db?sslmode=require&tls_server_name=p.internal",
            "needs sslmode=verify-full",
        ),
        (
            "database_url",
            "postgresql://p/db?sslmode=disable&tls_server_name=p.internal",
            "applies to a TLS link",
        ),
        (
            "cache_url",
            "rediss://r:6379/0?ssl_check_hostname=false&tls_server_name=r.internal",
            "only with the server's name checked",
        ),
        ("cache_url", "rediss://r:6379/0?tls_server_name=", "is not a host name"),
        ("cache_url", "rediss://r:6379/0?tls_server_name=a%20b", "is not a host name"),
    ],
)
def test_a_server_name_where_it_cannot_apply_is_refused(field: str, url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        load_settings(**{field: url})
    assert str(caught.value).startswith(f"TRADEWIND_{field.upper()}: ")


def test_a_named_context_checks_the_name_it_was_given_whatever_is_dialled(
    ca: CertificateAuthority,
) -> None:
    """Through a pair of memory BIOs, as asyncio drives TLS: the client asks for the
    configured name (SNI) and accepts a certificate for it although it dialled another."""
    issued = ca.server("named", hosts=("svc.internal",))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(issued.cert, issued.key)
    asked: list[str | None] = []
    server.sni_callback = lambda _sock, name, _ctx: asked.append(name)  # type: ignore[assignment,misc]
    for server_name, accepted in (("svc.internal", True), (None, False)):
        client = ClientTls(str(ca.cert), server_name=server_name).context()
        assert handshake(client, server, dialled="10.9.9.9") is accepted
    assert asked[0] == "svc.internal"


def handshake(client: ssl.SSLContext, server: ssl.SSLContext, *, dialled: str) -> bool:
    """Whether a TLS handshake between the two contexts succeeds in memory, the client
    having dialled `dialled`."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    near = client.wrap_bio(c_in, c_out, server_hostname=dialled)
    far = server.wrap_bio(s_in, s_out, server_side=True)
    done = {near: False, far: False}
    for _ in range(5):  # TLS 1.3 needs two round trips
        for side in (near, far):
            try:
                side.do_handshake()
                done[side] = True
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError:
                return False
            s_in.write(c_out.read())
            c_in.write(s_out.read())
        if all(done.values()):
            return True
    return False


def test_which_urls_are_encrypted() -> None:
    assert is_encrypted("rediss://r/0") and not is_encrypted("redis://r/0")
    assert is_encrypted("kafka://u:p@k:9092")  # credentials imply SASL_SSL
    assert not is_encrypted("kafka://k:9092?security_protocol=SASL_PLAINTEXT")
    assert is_encrypted("memory://") is None
    assert is_encrypted("postgresql:///db") is None  # the Unix socket


def test_tls_errors_are_described_for_an_operator() -> None:
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "certificate has expired"
    assert (
        describe_tls_error(verify)
        == "the server's certificate was refused: certificate has expired"
    )
    wrapped = ConnectionError("lost")
    wrapped.__cause__ = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    assert describe_tls_error(wrapped) == "the server does not speak TLS (a plaintext server?)"
    assert describe_tls_error(ConnectionError("refused")) is None


def test_settings_are_read_from_a_secrets_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "TRADEWIND_DATABASE_URL").write_text("postgresql://u:s3cret@p/db")
    monkeypatch.setenv("TRADEWIND_SECRETS_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.database_url == "postgresql://u:s3cret@p/db"
    assert "s3cret" not in repr(settings)
    monkeypatch.setenv("TRADEWIND_DATABASE_URL", "sqlite:///./x.db")
    assert load_settings().database_url == "sqlite:///./x.db"  # the environment wins
    monkeypatch.setenv("TRADEWIND_SECRETS_DIR", str(tmp_path / "none"))
    with pytest.raises(ConfigError, match=r"TRADEWIND_SECRETS_DIR: .* is not a directory"):
        load_settings()


def test_the_gateway_refuses_plain_http_when_tls_is_required(ca: CertificateAuthority) -> None:
    from tradewind.gateway.config import tls_from_settings

    with pytest.raises(ConfigError, match="TRADEWIND_TLS_CERT_FILE: the gateway would serve"):
        tls_from_settings(load_settings(require_tls="true"))
    assert tls_from_settings(load_settings()) is None
    server = ca.server()
    tls = tls_from_settings(
        load_settings(
            require_tls="true", tls_cert_file=str(server.cert), tls_key_file=str(server.key)
        )
    )
    assert tls is not None and tls.cert_file == str(server.cert)


def test_the_trace_collector_is_an_http_url_and_encrypted_when_tls_is_required() -> None:
    assert load_settings().otel_endpoint is None
    url = "http://collector:4318/v1/traces"
    assert load_settings(otel_endpoint=url).otel_endpoint == url
    with pytest.raises(ConfigError, match=r"TRADEWIND_OTEL_ENDPOINT: .*not an http"):
        load_settings(otel_endpoint="collector:4318")
    with pytest.raises(ConfigError, match=r"TRADEWIND_OTEL_ENDPOINT: .*use https://"):
        load_settings(require_tls="true", otel_endpoint=url)
