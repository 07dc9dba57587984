"""Layer: core. The one exception tree of the kiosk.

::

    KioskError
    ├── ConfigError            invalid configuration value (names the key and the allowed values)
    ├── UsageError             bad command-line input (exit status 2)
    │   └── TraceQueryError    a tracing question the rules refuse (``kiosk.trace``; carries a reason code)
    ├── PayloadError           a scanned payload was refused; carries a Reason and the detected Kind
    ├── TrustListError         a trust list or signer certificate file could not be read
    ├── DecodeError            an image could not be read or decoded at all
    ├── DeviceError            a camera, scanner or gate output failed or cannot be opened
    ├── PinError               a new PIN was refused (length, digits, trivial); carries a PinProblem
    ├── PinFileError           the PIN file is damaged, unreadable or cannot be written (never overwritten)
    ├── RosterError            a staff roster file was refused (every bad row named; nothing imported)
    ├── ExportError            an export could not be written to its folder or USB stick
    ├── AlreadyOverriddenError  the guard already let this refusal in (``Store.record_override``); nothing written
    ├── StoreError             the local record could not be written or read
    │   ├── StorageFullError   the disk is full: the visit is "not recorded", nothing stored is lost
    │   ├── OutOfServiceError  free space is below the configured floor
    │   └── CorruptDatabaseError  the database failed its integrity check (it is moved aside)
    └── SyncError              talking to the provincial server failed (kiosk.sync)
        ├── RetryableError     try again later with back-off; ``retry_after_s`` when the server said so
        │   │                  (408, 429, 5xx, 400, a malformed or truncated reply)
        │   └── TransportError no HTTP answer at all
        │       ├── ConnectFailed     DNS, refused, unreachable network
        │       ├── TimedOut          connect or read timeout
        │       ├── TlsFailed         the certificate did not verify against the configured CA
        │       └── ReplyTooLarge     the reply was longer than the transport reads
        ├── AuthError          401: the device token was refused; stop and enrol again
        ├── ForbiddenError     403: wrong device, invalid enrolment code; not retried as is
        ├── BatchTooLarge      413: halve the batch (``max_visits`` when the server said)
        ├── InvalidVisit       422: ``index`` of the first bad visit in the batch (None if unknown)
        └── ProtocolError      any other answer the protocol does not allow (404, a redirect, ...)

Library errors are translated at the boundary with ``raise ... from exc``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.model import Kind, PinProblem, Reason


class KioskError(Exception):
    """Root of every error the kiosk raises on purpose."""


class ConfigError(KioskError):
    """A configuration value is invalid. The message names the key and what is allowed."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"config {key}: {message}")
        self.key = key


class UsageError(KioskError):
    """The command line was used wrongly."""


class PayloadError(KioskError):
    """A payload was refused. ``reason`` is machine-readable; ``kind`` is what it looked like."""

    def __init__(self, reason: Reason, kind: Kind, detail: str = "") -> None:
        super().__init__(f"{kind.value}: {reason.value}" + (f" ({detail})" if detail else ""))
        self.reason = reason
        self.kind = kind
        self.detail = detail


class TrustListError(KioskError):
    """A trust list or certificate file is unreadable or malformed."""


class DecodeError(KioskError):
    """An image file could not be loaded or decoded."""


class DeviceError(KioskError):
    """A device failed: a camera that cannot be opened or read, a scanner that went away."""


class RosterError(KioskError):
    """A staff roster could not be imported or read; ``problems`` lists ``(row number, what is wrong)``
    for every bad row (row 0: the file as a whole). Nothing was imported."""

    def __init__(self, message: str, problems: tuple[tuple[int, str], ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class ExportError(KioskError):
    """An export file could not be written (the stick is full, write-protected or was pulled out)."""


class AlreadyOverriddenError(KioskError):
    """The refusal was already let in by the guard: a refusal is overridden at most once. Nothing was recorded;
    ``refusal`` is the refused visit's UUID and ``override`` the override's (None when it is not known)."""

    def __init__(self, refusal: str, override: str | None = None) -> None:
        super().__init__(
            f"this refusal was already let in by the guard (visit {refusal}"
            + (f", override {override}" if override else "")
            + "): nothing was recorded"
        )
        self.refusal = refusal
        self.override = override


class PinError(KioskError):
    """A PIN was refused when it was set. ``reason`` is what the UI translates; the message is for logs."""

    def __init__(self, reason: PinProblem, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason


class PinFileError(KioskError):
    """The PIN file cannot be used: damaged, unreadable, or a change could not be written."""


class StoreError(KioskError):
    """The local database could not be used."""


class StorageFullError(StoreError):
    """The disk is full; the visit was not recorded but nothing already stored was lost."""


class OutOfServiceError(StoreError):
    """Free disk space is below the configured floor; the kiosk must say "out of service"."""


class CorruptDatabaseError(StoreError):
    """The database failed its integrity check."""


class SyncError(KioskError):
    """Talking to the provincial server failed. ``code`` is the server's stable ``error`` code, if any."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class RetryableError(SyncError):
    """Try again later with back-off; wait at least ``retry_after_s`` when the server said so."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, code=code, status=status)
        self.retry_after_s = retry_after_s


class TransportError(RetryableError):
    """No HTTP answer at all (the request may or may not have reached the server)."""


class ConnectFailed(TransportError):  # noqa: N818 - named for what happened, as the sync protocol says
    """The connection could not be made: DNS, refused, no route."""


class TimedOut(TransportError):  # noqa: N818 - named for what happened, as the sync protocol says
    """Connecting or reading took longer than the timeout."""


class TlsFailed(TransportError):  # noqa: N818 - named for what happened, as the sync protocol says
    """TLS failed: the server's certificate did not verify against the configured CA."""


class ReplyTooLarge(TransportError):  # noqa: N818 - named for what happened, as the sync protocol says
    """The reply was longer than the transport is willing to read."""


class AuthError(SyncError):
    """401: the device token is missing, unknown or revoked. Uploading stops until the kiosk is enrolled again."""


class ForbiddenError(SyncError):
    """403: the request is not allowed (``wrong_device``, ``enrolment_code_invalid``); not retried as is."""


class BatchTooLarge(SyncError):  # noqa: N818 - named for what happened, as the sync protocol says
    """413: the batch is too large; ``max_visits`` is the server's limit when it said so."""

    def __init__(self, message: str, *, max_visits: int | None = None) -> None:
        super().__init__(message, code="batch_too_large", status=413)
        self.max_visits = max_visits


class InvalidVisit(SyncError):  # noqa: N818 - named for what happened, as the sync protocol says
    """422: a visit of the batch was refused; ``index`` is its place in the batch (None when not said)."""

    def __init__(self, message: str, *, index: int | None, detail: str = "") -> None:
        super().__init__(message, code="invalid_visit", status=422)
        self.index = index
        self.detail = detail


class ProtocolError(SyncError):
    """An answer the protocol does not allow (a 404, a redirect, an unknown status)."""
