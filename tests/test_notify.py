"""sd_notify against a real fake NOTIFY_SOCKET, and the health-gated watchdog pinger driven by a fake clock."""

from __future__ import annotations

import itertools
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardware.notify import HealthReport, SystemdNotifier, WatchdogPinger

WATCHDOG_SEC = 20.0  # as in systemd/kiosk.service
READY_DEADLINE_S = 10.0  # test plan item 16: READY=1 within 10 s of start


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """What systemd does: bind a datagram socket and hand its path to the service as $NOTIFY_SOCKET."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5.0)
    try:
        yield sock, str(path)
    finally:
        sock.close()


def drain(sock: socket.socket) -> list[str]:
    """Every datagram already queued, without waiting for more."""
    messages = []
    sock.setblocking(False)
    try:
        while True:
            messages.append(sock.recv(4096).decode())
    except BlockingIOError:
        pass
    finally:
        sock.settimeout(5.0)
    return messages


def environ(address: str, watchdog_s: float | None = WATCHDOG_SEC, pid: str | None = None) -> dict[str, str]:
    env = {"NOTIFY_SOCKET": address}
    if watchdog_s is not None:
        env["WATCHDOG_USEC"] = str(int(watchdog_s * 1_000_000))
    if pid is not None:
        env["WATCHDOG_PID"] = pid
    return env


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Loop:
    """Health as the composition root defines it: the scan loop beats; a beat older than 3 s means wedged."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.database_open = False
        self.last_beat: float | None = None

    def beat(self) -> None:
        self.last_beat = self.clock.now

    def health(self) -> HealthReport:
        if not self.database_open:
            return HealthReport(False, "starting: database not open")
        if self.last_beat is None:
            return HealthReport(False, "starting: no frame yet")
        age = self.clock.now - self.last_beat
        if age > 3.0:
            return HealthReport(False, f"camera lost: no frame for {age:.0f} s")
        return HealthReport(True, "camera running 30.0 fps · backlog 0")


# --- the notifier -------------------------------------------------------------------------------------------


def test_notifier_sends_each_message_as_one_datagram(notify_socket: tuple[socket.socket, str]) -> None:
    sock, address = notify_socket
    with SystemdNotifier.from_environ(environ(address)) as notifier:
        assert notifier.enabled
        assert notifier.ready()
        assert notifier.status("camera running 29.8 fps · backlog 12")
        assert notifier.watchdog()
        assert notifier.stopping()
    assert [sock.recv(4096).decode() for _ in range(4)] == [
        "READY=1",
        "STATUS=camera running 29.8 fps · backlog 12",
        "WATCHDOG=1",
        "STOPPING=1",
    ]


def test_status_cannot_smuggle_another_assignment(notify_socket: tuple[socket.socket, str]) -> None:
    sock, address = notify_socket
    with SystemdNotifier.from_environ(environ(address)) as notifier:
        notifier.status("camera lost\nREADY=1")
    assert sock.recv(4096).decode() == "STATUS=camera lost READY=1"


def test_abstract_namespace_socket() -> None:
    name = f"kiosk-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(5.0)
        with SystemdNotifier.from_environ({"NOTIFY_SOCKET": "@" + name}) as notifier:
            assert notifier.ready()
        assert sock.recv(4096) == b"READY=1"


@pytest.mark.parametrize("env", [{}, {"NOTIFY_SOCKET": ""}, {"NOTIFY_SOCKET": "vsock:2:1234"}])
def test_without_a_socket_everything_is_a_no_op(env: dict[str, str]) -> None:
    notifier = SystemdNotifier.from_environ({**env, "WATCHDOG_USEC": "20000000"})
    assert not notifier.enabled
    assert notifier.watchdog_interval_s() is None
    assert not notifier.ready()
    assert not notifier.status("x")
    assert not notifier.watchdog()
    assert not notifier.stopping()
    notifier.close()
    notifier.close()


def test_close_is_idempotent_and_later_sends_are_dropped(notify_socket: tuple[socket.socket, str]) -> None:
    sock, address = notify_socket
    notifier = SystemdNotifier.from_environ(environ(address))
    assert notifier.ready()
    notifier.close()
    notifier.close()
    assert not notifier.watchdog()
    assert drain(sock) == ["READY=1"]


