"""Layer: ui. The admin screens' work that waits on the disk, the database or a device, and the thread pool
that runs it.

Every function here is **called off the GUI thread** (``TaskRunner`` runs it on a ``QThreadPool`` thread)
and returns a frozen value object; the answer reaches the screen as a queued signal (STYLE 16). A task
that raises a ``KioskError`` (or an ``OSError``) fails with its message; anything else is logged and fails
with the exception's type, so a bug in an admin task never takes the gate down.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from kiosk import __version__
from kiosk.errors import KioskError
from kiosk.export import VIETNAM_TIME
from kiosk.media import Medium, removable_media, write_export_atomically, write_file_atomically
from kiosk.model import Outcome

if TYPE_CHECKING:
    from kiosk.config import Config
    from kiosk.identity import IdentityKeyring
    from kiosk.roster import RosterEntry
    from kiosk.store import Store
    from ui.context import UiContext

log = logging.getLogger(__name__)

#: Staff lists are looked for this many folders deep on a stick (the top, and one folder down).
ROSTER_SEARCH_DEPTH = 2
ROSTER_SUFFIXES = (".csv", ".xlsx")
MAX_ROSTER_FILES = 50
#: Files the kiosk's own exports are named with: not offered as staff lists.
EXPORT_PREFIXES = ("visits ", "not scanned ")
#: The kept roster's file name, beside the database.
ROSTER_FILE = "roster.json"


# -- running tasks ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskDone:
    """A task's answer: ``value`` when it worked, else ``error`` (a sentence for the screen)."""

    value: Any = None
    error: str = ""
    reason: str = ""  # the error's reason code, when it has one (``PinError.reason``): what the UI translates

    @property
    def ok(self) -> bool:
        return not self.error


class _TaskSignals(QObject):
    done = Signal(int, object)  # task number, TaskDone


class _Task(QRunnable):
    def __init__(self, number: int, work: Callable[[], object]) -> None:
        super().__init__()
        self.number = number
        self.work = work
        self.signals = _TaskSignals()
        self.setAutoDelete(False)  # the runner holds it until its answer is delivered

    def run(self) -> None:
        try:
            done = TaskDone(self.work())
        except (KioskError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None)
            code = str(getattr(reason, "value", reason or ""))
            done = TaskDone(error=str(exc) or type(exc).__name__, reason=code)
        except Exception as exc:
            log.exception("an admin task failed")
            done = TaskDone(error=f"{type(exc).__name__}: {exc}")
        self.signals.done.emit(self.number, done)


