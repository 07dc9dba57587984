"""Layer: core. The sync worker's files in ``sync.state_dir``; every one is replaced atomically.

- ``token``: the device token (mode 0600). Never logged, never in a ``repr``.
- ``state.json``: the worker's memory across restarts: back-off, the applied configuration's ETag, the last
  success, the last error, how many visits are parked.
- ``status.json``: for the app's badge and ``kiosk doctor``: online, last success, last error, backlog.
- ``server-config.json`` and ``config-<hash of the ETag>/``: the device configuration pulled from the server.
  The documents (``trust-list.json``, ``deny-list.json``, ``roster.json``) are written to a new folder first;
  then the index naming them replaces the previous index in one rename, so a power cut leaves the old
  configuration or the new one, never a mix. Older folders are removed afterwards. When the server cannot be
  reached, the last applied index simply stays. ``read_server_config(state_dir)`` reads it for the app.
- ``forget`` in the pulled configuration: people whose data the province deleted on a verified request
  (``forget_list``); the worker deletes their visits from the local record (``Store.forget``) before the
  configuration is applied, and counts them in ``state.json`` and ``status.json`` (``forgotten``).
- ``health.json`` (written by the app, optional): camera state and rates for the heartbeat
  (``health_file_source``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from kiosk.errors import ProtocolError, SyncError
from kiosk.fileio import replace_atomically
from kiosk.health import read_health
from kiosk.sync.backoff import BackoffState
from kiosk.sync.client import ConfigResult

log = logging.getLogger(__name__)

TOKEN_FILE: Final = "token"
STATE_FILE: Final = "state.json"
STATUS_FILE: Final = "status.json"
INDEX_FILE: Final = "server-config.json"
CONFIG_PREFIX: Final = "config-"
#: Documents of the pulled configuration and the file each is written to.
DOCUMENTS: Final = {"trust_list": "trust-list.json", "deny_list": "deny-list.json", "roster": "roster.json"}
#: What of the pulled configuration the app may layer over its own: ``{section: {key: type}}``.
SETTING_TYPES: Final[Mapping[str, Mapping[str, tuple[type, ...]]]] = {
    "location": {"code": (str,), "name": (str,), "address": (str,), "district": (str,)},
    "policy": {"mode": (str,), "repeat_window_s": (int, float)},
    "retention": {"days": (int,)},
}
#: The heartbeat fields the app's health file may give.
_MAX_FILE_BYTES: Final = 1024 * 1024
_MAX_TOKEN_CHARS: Final = 512
_HASH: Final = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class WorkerState:
    """What the worker remembers across restarts (``state.json``)."""

    backoff: BackoffState = field(default_factory=BackoffState)
    config_etag: str | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    parked: int = 0
    #: The server refused the token (401): nothing is sent until the kiosk is enrolled again.
    auth_refused: bool = False
    #: Visits deleted so far on the province's deletion requests (``forget``).
    forgotten: int = 0


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """What the app's badge shows (``status.json``)."""

    written_at: datetime
    online: bool
    last_success_at: datetime | None
    last_error: str | None
    backlog: int
    parked: int
    auth_refused: bool = False
    next_attempt_at: datetime | None = None
    #: Visits deleted so far on the province's deletion requests.
    forgotten: int = 0


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """The last device configuration applied from the server.

    ``settings`` is ``{section: {key: value}}`` for ``location``, ``policy`` and ``retention`` (as the server
    sent them, for the app to layer in with ``kiosk.config.with_settings``, which validates them); the paths
    name the documents, None when the server sent none.
    """

    etag: str
    applied_at: datetime | None
    settings: Mapping[str, Mapping[str, Any]]
    trust_list: Path | None = None
    deny_list: Path | None = None
    roster: Path | None = None