def test_a_vanished_socket_is_logged_not_raised(tmp_path: Path) -> None:
    with SystemdNotifier(str(tmp_path / "gone")) as notifier:
        assert not notifier.ready()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "20000000"}, 10.0),
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "4242"}, 10.0),
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}, None),  # meant for another process (e.g. cage)
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "x"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_is_half_of_watchdog_usec_for_this_pid(
    env: dict[str, str], expected: float | None
) -> None:
    notifier = SystemdNotifier.from_environ({"NOTIFY_SOCKET": "/run/nowhere", **env}, pid=4242)
    assert notifier.watchdog_interval_s() == expected


def test_watchdog_pid_defaults_to_this_process() -> None:
    env = {"NOTIFY_SOCKET": "/run/nowhere", "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())}
    assert SystemdNotifier.from_environ(env).watchdog_interval_s() == 2.0


# --- the pinger, on a fake clock ----------------------------------------------------------------------------


def test_ready_only_once_database_open_and_frames_flow_and_within_10_s(
    notify_socket: tuple[socket.socket, str],
) -> None:
    sock, address = notify_socket
    clock = FakeClock()
    loop = Loop(clock)
    start = clock.now
    with SystemdNotifier.from_environ(environ(address)) as notifier:
        pinger = WatchdogPinger(notifier, loop.health, clock)
        assert pinger.poll_s <= 1.0
        pinger.tick()
        assert drain(sock) == ["STATUS=starting: database not open"]
        clock.now += 2.0
        loop.database_open = True
        pinger.tick()
        assert drain(sock) == ["STATUS=starting: no frame yet"]
        assert not pinger.ready_sent
        clock.now += 1.5
        loop.beat()
        # The loop ticks every poll_s: READY follows within one poll period of health turning ok.
        while not pinger.ready_sent:
            clock.now += pinger.poll_s
            pinger.tick()
        assert clock.now - start <= READY_DEADLINE_S
        assert drain(sock) == ["STATUS=camera running 30.0 fps · backlog 0", "READY=1", "WATCHDOG=1"]


def test_watchdog_each_interval_while_ok_stops_when_wedged_resumes_when_ok(
    notify_socket: tuple[socket.socket, str],
) -> None:
    sock, address = notify_socket
    clock = FakeClock()
    loop = Loop(clock)
    loop.database_open = True
    loop.beat()
    with SystemdNotifier.from_environ(environ(address)) as notifier:
        pinger = WatchdogPinger(notifier, loop.health, clock)
        interval = pinger.watchdog_interval_s
        assert interval == WATCHDOG_SEC / 2

        def run(seconds: float, *, beating: bool) -> list[tuple[float, str]]:
            """Advance the fake clock tick by tick, as the GUI timer would; every datagram with its time."""
            received = []
            end = clock.now + seconds
            while clock.now < end:
                clock.now += pinger.poll_s
                if beating:
                    loop.beat()
                pinger.tick()
                received += [(clock.now, m) for m in drain(sock)]
            return received

        def pings(received: list[tuple[float, str]]) -> list[float]:
            return [t for t, m in received if m == "WATCHDOG=1"]

        pinger.tick()
        assert drain(sock) == ["STATUS=camera running 30.0 fps · backlog 0", "READY=1", "WATCHDOG=1"]
        healthy = [clock.now, *pings(run(60.0, beating=True))]
        gaps = [b - a for a, b in itertools.pairwise(healthy)]
        assert len(healthy) >= 6
        # Every interval, and never so late that systemd's WatchdogSec would expire.
        assert all(interval <= gap <= interval + pinger.poll_s for gap in gaps)

        # The loop wedges: its heartbeat stops advancing. Once health says so, the pings stop for good.
        wedged_at = clock.now
        received = run(3 * WATCHDOG_SEC, beating=False)
        lost_at, lost = next((t, m) for t, m in received if m.startswith("STATUS="))
        assert lost.startswith("STATUS=camera lost: no frame for")
        assert lost_at <= wedged_at + 3.0 + pinger.poll_s
        assert all(t < lost_at for t in pings(received))
        assert clock.now - max(healthy + pings(received)) > WATCHDOG_SEC  # systemd would have restarted us

        # The loop comes back (camera reopened): status says so and the pings resume at once.
        received = run(2 * WATCHDOG_SEC, beating=True)
        assert received[0][1] == "STATUS=camera running 30.0 fps · backlog 0"
        assert received[1] == (received[0][0], "WATCHDOG=1")
        assert len(pings(received)) >= 3
        assert "READY=1" not in [m for _, m in received]  # READY is sent once per start, not per recovery


def test_status_sent_only_when_the_text_changes(notify_socket: tuple[socket.socket, str]) -> None:
    sock, address = notify_socket
    texts = iter(["camera running 29.8 fps · backlog 12"] * 3 + ["camera lost: unplugged"] * 2)
    clock = FakeClock()
    with SystemdNotifier.from_environ(environ(address, watchdog_s=None)) as notifier:
        pinger = WatchdogPinger(notifier, lambda: HealthReport(ok=True, status=next(texts)), clock)
        for _ in range(5):
            clock.now += 1.0
            pinger.tick()
    assert drain(sock) == [
        "STATUS=camera running 29.8 fps · backlog 12",
        "READY=1",  # no watchdog configured: no WATCHDOG=1 ever
        "STATUS=camera lost: unplugged",
    ]


def test_a_health_check_that_raises_counts_as_unhealthy(notify_socket: tuple[socket.socket, str]) -> None:
    sock, address = notify_socket

    def broken() -> HealthReport:
        raise RuntimeError("database is locked")

    with SystemdNotifier.from_environ(environ(address)) as notifier:
        report = WatchdogPinger(notifier, broken, FakeClock()).tick()
    assert not report.ok
    assert drain(sock) == ["STATUS=health check failed: database is locked"]


def test_pinger_without_systemd_takes_the_same_path() -> None:
    with SystemdNotifier.from_environ({}) as notifier:
        pinger = WatchdogPinger(notifier, lambda: HealthReport(True, "ok"), FakeClock())
        assert pinger.tick().ok
        assert pinger.ready_sent
        assert pinger.watchdog_interval_s is None


# --- the thread variant (headless mode), real time --------------------------------------------------------


def test_thread_variant_pings_while_ok_and_stops_when_unhealthy(
    notify_socket: tuple[socket.socket, str],
) -> None:
    sock, address = notify_socket
    healthy = threading.Event()
    healthy.set()

    def health() -> HealthReport:
        return HealthReport(True, "ok") if healthy.is_set() else HealthReport(False, "scan loop wedged")

    # WatchdogSec=0.2 s → a ping every 0.1 s; the socket timeout is only an upper bound for a broken build.
    with (
        SystemdNotifier.from_environ(environ(address, watchdog_s=0.2)) as notifier,
        WatchdogPinger(notifier, health) as pinger,
    ):
        pinger.start()
        with pytest.raises(RuntimeError):
            pinger.start()
        assert sock.recv(4096) == b"STATUS=ok"
        assert sock.recv(4096) == b"READY=1"
        assert [sock.recv(4096) for _ in range(3)] == [b"WATCHDOG=1"] * 3

        healthy.clear()
        # Pings already in flight may still arrive; after the status change nothing but silence.
        while sock.recv(4096) != b"STATUS=scan loop wedged":
            pass
        sock.settimeout(1.0)  # five watchdog intervals
        with pytest.raises(TimeoutError):
            sock.recv(4096)

        sock.settimeout(5.0)
        healthy.set()
        assert sock.recv(4096) == b"STATUS=ok"
        assert sock.recv(4096) == b"WATCHDOG=1"
        pinger.close()
        pinger.close()
        assert set(drain(sock)) <= {"WATCHDOG=1"}  # whatever was in flight before close()
        sock.settimeout(0.3)  # three watchdog intervals: a thread still running would have pinged
        with pytest.raises(TimeoutError):
            sock.recv(4096)
