"""Transport security of the platform's links to its own servers: Redis (bus and cache),
PostgreSQL and Kafka. One policy for all of them:

- TLS 1.2 or newer, the server's certificate checked against a CA bundle
  (`TRADEWIND_TLS_CA_FILE`, else the system's) and against the host name in the URL;
- a client certificate (`TRADEWIND_TLS_CLIENT_CERT_FILE` and `..._KEY_FILE`) presented
  where the server asks for one (mutual TLS);
- with `TRADEWIND_REQUIRE_TLS=true`, a link that would travel in clear text is a start-up
  error naming its setting; nothing falls back to plaintext.

How each URL says "TLS": `rediss://` (Redis), `?sslmode=verify-full` (PostgreSQL; also
`verify-ca` and `require`, which check less and are refused under REQUIRE_TLS), and
`?security_protocol=SSL` or `SASL_SSL` (Kafka). `secure_url` writes the CA and client
certificate into a TLS URL where the URL names none of its own, so every adapter reads
the same files. `?tls_server_name=NAME` (any of the three) checks the server's certificate
against NAME, and sends NAME in SNI, instead of the host in the URL: for a server reached
by an address its certificate does not name (an IP address, a tunnel, a proxy). Venues
(exchanges) are not here: they are reached over HTTPS with ccxt, which checks
certificates against certifi's bundle (`TRADEWIND_VENUE_CA_FILE` replaces it, for a
simulator with a private CA).
"""

from __future__ import annotations

import re
import socket
import ssl
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

Link = Literal["bus", "cache", "database"]

MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2
#: PostgreSQL's sslmode values, from least to most checked. `prefer`/`allow` fall back to
#: clear text, so they are not offered: TLS or not is the operator's decision.
_PG_MODES = ("disable", "require", "verify-ca", "verify-full")
_KAFKA_TLS = ("SSL", "SASL_SSL")
#: URL parameters (redis-py's, aiokafka's) that weaken the server's check.
_UNCHECKED = {
    "ssl_check_hostname": ("false", "0", "no", "off", "n", "f"),
    "ssl_cert_reqs": ("none", "optional"),
}


#: The URL parameter (every TLS link) naming the server its certificate must carry.
SERVER_NAME = "tls_server_name"


@dataclass(frozen=True, slots=True)
class ClientTls:
    """The files a client presents and trusts (None: the system's CAs, no client cert),
    and the name the server's certificate must carry (None: the host the client dials)."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None

    def context(self, *, check_hostname: bool = True) -> ssl.SSLContext:
        """A client context: TLS >= 1.2, the server's certificate required (and its name
        checked unless `check_hostname` is False: PostgreSQL's verify-ca)."""
        if self.server_name:
            context: ssl.SSLContext = _ServerNamed(ssl.PROTOCOL_TLS_CLIENT)
            context.server_name = self.server_name  # type: ignore[attr-defined]
            if self.ca_file:
                context.load_verify_locations(cafile=self.ca_file)
            else:
                context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        else:
            context = ssl.create_default_context(cafile=self.ca_file)
        context.minimum_version = MINIMUM_VERSION
        context.check_hostname = check_hostname
        context.verify_mode = ssl.CERT_REQUIRED
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context


