"""The throw-away TLS material (tests/tlsca.py): only the right CA's valid leaf verifies."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from cryptography import x509

from tests.tlsca import TlsMaterial, make_tls_material, server_context


class Hello(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = b"hello over tls"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def https_server(cert: Path, key: Path) -> Iterator[int]:
    """An HTTPS server on 127.0.0.1 presenting ``cert``; yields its port. A failed handshake is an
    ``OSError`` in ``get_request``, which socketserver drops silently."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    server.socket = server_context(cert, key).wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return make_tls_material(tmp_path_factory.mktemp("tls"))


def test_files_exist(tls: TlsMaterial) -> None:
    names = sorted(p.name for p in tls.directory.iterdir())
    assert names == sorted(
        [
            "ca.pem",
            "server.pem",
            "server.key",
            "other_ca.pem",
            "other_server.pem",
            "other_server.key",
            "selfsigned.pem",
            "selfsigned.key",
            "expired.pem",
            "expired.key",
            "wronghost.pem",
            "wronghost.key",
        ]
    )
    expired = x509.load_pem_x509_certificate(tls.expired_cert.read_bytes())
    ca = x509.load_pem_x509_certificate(tls.ca.read_bytes())
    assert expired.issuer == ca.subject
    assert expired.not_valid_after_utc < datetime.now(UTC)
    wronghost = x509.load_pem_x509_certificate(tls.wronghost_cert.read_bytes())
    alt_names = wronghost.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert alt_names.get_values_for_type(x509.DNSName) == ["example.invalid"]
    assert alt_names.get_values_for_type(x509.IPAddress) == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_right_server_verifies_against_the_right_ca(tls: TlsMaterial, host: str) -> None:
    with https_server(tls.server_cert, tls.server_key) as port:
        reply = requests.get(f"https://{host}:{port}/", verify=str(tls.ca), timeout=5)
    assert reply.status_code == 200
    assert reply.text == "hello over tls"


def test_the_wrong_ca_verifies_its_own_server(tls: TlsMaterial) -> None:
    with https_server(tls.other_server_cert, tls.other_server_key) as port:
        reply = requests.get(f"https://127.0.0.1:{port}/", verify=str(tls.other_ca), timeout=5)
    assert reply.status_code == 200


def test_the_wrong_host_fails_by_name_too(tls: TlsMaterial) -> None:
    with (
        https_server(tls.wronghost_cert, tls.wronghost_key) as port,
        pytest.raises(requests.exceptions.SSLError, match="Hostname mismatch"),
    ):
        requests.get(f"https://localhost:{port}/", verify=str(tls.ca), timeout=5)


@pytest.mark.parametrize(
    ("leaf", "reason"),
    [
        ("other_server", "unable to get local issuer certificate"),
        ("selfsigned", "self-signed certificate"),
        ("expired", "certificate has expired"),
        ("wronghost", "IP address mismatch"),
    ],
)
def test_bad_servers_fail_verification(tls: TlsMaterial, leaf: str, reason: str) -> None:
    cert, key = tls.leaves()[leaf]
    with https_server(cert, key) as port, pytest.raises(requests.exceptions.SSLError) as caught:
        requests.get(f"https://127.0.0.1:{port}/", verify=str(tls.ca), timeout=5)
    assert reason.lower() in str(caught.value).lower()
