"""The gateway's secrets and TLS files, read from the settings, with errors that name the
setting to fix.

Master keys: the runtime's key encryptor when it has one (`tradewind up` makes one for
the run), else exactly one of `TRADEWIND_MASTER_KEYS`, `TRADEWIND_MASTER_KEY`,
`TRADEWIND_MASTER_KEY_FILE` (every process that reads exchange keys needs the same).

The access-token key: `TRADEWIND_JWT_SECRET` (HS256) or `TRADEWIND_JWT_PRIVATE_KEY_FILE`
(EdDSA). With a SQLite database and neither set, the gateway makes a secret on first
start and keeps it next to the database file (`<db>.jwt-secret`, mode 0600), with a
warning, so that `tradewind up` works out of the box; anyone who can read the database
file can read it too. With PostgreSQL (distributed mode) it must be set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import structlog

from tradewind.errors import ConfigError
from tradewind.runtime.settings import Settings, served_tls
from tradewind.security.master_keys import StaticMasterKeys, load_master_keys
from tradewind.security.tls_server import ServerTls
from tradewind.security.tokens import (
    JWT_SECRET_VARIABLE,
    AccessTokenConfig,
    generate_hs256_secret,
)
from tradewind.store.database import sqlite_path

TLS_CERT_VARIABLE = "TRADEWIND_TLS_CERT_FILE"
TLS_KEY_VARIABLE = "TRADEWIND_TLS_KEY_FILE"
JWT_PRIVATE_KEY_FILE_VARIABLE = "TRADEWIND_JWT_PRIVATE_KEY_FILE"


@dataclass(frozen=True, slots=True)
class Tls:
    cert_file: str
    key_file: str


def master_keys_from_settings(settings: Settings) -> StaticMasterKeys:
    """The configured master keys; `ConfigError` saying how to set them if none are."""
    keys = settings.master_keys.get_secret_value() if settings.master_keys else None
    key = settings.master_key.get_secret_value() if settings.master_key else None
    return load_master_keys(keys=keys, key=key, key_file=settings.master_key_file)


def token_config_from_settings(
    settings: Settings,
    log: structlog.stdlib.BoundLogger | None = None,
    database_url: str | None = None,
) -> AccessTokenConfig:
    """How access tokens are signed: HS256 with the secret, EdDSA with the key file, or
    a secret kept next to the SQLite database at `database_url` (default: the
    settings')."""
    ttl = settings.access_token_ttl_s
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
    if secret and settings.jwt_private_key_file:
        raise ConfigError(
            JWT_SECRET_VARIABLE,
            f"set only one of {JWT_SECRET_VARIABLE} and {JWT_PRIVATE_KEY_FILE_VARIABLE}",
        )
    if secret:
        return AccessTokenConfig.hs256(secret, ttl_s=ttl)
    if settings.jwt_private_key_file:
        try:
            pem = Path(settings.jwt_private_key_file).read_bytes()
        except OSError as exc:
            raise ConfigError(
                JWT_PRIVATE_KEY_FILE_VARIABLE, f"cannot read it: {exc.strerror}"
            ) from None
        return AccessTokenConfig.eddsa_from_pem(pem, ttl_s=ttl)
    database = sqlite_path(database_url or settings.database_url)
    if database is None:
        raise ConfigError(
            JWT_SECRET_VARIABLE,
            "no access-token key is configured; generate one with `tradewind keys generate "
            f"--jwt` and set {JWT_SECRET_VARIABLE} (or {JWT_PRIVATE_KEY_FILE_VARIABLE})",
        )
    if database == "":
        return AccessTokenConfig.hs256(generate_hs256_secret(), ttl_s=ttl)
    path = Path(f"{database}.jwt-secret")
    if _create_private_file(path, generate_hs256_secret() + "\n") and log is not None:
        log.warning(
            "generated a development JWT secret next to the database; set "
            f"{JWT_SECRET_VARIABLE} for real use",
            path=str(path),
        )
    try:
        return AccessTokenConfig.hs256(path.read_text().strip(), ttl_s=ttl)
    except OSError as exc:
        raise ConfigError(JWT_SECRET_VARIABLE, f"cannot read {path}: {exc.strerror}") from None


def tls_from_settings(settings: Settings) -> ServerTls | None:
    """The certificate and key the gateway serves HTTPS with, or None for plain HTTP
    (refused when `TRADEWIND_REQUIRE_TLS` is true)."""
    return served_tls(settings, "the gateway")


def _create_private_file(path: Path, text: str) -> bool:
    """Write `text` to a new file only we may read; False if it existed already."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise ConfigError(JWT_SECRET_VARIABLE, f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return True