class SyncState:
    """The files in ``state_dir``. Methods that write raise ``SyncError`` when the disk refuses."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)

    def __repr__(self) -> str:
        return f"SyncState({str(self.state_dir)!r})"

    @property
    def token_path(self) -> Path:
        return self.state_dir / TOKEN_FILE

    # -- token ----------------------------------------------------------------------------------------

    def read_token(self) -> str | None:
        """The device token, or None when the kiosk is not enrolled (no file, or an empty one)."""
        try:
            with self.token_path.open("rb") as fh:
                raw = fh.read(_MAX_TOKEN_CHARS + 2)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SyncError(f"cannot read the device token file {self.token_path}: {exc.strerror}") from exc
        token = raw.decode("ascii", errors="replace").strip()
        if not token:
            return None
        _check_token(token)
        return token

    def write_token(self, token: str) -> None:
        """Keep ``token`` in ``token`` (mode 0600), replacing any earlier one in one step."""
        _check_token(token)
        self._write(self.token_path, (token + "\n").encode("ascii"), mode=0o600)

    # -- worker state and status -----------------------------------------------------------------------

    def load(self) -> WorkerState:
        """The saved worker state; a missing or damaged file is a fresh state (a damaged one is logged)."""
        data = _read_json(self.state_dir / STATE_FILE)
        if data is None:
            return WorkerState()
        try:
            backoff = data.get("backoff") or {}
            return WorkerState(
                backoff=BackoffState(int(backoff.get("attempt", 0)), _time(backoff.get("next_attempt_at"))),
                config_etag=_opt_str(data.get("config_etag")),
                last_success_at=_time(data.get("last_success_at")),
                last_error=_opt_str(data.get("last_error")),
                parked=int(data.get("parked", 0)),
                auth_refused=bool(data.get("auth_refused", False)),
                forgotten=int(data.get("forgotten", 0)),
            )
        except (AttributeError, TypeError, ValueError) as exc:
            log.warning("ignoring the damaged sync state file %s: %s", self.state_dir / STATE_FILE, exc)
            return WorkerState()

    def save(self, state: WorkerState) -> None:
        data = {
            "backoff": {
                "attempt": state.backoff.attempt,
                "next_attempt_at": _iso(state.backoff.next_attempt_at),
            },
            "config_etag": state.config_etag,
            "last_success_at": _iso(state.last_success_at),
            "last_error": state.last_error,
            "parked": state.parked,
            "auth_refused": state.auth_refused,
            "forgotten": state.forgotten,
        }
        self._write_json(self.state_dir / STATE_FILE, data, mode=0o600)

    def write_status(self, status: SyncStatus) -> None:
        """Replace ``status.json`` (readable by the app: mode 0644, nothing secret in it)."""
        data = {
            "written_at": _iso(status.written_at),
            "online": status.online,
            "last_success_at": _iso(status.last_success_at),
            "last_error": status.last_error,
            "backlog": status.backlog,
            "parked": status.parked,
            "auth_refused": status.auth_refused,
            "next_attempt_at": _iso(status.next_attempt_at),
            "forgotten": status.forgotten,
        }
        self._write_json(self.state_dir / STATUS_FILE, data, mode=0o644)

    # -- pulled configuration ----------------------------------------------------------------------------

    def apply_config(self, result: ConfigResult, *, at: datetime) -> ServerConfig:
        """Apply a configuration from the server atomically and return it as ``read_server_config`` will.

        Raises ``ProtocolError`` (nothing changed) for a document the protocol does not allow, ``SyncError``
        when the disk refuses (the last applied configuration stays).
        """
        document = result.document
        settings = _settings(document)
        documents: dict[str, Any] = {}
        for key in DOCUMENTS:
            value = document.get(key)
            if value is not None and not isinstance(value, (dict, list)):
                raise ProtocolError(f"configuration {key}: expected a JSON object or null")
            documents[key] = value
        folder_name = CONFIG_PREFIX + hashlib.sha256(result.etag.encode("utf-8")).hexdigest()[:16]
        folder = self.state_dir / folder_name
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o755)
        except OSError as exc:
            raise SyncError(f"cannot create {folder}: {exc.strerror or exc}") from exc
        files: dict[str, str | None] = {}
        for key, name in DOCUMENTS.items():
            if documents[key] is None:
                files[key] = None
                continue
            self._write_json(folder / name, documents[key], mode=0o644)
            files[key] = f"{folder_name}/{name}"
        index = {
            "etag": result.etag,
            "applied_at": _iso(at),
            "settings": settings,
            "files": files,
        }
        # The one step that switches from the old configuration to the new.
        self._write_json(self.state_dir / INDEX_FILE, index, mode=0o644)
        for old in self.state_dir.glob(CONFIG_PREFIX + "*"):
            if old.name != folder_name and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        applied = read_server_config(self.state_dir)
        assert applied is not None  # just written
        return applied

    # -- files --------------------------------------------------------------------------------------------

    def _write_json(self, path: Path, data: object, *, mode: int) -> None:
        text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        self._write(path, text.encode("utf-8"), mode=mode)

    def _write(self, path: Path, data: bytes, *, mode: int) -> None:
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
            replace_atomically(path, data, mode=mode)
        except OSError as exc:
            raise SyncError(f"cannot write {path}: {exc.strerror or exc}") from exc


def read_server_config(state_dir: Path) -> ServerConfig | None:
    """The last configuration applied from the server, or None (never pulled, or the index is damaged)."""
    state_dir = Path(state_dir)
    index = _read_json(state_dir / INDEX_FILE)
    if index is None:
        return None
    try:
        etag = index["etag"]
        if not isinstance(etag, str):
            raise TypeError("etag is not text")
        settings = _settings(index.get("settings") or {})
        files = index.get("files") or {}
        paths: dict[str, Path | None] = {}
        for key in DOCUMENTS:
            name = files.get(key)
            paths[key] = None
            if isinstance(name, str) and name.startswith(CONFIG_PREFIX) and ".." not in name:
                paths[key] = state_dir / name
        return ServerConfig(
            etag=etag,
            applied_at=_time(index.get("applied_at")),
            settings=settings,
            trust_list=paths["trust_list"],
            deny_list=paths["deny_list"],
            roster=paths["roster"],
        )
    except (AttributeError, KeyError, TypeError, ValueError, ProtocolError) as exc:
        log.warning("ignoring the damaged server configuration index %s: %s", state_dir / INDEX_FILE, exc)
        return None


def is_online(status: SyncStatus | None, now: datetime, *, heartbeat_s: float) -> bool:
    """Whether the app's badge says "online": the worker's last word was a success, and it is recent.

    The worker writes ``status.json`` on every cycle that talks to the server (at the latest every
    ``heartbeat_s``), so a status older than two heartbeats and a minute means the worker is not running.
    """
    if status is None or not status.online or status.auth_refused:
        return False
    age_s = (now - status.written_at).total_seconds()
    return -60.0 <= age_s <= 2 * heartbeat_s + 60.0


def read_status(state_dir: Path) -> SyncStatus | None:
    """The worker's last ``status.json``, or None (not written yet, or damaged)."""
    data = _read_json(Path(state_dir) / STATUS_FILE)
    if data is None:
        return None
    try:
        written = _time(data.get("written_at"))
        if written is None:
            return None
        return SyncStatus(
            written_at=written,
            online=bool(data.get("online")),
            last_success_at=_time(data.get("last_success_at")),
            last_error=_opt_str(data.get("last_error")),
            backlog=int(data.get("backlog", 0)),
            parked=int(data.get("parked", 0)),
            auth_refused=bool(data.get("auth_refused", False)),
            next_attempt_at=_time(data.get("next_attempt_at")),
            forgotten=int(data.get("forgotten", 0)),
        )
    except (AttributeError, TypeError, ValueError):
        return None


