"""Throw-away TLS material for the sync TLS tests: the right CA, a wrong CA, and bad leaves.

``make_tls_material(directory)`` writes PEM files into ``directory`` and returns their paths:

=====================================  =====================================================================
``ca.pem``                             the right CA (what the kiosk trusts)
``server.pem`` / ``server.key``        the good server: ``127.0.0.1`` and ``localhost``, signed by the CA
``other_ca.pem``                       a wrong CA
``other_server.pem`` / ``.key``        a valid server cert for 127.0.0.1/localhost, but signed by the wrong CA
``selfsigned.pem`` / ``.key``          a self-signed leaf for 127.0.0.1/localhost
``expired.pem`` / ``.key``             signed by the right CA for 127.0.0.1/localhost, expired yesterday
``wronghost.pem`` / ``.key``           signed by the right CA, only for ``example.invalid``
=====================================  =====================================================================

Leaf ``.pem`` files hold the certificate chain (leaf first); ``.key`` files the unencrypted private key.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SERVER_NAMES = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class TlsMaterial:
    directory: Path
    ca: Path
    server_cert: Path
    server_key: Path
    other_ca: Path
    other_server_cert: Path
    other_server_key: Path
    selfsigned_cert: Path
    selfsigned_key: Path
    expired_cert: Path
    expired_key: Path
    wronghost_cert: Path
    wronghost_key: Path

    def leaves(self) -> dict[str, tuple[Path, Path]]:
        """Each server leaf by name (``server``, ``other_server``, ``selfsigned``, ``expired``,
        ``wronghost``) → ``(cert, key)``."""
        return {
            "server": (self.server_cert, self.server_key),
            "other_server": (self.other_server_cert, self.other_server_key),
            "selfsigned": (self.selfsigned_cert, self.selfsigned_key),
            "expired": (self.expired_cert, self.expired_key),
            "wronghost": (self.wronghost_cert, self.wronghost_key),
        }


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side ``SSLContext`` (TLS 1.2+) presenting ``cert``/``key``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


def _write_leaf(leaf: trustme.LeafCert, directory: Path, stem: str) -> tuple[Path, Path]:
    cert, key = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(key))
    return cert, key


def _self_signed(directory: Path, stem: str, names: tuple[str, ...]) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    alt_names: list[x509.GeneralName] = []
    for entry in names:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(entry)))
        except ValueError:
            alt_names.append(x509.DNSName(entry))
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def make_tls_material(directory: Path) -> TlsMaterial:
    """Write a fresh set of CAs and leaves into ``directory`` (created if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)

    ca = trustme.CA(organization_name="kiosk tests: right CA")
    ca_path = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    server = _write_leaf(ca.issue_cert(*SERVER_NAMES), directory, "server")
    expired = _write_leaf(
        ca.issue_cert(
            *SERVER_NAMES,
            not_before=now - dt.timedelta(days=30),
            not_after=now - dt.timedelta(days=1),
        ),
        directory,
        "expired",
    )
    wronghost = _write_leaf(ca.issue_cert("example.invalid"), directory, "wronghost")

    other = trustme.CA(organization_name="kiosk tests: wrong CA")
    other_ca_path = directory / "other_ca.pem"
    other.cert_pem.write_to_path(str(other_ca_path))
    other_server = _write_leaf(other.issue_cert(*SERVER_NAMES), directory, "other_server")

    selfsigned = _self_signed(directory, "selfsigned", SERVER_NAMES)

    return TlsMaterial(
        directory=directory,
        ca=ca_path,
        server_cert=server[0],
        server_key=server[1],
        other_ca=other_ca_path,
        other_server_cert=other_server[0],
        other_server_key=other_server[1],
        selfsigned_cert=selfsigned[0],
        selfsigned_key=selfsigned[1],
        expired_cert=expired[0],
        expired_key=expired[1],
        wronghost_cert=wronghost[0],
        wronghost_key=wronghost[1],
    )
