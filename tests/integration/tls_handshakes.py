"""Bare TLS handshakes (no HTTP on top), to test which protocol versions and cipher
suites a server accepts, and a permissive server as the control: it shows that a client
really offers what a test says it offers, so a refusal is the server's doing."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

from tests.tls import Issued

#: Lets this OpenSSL offer (and accept) TLS 1.0/1.1 and SHA-1 or CBC suites.
ANY_CIPHER = "DEFAULT:@SECLEVEL=0"


def client_context(
    cafile: Path,
    *,
    maximum: ssl.TLSVersion | None = None,
    ciphers: str | None = None,
) -> ssl.SSLContext:
    """A verifying client trusting `cafile`, offering at most `maximum` and only
    `ciphers` (OpenSSL syntax; TLS 1.2 and older) when given. With a `maximum` below
    TLS 1.2 it also offers the older versions and any cipher, as an old client would."""
    context = ssl.create_default_context(cafile=str(cafile))
    with warnings.catch_warnings():  # ssl.TLSVersion.TLSv1 and TLSv1_1 are deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        if maximum is not None and maximum < ssl.TLSVersion.TLSv1_2:
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.set_ciphers(ANY_CIPHER)
        if maximum is not None:
            context.maximum_version = maximum
    if ciphers is not None:
        context.set_ciphers(ciphers)
    return context


def handshake(port: int, context: ssl.SSLContext, host: str = "127.0.0.1") -> tuple[str, str]:
    """(protocol version, cipher suite) negotiated with host:port, e.g. ("TLSv1.3",
    "TLS_AES_256_GCM_SHA384"); ssl.SSLError or ConnectionError if the server refuses."""
    with (
        socket.create_connection((host, port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        version, cipher = tls.version(), tls.cipher()
        assert version is not None and cipher is not None
        return version, cipher[0]


@contextlib.contextmanager
def permissive_server(issued: Issued) -> Iterator[int]:
    """A TLS server on a free loopback port that accepts TLS 1.0 and up and any cipher,
    for one handshake; yields its port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers(ANY_CIPHER)
    context.load_cert_chain(issued.cert, issued.key)
    listening = socket.create_server(("127.0.0.1", 0))
    listening.settimeout(10)

    def accept_one() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listening.accept()
            with context.wrap_socket(conn, server_side=True):
                pass

    thread = threading.Thread(target=accept_one, name="permissive-tls", daemon=True)
    thread.start()
    try:
        yield int(listening.getsockname()[1])
    finally:
        thread.join(timeout=10)
        listening.close()