class TaskRunner(QObject):
    """Runs work on its own small thread pool; ``busy`` while any runs. Create and use on the GUI thread.

    The answer goes to the runner (a QObject, so Qt drops it when the screen is gone), which then calls the
    page's ``then`` on the GUI thread.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._tasks: dict[int, tuple[_Task, Callable[[TaskDone], None]]] = {}
        self._next = 0

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def run(self, work: Callable[[], object], then: Callable[[TaskDone], None]) -> None:
        """Run ``work()`` on a pool thread; ``then(TaskDone)`` is called on the GUI thread."""
        self._next += 1
        task = _Task(self._next, work)
        task.signals.done.connect(self._on_done)
        self._tasks[task.number] = (task, then)
        self.pool.start(task)

    def _on_done(self, number: int, done: TaskDone) -> None:
        entry = self._tasks.pop(number, None)
        if entry is not None:
            entry[1](done)

    def wait(self, timeout_ms: int = 10_000) -> bool:
        """Wait for running tasks (closing, tests)."""
        return bool(self.pool.waitForDone(timeout_ms))


# -- dates ------------------------------------------------------------------------------------------


def vietnam_today(now: datetime) -> date:
    return now.astimezone(VIETNAM_TIME).date()


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """``[start of first, start of the day after last)`` in Vietnam time."""
    since = datetime.combine(first, time.min, VIETNAM_TIME)
    until = datetime.combine(last + timedelta(days=1), time.min, VIETNAM_TIME)
    return since, until


# -- USB sticks -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MediaSeam:
    """Where sticks are looked for: the kernel's mount table and the automounter's folders (tests: files)."""

    mounts_file: Path = Path("/proc/mounts")
    roots: tuple[Path, ...] = (Path("/media"), Path("/run/media"), Path("/mnt"))

    def media(self) -> list[Medium]:
        """Writable or not, every stick mounted now. Called off the GUI thread."""
        return removable_media(self.mounts_file, self.roots)


@dataclass(frozen=True, slots=True)
class Written:
    path: Path
    rows: int


def export_range(store: Store, folder: Path, first: date, last: date, fmt: str) -> Written:
    """Visits of ``first`` … ``last`` (Vietnam days) onto the stick at ``folder``. Called off the GUI thread."""
    if last < first:
        first, last = last, first
    since, until = day_bounds(first, last)
    visits = store.visits(since=since, until=until)
    suffix = "xlsx" if fmt == "xlsx" else "csv"
    name = (
        f"visits {first:%Y-%m-%d}.{suffix}"
        if first == last
        else f"visits {first:%Y-%m-%d} to {last:%Y-%m-%d}.{suffix}"
    )
    path = write_export_atomically(visits, folder, name, fmt)
    return Written(path, len(visits))


# -- staff roster -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RosterSummary:
    staff: int
    key_id: str


def roster_files(media: Sequence[Medium], depth: int = ROSTER_SEARCH_DEPTH) -> list[Path]:
    """``.csv`` / ``.xlsx`` files on the sticks, near the top, sorted. Called off the GUI thread."""
    found: list[Path] = []
    for medium in media:
        for folder, dirs, files in os.walk(medium.path):
            level = len(Path(folder).relative_to(medium.path).parts)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if level + 1 < depth else []
            found += [
                Path(folder) / f
                for f in sorted(files)
                if not f.startswith((".", *EXPORT_PREFIXES)) and Path(f).suffix.lower() in ROSTER_SUFFIXES
            ]
            if len(found) >= MAX_ROSTER_FILES:
                return found[:MAX_ROSTER_FILES]
    return found


def kept_roster(roster_path: Path) -> RosterSummary | None:
    """The roster kept on the kiosk, or None when none was imported. Called off the GUI thread."""
    from kiosk.roster import Roster  # noqa: PLC0415 - openpyxl and friends load when the admin uses them

    if not roster_path.exists():
        return None
    roster = Roster.load(roster_path)
    return RosterSummary(len(roster.entries), roster.key_id)


def import_roster(source: Path, keyring: IdentityKeyring, roster_path: Path) -> RosterSummary:
    """Import a staff list and keep it (replacing the last one). Called off the GUI thread."""
    from kiosk.errors import RosterError  # noqa: PLC0415
    from kiosk.roster import load_roster_file, save_roster  # noqa: PLC0415

    try:
        roster = load_roster_file(source, keyring)
    except RosterError as exc:
        if exc.problems:
            rows = "; ".join(f"row {n}: {what}" if n else what for n, what in exc.problems[:5])
            more = f" (+{len(exc.problems) - 5} more)" if len(exc.problems) > 5 else ""
            raise RosterError(f"{exc} — {rows}{more}", exc.problems) from exc
        raise
    save_roster(roster, roster_path)
    return RosterSummary(len(roster.entries), roster.key_id)


@dataclass(frozen=True, slots=True)
class Report:
    day: date
    staff: int
    missing: tuple[RosterEntry, ...]


def not_scanned_report(store: Store, roster_path: Path, keyring: IdentityKeyring, day: date) -> Report:
    """Staff with no granted visit on ``day`` (Vietnam time). Called off the GUI thread."""
    from kiosk.roster import Roster, not_scanned  # noqa: PLC0415

    roster = Roster.load(roster_path)
    since, until = day_bounds(day, day)
    missing = not_scanned(roster, store.visits(since=since, until=until), keyring)
    return Report(day, len(roster.entries), tuple(missing))


def export_report(report: Report, folder: Path, fmt: str) -> Written:
    """The "did not scan" list onto the stick at ``folder``. Called off the GUI thread."""
    from kiosk.roster import export_not_scanned  # noqa: PLC0415

    suffix = "xlsx" if fmt == "xlsx" else "csv"
    name = f"not scanned {report.day:%Y-%m-%d}.{suffix}"
    path = write_file_atomically(folder, name, lambda p: export_not_scanned(report.missing, p, fmt))
    return Written(path, len(report.missing))


# -- status -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fact:
    """One line of the status page: a name, OK / WARN / FAIL / "" (information), and the value."""

    name: str
    level: str
    value: str


@dataclass(frozen=True, slots=True)
class LiveRates:
    """The camera test's numbers: frame rate, last decode time (None: not known), scan-loop errors."""

    state: str
    fps: float | None
    decode_ms: float | None
    frames_processed: int | None
    errors: int | None
    detail: str = ""


def live_rates(context: UiContext) -> LiveRates:
    """The grabber's frame rate and the scan loop's decode time. Called off the GUI thread."""
    state, fps, detail = "", None, ""
    if context.frames is not None:
        status = context.frames.status()
        state, fps, detail = status.state.value, status.fps, status.detail
    loop = context.loop
    decode_ms = getattr(loop, "last_decode_ms", None) if loop is not None else None
    processed = loop.frames_processed if loop is not None else None
    errors = loop.errors if loop is not None else None
    return LiveRates(state, fps, decode_ms, processed, errors, detail)