def health_file_source(path: Path, clock: Callable[[], datetime]) -> Callable[[], dict[str, Any] | None]:
    """A health source for the heartbeat reading the app's health file (``kiosk.health``) at ``path`` each
    time; None when the file is missing, damaged or stale (the app is not running)."""

    def read() -> dict[str, Any] | None:
        health = read_health(path, now=clock())
        if health is None:
            return None
        return {
            "camera_state": health.camera_state
            if health.loop_ok
            else f"{health.camera_state} (loop stalled)",
            "frame_rate": health.frame_rate,
            "decode_ms_p50": health.decode_ms,
        }

    return read


def _settings(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``location``, ``policy`` and ``retention`` of a configuration, checked for shape and types."""
    out: dict[str, dict[str, Any]] = {}
    for section, types in SETTING_TYPES.items():
        values = document.get(section)
        if values is None:
            continue
        if not isinstance(values, Mapping):
            raise ProtocolError(f"configuration {section}: expected a JSON object")
        kept: dict[str, Any] = {}
        for key, value in values.items():
            allowed = types.get(key)
            if allowed is None or value is None:
                continue  # a newer server may send more; the kiosk takes what it knows
            if isinstance(value, bool) or not isinstance(value, allowed):
                raise ProtocolError(f"configuration {section}.{key}: {type(value).__name__} is not allowed")
            kept[key] = value
        out[section] = kept
    return out


def forget_list(document: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The ``forget`` entries of a configuration as ``(identity_key_id, identity_hash)`` pairs (none when the
    key is absent or null: an older server). Raises ``ProtocolError`` for any other shape."""
    entries = document.get("forget")
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise ProtocolError("configuration forget: expected a JSON list")
    pairs: list[tuple[str, str]] = []
    for index, entry in enumerate(entries):
        key_id = entry.get("key_id") if isinstance(entry, Mapping) else None
        digest = entry.get("hash") if isinstance(entry, Mapping) else None
        if not (isinstance(key_id, str) and key_id and isinstance(digest, str) and _HASH.fullmatch(digest)):
            raise ProtocolError(
                f'configuration forget[{index}]: expected {{"key_id": ..., "hash": <64 hex>}}'
            )
        pairs.append((key_id, digest))
    return tuple(pairs)


def _check_token(token: str) -> None:
    if not (
        0 < len(token) <= _MAX_TOKEN_CHARS and token.isascii() and token.isprintable() and " " not in token
    ):
        # Never the token itself in the message.
        raise SyncError(f"the device token is not {_MAX_TOKEN_CHARS} or fewer printable ASCII characters")


def _read_json(path: Path, *, quiet: bool = False) -> dict[str, Any] | None:
    try:
        with path.open("rb") as fh:
            raw = fh.read(_MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if not quiet:
            log.warning("cannot read %s: %s", path, exc.strerror or exc)
        return None
    try:
        if len(raw) > _MAX_FILE_BYTES:
            raise ValueError("too large")
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        if not quiet:
            log.warning("ignoring %s: not a JSON file (%s)", path, exc)
        return None
    return data if isinstance(data, dict) else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _time(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"expected a time, got {type(value).__name__}")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"time without a UTC offset: {value!r}")
    return moment


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None
