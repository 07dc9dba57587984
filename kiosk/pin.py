"""Layer: core. The guard and admin PINs: Argon2id hashes and a lockout that survives restarts.

``PinVault.open(path)`` keeps both hashes and the failure counter in one small JSON file (mode 0600,
rewritten atomically: a temporary file beside it, fsync, rename, fsync the folder). A damaged file is
refused with ``PinFileError`` and left exactly as it is — never silently replaced by an empty one, which
would let anyone choose a new admin PIN. One process owns the file at a time (the app; the CLI when the app
is stopped): the vault reads it once, at ``open``.

Hashing is argon2-cffi's Argon2id with OWASP's "m=12 MiB, t=3, p=1" setting: about 25 ms on the build
machine, roughly 75-125 ms on a Raspberry Pi 4 (a hash takes 3-5 times longer there). A 4-8 digit PIN
cannot resist an offline search of a stolen file whatever the cost; what protects it is the file mode and
the lockout, which Argon2 makes expensive to bypass by copying the file elsewhere.

Lockout: after ``FREE_ATTEMPTS`` failures each further failure locks the vault for ``FIRST_DELAY_S``,
doubling per failure up to ``MAX_DELAY_S``; a right PIN clears the count. While locked, ``verify`` does not
look at the PIN at all. Time is a ``ClockReading`` passed in:

- within one boot the delay is measured on the monotonic clock (``monotonic_s``), so setting the wall clock
  forward or back neither shortens nor extends it, and restarting the app changes nothing;
- after a reboot (another ``boot_id``) the monotonic clock starts again from zero and says nothing about how
  long the kiosk was off, so the whole delay starts again from the first check of the new boot: rebooting
  never shortens a lockout (a lockout that had run out before the reboot but was not followed by any try is
  served again — conservative on purpose);
- each attempt is counted on disk *before* the PIN is checked, so pulling the plug while Argon2 runs gives no
  free guess; a counter that cannot be written refuses the check (``PinFileError``).

Who may call ``set_pin`` (the first-run set-up, or an admin who has just entered the admin PIN) is the
caller's business: the vault only refuses weak PINs.
"""

from __future__ import annotations

import json
import logging
import math
import os
import stat
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kiosk.errors import PinError, PinFileError
from kiosk.fileio import replace_atomically
from kiosk.model import ClockReading, PinProblem

__all__ = [
    "FIRST_DELAY_S",
    "FREE_ATTEMPTS",
    "MAX_DELAY_S",
    "PinCheck",
    "PinProblem",
    "PinVault",
    "Role",
    "check_new_pin",
    "lockout_delay_s",
]

log = logging.getLogger(__name__)

FREE_ATTEMPTS = 2  # the 3rd failure in a row starts the first delay
FIRST_DELAY_S = 30.0
MAX_DELAY_S = 3600.0
MIN_DIGITS, MAX_DIGITS = 4, 8
#: OWASP's Argon2id setting "m=12288 KiB, t=3, p=1" (equivalent in strength to its m=19 MiB, t=2).
ARGON2_TIME_COST = 3
ARGON2_MEMORY_KIB = 12 * 1024
ARGON2_PARALLELISM = 1

_FORMAT = 1
_MAX_FILE_BYTES = 64 * 1024  # the real file is under 1 KiB


class Role(StrEnum):
    """Who a PIN belongs to. The admin PIN also opens what needs the guard's."""

    GUARD = "guard"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class PinCheck:
    """The answer of ``PinVault.verify``.

    ``role`` is the role whose PIN matched (``ADMIN`` when the admin PIN opened a guard screen), None on a
    refusal; ``locked_for_s`` is how long until the next try is looked at (0 when it may come now);
    ``failures`` counts failures in a row, this one included.
    """

    ok: bool
    role: Role | None
    locked_for_s: float
    failures: int


def lockout_delay_s(failures: int) -> float:
    """The delay after ``failures`` failures in a row: none for the first two, then 30 s, 60 s, ... 1 h."""
    if failures <= FREE_ATTEMPTS:
        return 0.0
    return min(FIRST_DELAY_S * 2.0 ** min(failures - FREE_ATTEMPTS - 1, 32), MAX_DELAY_S)


