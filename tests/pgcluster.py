"""A throw-away PostgreSQL cluster for tests: ``initdb`` into a temporary directory, ``pg_ctl start`` on a
free loopback port with trust authentication, database ``kiosk`` created; ``stop()`` removes it all.

``initdb`` refuses to run as root, so as root the server programs run as the ``postgres`` user (``runuser``,
or ``su``) in a directory of the system temporary directory chowned to it (pytest's ``tmp_path`` is not
reachable by another user). Any other user runs them directly. ``available()`` says why it cannot run.

Durability is off (``fsync``, ``full_page_writes``, ``synchronous_commit``): a power cut is not what these
tests are about. The unix socket lives in the cluster directory, so nothing touches ``/var/run/postgresql``.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

PG_BIN_ENV = "KIOSK_PG_BIN"  # overrides where initdb and pg_ctl are looked for
DEFAULT_BIN = Path("/usr/lib/postgresql/15/bin")
RUN_AS = "postgres"
DATABASE = "kiosk"
START_TIMEOUT_S = 30
SOCKET_PATH_MAX = 100  # sun_path is 108 bytes, with "/.s.PGSQL.<port>" appended


def find_bin_dir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: $KIOSK_PG_BIN, Debian's 15, the newest other Debian
    version, or the ``PATH``."""
    candidates: list[Path] = []
    if env := os.environ.get(PG_BIN_ENV):
        candidates.append(Path(env))
    candidates.append(DEFAULT_BIN)
    versions = Path("/usr/lib/postgresql")
    if versions.is_dir():
        candidates += sorted(
            (p / "bin" for p in versions.iterdir() if p.name.isdigit()),
            key=lambda p: int(p.parent.name),
            reverse=True,
        )
    if found := shutil.which("initdb"):
        candidates.append(Path(found).parent)
    for directory in candidates:
        if all(os.access(directory / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return directory
    return None


def _as_postgres_prefix() -> list[str] | None:
    """How root runs a program as the postgres user, or None when there is no way."""
    if runuser := shutil.which("runuser"):
        return [runuser, "-u", RUN_AS, "--"]
    return None


def available() -> str | None:
    """None when a throw-away cluster can run here; otherwise why not (for ``pytest.skip``)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        return f"PostgreSQL server programs (initdb, pg_ctl, postgres) not found in {DEFAULT_BIN}, ${PG_BIN_ENV} or PATH"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return f"running as root and there is no {RUN_AS!r} user to run initdb as"
        if _as_postgres_prefix() is None and shutil.which("su") is None:
            return f"running as root and neither runuser nor su is available to run initdb as {RUN_AS!r}"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PgClusterError(RuntimeError):
    """The cluster could not be created or started; the message carries the command's output and log."""


@dataclass
class PgCluster:
    bin_dir: Path
    directory: Path  # the cluster's own directory (data, socket, log); removed by stop()
    port: int
    host: str = "127.0.0.1"
    user: str = "postgres"
    dbname: str = DATABASE
    _as_root: bool = field(default=False, repr=False)
    _running: bool = field(default=False, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def socket_dir(self) -> Path:
        return self.directory / "sock"

    @property
    def log_path(self) -> Path:
        return self.directory / "postgres.log"

    @property
    def url(self) -> str:
        """``postgresql://postgres@127.0.0.1:<port>/kiosk``"""
        return self.url_for(self.dbname)

    def url_for(self, dbname: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    # -- lifecycle ----------------------------------------------------------------------------------

    @classmethod
    def start(cls, tmp_dir: Path, *, dbname: str = DATABASE) -> PgCluster:
        """initdb, start on a free port, create ``dbname``. Raises ``PgClusterError`` (with the output and
        the server log) if any step fails; call ``available()`` first to skip where it cannot run."""
        reason = available()
        if reason is not None:
            raise PgClusterError(reason)
        bin_dir = find_bin_dir()
        assert bin_dir is not None
        as_root = os.geteuid() == 0
        parent = Path(tmp_dir)
        if as_root or len(str(parent)) > SOCKET_PATH_MAX - 40:
            parent = Path(tempfile.gettempdir())  # reachable by postgres; short enough for the socket path
        parent.mkdir(parents=True, exist_ok=True)
        directory = Path(tempfile.mkdtemp(prefix="kiosk-pg-", dir=parent))
        cluster = cls(bin_dir, directory, _free_port(), dbname=dbname, _as_root=as_root)
        try:
            cluster._create()
            cluster._launch()
            cluster._createdb(dbname)
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def stop(self) -> None:
        """Stop the server (fast, then immediate) and remove the cluster directory. Idempotent."""
        atexit.unregister(self.stop)
        if self._running:
            self._running = False
            pg_ctl = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-w", "-t", "15"]
            stopped = self._run([*pg_ctl, "-m", "fast", "stop"], as_server=True, check=False)
            if stopped.returncode != 0:
                self._run([*pg_ctl, "-m", "immediate", "stop"], as_server=True, check=False)
        if self.directory.exists():
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def create_database(self, dbname: str) -> str:
        """Create another database in the cluster; returns its URL."""
        self._createdb(dbname)
        return self.url_for(dbname)

    # -- internals ----------------------------------------------------------------------------------

    def _run(
        self, argv: list[str], *, as_server: bool, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        if as_server and self._as_root:
            prefix = _as_postgres_prefix()
            if prefix is not None:
                argv = [*prefix, *argv]
            else:
                argv = ["su", RUN_AS, "-s", "/bin/sh", "-c", shlex.join(argv)]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        for variable in ("PGHOST", "PGPORT", "PGDATA", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGSERVICE"):
            env.pop(variable, None)
        result = subprocess.run(
            argv,
            cwd=self.directory,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise PgClusterError(
                f"{shlex.join(argv)} failed ({result.returncode}):\n{result.stdout}{result.stderr}{self._log_tail()}"
            )
        return result

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n--- server log ---\n" + "\n".join(lines[-30:])

    def _create(self) -> None:
        self.socket_dir.mkdir()
        if self._as_root:
            entry = pwd.getpwnam(RUN_AS)
            for path in (self.directory, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.directory.chmod(0o700)
        self._run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            as_server=True,
        )

    def _launch(self) -> None:
        options = [
            *("-k", str(self.socket_dir), "-p", str(self.port)),
            *("-c", f"listen_addresses={self.host}"),
            *("-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off"),
            *("-c", "max_connections=50", "-c", "shared_buffers=16MB"),
        ]
        self._running = True  # from here on stop() runs pg_ctl stop, whatever happens
        atexit.register(self.stop)
        self._run(
            [
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_path),
                "-w",
                "-t",
                str(START_TIMEOUT_S),
                "-o",
                shlex.join(options),
                "start",
            ],
            as_server=True,
            timeout=START_TIMEOUT_S + 10,
        )

    def _createdb(self, dbname: str) -> None:
        createdb = self.bin_dir / "createdb"
        if not os.access(createdb, os.X_OK):
            raise PgClusterError(f"{createdb} not found")
        self._run(
            [str(createdb), "-h", self.host, "-p", str(self.port), "-U", self.user, dbname],
            as_server=False,
        )


def start_or_skip(tmp_dir: Path) -> PgCluster:
    """For tests: ``PgCluster.start(tmp_dir)``, or ``pytest.skip`` with the reason it cannot run here."""
    import pytest

    reason = available()
    if reason is not None:
        pytest.skip(reason)
    return PgCluster.start(tmp_dir)