class _ServerNamed(ssl.SSLContext):
    """A client context that checks (and asks by SNI for) `server_name` whatever host the
    caller dials: asyncpg and aiokafka pass the dialled host to `wrap_bio` and offer no
    way to name another."""

    server_name: str

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        return super().wrap_bio(incoming, outgoing, server_side, self.server_name, session)

    def wrap_socket(
        self,
        sock: socket.socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLSocket:
        return super().wrap_socket(
            sock,
            server_side,
            do_handshake_on_connect,
            suppress_ragged_eofs,
            self.server_name,
            session,
        )


def server_name_problem(url: str) -> str | None:
    """Why `url`'s `tls_server_name` cannot apply (a link without TLS, or one that checks
    no name), or None."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if SERVER_NAME not in query:
        return None
    name = query[SERVER_NAME]
    if not name or not _HOST_NAME.fullmatch(name):
        return f"{SERVER_NAME}={name!r} is not a host name"
    if not is_encrypted(url):
        return f"{SERVER_NAME} applies to a TLS link only, and this one is not encrypted"
    scheme = parts.scheme.lower()
    if scheme.startswith("postgresql") and _pg_mode(query) != "verify-full":
        return f"{SERVER_NAME} needs sslmode=verify-full (only it checks the server's name)"
    unchecked = {k.lower(): v.lower() for k, v in query.items()}
    if unchecked.get("ssl_check_hostname") in _UNCHECKED["ssl_check_hostname"]:
        return f"{SERVER_NAME} is checked only with the server's name checked"
    return None


#: A DNS name or an IPv4 address: letters, digits, dots and hyphens.
_HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def is_encrypted(url: str) -> bool | None:
    """Whether `url` says TLS; None for a link that leaves no machine (memory://,
    sqlite, PostgreSQL over a Unix socket)."""
    parts = urlsplit(url)
    scheme, query = parts.scheme.lower(), dict(parse_qsl(parts.query))
    if scheme in ("redis", "rediss"):
        return scheme == "rediss"
    if scheme == "kafka":
        protocol = query.get("security_protocol", "SASL_SSL" if "@" in parts.netloc else "")
        return protocol.upper() in _KAFKA_TLS
    if scheme.startswith("postgresql"):
        host = parts.netloc.rpartition("@")[2]
        if not host or query.get("host", "").startswith("/"):
            return None  # the Unix socket
        return _pg_mode(query) not in (None, "disable")
    return None


def plaintext_problem(url: str, link: Link) -> str | None:
    """Why `url` is not allowed under REQUIRE_TLS (what to write instead), or None."""
    encrypted = is_encrypted(url)
    scheme = urlsplit(url).scheme.lower()
    if scheme.startswith("postgresql") and encrypted:
        mode = _pg_mode(dict(parse_qsl(urlsplit(url).query)))
        if mode != "verify-full":
            return (
                f"sslmode={mode} does not check the server's name (TRADEWIND_REQUIRE_TLS is "
                "true): use ?sslmode=verify-full"
            )
        return None
    if encrypted:
        query = {k.lower(): v.lower() for k, v in parse_qsl(urlsplit(url).query)}
        unchecked = [
            f"{name}={query[name]}"
            for name, values in _UNCHECKED.items()
            if query.get(name) in values
        ]
        if unchecked:
            return (
                f"{', '.join(unchecked)} turns certificate checks off and "
                "TRADEWIND_REQUIRE_TLS is true: remove it"
            )
    if encrypted is not False:
        return None
    how = {
        "redis": "use rediss:// (Redis over TLS)",
        "kafka": "add ?security_protocol=SSL (or SASL_SSL with credentials)",
    }.get(scheme, "add ?sslmode=verify-full (PostgreSQL over TLS, the server's name checked)")
    return f"the {link} link would be plaintext and TRADEWIND_REQUIRE_TLS is true: {how}"


def secure_url(url: str, tls: ClientTls) -> str:
    """`url` with the CA bundle and client certificate of `tls` written in, where it is a
    TLS URL that names none of its own (a URL's own files win, for one link of its own).
    PostgreSQL's `ssl=` is spelt `sslmode=`. Raises ValueError for an sslmode that is not
    offered."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not parts.netloc:
        return url  # no server named: PostgreSQL's Unix socket
    if (problem := server_name_problem(url)) is not None:
        raise ValueError(problem)
    files: dict[str, str | None]
    if scheme.startswith("postgresql"):
        query = [("sslmode" if name == "ssl" else name, value) for name, value in query]
        mode = _pg_mode(dict(query))
        if mode is not None and mode not in _PG_MODES:
            raise ValueError(
                f"sslmode={mode} is not offered (it may fall back to clear text); use "
                f"one of {', '.join(_PG_MODES)}"
            )
        if mode in (None, "disable", "require"):
            return urlunsplit(parts._replace(query=urlencode(query, safe="/")))
        files = {"sslrootcert": tls.ca_file, "sslcert": tls.cert_file, "sslkey": tls.key_file}
    elif scheme == "rediss":
        files = {"ssl_ca_certs": tls.ca_file, "ssl_certfile": tls.cert_file}
        files["ssl_keyfile"] = tls.key_file
    elif scheme == "kafka" and is_encrypted(url):
        files = {"ssl_cafile": tls.ca_file, "ssl_certfile": tls.cert_file}
        files["ssl_keyfile"] = tls.key_file
    else:
        return url
    if not {name for name, _ in query} & set(files):
        query += [(name, path) for name, path in files.items() if path]
    return urlunsplit(parts._replace(query=urlencode(query, safe="/")))


def postgres_ssl(query: dict[str, str]) -> ssl.SSLContext | str | None:
    """What asyncpg's `ssl` argument should be for a PostgreSQL URL's query (see
    `secure_url`): a context for `verify-full`/`verify-ca` (files from `sslrootcert`,
    `sslcert`, `sslkey`), `"require"` (encrypted, not checked), `"disable"`, or None
    (no sslmode: asyncpg's default)."""
    mode = _pg_mode(query)
    if mode is None or mode == "disable":
        return mode
    if mode == "require":
        return "require"
    tls = ClientTls(
        query.get("sslrootcert"),
        query.get("sslcert"),
        query.get("sslkey"),
        query.get(SERVER_NAME) if mode == "verify-full" else None,
    )
    return tls.context(check_hostname=mode == "verify-full")


PG_TLS_PARAMETERS = ("ssl", "sslmode", "sslrootcert", "sslcert", "sslkey", SERVER_NAME)


def _pg_mode(query: dict[str, str]) -> str | None:
    mode = query.get("sslmode", query.get("ssl"))
    return None if mode is None else mode.lower()


def describe_tls_error(exc: BaseException) -> str | None:
    """What went wrong in a TLS handshake, in an operator's words, walking `exc`'s
    causes (and the words of libraries that flatten them into their own errors); None if
    no TLS error is behind it."""
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 10:
        verify_message = getattr(cause, "verify_message", None)  # aiohttp's subclass has none
        if isinstance(cause, ssl.SSLCertVerificationError) and verify_message:
            return _refused(str(verify_message))
        text = str(cause)
        if (found := _VERIFY_FAILED.search(text)) is not None:
            return _refused(found["why"])
        if isinstance(cause, ssl.SSLError) or "[SSL" in text:
            if "wrong version number" in text.lower() or "record layer" in text.lower():
                return "the server does not speak TLS (a plaintext server?)"
            if isinstance(cause, ssl.SSLError):
                return f"TLS handshake failed: {getattr(cause, 'reason', None) or text}"
        if "rejected SSL upgrade" in text:
            return "the server does not offer TLS (ssl is off there)"
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return None


_VERIFY_FAILED = re.compile(r"certificate verify failed: (?P<why>.+?)(?:\.? \(_ssl\.c:\d+\))?\.?$")
_UNTRUSTED = ("self-signed certificate", "unable to get local issuer certificate")


def _refused(why: str) -> str:
    why = why.rstrip(".")
    if any(words in why for words in _UNTRUSTED):
        why = f"it is not signed by a CA this client trusts (TRADEWIND_TLS_CA_FILE): {why}"
    return f"the server's certificate was refused: {why}"