def check_new_pin(pin: str) -> None:
    """Raise ``PinError`` unless ``pin`` is 4-8 ASCII digits and not trivial (0000, 1234, 9876, 1212...)."""
    if not MIN_DIGITS <= len(pin) <= MAX_DIGITS:
        raise PinError(PinProblem.LENGTH, f"a PIN has {MIN_DIGITS} to {MAX_DIGITS} digits, not {len(pin)}")
    if not all("0" <= ch <= "9" for ch in pin):  # str.isdigit() would take Arabic-Indic and other digits
        raise PinError(PinProblem.NOT_DIGITS, "a PIN has only the digits 0-9")
    steps = {(int(b) - int(a)) % 10 for a, b in pairwise(pin)}
    if steps in ({1}, {9}):
        raise PinError(PinProblem.TRIVIAL, "a run of digits like 1234 or 9876 is the first thing tried")
    for size in range(1, len(pin) // 2 + 1):
        if pin == pin[:size] * (len(pin) // size):
            raise PinError(
                PinProblem.TRIVIAL, "a repeated digit or pattern like 0000 or 1212 is easy to guess"
            )


@dataclass(frozen=True, slots=True)
class _Lockout:
    """Failures in a row and, once they lock, when the current delay started (on which boot's clock)."""

    failures: int = 0
    delay_s: float = 0.0
    boot_id: str = ""
    since_monotonic_s: float = 0.0
    last_failure_wall: str | None = None  # for the admin's status screen only; never used to count time


@dataclass(frozen=True, slots=True)
class _State:
    hashes: dict[Role, str] = field(default_factory=dict)
    lockout: _Lockout = field(default_factory=_Lockout)

    def to_json(self) -> bytes:
        lockout = self.lockout
        doc = {
            "format": _FORMAT,
            "hashes": {role.value: self.hashes[role] for role in Role if role in self.hashes},
            "lockout": {
                "failures": lockout.failures,
                "delay_s": lockout.delay_s,
                "boot_id": lockout.boot_id,
                "since_monotonic_s": lockout.since_monotonic_s,
                "last_failure_wall": lockout.last_failure_wall,
            },
        }
        return (json.dumps(doc, indent=2) + "\n").encode("utf-8")


def _parse(raw: bytes, path: Path) -> _State:
    """The state in a PIN file, or ``PinFileError`` naming what is wrong."""

    def damaged(what: str) -> PinFileError:
        return PinFileError(
            f"PIN file {path} is damaged ({what}); it was left as it is. Restore it from a backup, or move "
            "it aside to choose new PINs at the first-run set-up"
        )

    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise damaged("not JSON") from exc
    if not isinstance(doc, dict) or set(doc) != {"format", "hashes", "lockout"}:
        raise damaged("not a PIN file")
    if doc["format"] != _FORMAT:
        raise PinFileError(f"PIN file {path} has format {doc['format']!r}; this version reads {_FORMAT}")
    hashes, lockout = doc["hashes"], doc["lockout"]
    if not isinstance(hashes, dict) or not set(hashes) <= {r.value for r in Role}:
        raise damaged("unknown roles")
    if not all(isinstance(h, str) and h.startswith("$argon2id$") for h in hashes.values()):
        raise damaged("a hash is not Argon2id")
    fields = {"failures", "delay_s", "boot_id", "since_monotonic_s", "last_failure_wall"}
    if not isinstance(lockout, dict) or set(lockout) != fields:
        raise damaged("no lockout record")
    failures, delay_s, since = lockout["failures"], lockout["delay_s"], lockout["since_monotonic_s"]
    if not (type(failures) is int and failures >= 0 and _number(delay_s) and _number(since)):
        raise damaged("bad lockout numbers")
    if not (0 <= delay_s <= MAX_DELAY_S) or not isinstance(lockout["boot_id"], str):
        raise damaged("bad lockout record")
    if not isinstance(lockout["last_failure_wall"], (str, type(None))):
        raise damaged("bad lockout record")
    return _State(
        {Role(role): h for role, h in hashes.items()},
        _Lockout(failures, float(delay_s), lockout["boot_id"], float(since), lockout["last_failure_wall"]),
    )


def _number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


class PinVault:
    """The guard and admin PIN hashes and the failure counter, in the JSON file at ``path``.

    Methods may be called from a worker thread (Argon2 is slow by design); calls are serialised.
    """

    def __init__(self, path: Path, state: _State) -> None:
        """Use ``PinVault.open``."""
        self._path = path
        self._state = state
        self._hasher = PasswordHasher(
            time_cost=ARGON2_TIME_COST,
            memory_cost=ARGON2_MEMORY_KIB,
            parallelism=ARGON2_PARALLELISM,
            type=Type.ID,
        )
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path) -> PinVault:
        """Read the PIN file at ``path``, or create an empty one (mode 0600; no PIN yet) if there is none."""
        try:
            with path.open("rb") as fh:
                raw = fh.read(_MAX_FILE_BYTES + 1)
                mode = os.fstat(fh.fileno()).st_mode
        except FileNotFoundError:
            vault = cls(path, _State())
            try:
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise PinFileError(f"cannot create the folder of PIN file {path}: {exc.strerror}") from exc
            vault._save(vault._state)
            log.info("created an empty PIN file %s: the first-run set-up must choose an admin PIN", path)
            return vault
        except OSError as exc:
            raise PinFileError(f"cannot read PIN file {path}: {exc.strerror}") from exc
        if len(raw) > _MAX_FILE_BYTES:
            raise PinFileError(
                f"PIN file {path} is larger than {_MAX_FILE_BYTES // 1024} KiB: not a PIN file"
            )
        vault = cls(path, _parse(raw, path))
        if stat.S_IMODE(mode) & 0o077:
            log.warning("PIN file %s was readable by others (mode %o): set to 0600", path, stat.S_IMODE(mode))
            try:
                path.chmod(0o600)
            except OSError as exc:
                raise PinFileError(f"cannot make PIN file {path} private: {exc.strerror}") from exc
        return vault

    @property
    def path(self) -> Path:
        return self._path

    def needs_setup(self) -> bool:
        """No admin PIN yet: the first-run set-up must choose one before anything else."""
        return not self.has_pin(Role.ADMIN)

    def has_pin(self, role: Role) -> bool:
        with self._lock:
            return role in self._state.hashes

    @property
    def failures(self) -> int:
        """Failed checks in a row so far."""
        with self._lock:
            return self._state.lockout.failures

    def set_pin(self, role: Role, pin: str) -> None:
        """Choose ``role``'s PIN. Raises ``PinError`` for a weak PIN or one equal to the other role's."""
        check_new_pin(pin)
        with self._lock:
            other = Role.GUARD if role is Role.ADMIN else Role.ADMIN
            if other in self._state.hashes and self._matches(other, pin):
                raise PinError(PinProblem.SAME_AS_OTHER_ROLE, "the guard and admin PINs must differ")
            hashes = {**self._state.hashes, role: self._hasher.hash(pin)}
            self._save(_State(hashes, self._state.lockout))
        log.info("the %s PIN was set", role.value)

    def locked_for_s(self, now: ClockReading) -> float:
        """Seconds until a PIN will be looked at again (0: now). Starts a delay carried over a reboot."""
        with self._lock:
            return self._remaining_s(now)

    def verify(self, role: Role, pin: str, now: ClockReading) -> PinCheck:
        """Check ``pin`` for ``role`` (the admin PIN passes for the guard too). Called off the GUI thread."""
        with self._lock:
            lockout = self._state.lockout
            remaining = self._remaining_s(now)
            if remaining > 0:
                return PinCheck(False, None, remaining, lockout.failures)
            roles = [
                r for r in ((role, Role.ADMIN) if role is Role.GUARD else (role,)) if r in self._state.hashes
            ]
            if not roles:  # no PIN to compare with: the set-up has not run; nothing to count
                return PinCheck(False, None, 0.0, lockout.failures)
            failures = lockout.failures + 1
            counted = _Lockout(
                failures,
                lockout_delay_s(failures),
                now.boot_id,
                now.monotonic_s,
                now.wall.isoformat(timespec="seconds"),
            )
            self._save(_State(self._state.hashes, counted))  # before the check: see the module docstring
            plausible = isinstance(pin, str) and MIN_DIGITS <= len(pin) <= MAX_DIGITS
            matched = next((r for r in roles if plausible and self._matches(r, pin)), None)
            if matched is None:
                log.warning(
                    "wrong %s PIN: %d failure(s) in a row, next try in %.0f s",
                    role.value,
                    failures,
                    counted.delay_s,
                )
                return PinCheck(False, None, counted.delay_s, failures)
            hashes = dict(self._state.hashes)
            if self._hasher.check_needs_rehash(hashes[matched]):  # the cost settings changed since
                hashes[matched] = self._hasher.hash(pin)
            self._save(_State(hashes, _Lockout()))
            return PinCheck(True, matched, 0.0, 0)

    def _remaining_s(self, now: ClockReading) -> float:
        lockout = self._state.lockout
        if lockout.delay_s <= 0:
            return 0.0
        if lockout.boot_id != now.boot_id or now.monotonic_s < lockout.since_monotonic_s:
            # Another boot (a monotonic clock that went back can only be one too): how long the kiosk was
            # off is unknown, so the whole delay starts again now, and is written down for the next restart.
            restarted = _Lockout(
                lockout.failures,
                lockout.delay_s,
                now.boot_id,
                now.monotonic_s,
                lockout.last_failure_wall,
            )
            self._save(_State(self._state.hashes, restarted))
            return lockout.delay_s
        return max(0.0, lockout.delay_s - (now.monotonic_s - lockout.since_monotonic_s))

    def _matches(self, role: Role, pin: str) -> bool:
        try:
            return self._hasher.verify(self._state.hashes[role], pin)
        except VerifyMismatchError:
            return False
        except (InvalidHashError, VerificationError) as exc:
            raise PinFileError(f"the {role.value} PIN hash in {self._path} is damaged") from exc

    def _save(self, state: _State) -> None:
        """Replace the file atomically, then adopt ``state``; on failure the old state stays."""
        try:
            replace_atomically(self._path, state.to_json(), mode=0o600)
        except OSError as exc:
            raise PinFileError(f"cannot write PIN file {self._path}: {exc.strerror or exc}") from exc
        self._state = state
