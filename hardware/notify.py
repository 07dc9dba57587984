"""Layer: hardware. systemd supervision: the sd_notify protocol and a health-gated watchdog pinger.

``SystemdNotifier`` speaks sd_notify(3): one ``KEY=VALUE`` datagram per message over the AF_UNIX SOCK_DGRAM
socket named by ``$NOTIFY_SOCKET`` (a leading ``@`` means the Linux abstract namespace). It is written with
the stdlib ``socket`` module because the protocol is a single ``sendto``; a dependency would buy nothing.
Without ``$NOTIFY_SOCKET`` (a laptop, a test, a shell) the notifier is a no-op, so the app takes the same
code path everywhere, the way picamera2's null preview does for headless runs.

``WatchdogPinger`` turns a health function into notifications::

    health() ok for the first time  ──▶  READY=1            (the root decides "ok": database open, frames flow)
    status text changed             ──▶  STATUS=<text>      ("camera running 29.8 fps · backlog 12")
    ok, and a watchdog interval due ──▶  WATCHDOG=1         (never while health says not ok)

systemd kills and restarts the service (``WatchdogSec=``, ``Restart=always``) when the pings stop, so a
wedged loop turns into a restart instead of a gate that looks alive and records nothing.

Which thread pings matters. On the GUI build the composition root calls ``tick()`` from a ``QTimer`` on the
GUI thread: a frozen UI then stops the pings too, which is the point. A separate pinging thread would keep
systemd happy while the screen is frozen. ``start()`` runs the same ticks in a daemon thread for headless
mode, where the scan loop itself is what the health function watches.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Self

__all__ = ["HealthReport", "SystemdNotifier", "WatchdogPinger"]

log = logging.getLogger(__name__)

# How often the pinger looks at health when no watchdog interval forces a shorter period: short enough that
# READY=1 follows "database open, frames flow" within a second, cheap enough for a GUI-thread timer.
DEFAULT_POLL_S = 1.0


@dataclass(frozen=True)
class HealthReport:
    """One answer from the health function: may systemd be told we are alive, and what to show as status."""

    ok: bool
    status: str


class SystemdNotifier:
    """sd_notify over ``$NOTIFY_SOCKET``; a no-op when there is none. Thread-safe; ``close()`` is idempotent.

    Sending never raises: a notification that cannot be delivered is logged and reported as ``False``,
    because the gate must keep working even when its supervisor has gone away.
    """

    def __init__(self, address: str | None, watchdog_usec: int | None = None) -> None:
        """``address``: the ``$NOTIFY_SOCKET`` value (a path or ``@abstract``), or None for a no-op notifier.

        ``watchdog_usec``: the watchdog timeout meant for this process (``$WATCHDOG_USEC``), or None.
        """
        self._address = _socket_address(address) if address else None
        self._watchdog_usec = watchdog_usec if watchdog_usec and watchdog_usec > 0 else None
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._closed = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], pid: int | None = None) -> SystemdNotifier:
        """Build from the process environment (passed in: the root gives ``os.environ``).

        ``$WATCHDOG_USEC`` counts only when ``$WATCHDOG_PID`` is unset or names ``pid`` (default: this
        process), as in sd_watchdog_enabled(3): a child that merely inherited the variables must not ping
        on its parent's behalf. kiosk.service runs the app as a child of cage and therefore unsets
        ``WATCHDOG_PID`` (``UnsetEnvironment=``) to hand the watchdog to the app.
        """
        pid = os.getpid() if pid is None else pid
        address = environ.get("NOTIFY_SOCKET") or None
        if address is not None and not (address.startswith("/") or address.startswith("@")):
            # systemd ≥ 253 may hand out vsock: addresses (VMs); a kiosk never runs there.
            log.warning("NOTIFY_SOCKET=%r is neither a path nor @abstract; notifications are off", address)
            address = None
        return cls(address, _watchdog_usec(environ, pid))

    @property
    def enabled(self) -> bool:
        """True when a notification socket is configured (i.e. running under systemd with Type=notify)."""
        return self._address is not None

    def watchdog_interval_s(self) -> float | None:
        """Seconds between WATCHDOG=1 pings: half of ``$WATCHDOG_USEC``, as sd_watchdog_enabled(3) advises.

        None when no watchdog is expected from this process (or there is nowhere to send the pings).
        """
        if self._watchdog_usec is None or self._address is None:
            return None
        return self._watchdog_usec / 2 / 1_000_000

    def send(self, *assignments: str) -> bool:
        """Send ``KEY=VALUE`` assignments as one datagram. True when delivered (False when a no-op or failed)."""
        if self._address is None or not assignments:
            return False
        payload = "\n".join(assignments).encode("utf-8")
        with self._lock:
            if self._closed:
                return False
            try:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.sendto(payload, self._address)
            except OSError as exc:
                # Not fatal: systemd restarting, a full socket buffer. The next ping tries again.
                log.warning("sd_notify %r failed: %s", assignments, exc)
                return False
        return True

    def ready(self) -> bool:
        """Tell systemd that start-up is complete (``READY=1``)."""
        return self.send("READY=1")

    def status(self, text: str) -> bool:
        """Set the free-form status line ``systemctl status`` shows (``STATUS=``)."""
        # A newline would start another assignment (a caller could forge READY=1 or MAINPID=).
        return self.send("STATUS=" + " ".join(text.splitlines()))

    def watchdog(self) -> bool:
        """Ping the service watchdog (``WATCHDOG=1``)."""
        return self.send("WATCHDOG=1")

    def stopping(self) -> bool:
        """Tell systemd that an orderly shutdown has begun (``STOPPING=1``)."""
        return self.send("STOPPING=1")

    def close(self) -> None:
        """Close the socket; later sends are no-ops. Idempotent."""
        with self._lock:
            self._closed = True
            if self._sock is not None:
                self._sock.close()
                self._sock = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class WatchdogPinger:
    """READY=1 once healthy, WATCHDOG=1 every interval only while healthy, STATUS= when the text changes.

    Drive it either with ``tick(now)`` (a GUI-thread ``QTimer`` on the GUI build; a fake clock in tests) or
    with ``start()``, which ticks in a daemon thread (headless mode only; see the module docstring for why).
    ``close()`` stops and joins the thread and is idempotent; the notifier stays open (its owner closes it).
    """

    def __init__(
        self,
        notifier: SystemdNotifier,
        health: Callable[[], HealthReport],
        clock: Callable[[], float] = time.monotonic,
        *,
        poll_s: float | None = None,
    ) -> None:
        """``clock`` is monotonic seconds; ``poll_s`` how often ``start()`` ticks (default: at most 1 s, and
        at most half the watchdog interval so that a late tick never stretches a ping gap past the timeout).
        """
        self._notifier = notifier
        self._health = health
        self._clock = clock
        self._interval_s = notifier.watchdog_interval_s()
        default_poll = (
            DEFAULT_POLL_S if self._interval_s is None else min(DEFAULT_POLL_S, self._interval_s / 2)
        )
        self.poll_s = poll_s if poll_s is not None else default_poll
        self._ready = False
        self._last_ping: float | None = None
        self._last_status: str | None = None
        self._lock = threading.Lock()  # tick() from the thread and from a caller must not interleave
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def ready_sent(self) -> bool:
        """True once READY=1 has been sent."""
        return self._ready

    @property
    def watchdog_interval_s(self) -> float | None:
        """The ping interval (half of ``$WATCHDOG_USEC``), or None when no watchdog is configured."""
        return self._interval_s

    def tick(self, now: float | None = None) -> HealthReport:
        """Ask health once and send whatever is due. Returns the report. Called off the GUI thread by
        ``start()``; on the GUI build call it from the GUI thread only."""
        now = self._clock() if now is None else now
        report = self._check()
        with self._lock:
            if report.status != self._last_status:
                self._notifier.status(report.status)
                self._last_status = report.status
            if not report.ok:
                # The whole point: no ping while unhealthy, so systemd restarts a wedged kiosk.
                return report
            if not self._ready:
                self._notifier.ready()
                self._ready = True
            if self._interval_s is not None and (
                self._last_ping is None or now - self._last_ping >= self._interval_s
            ):
                self._notifier.watchdog()
                self._last_ping = now
        return report

    def _check(self) -> HealthReport:
        try:
            return self._health()
        except Exception as exc:
            # A broken health check means we cannot vouch for the kiosk: treat it as unhealthy, keep ticking.
            log.exception("health check failed")
            return HealthReport(ok=False, status=f"health check failed: {exc}")

    def start(self) -> None:
        """Tick every ``poll_s`` in a daemon thread (headless mode). Starting twice is an error."""
        if self._thread is not None:
            raise RuntimeError("WatchdogPinger already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sd-watchdog", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # Runs on the pinger thread. The first tick is immediate so READY=1 does not wait one poll period.
        while True:
            self.tick(self._clock())
            if self._stop.wait(self.poll_s):
                return

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread and wait for it. Idempotent."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)

    def close(self) -> None:
        """Same as ``stop()``; for symmetry with every other resource. Idempotent."""
        self.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _socket_address(address: str) -> str | bytes:
    # Abstract-namespace names start with a NUL byte on the wire; systemd writes them with a leading "@".
    if address.startswith("@"):
        return b"\0" + address[1:].encode("utf-8")
    return address


def _watchdog_usec(environ: Mapping[str, str], pid: int) -> int | None:
    raw_pid = environ.get("WATCHDOG_PID")
    if raw_pid:
        try:
            if int(raw_pid) != pid:
                return None
        except ValueError:
            log.warning("WATCHDOG_PID=%r is not a number; the watchdog is off", raw_pid)
            return None
    raw = environ.get("WATCHDOG_USEC")
    if not raw:
        return None
    try:
        usec = int(raw)
    except ValueError:
        log.warning("WATCHDOG_USEC=%r is not a number; the watchdog is off", raw)
        return None
    return usec if usec > 0 else None
