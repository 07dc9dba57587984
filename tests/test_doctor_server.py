"""``kiosk doctor``'s server check against a real ``kiosk-server`` over TLS with a throw-away CA: reachable,
TLS verified, token accepted, clock offset, and what to do when any of them fails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.doctor import Level, _server
from kiosk.config import Config, load_config
from kiosk.sync.client import ServerClient, Timeouts
from kiosk.sync.state import SyncState
from kiosk.sync.transport import RequestsTransport
from tests.server_support import ServerProcess, run_cli, start_server
from tests.tlsca import TlsMaterial, make_tls_material


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return make_tls_material(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tls: TlsMaterial) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("server")
    assert run_cli(data, "migrate").returncode == 0
    assert run_cli(data, "location", "add", "HUE-0001", "--name", "Sở Y tế").returncode == 0
    with start_server(data, certfile=tls.server_cert, keyfile=tls.server_key) as process:
        yield process


def _config(tmp_path: Path, url: str, ca: Path) -> Config:
    return load_config(
        environ={},
        overrides={
            "sync.server_url": url,
            "sync.ca_file": str(ca),
            "sync.state_dir": str(tmp_path / "sync"),
            "store.database": str(tmp_path / "kiosk.db"),
        },
    )


def _enrol(server: ServerProcess, config: Config, device: str) -> None:
    result = run_cli(server.data_dir, "code", "new", "--location", "HUE-0001", "--device", device)
    assert result.returncode == 0, result.stderr
    code = result.stdout.split()[0]
    with RequestsTransport(config.sync.ca_file) as transport:
        enrolment = ServerClient(config.sync.server_url, transport, None, Timeouts(5, 10)).enrol(
            code, kiosk_version="test", hostname="test"
        )
    SyncState(config.sync.state_dir).write_token(enrolment.token)


def test_an_enrolled_kiosk_passes(tmp_path: Path, server: ServerProcess, tls: TlsMaterial) -> None:
    config = _config(tmp_path, server.url, tls.ca)
    _enrol(server, config, "gate-ok")
    check = _server(config)
    assert check.level is Level.OK, check.message
    assert "TLS ok" in check.message and "gate-ok at HUE-0001" in check.message
    assert "s from the server's" in check.message


def test_no_token_says_to_enrol(tmp_path: Path, server: ServerProcess, tls: TlsMaterial) -> None:
    check = _server(_config(tmp_path, server.url, tls.ca))
    assert check.level is Level.FAIL and "kiosk enroll" in check.message


def test_a_wrong_ca_is_a_tls_failure(tmp_path: Path, server: ServerProcess, tls: TlsMaterial) -> None:
    check = _server(_config(tmp_path, server.url, tls.other_ca))
    assert check.level is Level.FAIL and "TLS refused" in check.message and "sync.ca_file" in check.message


def test_a_revoked_token_says_enrol_again(tmp_path: Path, server: ServerProcess, tls: TlsMaterial) -> None:
    config = _config(tmp_path, server.url, tls.ca)
    _enrol(server, config, "gate-revoked")
    assert run_cli(server.data_dir, "device", "revoke", "gate-revoked").returncode == 0
    check = _server(config)
    assert check.level is Level.FAIL and "enrol it again" in check.message


def test_nothing_listening_says_check_the_network(tmp_path: Path, tls: TlsMaterial) -> None:
    from tests.server_support import free_port

    check = _server(_config(tmp_path, f"https://127.0.0.1:{free_port()}", tls.ca), timeout_s=2.0)
    assert check.level is Level.FAIL and "cannot reach" in check.message


def test_no_server_configured_is_a_warning(tmp_path: Path) -> None:
    config = load_config(environ={}, overrides={"sync.state_dir": str(tmp_path)})
    check = _server(config)
    assert check.level is Level.WARN and "kiosk enroll" in check.message
