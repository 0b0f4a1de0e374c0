"""The platform's settings, one tree: the runtime's own at the root and one section per
service (`settings.execution` ...: `tradewind.runtime.service_settings`), read from
`TRADEWIND_*` environment variables and an optional dotenv file, validated up front,
and reported by the name the user writes. `tradewind settings` lists every variable
(docs/settings.md).

Precedence, highest first: explicit overrides (CLI options), environment variables, the
settings file (`--config FILE` or `TRADEWIND_CONFIG_FILE`), files in
`TRADEWIND_SECRETS_DIR` (one per setting, e.g. `TRADEWIND_DATABASE_URL`), the defaults
below. Every
problem becomes a `ConfigError` whose `setting` is the variable's name, e.g.
`TRADEWIND_BUS_URL`. URLs may carry passwords: print them only through `redact_url`.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import ssl
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import structlog
from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
    SettingsError,
)
from redis.exceptions import RedisError

from tradewind.errors import ConfigError
from tradewind.runtime.service_settings import (
    AnalyticsSettings,
    ExecutionSettings,
    MarketDataSettings,
    PortfolioSettings,
    RiskSettings,
    StrategySettings,
)
from tradewind.security.redis_tls import SENTINEL_MASTER, redis_address, redis_client
from tradewind.security.tls_server import ServerTls, server_tls
from tradewind.security.transport import (
    SERVER_NAME,
    ClientTls,
    describe_tls_error,
    is_encrypted,
    plaintext_problem,
    secure_url,
)

ENV_PREFIX = "TRADEWIND_"
CONFIG_FILE_VARIABLE = "TRADEWIND_CONFIG_FILE"
#: A directory of one file per setting, named like the variable (`TRADEWIND_JWT_SECRET`),
#: holding its value: how container platforms hand out secrets (Docker and Kubernetes
#: secrets mounted as files). Lowest precedence: the environment and the file win.
SECRETS_DIR_VARIABLE = "TRADEWIND_SECRETS_DIR"

LogLevel = Literal["debug", "info", "warning", "error", "critical"]
LogFormat = Literal["auto", "json", "console"]


def setting_name(field: str) -> str:
    """The environment variable that sets `field`, e.g. `bus_url` -> `TRADEWIND_BUS_URL`."""
    return f"{ENV_PREFIX}{field.upper()}"


class Settings(BaseSettings):
    """Where the runtime finds its bus, cache and database, and how it serves and logs."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, validate_default=True
    )

    # -- transport security (before the URLs: their validators read these) -----------
    require_tls: Annotated[
        bool,
        Field(
            description="Refuse to start when a link to a server would be plaintext (Redis, "
            "PostgreSQL, Kafka, venues, the gateway)"
        ),
    ] = False
    tls_ca_file: Annotated[
        str | None,
        Field(
            description="PEM CA bundle trusted for Redis, PostgreSQL and Kafka (else the system's)"
        ),
    ] = None
    tls_client_cert_file: Annotated[
        str | None,
        Field(description="PEM client certificate (chain) presented where a server asks (mTLS)"),
    ] = None
    tls_client_key_file: Annotated[
        str | None, Field(description="PEM private key of TRADEWIND_TLS_CLIENT_CERT_FILE")
    ] = None
    venue_ca_file: Annotated[
        str | None,
        Field(description="PEM CA bundle trusted for venues (else certifi's, as ccxt ships it)"),
    ] = None

    bus_url: Annotated[
        str,
        Field(
            description="memory://, redis://host:port/db or kafka://host:port[,...], the "
            "adapter's tunables in its query string (?lease_ms=3000, ?session_timeout_ms=6000: "
            "tradewind/bus/redis_streams.py, kafka_settings.py)"
        ),
    ] = "memory://"
    cache_url: Annotated[str, Field(description="memory:// or redis://host:port/db")] = "memory://"
    database_url: Annotated[
        str, Field(description="sqlite:///path or postgresql://host:port/db (+asyncpg ok)")
    ] = "sqlite:///./tradewind.db"
    http_host: Annotated[str, Field(description="Interface the gateway's API binds")] = "127.0.0.1"
    http_port: Annotated[int, Field(ge=1, le=65535, description="The gateway's API port")] = 8000
    health_host: Annotated[str, Field(description="Interface the health server binds")] = (
        "127.0.0.1"
    )
    health_port: Annotated[
        int, Field(ge=0, le=65535, description="Health and metrics port; 0 picks a free one")
    ] = 9100
    health_token: Annotated[
        SecretStr | None,
        Field(
            description="Operator token (Bearer) for the health port's tenant views; unset: "
            "those views are not served"
        ),
    ] = None
    log_level: Annotated[LogLevel, Field(description="Least severe log level written")] = "info"
    log_format: Annotated[
        LogFormat,
        Field(description="Log lines: auto is console lines on a terminal, else JSON lines"),
    ] = "auto"
    partitions: Annotated[int, Field(ge=1, le=4096, description="Partitions per topic")] = 8
    shutdown_timeout_s: Annotated[
        float, Field(gt=0, description="Seconds the services get to drain on SIGTERM")
    ] = 30.0

    # -- the gateway: secrets, TLS, login limits (see tradewind.gateway.config) --------
    master_keys: Annotated[
        SecretStr | None,
        Field(description="Master keys `kid:BASE64,...`, the first current (rotation)"),
    ] = None
    master_key: Annotated[SecretStr | None, Field(description="One master key `kid:BASE64`")] = None
    master_key_file: Annotated[
        str | None, Field(description="File of master keys, mode 0600 (one per line or JSON)")
    ] = None
    jwt_secret: Annotated[
        SecretStr | None, Field(description="HS256 secret for access tokens, >= 32 bytes")
    ] = None
    jwt_private_key_file: Annotated[
        str | None, Field(description="PEM Ed25519 private key signing access tokens (EdDSA)")
    ] = None
    access_token_ttl_s: Annotated[
        int, Field(ge=30, le=3_600, description="Lifetime of an access token, seconds")
    ] = 300
    tls_cert_file: Annotated[
        str | None,
        Field(
            description="PEM certificate (chain) this process serves HTTPS with (gateway, health)"
        ),
    ] = None
    tls_key_file: Annotated[
        str | None, Field(description="PEM private key of TRADEWIND_TLS_CERT_FILE")
    ] = None
    login_max_failures: Annotated[
        int,
        Field(
            ge=1,
            le=1000,
            description="Failed logins in a row from one source on one address before that "
            "source waits (1, 2, 4 ... s)",
        ),
    ] = 5
    login_lockout_s: Annotated[
        int, Field(ge=1, le=86_400, description="The longest wait a failing source gets, seconds")
    ] = 900
    login_rate_per_ip: Annotated[
        int, Field(ge=1, le=100_000, description="Login/register attempts per IP per minute")
    ] = 30
    login_rate_per_account: Annotated[
        int,
        Field(ge=1, le=100_000, description="Login attempts per address and source per minute"),
    ] = 10
    refresh_rate_per_ip: Annotated[
        int, Field(ge=1, le=100_000, description="Token refreshes per IP per minute")
    ] = 60
    rate_per_user: Annotated[
        int, Field(ge=1, le=1_000_000, description="Authenticated requests per user per minute")
    ] = 1200
    exchange_calls_per_user: Annotated[
        int, Field(ge=1, le=10_000, description="Exchange key checks per user per minute")
    ] = 6
    exchange_calls: Annotated[
        int,
        Field(ge=1, le=1_000_000, description="Exchange key checks per gateway per minute"),
    ] = 300
    trusted_proxies: Annotated[
        str,
        Field(
            description="Proxies whose X-Forwarded-For is believed: addresses or networks, "
            "comma-separated (default none)"
        ),
    ] = ""
    venue_urls: Annotated[
        str, Field(description="Venues the gateway checks keys on: NAME=http://HOST:PORT,...")
    ] = ""
    venues: Annotated[
        str,
        Field(
            description="Real exchanges through ccxt: NAME=ADAPTER,... with ADAPTER binance, "
            "binance-testnet, coinbase or ccxt:<id> (docs/venues/real-exchanges.md)"
        ),
    ] = ""
    egress: Annotated[
        str,
        Field(
            description="Source addresses venue calls leave from, comma-separated (this "
            "machine's); accounts are spread over them, each address with its own "
            "request-weight budget (venues count weight per client address). Empty: the "
            "default route"
        ),
    ] = ""
    otel_endpoint: Annotated[
        str | None,
        Field(
            description="OpenTelemetry collector for traces (OTLP over HTTP, e.g. "
            "http://collector:4318/v1/traces); unset: no tracing"
        ),
    ] = None

    # -- the simulated exchange (`tradewind venue serve`) ------------------------------
    sim_admin_token: Annotated[
        SecretStr | None,
        Field(
            description="Bearer token (at least 16 characters) that clients not on loopback "
            "send to use the simulated exchange's /sim/v1 API; needed when `tradewind venue "
            "serve` listens beyond loopback (its --admin-token wins)"
        ),
    ] = None

    # -- the services' sections: their fields' variables as at the root -----------------
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    portfolio: PortfolioSettings = Field(default_factory=PortfolioSettings)
    marketdata: MarketDataSettings = Field(default_factory=MarketDataSettings)
    analytics: AnalyticsSettings = Field(default_factory=AnalyticsSettings)
    strategy: StrategySettings = Field(default_factory=StrategySettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The usual sources in the usual order, each reading the sections' variables too."""
        assert isinstance(dotenv_settings, DotEnvSettingsSource)
        assert isinstance(file_secret_settings, SecretsSettingsSource)
        return (
            init_settings,
            _EnvWithSections(settings_cls),
            _DotEnvWithSections(
                settings_cls,
                env_file=dotenv_settings.env_file,
                env_file_encoding=dotenv_settings.env_file_encoding,
            ),
            _SecretsWithSections(settings_cls, secrets_dir=file_secret_settings.secrets_dir),
        )

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Like pydantic's, with passwords in URLs hidden, so a printed Settings is safe."""
        for field, value in super().__repr_args__():
            yield field, redact_url(value) if isinstance(value, str) and "://" in value else value

    @field_validator("tls_ca_file", "tls_client_cert_file", "tls_client_key_file", "venue_ca_file")
    @classmethod
    def _file_is_readable(cls, path: str | None) -> str | None:
        if path is not None:
            try:
                Path(path).read_bytes()
            except OSError as exc:
                raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
        return path

    @field_validator("tls_client_key_file")
    @classmethod
    def _key_goes_with_certificate(cls, key: str | None, info: ValidationInfo) -> str | None:
        cert = info.data.get("tls_client_cert_file")
        if (key is None) != (cert is None):
            raise ValueError(
                "set TRADEWIND_TLS_CLIENT_CERT_FILE and TRADEWIND_TLS_CLIENT_KEY_FILE together"
            )
        if cert is not None:
            try:
                ssl.create_default_context().load_cert_chain(cert, key)
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"{key} is not the key of {cert}: {exc}") from None
        return key

    @field_validator("bus_url", "cache_url", "database_url")
    @classmethod
    def _url_is_supported(cls, url: str, info: ValidationInfo) -> str:
        kind = _LINKS[str(info.field_name)]
        check_url(url, kind)
        if info.data.get("require_tls") and (problem := plaintext_problem(url, kind)):
            raise ValueError(problem)
        tls = ClientTls(
            info.data.get("tls_ca_file"),
            info.data.get("tls_client_cert_file"),
            info.data.get("tls_client_key_file"),
        )
        secured = secure_url(url, tls)
        if kind == "bus":
            from tradewind.bus.factory import check_bus_url

            check_bus_url(secured)  # the adapter's tunables in the query string
        return secured

    @field_validator("venue_urls")
    @classmethod
    def _venues_are_encrypted(cls, text: str, info: ValidationInfo) -> str:
        if info.data.get("require_tls"):
            # `NAME=http://…`, or `NAME=coinbase+http://…` (a venue serving Coinbase's API)
            plain = [part.strip() for part in text.split(",") if "http://" in part]
            if plain:
                raise ValueError(
                    f"{', '.join(plain)} would be plaintext and TRADEWIND_REQUIRE_TLS is "
                    "true: use https://"
                )
        return text

    @field_validator("venues")
    @classmethod
    def _venues_are_known(cls, text: str, info: ValidationInfo) -> str:
        if not text.strip():
            return text
        from tradewind.venues.catalog import parse_venues

        simulated = [
            part.partition("=")[0].strip() for part in info.data.get("venue_urls", "").split(",")
        ]
        try:
            parse_venues(text, filter(None, simulated))
        except ConfigError as exc:
            raise ValueError(exc.problem) from None
        return text

    @field_validator("egress")
    @classmethod
    def _egress_are_addresses(cls, text: str) -> str:
        from tradewind.venues.egress import parse_egress

        try:
            parse_egress(text)
        except ConfigError as exc:
            raise ValueError(exc.problem) from None
        return text

    @field_validator("otel_endpoint")
    @classmethod
    def _collector_is_http(cls, url: str | None, info: ValidationInfo) -> str | None:
        if not url:
            return None
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise ValueError(f"{url!r} is not an http(s):// URL of an OTLP collector")
        if scheme == "http" and info.data.get("require_tls"):
            raise ValueError("would be plaintext and TRADEWIND_REQUIRE_TLS is true: use https://")
        return url

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies_are_networks(cls, text: str) -> str:
        from tradewind.security.proxies import parse_trusted_proxies

        parse_trusted_proxies(text)
        return text

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


