"""2D scanners: serial framing over a real pseudo-terminal (Vietnamese UTF-8 arrives byte for byte), unplug
and reopen, and the HID keyboard-wedge decoder (pure) plus the grabbing reader on a tiny fake device."""

from __future__ import annotations

import errno
import logging
import os
import queue
import sys
import threading
import types
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hardware.scanner import (
    Backoff,
    HidScanner,
    KeyDecoder,
    LineFramer,
    SerialScanner,
    make_scanners,
)
from kiosk.config import ScannerConfig
from kiosk.device import ScannerState, ScannerStatus
from tests.waiting import wait_for

# Invented CCCD payloads (see reference/payload-formats.md §1): UTF-8 names and addresses with diacritics.
CCCD_1 = (
    "046090001234|191234567|Nguyễn Văn An|01011990|Nam|12 Lê Lợi, Phường Vĩnh Ninh, Huế|15082021".encode()
)
CCCD_2 = "046190004321||Trần Thị Bích Ngọc|23071985|Nữ|Thôn Dương Nỗ, Phú Dương, Phú Vang|02092021".encode()
FAST = Backoff(0.01, 0.05)


def reader_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("scanner ")]


class Payloads:
    """Collects payloads handed over on the reader thread."""

    def __init__(self) -> None:
        self.queue: queue.Queue[bytes] = queue.Queue()

    def __call__(self, payload: bytes) -> None:
        self.queue.put(payload)

    def next(self, timeout_s: float = 3.0) -> bytes:
        return self.queue.get(timeout=timeout_s)

    def empty(self) -> bool:
        return self.queue.empty()


# --- serial: framing (pure) -------------------------------------------------------------------------------


def test_framer_splits_on_cr_lf_and_crlf_and_drops_empty_lines() -> None:
    framer = LineFramer(idle_timeout_s=None)
    assert framer.feed(b"a\r\nb\nc\r\r\n\nd", 0.0) == [b"a", b"b", b"c"]
    assert framer.feed(b"\r", 9.0) == [b"d"]


def test_framer_handles_a_crlf_split_across_reads() -> None:
    framer = LineFramer(idle_timeout_s=None)
    assert framer.feed(CCCD_1[:30], 0.0) == []
    assert framer.feed(CCCD_1[30:] + b"\r", 0.0) == [CCCD_1]
    assert framer.feed(b"\n" + CCCD_2 + b"\r\n", 0.0) == [CCCD_2]


def test_framer_ends_an_unterminated_payload_after_the_idle_timeout() -> None:
    framer = LineFramer(idle_timeout_s=0.3)
    assert framer.feed(CCCD_1[:10], 1.0) == []
    assert framer.feed(CCCD_1[10:], 1.2) == []  # 0.2 s gap: still the same payload
    assert framer.flush_if_idle(1.4) is None
    assert framer.flush_if_idle(1.5) == CCCD_1
    assert framer.flush_if_idle(5.0) is None
    # A new payload after a pause flushes nothing stale and starts clean.
    assert framer.feed(CCCD_2, 6.0) == []
    assert framer.feed(b"", 6.5) == [CCCD_2]


def test_framer_discards_an_overlong_run_instead_of_truncating_it() -> None:
    framer = LineFramer(idle_timeout_s=None, max_bytes=16)
    assert framer.feed(b"x" * 40, 0.0) == []
    assert framer.feed(b"tail\r\nok\r\n", 0.0) == [b"ok"]


# --- serial: a real pseudo-terminal -------------------------------------------------------------------------


@dataclass
class Pty:
    master: int
    slave: int
    path: str

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def unplug(self) -> None:
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


@pytest.fixture
def pty() -> Iterator[Pty]:
    master, slave = os.openpty()
    pair = Pty(master, slave, os.ttyname(slave))
    yield pair
    pair.unplug()
    os.close(slave)


@pytest.fixture
def serial_scanner(pty: Pty) -> Iterator[tuple[SerialScanner, Payloads]]:
    pytest.importorskip("serial")
    payloads = Payloads()
    with SerialScanner(pty.path, 115200, idle_timeout_s=0.1, backoff=FAST) as scanner:
        scanner.start(payloads)
        # pyserial puts the tty in raw mode when it opens it; bytes written before that would be cooked.
        wait_for(lambda: scanner.connected)
        yield scanner, payloads
    assert reader_threads() == []


