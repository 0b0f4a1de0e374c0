"""How Tradewind's own servers (the gateway, the simulated venue) speak TLS: TLS 1.2 at
least, forward-secret AEAD ciphers only, one certificate and key checked before serving.

    tls = server_tls(cert, key, cert_option="--tls-cert", key_option="--tls-key")
    uvicorn.Config(app, **(uvicorn_tls_options(tls.cert_file, tls.key_file) if tls else {}))

Without these, a server gets whatever its uvicorn and Python default to: older uvicorn
releases set the cipher string "TLSv1" (CBC and SHA-1 suites), and Python's own list
still admits CBC and finite-field DHE. Every server takes its options from here instead.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tradewind.errors import ConfigError

if TYPE_CHECKING:
    import uvicorn

#: TLS 1.2 suites allowed: ECDHE key exchange (forward secrecy) with AES-GCM or
#: ChaCha20-Poly1305. TLS 1.3 suites are all of that kind and are not restricted.
MODERN_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2


@dataclass(frozen=True, slots=True)
class ServerTls:
    """A server certificate (PEM, chain allowed) and its private key (PEM, unencrypted)."""

    cert_file: str
    key_file: str


def server_tls(
    cert_file: str | None, key_file: str | None, *, cert_option: str, key_option: str
) -> ServerTls | None:
    """The pair to serve HTTPS with, or None (plain HTTP) when neither is given.

    ConfigError naming the option at fault when only one is given, when a file cannot be
    read, holds no PEM certificate or key, or the key is encrypted or another
    certificate's. `cert_option` and `key_option` name them the way the user sets them
    (`--tls-cert`, `TRADEWIND_TLS_CERT_FILE`).
    """
    if not cert_file and not key_file:
        return None
    if not cert_file or not key_file:
        missing = cert_option if not cert_file else key_option
        raise ConfigError(
            missing, f"{cert_option} and {key_option} go together: give both, or neither"
        )
    for option, path in ((cert_option, cert_file), (key_option, key_file)):
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            raise ConfigError(option, f"cannot read {path}: {exc.strerror}") from None
    _check_pair(cert_file, key_file, cert_option, key_option)
    return ServerTls(cert_file, key_file)


def _check_pair(cert_file: str, key_file: str, cert_option: str, key_option: str) -> None:
    """What uvicorn would find wrong with the pair, found before serving: uvicorn would
    fail with OpenSSL's bare "PEM lib", or prompt on the terminal for a key's password."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_verify_locations(cafile=cert_file)
    except ssl.SSLError:
        raise ConfigError(cert_option, f"{cert_file} holds no PEM certificate") from None
    asked_for_password = False

    def no_password() -> bytes:
        nonlocal asked_for_password
        asked_for_password = True
        return b""

    try:
        context.load_cert_chain(cert_file, key_file, password=no_password)
    except ssl.SSLError as exc:
        if asked_for_password:
            problem = f"{key_file} is encrypted; give the key unencrypted (mode 0600)"
        elif exc.reason == "KEY_VALUES_MISMATCH":
            problem = f"{key_file} is not the private key of {cert_file}"
        else:
            problem = f"{key_file} holds no PEM private key"
        raise ConfigError(key_option, problem) from None


def uvicorn_tls_options(cert_file: str, key_file: str) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.Config` serving HTTPS (and WSS) with this pair:
    TLS 1.2 or later, `MODERN_CIPHERS` only."""
    return {
        "ssl_certfile": cert_file,
        "ssl_keyfile": key_file,
        "ssl_ciphers": MODERN_CIPHERS,
        "ssl_context_factory": _tls_1_2_or_later,
    }


def _tls_1_2_or_later(
    config: uvicorn.Config, default: Callable[[], ssl.SSLContext]
) -> ssl.SSLContext:
    # Python already defaults to TLS 1.2 as the minimum; said here so it does not rest
    # on a default (or on an OpenSSL configuration file) that may change.
    context = default()
    context.minimum_version = MINIMUM_VERSION
    return context