#: The sections of `Settings`, by field: each reads its fields' variables by the root's
#: rule (`TRADEWIND_` + the field's name), so their names are unique across the tree.
SECTIONS: dict[str, type[BaseModel]] = {
    name: field.annotation
    for name, field in Settings.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
}


def all_fields() -> Iterator[tuple[str, FieldInfo]]:
    """Every setting of the tree as (field name, field): the root's, then each section's."""
    for name, field in Settings.model_fields.items():
        if name not in SECTIONS:
            yield name, field
    for section in SECTIONS.values():
        yield from section.model_fields.items()


class _SectionsSource(PydanticBaseSettingsSource):
    """A source that fills a section from its fields' own variables, e.g. `execution`
    from `TRADEWIND_EXECUTION_MAX_RETRIES`, by asking the source it extends for each
    (mixed in before a concrete source: `super()` is that source)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        section = SECTIONS.get(field_name)
        if section is None:
            return super().get_field_value(field, field_name)  # type: ignore[safe-super]
        values = {}
        for name, inner in section.model_fields.items():
            value, _, _ = super().get_field_value(inner, name)  # type: ignore[safe-super]
            if value is not None:
                values[name] = value
        return values or None, field_name, False

    def prepare_field_value(
        self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool
    ) -> Any:
        if field_name in SECTIONS:
            return value  # the section's fields by name, validated with the section
        return super().prepare_field_value(field_name, field, value, value_is_complex)


class _EnvWithSections(_SectionsSource, EnvSettingsSource):
    pass


class _DotEnvWithSections(_SectionsSource, DotEnvSettingsSource):
    pass


class _SecretsWithSections(_SectionsSource, SecretsSettingsSource):
    pass


def served_tls(settings: Settings, server: str) -> ServerTls | None:
    """The certificate and key this process serves HTTPS with (checked: readable, a
    pair, not encrypted), or None for plain HTTP, which `TRADEWIND_REQUIRE_TLS` refuses
    (`server` names what would be plaintext: "the gateway", "the health port")."""
    cert, key = setting_name("tls_cert_file"), setting_name("tls_key_file")
    if not settings.tls_cert_file and not settings.tls_key_file and settings.require_tls:
        raise ConfigError(
            cert,
            f"{server} would serve plain HTTP and TRADEWIND_REQUIRE_TLS is true: set {cert} "
            f"and {key} (a proxy that terminates TLS in front must re-encrypt to it)",
        )
    return server_tls(
        settings.tls_cert_file, settings.tls_key_file, cert_option=cert, key_option=key
    )


def load_settings(
    config_file: str | Path | None = None,
    *,
    defaults: Mapping[str, Any] | None = None,
    **overrides: Any,
) -> Settings:
    """Read the settings; raises `ConfigError` naming the first bad setting.

    `config_file` (the CLI's `--config`) wins over `TRADEWIND_CONFIG_FILE`; it is a dotenv
    file of `TRADEWIND_*=value` lines, and a `TRADEWIND_*` name in it that is no setting is
    an error (a typo there would otherwise be silently ignored). `overrides` are field
    values that win over everything, e.g. `http_port=8080` from `--port` (a section's as a
    dict: `execution={"execution_max_retries": 3}`). `defaults` are a command's own
    defaults for fields of sections, by field name, e.g. `{"bar_interval_s": 5}` for
    `tradewind up`: they apply where no variable set the field.
    """
    file_setting = "--config"
    if config_file is None and os.environ.get(CONFIG_FILE_VARIABLE):
        config_file, file_setting = os.environ[CONFIG_FILE_VARIABLE], CONFIG_FILE_VARIABLE
    file_values = _read_settings_file(Path(config_file), file_setting) if config_file else {}
    secrets_dir = os.environ.get(SECRETS_DIR_VARIABLE) or None
    if secrets_dir is not None and not Path(secrets_dir).is_dir():
        raise ConfigError(SECRETS_DIR_VARIABLE, f"{secrets_dir} is not a directory")
    try:
        settings = Settings(_env_file=config_file, _secrets_dir=secrets_dir, **overrides)  # type: ignore[call-arg]
        return _with_defaults(settings, defaults or {})
    except ValidationError as exc:
        raise _config_error(exc, file_values, config_file, overrides) from None
    except SettingsError as exc:
        raise ConfigError(file_setting, str(exc)) from None


def _with_defaults(settings: Settings, defaults: Mapping[str, Any]) -> Settings:
    """`settings` with the fields of `defaults` no source set replaced by their values."""
    changed: dict[str, BaseModel] = {}
    for field, value in defaults.items():
        name = next(n for n, section in SECTIONS.items() if field in section.model_fields)
        section = changed.get(name, getattr(settings, name))
        if field not in section.model_fields_set:
            given = section.model_dump(exclude_unset=True)
            changed[name] = type(section).model_validate({**given, field: value})
    return settings.model_copy(update=changed) if changed else settings


def _read_settings_file(path: Path, file_setting: str) -> dict[str, str | None]:
    try:
        values = dotenv_values(path) if path.is_file() else None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(file_setting, f"cannot read {path}: {exc}") from None
    if values is None:
        raise ConfigError(file_setting, f"{path} is not a file")
    known = {setting_name(field) for field, _ in all_fields()} | {
        CONFIG_FILE_VARIABLE,
        SECRETS_DIR_VARIABLE,
    }
    for name in values:
        if name.upper().startswith(ENV_PREFIX) and name.upper() not in known:
            raise ConfigError(
                name, f"no such setting (in {path}); known settings: {', '.join(sorted(known))}"
            )
    return values


def _config_error(
    exc: ValidationError,
    file_values: Mapping[str, str | None],
    config_file: str | Path | None,
    overrides: Mapping[str, Any],
) -> ConfigError:
    """The first validation error, phrased for the user and naming where the value came
    from when that was not the environment."""
    error = exc.errors(include_url=False)[0]
    loc = error["loc"]
    # A section's field is its second step, `("execution", "execution_max_retries")`.
    field = str(loc[1] if len(loc) > 1 and loc[0] in SECTIONS else loc[0]) if loc else "?"
    name = setting_name(field)
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, ValueError):
        problem = str(cause)  # our own validators' words; URLs in them are redacted
    else:
        problem = f"{error['msg']}, got {redact_url(repr(error['input']))}"
    in_environment = name in {key.upper() for key in os.environ}
    in_file = name in {key.upper() for key in file_values}
    if field in overrides or (loc and loc[0] in SECTIONS and loc[0] in overrides):
        problem += " (given on the command line)"
    elif in_file and not in_environment:
        problem += f" (set in {config_file})"
    return ConfigError(name, problem)


_USERINFO_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:@/?#\s]*):[^?#\s]*@")
_SECRET_QUERY_PARAM = re.compile(
    r"(?P<key>[?&](?:password|passwd|secret|token|api_key|sasl_plain_password)=)[^&#\s]*",
    re.IGNORECASE,
)


def redact_url(text: str) -> str:
    """`text` with the password of every URL in it replaced by `***`, safe to print.

    Handles `scheme://user:password@host`, `scheme://:password@host`, passwords holding
    `/` or `@`, and `password=`/`token=` query parameters, in a bare URL or in a sentence;
    never raises. When unsure where a password ends it hides too much, not too little.
    """
    text = _USERINFO_PASSWORD.sub(r"\g<head>:***@", text)
    return _SECRET_QUERY_PARAM.sub(r"\g<key>***", text)


# -- URLs -----------------------------------------------------------------------------

_LINKS: dict[str, Literal["bus", "cache", "database"]] = {
    "bus_url": "bus",
    "cache_url": "cache",
    "database_url": "database",
}
_SCHEMES = {
    "bus": ("memory", "redis", "rediss", "kafka"),
    "cache": ("memory", "redis", "rediss"),
    "database": ("sqlite", "sqlite+aiosqlite", "postgresql", "postgresql+asyncpg"),
}
_HOW_TO_WRITE = {
    "bus": "use memory://, redis://host:port/db or kafka://host:port",
    "cache": "use memory:// or redis://host:port/db",
    "database": "use sqlite:///path, sqlite+aiosqlite:///path, postgresql://host:port/db "
    "or postgresql+asyncpg://host:port/db",
}
_DEFAULT_PORTS = {
    "redis": 6379,
    "rediss": 6379,
    "kafka": 9092,
    "postgresql": 5432,
    "postgresql+asyncpg": 5432,
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A host and a TCP port, printed as `host:port` (`[v6addr]:port`)."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def url_scheme(url: str) -> str:
    """The scheme in lower case: `redis` for `redis://...`."""
    return url.partition("://")[0].lower()


def _authority_and_path(url: str) -> tuple[str, str]:
    """`host:port[,host:port]` and the path after it, without user info or query."""
    rest = url.partition("://")[2]
    before_query = re.split(r"[?#]", rest, maxsplit=1)[0]
    hosts, _, path = before_query.rpartition("@")[2].partition("/")
    return hosts, path


def url_endpoints(url: str) -> list[Endpoint]:
    """The endpoints a network URL names, several for `kafka://h1:9092,h2:9092`; empty
    when it names no host. Raises ValueError (URL redacted) for a malformed port."""
    hosts, _ = _authority_and_path(url)
    default_port = _DEFAULT_PORTS.get(url_scheme(url), 0)
    endpoints = []
    for host_port in filter(None, hosts.split(",")):
        match = re.fullmatch(
            r"\[(?P<v6>[^\]]+)\](?::(?P<v6port>.*))?|(?P<host>[^:]+)(?::(?P<port>.*))?", host_port
        )
        if match is None:
            raise ValueError(f"cannot read host {host_port!r} in {redact_url(url)!r}")
        host = match["v6"] or match["host"]
        port_text = match["v6port"] if match["v6"] else match["port"]
        if port_text is None:
            endpoints.append(Endpoint(host, default_port))
            continue
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"port {port_text!r} is not a number 1-65535 in {redact_url(url)!r}")
        endpoints.append(Endpoint(host, int(port_text)))
    return endpoints


def check_url(url: str, kind: Literal["bus", "cache", "database"]) -> str:
    """`url` unchanged if it is a supported `kind` URL; else ValueError with the problem
    and how to write it, the URL redacted."""
    if "://" not in url:
        raise ValueError(f"{redact_url(url)!r} is not a URL; {_HOW_TO_WRITE[kind]}")
    scheme = url_scheme(url)
    if scheme not in _SCHEMES[kind]:
        raise ValueError(f"unknown scheme {scheme!r}; {_HOW_TO_WRITE[kind]}")
    if scheme not in _DEFAULT_PORTS:  # memory:// and sqlite:// name no server
        return url
    endpoints = url_endpoints(url)
    if not endpoints and scheme != "postgresql":  # postgresql:///db means the local socket
        raise ValueError(f"no host in {redact_url(url)!r}; {_HOW_TO_WRITE[kind]}")
    if scheme in ("redis", "rediss"):
        database = _authority_and_path(url)[1]
        if len(endpoints) > 1 and SENTINEL_MASTER not in dict(parse_qsl(urlsplit(url).query)):
            raise ValueError(
                f"one host only in {redact_url(url)!r}, or Sentinels with "
                f"?{SENTINEL_MASTER}=NAME; {_HOW_TO_WRITE[kind]}"
            )
        if database and not database.isdigit():
            raise ValueError(f"database {database!r} is not a number in {redact_url(url)!r}")
    return url


# -- reachability ---------------------------------------------------------------------


async def check_reachable(settings: Settings, timeout_s: float = 2.0) -> None:
    """Fail fast, before any service starts, if a server the settings name cannot be
    reached: a Redis PING for redis:// bus and cache, a TCP connect for Kafka bootstrap
    servers and PostgreSQL (at least one of a list must answer; the others are logged),
    and an existing directory for a SQLite file. Each check waits at most `timeout_s`
    seconds; they run concurrently. Raises `ConfigError` naming the setting, the
    host:port and the OS error."""
    checks = [
        _check_server(setting_name(field), getattr(settings, field), timeout_s)
        for field in ("bus_url", "cache_url", "database_url")
    ]
    for outcome in await asyncio.gather(*checks, return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome


async def _check_server(name: str, url: str, timeout_s: float) -> None:
    scheme = url_scheme(url)
    if scheme in ("redis", "rediss"):
        await _ping_redis(name, url, timeout_s)
    elif scheme.startswith("postgresql") and is_encrypted(url):
        await _connect_to_postgres(name, url, timeout_s)
    elif scheme == "kafka" and is_encrypted(url):
        from tradewind.bus.kafka_settings import KafkaSettings  # aiokafka: only when used

        tls = KafkaSettings.from_url(url).ssl_context()
        await _connect_to_any(name, url_endpoints(url), timeout_s, tls)
    elif scheme in ("kafka", "postgresql", "postgresql+asyncpg"):
        await _connect_to_any(name, url_endpoints(url), timeout_s)
    elif scheme.startswith("sqlite"):
        _check_sqlite_directory(name, url)


async def _ping_redis(name: str, url: str, timeout_s: float) -> None:
    # The bus reads its own tunables (lease_ms=...) from the query; redis-py would choke.
    parts = urlsplit(url)
    redis_options = [
        (k, v)
        for k, v in parse_qsl(parts.query)
        if k.startswith("ssl_") or k in (SERVER_NAME, SENTINEL_MASTER)
    ]
    sentinels = any(k == SENTINEL_MASTER for k, _ in redis_options)
    endpoint = redis_address(url) if sentinels else url_endpoints(url)[0]
    client_url = urlunsplit(parts._replace(query=urlencode(redis_options)))
    client = redis_client(
        client_url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s, retry=None
    )
    try:
        async with asyncio.timeout(timeout_s):
            await client.ping()
    except (RedisError, OSError) as exc:
        why = _describe_error(exc, timeout_s)
        if url_scheme(url) == "rediss" and why.startswith("no answer"):
            # A plaintext Redis waits for a command's end after a TLS hello: it says nothing.
            why = f"no answer to the TLS handshake within {timeout_s:g} s (a plaintext server?)"
        raise ConfigError(name, f"cannot reach Redis at {endpoint}: {why}") from None
    finally:
        await client.aclose()


async def _connect_to_postgres(name: str, url: str, timeout_s: float) -> None:
    """A real connection over TLS (a TCP connect proves nothing about the certificate)."""
    from tradewind.store.database import Database

    endpoint = url_endpoints(url)[0]
    database = Database(url)
    try:
        async with asyncio.timeout(timeout_s):
            async with database.read():
                pass
    except (OSError, ssl.SSLError) as exc:
        problem = f"cannot reach PostgreSQL at {endpoint}: {_describe_error(exc, timeout_s)}"
        raise ConfigError(name, problem) from None
    except Exception as exc:  # asyncpg's and SQLAlchemy's own errors
        problem = f"cannot reach PostgreSQL at {endpoint}: {_describe_error(exc, timeout_s)}"
        raise ConfigError(name, redact_url(problem)) from None
    finally:
        await database.close()


async def _connect_to_any(
    name: str,
    endpoints: Sequence[Endpoint],
    timeout_s: float,
    tls: ssl.SSLContext | None = None,
) -> None:
    """A TCP connection (with `tls`: and a TLS handshake) to at least one endpoint."""
    failures: list[str] = []
    for endpoint in endpoints:
        try:
            async with asyncio.timeout(timeout_s):
                _, writer = await asyncio.open_connection(
                    endpoint.host,
                    endpoint.port,
                    ssl=tls,
                    server_hostname=endpoint.host if tls else None,
                )
            writer.close()
        except OSError as exc:  # TimeoutError and ssl.SSLError included
            failures.append(f"cannot connect to {endpoint}: {_describe_error(exc, timeout_s)}")
    if endpoints and len(failures) == len(endpoints):
        raise ConfigError(name, "; ".join(failures))
    for failure in failures:
        structlog.get_logger("tradewind.runtime").warning(
            "server unreachable", setting=name, problem=failure
        )


def _check_sqlite_directory(name: str, url: str) -> None:
    path = re.split(r"[?#]", url.partition("://")[2], maxsplit=1)[0].removeprefix("/")
    if not path or path.startswith((":memory:", "file:")):
        return
    directory = Path(path).parent
    if not directory.is_dir():
        raise ConfigError(name, f"directory {directory} for the SQLite file does not exist")


def _describe_error(exc: BaseException, timeout_s: float) -> str:
    """The OS-level reason behind `exc` (walking its causes), e.g. `[Errno 111]
    Connection refused`, else the error's own words."""
    tls_problem = describe_tls_error(exc)
    if tls_problem is not None:
        return tls_problem
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, TimeoutError):
            return f"no answer within {timeout_s:g} s"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve the host ({cause.strerror})"
        if isinstance(cause, OSError) and cause.errno:
            return f"[Errno {cause.errno}] {os.strerror(cause.errno)}"
        cause = cause.__cause__ or cause.__context__
    return str(exc)