@pytest.mark.parametrize("terminator", [b"\r\n", b"\n", b"\r"], ids=["crlf", "lf", "cr"])
def test_serial_vietnamese_payload_arrives_byte_for_byte(
    serial_scanner: tuple[SerialScanner, Payloads], pty: Pty, terminator: bytes
) -> None:
    _, payloads = serial_scanner
    pty.write(CCCD_1 + terminator)
    got = payloads.next()
    assert got == CCCD_1
    assert "Nguyễn Văn An" in got.decode("utf-8")


def test_serial_two_payloads_back_to_back_are_split(
    serial_scanner: tuple[SerialScanner, Payloads], pty: Pty
) -> None:
    _, payloads = serial_scanner
    pty.write(CCCD_1 + b"\r\n" + CCCD_2 + b"\r\n")
    assert payloads.next() == CCCD_1
    assert payloads.next() == CCCD_2


def test_serial_without_terminator_ends_on_idle(
    serial_scanner: tuple[SerialScanner, Payloads], pty: Pty
) -> None:
    _, payloads = serial_scanner
    pty.write(CCCD_2)
    assert payloads.next() == CCCD_2
    pty.write(CCCD_1)
    assert payloads.next() == CCCD_1


def test_serial_unplug_is_noticed_logged_once_and_close_joins(
    pty: Pty, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("serial")
    payloads = Payloads()
    scanner = SerialScanner(pty.path, idle_timeout_s=None, backoff=FAST)
    with caplog.at_level(logging.DEBUG, logger="hardware.scanner"):
        scanner.start(payloads)
        wait_for(lambda: scanner.connected)
        pty.write(CCCD_1 + b"\r\n")
        assert payloads.next() == CCCD_1
        pty.write(b"half a payload")
        pty.unplug()
        wait_for(lambda: any("lost" in r.getMessage() for r in caplog.records))
        wait_for(lambda: not scanner.connected)
        # A few reopen attempts fail (the pty is gone); they are logged at DEBUG, not as warnings.
        wait_for(lambda: sum("still unavailable" in r.getMessage() for r in caplog.records) >= 2)
        scanner.close()
        scanner.close()
    assert reader_threads() == []
    assert payloads.empty()  # the half payload cut off by the unplug was dropped
    assert [r.levelno for r in caplog.records if r.levelno >= logging.WARNING] == [logging.WARNING]


class FakePort:
    """A pyserial stand-in for the reopen test: serves ``data``, then fails like an unplugged USB port."""

    def __init__(self, data: bytes, *, fail_when_empty: bool) -> None:
        self.data = bytearray(data)
        self.fail_when_empty = fail_when_empty
        self.closed = False
        self._idle = threading.Event()

    @property
    def in_waiting(self) -> int:
        return len(self.data)

    def read(self, size: int = 1) -> bytes:
        if not self.data:
            if self.fail_when_empty:
                raise OSError(errno.EIO, "Input/output error")
            self._idle.wait(0.01)  # a real port blocks for its read timeout
            return b""
        chunk = bytes(self.data[:size])
        del self.data[:size]
        return chunk

    def close(self) -> None:
        self.closed = True


def test_serial_reopens_with_backoff_after_unplug_and_survives_a_failing_callback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = FakePort(b"boom\r\n" + CCCD_1 + b"\r\n", fail_when_empty=True)
    second = FakePort(CCCD_2 + b"\n", fail_when_empty=False)
    opens: deque[FakePort | OSError] = deque(
        [first, FileNotFoundError(errno.ENOENT, "no /dev/ttyACM0"), second]
    )
    calls: list[dict[str, object]] = []

    def open_serial(**kwargs: object) -> FakePort:
        calls.append(kwargs)
        item = opens.popleft() if opens else FileNotFoundError(errno.ENOENT, "gone")
        if isinstance(item, OSError):
            raise item
        return item

    got = Payloads()

    def on_payload(payload: bytes) -> None:
        if payload == b"boom":
            raise RuntimeError("a bug downstream")
        got(payload)

    with (
        caplog.at_level(logging.INFO, logger="hardware.scanner"),
        SerialScanner("/dev/ttyACM0", 9600, open_serial=open_serial, backoff=FAST) as scanner,
    ):
        scanner.start(on_payload)
        assert got.next() == CCCD_1
        assert got.next() == CCCD_2
    assert first.closed and second.closed
    assert len(calls) == 3
    assert calls[0] == {"port": "/dev/ttyACM0", "baudrate": 9600, "timeout": SerialScanner.read_timeout_s,
                        "exclusive": True}  # fmt: skip
    messages = [r.getMessage() for r in caplog.records]
    assert any("payload callback failed" in m for m in messages)
    assert sum("lost" in m for m in messages) == 1
    assert any("is back" in m for m in messages)


def test_serial_scanner_cannot_start_twice_or_after_close() -> None:
    scanner = SerialScanner("/dev/null-scanner", open_serial=lambda **_: FakePort(b"", fail_when_empty=False))
    scanner.start(Payloads())
    with pytest.raises(RuntimeError, match="already started"):
        scanner.start(Payloads())
    scanner.close()
    with pytest.raises(RuntimeError, match="closed"):
        scanner.start(Payloads())


# --- HID keyboard wedge: the pure decoder ------------------------------------------------------------------

# Linux key codes written out by hand from linux/input-event-codes.h, independently of the module's table.
SHIFT, RSHIFT, ENTER, KPENTER, ALT, CTRL, CAPS = 42, 54, 28, 96, 56, 29, 58
PLAIN = {
    **{str(d): code for d, code in zip(range(1, 10), range(2, 11), strict=True)},
    "0": 11, "-": 12, "=": 13, "[": 26, "]": 27, ";": 39, "'": 40, "`": 41, "\\": 43, ",": 51, ".": 52,
    "/": 53, " ": 57,
    "q": 16, "w": 17, "e": 18, "r": 19, "t": 20, "y": 21, "u": 22, "i": 23, "o": 24, "p": 25,
    "a": 30, "s": 31, "d": 32, "f": 33, "g": 34, "h": 35, "j": 36, "k": 37, "l": 38,
    "z": 44, "x": 45, "c": 46, "v": 47, "b": 48, "n": 49, "m": 50,
}  # fmt: skip
SHIFTED = {"|": 43, "<": 51, ">": 52, "*": 9, ":": 39, "$": 5, "%": 6, "+": 13, "?": 53, "_": 12, "@": 3}
KP = {0: 82, 1: 79, 2: 80, 3: 81, 4: 75, 5: 76, 6: 77, 7: 71, 8: 72, 9: 73}

Event = tuple[int, int]


def tap(code: int) -> list[Event]:
    return [(code, 1), (code, 0)]


def typed(text: str, *, shift: int = SHIFT) -> list[Event]:
    """Key events a US-layout keyboard wedge sends for ``text`` (ASCII), followed by Enter."""
    events: list[Event] = []
    for ch in text:
        if ch in PLAIN:
            events += tap(PLAIN[ch])
        elif ch.lower() in PLAIN and ch.isupper():
            events += [(shift, 1), *tap(PLAIN[ch.lower()]), (shift, 0)]
        else:
            events += [(shift, 1), *tap(SHIFTED[ch]), (shift, 0)]
    return [*events, *tap(ENTER)]


def alt_code(digits: str) -> list[Event]:
    return [(ALT, 1), *(e for d in digits for e in tap(KP[int(d)])), (ALT, 0)]


def test_hid_cccd_ascii_payload_with_pipes_and_enter() -> None:
    text = "046090001234|191234567|Nguyen Van An|01011990|Nam|12 Le Loi, Hue|15082021"
    assert KeyDecoder().feed_all(typed(text)) == [text.encode()]


def test_hid_punctuation_used_by_payloads() -> None:
    text = "HC1:6BF+70790T9WJWG.FKY*4GO0.O1CV2 O5 N2FBBRW1*70HS8WY04AC*WIFN0AHCD8KD97TK0F90$PC5$CUZC$$5Y$5JPCT3E5JDOA73467463W5/A6..DX%DZJC2/D:+A3KC/SM$ZJ+AB"
    assert KeyDecoder().feed_all(typed(text)) == [text.encode()]
    other = "<>?_@;'[]=`\\/-"
    assert KeyDecoder().feed_all(typed(other)) == [other.encode()]


def test_hid_shift_either_side_and_held_across_keys() -> None:
    decoder = KeyDecoder()
    assert decoder.feed_all(typed("AbC", shift=RSHIFT)) == [b"AbC"]
    held = [(SHIFT, 1), *tap(PLAIN["a"]), *tap(PLAIN["\\"]), (SHIFT, 0), *tap(PLAIN["a"]), *tap(ENTER)]
    assert decoder.feed_all(held) == [b"A|a"]


def test_hid_caps_lock_inverts_letters_only() -> None:
    events = [*tap(CAPS), *tap(PLAIN["a"]), *tap(PLAIN["1"]), (SHIFT, 1), *tap(PLAIN["b"]), (SHIFT, 0)]
    events += [*tap(CAPS), *tap(PLAIN["c"]), *tap(KPENTER)]
    assert KeyDecoder().feed_all(events) == [b"A1bc"]


def test_hid_unknown_keys_repeats_and_ctrl_combinations_are_ignored() -> None:
    f1, tab, esc, up_arrow = 59, 15, 1, 103
    events = [*tap(f1), *tap(PLAIN["a"]), (PLAIN["a"], 2), *tap(tab), *tap(esc), *tap(up_arrow)]
    events += [(CTRL, 1), *tap(PLAIN["c"]), (CTRL, 0), *tap(PLAIN["b"]), *tap(ENTER)]
    assert KeyDecoder().feed_all(events) == [b"ab"]


def test_hid_enter_alone_is_no_payload_and_payloads_are_separate() -> None:
    decoder = KeyDecoder()
    assert decoder.feed_all(tap(ENTER)) == []
    assert decoder.feed_all(typed("12") + typed("34")) == [b"12", b"34"]


def test_hid_keypad_digits_without_alt_are_digits() -> None:
    events = [*tap(KP[4]), *tap(KP[2]), *tap(55), *tap(KPENTER)]
    assert KeyDecoder().feed_all(events) == [b"42*"]


def test_hid_alt_numpad_codes() -> None:
    # Alt+0233 is é in Windows-1252; Alt+130 is é in the OEM code page 437; above 255, a code point.
    events = [*tap(PLAIN["n"]), *alt_code("0233"), *alt_code("130"), *alt_code("7879"), *tap(ENTER)]
    assert KeyDecoder().feed_all(events) == ["nééệ".encode()]


def test_hid_alt_numpad_in_the_vietnamese_code_page_decomposes() -> None:
    # cp1258 types tone marks as combining characters: ê (0xEA) then a combining dot below (0xF2).
    events = [*alt_code("0234"), *alt_code("0242"), *tap(ENTER)]
    (payload,) = KeyDecoder(alt_code_page="cp1258").feed_all(events)
    assert payload == "ê\u0323".encode()  # the core normalises this to NFC "ệ"


def test_hid_rejects_an_unknown_code_page() -> None:
    with pytest.raises(LookupError):
        KeyDecoder(alt_code_page="no-such-codepage")


def test_hid_diacritics_cannot_be_typed_so_a_name_arrives_stripped() -> None:
    # What a wedge scanner that drops non-ASCII sends for "Nguyễn Văn An": well-formed, silently wrong.
    (payload,) = KeyDecoder().feed_all(typed("046090001234||Nguyn Vn An|01011990|Nam||15082021"))
    assert payload.decode("ascii")  # nothing here can tell that letters went missing


# --- HID keyboard wedge: the grabbing reader on a fake device ----------------------------------------------


@dataclass(frozen=True)
class KeyEvent:
    type: int
    code: int
    value: int


class FakeInputDevice:
    """The part of ``evdev.InputDevice`` HidScanner uses, over a pipe so that ``select`` works on ``fd``."""

    def __init__(self, log: list[str], *, grab_error: int | None = None) -> None:
        self.log = log
        self.grab_error = grab_error
        self._read_fd, self._write_fd = os.pipe()
        self.fd = self._read_fd
        self._events: deque[KeyEvent | OSError] = deque()
        self._lock = threading.Lock()

    def send(self, events: list[Event] | OSError) -> None:
        with self._lock:
            if isinstance(events, OSError):
                self._events.append(events)
            else:
                self._events.append(KeyEvent(4, 4, 458792))  # EV_MSC scan code, as real keyboards send
                self._events.extend(KeyEvent(1, code, value) for code, value in events)
        os.write(self._write_fd, b"!")

    def grab(self) -> None:
        self.log.append("grab")
        if self.grab_error is not None:
            raise OSError(self.grab_error, os.strerror(self.grab_error))

    def ungrab(self) -> None:
        self.log.append("ungrab")

    def read(self) -> Iterator[KeyEvent]:
        os.read(self._read_fd, 4096)
        with self._lock:
            pending = list(self._events)
            self._events.clear()
        if not pending:
            raise BlockingIOError(errno.EAGAIN, "no events")
        self.log.append("read")
        for item in pending:
            if isinstance(item, OSError):
                raise item
            yield item

    def close(self) -> None:
        self.log.append("close")
        os.close(self._read_fd)
        os.close(self._write_fd)


def test_hid_scanner_grabs_the_device_exclusively_before_reading() -> None:
    calls: list[str] = []
    device = FakeInputDevice(calls)
    paths: list[str] = []

    def open_device(path: str) -> FakeInputDevice:
        paths.append(path)
        return device

    payloads = Payloads()
    path = "/dev/input/by-id/usb-Scanner-event-kbd"
    with HidScanner(path, open_device=open_device, backoff=FAST) as scanner:
        scanner.start(payloads)
        wait_for(lambda: scanner.connected)
        device.send(typed("046090001234|Nam"))
        assert payloads.next() == b"046090001234|Nam"
    assert paths == [path]
    assert calls[0] == "grab"
    assert calls[-2:] == ["ungrab", "close"]
    assert reader_threads() == []


def test_hid_scanner_retries_a_busy_grab_and_reopens_after_unplug(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []
    busy = FakeInputDevice(calls, grab_error=errno.EBUSY)  # another process holds the grab
    first = FakeInputDevice(calls)
    second = FakeInputDevice(calls)
    devices = deque([busy, first, second])
    payloads = Payloads()
    with (
        caplog.at_level(logging.INFO, logger="hardware.scanner"),
        HidScanner("/dev/input/event7", open_device=lambda _: devices.popleft(), backoff=FAST) as scanner,
    ):
        scanner.start(payloads)
        wait_for(lambda: scanner.connected)
        first.send(typed("abc"))
        assert payloads.next() == b"abc"
        first.send([(SHIFT, 1), *tap(PLAIN["x"])])  # half a payload, then the cable comes out
        first.send(OSError(errno.ENODEV, "No such device"))
        wait_for(lambda: not devices)
        wait_for(lambda: scanner.connected)
        second.send([(SHIFT, 0), *typed("def")])
        assert payloads.next() == b"def"  # nothing left over from the unplugged device
    assert calls.count("grab") == 3
    assert calls.count("close") == 3
    messages = [r.getMessage() for r in caplog.records]
    assert sum("unavailable" in m for m in messages) == 1
    assert sum("lost" in m for m in messages) == 1


@pytest.mark.hardware("/dev/uinput (the uinput module, write access) and python3-evdev")
def test_hid_scanner_over_uinput_round_trip() -> None:
    evdev = pytest.importorskip("evdev")
    if not os.access("/dev/uinput", os.W_OK):
        pytest.skip("/dev/uinput is not available here (needs the uinput module and write access)")
    ecodes = evdev.ecodes
    keys = [ENTER, SHIFT, *PLAIN.values()]
    with evdev.UInput({ecodes.EV_KEY: keys}, name="kiosk test scanner") as ui:
        wait_for(lambda: ui.device is not None)
        payloads = Payloads()
        with HidScanner(ui.device.path, backoff=FAST) as scanner:
            scanner.start(payloads)
            wait_for(lambda: scanner.connected)
            # The grab is exclusive: a second reader cannot grab the device.
            other = evdev.InputDevice(ui.device.path)
            with pytest.raises(OSError):
                other.grab()
            other.close()
            for code, value in typed("046090001234|Nam|AB"):
                ui.write(ecodes.EV_KEY, code, value)
                ui.syn()
            assert payloads.next() == b"046090001234|Nam|AB"


# --- factory ------------------------------------------------------------------------------------------------


def test_make_scanners_builds_what_the_config_names_without_opening_anything() -> None:
    assert make_scanners(ScannerConfig()) == []
    scanners = make_scanners(ScannerConfig(hid_device="/dev/input/event3", serial_port="/dev/ttyACM0"))
    assert [type(s) for s in scanners] == [SerialScanner, HidScanner]
    for scanner in scanners:
        scanner.close()
        scanner.close()


# --- a scanner that cannot be opened is a state, retried, never a dead thread -------------------------------


class Statuses:
    """Collects the scanner's state changes (``on_status``, called on the reader thread)."""

    def __init__(self) -> None:
        self.queue: queue.Queue[ScannerStatus] = queue.Queue()
        self.seen: list[ScannerStatus] = []

    def __call__(self, status: ScannerStatus) -> None:
        self.queue.put(status)

    def until(self, state: ScannerState, timeout_s: float = 3.0) -> ScannerStatus:
        """The next status in ``state``, waiting for it (earlier ones are kept in ``seen``)."""
        while True:
            status = self.queue.get(timeout=timeout_s)
            self.seen.append(status)
            if status.state is state:
                return status


class CountingOpener:
    """Wraps an opener: counts the calls and sets ``reached`` once there have been ``n`` of them."""

    def __init__(self, opener: Callable[..., object], n: int) -> None:
        self.opener = opener
        self.n = n
        self.calls = 0
        self.reached = threading.Event()

    def __call__(self, *args: object, **kwargs: object) -> object:
        self.calls += 1
        if self.calls >= self.n:
            self.reached.set()
        return self.opener(*args, **kwargs)


def test_serial_port_missing_is_a_failed_state_logged_once_and_recovers_when_it_appears(
    pty: Pty, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    serial = pytest.importorskip("serial")
    port = tmp_path / "ttyACM0"  # a stable by-id style name; the device appears later (plugged in)
    opener = CountingOpener(serial.Serial, 4)
    statuses = Statuses()
    payloads = Payloads()
    with (
        caplog.at_level(logging.DEBUG, logger="hardware.scanner"),
        SerialScanner(
            str(port), idle_timeout_s=None, open_serial=opener, backoff=FAST, on_status=statuses
        ) as scanner,
    ):
        assert scanner.status().state is ScannerState.STOPPED
        scanner.start(payloads)
        failed = statuses.until(ScannerState.FAILED)
        assert failed.name == f"serial scanner {port}"
        assert failed.detail == "no such device — check the cable or scanner.serial_port"
        assert opener.reached.wait(3.0)  # it keeps trying
        status = scanner.status()
        assert status.state is ScannerState.FAILED and status.failures >= 3
        assert 0 < status.retry_in_s <= FAST.max_s
        port.symlink_to(pty.path)
        statuses.until(ScannerState.RUNNING)
        pty.write(CCCD_1 + b"\r\n")
        assert payloads.next() == CCCD_1
    statuses.until(ScannerState.STOPPED)
    # One change of state, one notification: retries do not repeat it.
    states = [s.state for s in statuses.seen]
    assert states == [ScannerState.STARTING, ScannerState.FAILED, ScannerState.RUNNING, ScannerState.STOPPED]
    above_debug = [r for r in caplog.records if r.levelno > logging.DEBUG]
    assert [r.levelno for r in above_debug] == [logging.WARNING, logging.INFO]
    assert "no such device" in above_debug[0].getMessage()
    assert "is back" in above_debug[1].getMessage()
    assert all(r.exc_info is None for r in above_debug)  # no traceback, ever, for a missing device
    assert reader_threads() == []


@pytest.mark.parametrize("baud", [-5, 99_999_999_999], ids=["negative", "overflow"])
def test_serial_baud_rate_the_driver_refuses_is_a_failed_state_not_a_dead_thread(
    pty: Pty, baud: int, caplog: pytest.LogCaptureFixture
) -> None:
    serial = pytest.importorskip("serial")
    opener = CountingOpener(serial.Serial, 3)
    statuses = Statuses()
    with (
        caplog.at_level(logging.INFO, logger="hardware.scanner"),
        SerialScanner(pty.path, baud, open_serial=opener, backoff=FAST, on_status=statuses) as scanner,
    ):
        scanner.start(Payloads())
        failed = statuses.until(ScannerState.FAILED)
        assert opener.reached.wait(3.0)  # still retrying: the thread is alive
    assert f"baud rate {baud} not accepted" in failed.detail
    assert "scanner.serial_baud" in failed.detail
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert reader_threads() == []


def test_serial_retries_back_off_exponentially_up_to_the_cap_and_log_only_changes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    errors = deque(
        [OSError(errno.ENOENT, "gone")] * 3 + [PermissionError(errno.EACCES, "Permission denied")] * 3
    )
    seen: list[tuple[int, float]] = []
    done = threading.Event()
    scanner: SerialScanner

    def open_serial(**_: object) -> FakePort:
        status = scanner.status()
        seen.append((status.failures, status.retry_in_s))
        if errors:
            raise errors.popleft()
        done.set()
        return FakePort(b"", fail_when_empty=False)

    statuses = Statuses()
    with caplog.at_level(logging.DEBUG, logger="hardware.scanner"):
        scanner = SerialScanner(
            "/dev/ttyACM0", open_serial=open_serial, backoff=Backoff(0.001, 0.004), on_status=statuses
        )
        with scanner:
            scanner.start(Payloads())
            assert done.wait(3.0)
            statuses.until(ScannerState.RUNNING)
            assert scanner.status() == ScannerStatus("serial scanner /dev/ttyACM0", ScannerState.RUNNING)
    # Before each attempt: failures so far and the back-off just waited (doubling, capped at 4 ms).
    assert seen == [(0, 0.0), (1, 0.001), (2, 0.002), (3, 0.004), (4, 0.004), (5, 0.004), (6, 0.004)]
    failed = [s for s in statuses.seen if s.state is ScannerState.FAILED]
    assert [s.detail for s in failed] == [
        "no such device — check the cable or scanner.serial_port",
        "permission denied — add the kiosk user to the dialout group",
    ]
    by_level = [(r.levelno, r.getMessage()) for r in caplog.records if r.levelno > logging.DEBUG]
    assert [level for level, _ in by_level] == [logging.WARNING, logging.INFO, logging.INFO]
    assert "still unavailable, now: permission denied" in by_level[1][1]
    assert sum(r.levelno == logging.DEBUG for r in caplog.records) == 4  # the same reason again: DEBUG


def test_hid_scanner_without_evdev_fails_with_what_to_install_and_recovers_once_installed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "evdev", None)  # ``import evdev`` now raises ImportError
    statuses = Statuses()
    payloads = Payloads()
    calls: list[str] = []
    device = FakeInputDevice(calls)
    with (
        caplog.at_level(logging.INFO, logger="hardware.scanner"),
        HidScanner("/dev/input/event3", backoff=FAST, on_status=statuses) as scanner,
    ):
        scanner.start(payloads)
        failed = statuses.until(ScannerState.FAILED)
        assert failed.detail == "evdev is not installed — apt install python3-evdev / pip install evdev"
        installed = types.ModuleType("evdev")
        installed.InputDevice = lambda path: device  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "evdev", installed)
        statuses.until(ScannerState.RUNNING)
        device.send(typed("046090001234|Nam"))
        assert payloads.next() == b"046090001234|Nam"
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.INFO]
    assert all(r.exc_info is None for r in caplog.records)
    assert reader_threads() == []


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (errno.EACCES, "permission denied — add the kiosk user to the input group"),
        (errno.EBUSY, "grabbed by another program (is a second kiosk running?) — stop it"),
        (errno.ENODEV, "no such device — check the cable or scanner.hid_device"),
    ],
)
def test_hid_scanner_open_errors_say_what_to_do(error: int, detail: str) -> None:
    def open_device(path: str) -> FakeInputDevice:
        if error == errno.EBUSY:
            return FakeInputDevice([], grab_error=error)
        raise OSError(error, os.strerror(error), path)

    statuses = Statuses()
    with HidScanner(
        "/dev/input/event3", open_device=open_device, backoff=FAST, on_status=statuses
    ) as scanner:
        scanner.start(Payloads())
        assert statuses.until(ScannerState.FAILED).detail == detail


def test_a_failing_status_listener_does_not_stop_the_reader(caplog: pytest.LogCaptureFixture) -> None:
    got = Payloads()

    def listener(status: ScannerStatus) -> None:
        raise RuntimeError("a bug in the screen")

    port = FakePort(CCCD_1 + b"\r\n", fail_when_empty=False)
    with SerialScanner("/dev/ttyACM0", open_serial=lambda **_: port, on_status=listener) as scanner:
        scanner.start(got)
        assert got.next() == CCCD_1
        assert scanner.status().state is ScannerState.RUNNING
    assert any("status listener failed" in r.getMessage() for r in caplog.records)


def test_make_scanners_hands_on_the_status_listener(tmp_path: Path) -> None:
    statuses = Statuses()
    (scanner,) = make_scanners(ScannerConfig(serial_port=str(tmp_path / "nope")), on_status=statuses)
    try:
        scanner.start(Payloads())
        assert statuses.until(ScannerState.FAILED).name == f"serial scanner {tmp_path / 'nope'}"
    finally:
        scanner.close()