def database_bytes(database: Path) -> int:
    """The database file with its write-ahead log."""
    total = 0
    for path in (database, database.with_name(database.name + "-wal")):
        try:
            total += path.stat().st_size
        except FileNotFoundError:
            continue
    return total


def status_facts(context: UiContext) -> list[Fact]:
    """What the kiosk itself knows, without opening a device. Called off the GUI thread."""
    config = context.config
    facts = [Fact("version", "", __version__)]
    store = context.store
    if store is not None:
        try:
            space = store.disk_space()
        except KioskError as exc:
            facts.append(Fact("disk", "FAIL", str(exc)))
        else:
            level = "FAIL" if space.out_of_service else "WARN" if space.low else "OK"
            facts.append(Fact("disk", level, f"{space.free_mb} MB free (floor {space.floor_mb} MB)"))
        size = database_bytes(store.path)
        facts.append(Fact("database", "", f"{size / 1024 / 1024:.1f} MB  {store.path}"))
    backlog = context.backlog if context.backlog is not None else (store.backlog if store else None)
    if backlog is not None:
        facts.append(Fact("backlog", "", f"{backlog()} visits waiting for upload"))
    if config.sync.server_url:
        facts.append(Fact("server", "", config.sync.server_url))
    reading = context.clock.now()
    clock = reading.wall.astimezone(VIETNAM_TIME).strftime("%Y-%m-%d %H:%M:%S")
    if reading.synchronised:
        facts.append(Fact("clock", "OK", f"{clock} (synchronised)"))
    else:
        facts.append(Fact("clock", "WARN", f"{clock} (NOT synchronised)"))
    rates = live_rates(context)
    if context.frames is not None:
        level = "OK" if rates.state == "running" else "FAIL"
        facts.append(
            Fact("camera", level, f"{rates.state} {rates.fps or 0:.1f} frames/s {rates.detail}".strip())
        )
    if rates.decode_ms is not None:
        facts.append(Fact("decode time", "", f"{rates.decode_ms:.0f} ms per frame"))
    if rates.errors is not None:
        facts.append(Fact("scan errors", "WARN" if rates.errors else "OK", f"{rates.errors} since start"))
    if context.gate is not None:
        state = context.gate.state().value
        reason = getattr(context.gate, "reason", "")
        level = "OK" if state == "ready" else "FAIL" if state == "fault" else ""
        facts.append(Fact("gate outputs", level, f"{state} {reason}".strip()))
    if context.recent_errors is not None:
        errors = context.recent_errors()
        if not errors:
            facts.append(Fact("last errors", "OK", "none since start"))
        facts.extend(Fact("last errors", "WARN", line) for line in errors)
    return facts


def doctor_checks(context: UiContext) -> list[Fact]:
    """``kiosk doctor``'s checks, from the callable the composition root gave. Called off the GUI thread."""
    if context.status_checks is None:
        return []
    return [Fact(name, level, message) for name, level, message in context.status_checks()]


# -- devices ----------------------------------------------------------------------------------------


def signal_gate(context: UiContext, outcome: Outcome) -> str:
    """Play ``outcome``'s pattern on the relay, LEDs and buzzer; return the outputs' state afterwards.
    Called off the GUI thread."""
    gate = context.gate
    if gate is None:
        raise KioskError("no gate outputs in this app")
    gate.signal(outcome)
    return str(gate.state().value)


def change_pin(pin_path: Path | None, role: str, pin: str) -> str:
    """Set ``role``'s PIN in the vault. Called off the GUI thread (Argon2id is slow by design)."""
    from kiosk.pin import PinVault, Role  # noqa: PLC0415

    if pin_path is None:
        raise KioskError("PINs are not configured on this kiosk")
    PinVault.open(pin_path).set_pin(Role(role), pin)
    return role


def save_settings(path: Path, values: dict[str, str], base: Config) -> Config:
    """The admin's settings into the admin settings file, checked as start-up would check them (nothing is
    written when one is refused: ``ConfigError``). Called off the GUI thread (it writes and fsyncs)."""
    from kiosk.settings import save_admin_settings  # noqa: PLC0415

    return save_admin_settings(path, values, base=base)


def needs_setup(pin_path: Path | None) -> bool:
    """No admin PIN chosen yet (the first-run set-up). Called off the GUI thread."""
    from kiosk.pin import PinVault  # noqa: PLC0415

    return pin_path is not None and PinVault.open(pin_path).needs_setup()
