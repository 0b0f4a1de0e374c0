"""A throw-away public-key infrastructure for the transport tests: a CA made in the test,
and certificates it signs (servers, clients), valid or deliberately wrong (expired,
for another name, from another CA). Everything is written as PEM files in a directory.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_NOW = dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, as PEM files."""

    cert: Path
    key: Path


class CertificateAuthority:
    """A CA whose certificate is `cert` (the bundle clients trust)."""

    def __init__(self, directory: Path, name: str = "Tradewind Test CA") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self._subject = subject
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_NOW - dt.timedelta(days=1))
            .not_valid_after(_NOW + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        self.cert = directory / f"{_slug(name)}.crt"
        self.cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))

    def server(
        self,
        name: str = "localhost",
        *,
        hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
        expired: bool = False,
    ) -> Issued:
        """A server certificate for `hosts` (DNS names and IP addresses)."""
        return self._issue(name, hosts, ExtendedKeyUsageOID.SERVER_AUTH, expired=expired)

    def client(self, name: str = "tradewind", *, expired: bool = False) -> Issued:
        """A client certificate whose common name is `name` (PostgreSQL's user name)."""
        return self._issue(name, (), ExtendedKeyUsageOID.CLIENT_AUTH, expired=expired)

    def _issue(
        self, name: str, hosts: tuple[str, ...], usage: x509.ObjectIdentifier, *, expired: bool
    ) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        if expired:
            not_before, not_after = _NOW - dt.timedelta(days=10), _NOW - dt.timedelta(days=1)
        else:
            not_before, not_after = _NOW - dt.timedelta(days=1), _NOW + dt.timedelta(days=30)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self._subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
        )
        if hosts:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([_general_name(host) for host in hosts]),
                critical=False,
            )
        certificate = builder.sign(self._key, hashes.SHA256())
        stem = f"{_slug(name)}-{'expired-' if expired else ''}{certificate.serial_number:x}"[:60]
        cert, key_file = self.directory / f"{stem}.crt", self.directory / f"{stem}.key"
        cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        os.chmod(key_file, 0o600)
        return Issued(cert, key_file)


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower())
