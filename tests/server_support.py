"""What the provincial server's tests share: Django configured in-process on a temporary database, and a real
``kiosk-server serve`` subprocess on a free port for tests that need HTTP, TLS, several workers or a kill.

In-process: ``configure_django(tmp_path_factory)`` sets Django up once per test process on a temporary data
directory and migrates it; ``clean_database()`` empties the server's tables between tests. Django's logging
set-up is undone for the rest of the suite (the root logger keeps its level and handlers).

Subprocess: ``start_server(data_dir)`` → ``ServerProcess`` (``.url``, ``.stop()``, ``.kill()``, ``.restart()``,
a context manager); ``run_cli(data_dir, "location", "add", …)`` runs ``kiosk-server`` on the same data.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid as uuidlib
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0
POLL_S = 0.05


# -- in-process Django ------------------------------------------------------------------------------------


def configure_django(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Configure Django (once per process) on a temporary data directory, migrated; returns that directory."""
    import django
    from django.conf import settings

    if settings.configured:
        return Path(settings.DATA_DIR)
    data_dir = tmp_path_factory.mktemp("server-data")
    saved_env = {name: os.environ.get(name) for name in _ENV_NAMES}
    root = logging.getLogger()
    saved_root = (root.level, list(root.handlers))
    try:
        for name in _ENV_NAMES:
            os.environ.pop(name, None)
        os.environ["DJANGO_SETTINGS_MODULE"] = "server.settings"
        os.environ["KIOSK_SERVER_DATA"] = str(data_dir)
        os.environ["KIOSK_SERVER_ALLOWED_HOSTS"] = "testserver"
        django.setup()
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        root.setLevel(saved_root[0])
        root.handlers[:] = saved_root[1]
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return data_dir


_ENV_NAMES = (
    "DJANGO_SETTINGS_MODULE",
    "KIOSK_SERVER_DATA",
    "KIOSK_SERVER_DATABASE_URL",
    "KIOSK_SERVER_SECRET_KEY",
    "KIOSK_SERVER_ALLOWED_HOSTS",
)


def clean_database() -> None:
    """Delete every row the server keeps (children first), so each test starts from an empty register."""
    from django.contrib.auth.models import User

    from server.province import models

    for model in (
        models.AuditEntry,
        models.DeletionRequest,
        models.ForwardItem,
        models.ForwarderState,
        models.ViolationFlag,
        models.CitizenReport,
        models.RuleSettings,
        models.VisitDay,
        models.VisitConflict,
        models.Visit,
        models.UploadLog,
        models.Heartbeat,
        models.EnrolmentCode,
        models.Device,
        models.Account,
        models.Location,
        models.Office,
        models.District,
    ):
        model.objects.all().delete()
    User.objects.all().delete()


def visit_doc(device_id: str, location_code: str, seq: int = 1, **changes: Any) -> dict[str, Any]:
    """One uploaded visit as the protocol has it (every field of ``kiosk.sync.protocol.VISIT_FIELDS``): a granted
    citizen ID by default, ``changes`` over it. ``wall_time`` may be text or an aware datetime."""
    from kiosk.sync.protocol import VISIT_FIELDS

    doc: dict[str, Any] = {
        "uuid": str(uuidlib.uuid4()),
        "seq": seq,
        "device_id": device_id,
        "location_code": location_code,
        "kind": "cccd",
        "identity_hash": "ab" * 32,
        "identity_key_id": "hue-2026",
        "id_number": "046090001234",
        "name": "Nguyễn Văn An",
        "direction": "in",
        "outcome": "granted",
        "reason": "ok",
        "wall_time": "2026-11-29T08:15:02.123+07:00",
        "clock_synchronised": True,
        "boot_id": "b0" * 16,
        "monotonic_s": 1234.5,
        "privacy_notice_version": "2026-01",
        "manual": False,
        "warnings": [],
        "guard": None,
        "note": None,
        "original_outcome": None,
        "original_reason": None,
        "overrides_uuid": None,
    }
    assert tuple(doc) == VISIT_FIELDS, "keep this builder in step with the protocol"
    doc.update(changes)
    return doc


# -- a real server ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _kiosk_server() -> list[str]:
    script = Path(sys.executable).with_name("kiosk-server")
    return [str(script)] if script.exists() else [sys.executable, "-m", "server.cli"]


def server_env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    """The environment a server subprocess runs with: no KIOSK_* from the machine, this data directory."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("KIOSK_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env["KIOSK_SERVER_DATA"] = str(data_dir)
    if database_url is not None:
        env["KIOSK_SERVER_DATABASE_URL"] = database_url
    return env


def run_cli(
    data_dir: Path, *args: str, database_url: str | None = None, timeout_s: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run ``kiosk-server ARGS`` on ``data_dir`` (and ``database_url``); output captured as text."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [*_kiosk_server(), *args],
        env=server_env(data_dir, database_url),
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


class ServerProcess:
    """``kiosk-server serve`` in its own process group; its stderr goes to ``log_path``."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        workers: int = 1,
        certfile: Path | None = None,
        keyfile: Path | None = None,
        database_url: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.workers = workers
        self.certfile = certfile
        self.keyfile = keyfile
        self.database_url = database_url
        scheme = "https" if certfile else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.log_path = data_dir / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        """Start the server and wait until ``/api/v1/health`` answers; fails the test if it does not."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [*_kiosk_server(), "serve", "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers)]
        if self.certfile is not None and self.keyfile is not None:
            args += ["--certfile", str(self.certfile), "--keyfile", str(self.keyfile)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                args,
                env=server_env(self.data_dir, self.database_url),
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its own process group: kill() reaches the workers too
            )
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        context = ssl._create_unverified_context() if self.certfile else None  # readiness only, not trust
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"kiosk-server exited with {self.process.returncode}:\n{self.log_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=2, context=context) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, ssl.SSLError):
                pass
            time.sleep(POLL_S)
        self.kill()
        pytest.fail(f"kiosk-server did not answer within {START_TIMEOUT_S:g} s:\n{self.log_text()[-4000:]}")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> int | None:
        """SIGTERM (gunicorn's graceful stop) and wait; the exit status, or None if it was not running."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL the server and its workers (its process group), as a power cut would."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_S)

    def restart(self) -> ServerProcess:
        """Stop (gracefully) and start again on the same port and data."""
        self.stop()
        return self.start()

    def close(self) -> None:
        self.stop()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def start_server(
    data_dir: Path,
    port: int | None = None,
    workers: int = 1,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    database_url: str | None = None,
) -> ServerProcess:
    """A running ``kiosk-server serve`` on ``data_dir`` (migrated by ``serve`` itself); use it with ``with``."""
    return ServerProcess(data_dir, port, workers, certfile, keyfile, database_url).start()


def http_json(
    method: str,
    url: str,
    body: Any = None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
    timeout_s: float = 30.0,
) -> tuple[int, Any, dict[str, str]]:
    """One JSON request with urllib: (status, parsed body or None, headers). 4xx/5xx are returned, not raised."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s, context=context) as reply:
            raw, status, reply_headers = reply.read(), reply.status, dict(reply.headers)
    except urllib.error.HTTPError as err:
        raw, status, reply_headers = err.read(), err.code, dict(err.headers)
    return status, (json.loads(raw) if raw else None), reply_headers
