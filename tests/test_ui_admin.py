"""The admin screens (issue 8): export of a date range onto a USB stick (a fake mount table and a folder as
the stick), the "no USB stick" message, the staff roster import and the "did not scan" report on a seeded
day, the status page built on the doctor's checks, the gate and PIN pages, and closing after inactivity.
A real Store under tmp_path; every disk and device call runs on the admin screen's thread pool."""

from __future__ import annotations

import csv
import dataclasses
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from kiosk.config import load_config
from kiosk.device import CameraState, CameraStatus, NullGate
from kiosk.identity import IdentityKey, IdentityKeyring
from kiosk.model import ClockReading, Credential, Decision, Direction, Kind, Outcome, Reason
from kiosk.pin import PinVault, Role
from kiosk.store import Store
from tests.ui_support import ui_context
from ui.admin import AdminScreen
from ui.admin_pages import Page
from ui.admin_tasks import MediaSeam, TaskDone

KEY = IdentityKey("hue-test-1", b"admin screen tests identity key, 32+")
KEYRING = IdentityKeyring((KEY,))
MIB = 1024 * 1024
#: ui_context's clock: 2026-11-27 09:00 UTC, 16:00 in Vietnam.
TODAY = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
YESTERDAY = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
AN, BICH, CUONG = "046090001234", "046191005678", "079088000042"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(
        tmp_path / "db" / "kiosk.db",
        device_id="gate-1",
        location_code="HUE-0001",
        privacy_notice_version="2026-01",
        disk_free=lambda _d: 10_000 * MIB,
    ) as opened:
        yield opened


def scan(store: Store, id_number: str, at: datetime, outcome: Outcome = Outcome.GRANTED) -> None:
    identity = f"id:{id_number}"
    decision = Decision(
        outcome,
        Reason.OK if outcome is Outcome.GRANTED else Reason.DENY_LIST,
        Kind.CCCD,
        Credential(Kind.CCCD, identity, id_number, "Ai Đó"),
        identity_hash=KEY.hash(identity),
        identity_key_id=KEY.key_id,
    )
    store.record(decision, at=ClockReading(at, True, "boot-1", 1.0), direction=Direction.IN)


@pytest.fixture
def stick(tmp_path: Path) -> Path:
    path = tmp_path / "media" / "pi" / "USB STICK"
    path.mkdir(parents=True)
    return path


def escaped(path: Path) -> str:
    """A path as /proc/mounts writes it: a space is ``\\040``."""
    return str(path).replace(" ", "\\040")


def seam(tmp_path: Path, *sticks: Path) -> MediaSeam:
    mounts = tmp_path / "mounts"
    lines = ["/dev/mmcblk0p2 / ext4 rw 0 0"]
    lines += [f"/dev/sd{'abc'[i]}1 {escaped(s)} vfat rw,relatime 0 0" for i, s in enumerate(sticks)]
    mounts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return MediaSeam(mounts, (tmp_path / "media",))


def make_admin(qtbot: QtBot, media: MediaSeam, *, idle_s: float = 600.0, **fields: object) -> AdminScreen:
    screen = AdminScreen(ui_context(**fields), media=media, idle_s=idle_s)
    qtbot.addWidget(screen)
    screen.resize(800, 480)
    screen.show()
    qtbot.waitExposed(screen)
    return screen


def answer(
    qtbot: QtBot, page: Page, what: str, action: Callable[[], object], timeout: int = 5000
) -> TaskDone:
    """Do ``action`` and wait for the page's answer named ``what``."""
    with qtbot.waitSignal(
        page.task_done, timeout=timeout, check_params_cb=lambda w, _d: w == what
    ) as blocker:
        action()
    done = blocker.args[1]
    assert isinstance(done, TaskDone)
    return done


def open_page(qtbot: QtBot, screen: AdminScreen, page: Page) -> None:
    picker = getattr(page, "picker", None)
    if picker is None:
        screen.show_page(page)
        return
    with qtbot.waitSignal(picker.changed, timeout=5000):
        screen.show_page(page)


def test_export_of_a_date_range_onto_a_usb_stick(
    qtbot: QtBot, tmp_path: Path, store: Store, stick: Path
) -> None:
    scan(store, AN, TODAY)
    scan(store, BICH, TODAY, Outcome.REFUSED)
    scan(store, CUONG, YESTERDAY)
    screen = make_admin(qtbot, seam(tmp_path, stick), store=store)
    page = screen.export
    open_page(qtbot, screen, page)
    assert page.picker.combo.count() == 1 and "USB STICK" in page.picker.combo.currentText()
    assert page.picker.none.isHidden()

    done = answer(
        qtbot, page, "export", lambda: qtbot.mouseClick(page.export_button, Qt.MouseButton.LeftButton)
    )
    assert done.ok, done.error
    written = stick / "visits 2026-11-27.csv"
    assert done.value.path == written
    with written.open(encoding="utf-8-sig", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 2  # today's two visits, not yesterday's
    assert "visits 2026-11-27.csv" in page.message.text()
    assert not [p for p in stick.iterdir() if p.name.startswith(".")]  # no temporary file left

    page.choose_week()
    page.xlsx_button.click()
    done = answer(qtbot, page, "export", page.export)
    assert done.ok, done.error
    assert done.value.rows == 3
    assert (stick / "visits 2026-11-21 to 2026-11-27.xlsx").is_file()


def test_no_usb_stick_says_so(qtbot: QtBot, tmp_path: Path, store: Store) -> None:
    screen = make_admin(qtbot, seam(tmp_path), store=store)
    page = screen.export
    open_page(qtbot, screen, page)
    assert page.picker.none.isVisible()
    assert "No USB stick" in page.picker.none.text()
    assert not page.export_button.isEnabled()


def test_roster_import_and_the_staff_who_did_not_scan(
    qtbot: QtBot, tmp_path: Path, store: Store, stick: Path
) -> None:
    with (stick / "nhan-vien.csv").open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(
            [
                ["Họ và tên", "Số CCCD", "Phòng"],
                ["Nguyễn Văn An", AN, "A"],
                ["Trần Thị Bích", BICH, "A"],
                ["Lê Văn Cường", CUONG, "B"],
            ]
        )
    scan(store, AN, TODAY)
    scan(store, BICH, TODAY, Outcome.REFUSED)  # refused: not counted as scanned in
    scan(store, CUONG, YESTERDAY)
    screen = make_admin(qtbot, seam(tmp_path, stick), store=store, keyring=KEYRING)
    screen.show_page(screen.export)
    page = screen.staff
    with qtbot.waitSignal(page.task_done, timeout=5000, check_params_cb=lambda w, _d: w == "files"):
        screen.show_page(page)
    assert page.file_list.count() == 1 and page.file_list.item(0).text() == "nhan-vien.csv"
    assert not page.report_button.isEnabled()  # no roster yet

    done = answer(qtbot, page, "import", page.import_button.click)
    assert done.ok, done.error
    assert done.value.staff == 3
    assert (store.path.parent / "roster.json").is_file()
    assert "3" in page.roster_state.text()

    done = answer(qtbot, page, "report", page.report_button.click)
    assert done.ok, done.error
    assert [e.name for e in done.value.missing] == ["Trần Thị Bích", "Lê Văn Cường"]
    assert [page.missing_list.item(i).text() for i in range(page.missing_list.count())] == [
        "Trần Thị Bích  ••••5678 — A",
        "Lê Văn Cường  ••••0042 — B",
    ]
    assert "2 of 3" in page.result.text()

    done = answer(qtbot, page, "export", page.export_button.click)
    assert done.ok, done.error
    with (stick / "not scanned 2026-11-27.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows == [
        ["name", "masked_id", "group"],
        ["Trần Thị Bích", "••••5678", "A"],
        ["Lê Văn Cường", "••••0042", "B"],
    ]


def test_a_bad_roster_is_refused_with_its_rows(
    qtbot: QtBot, tmp_path: Path, store: Store, stick: Path
) -> None:
    (stick / "staff.csv").write_text("name,id\nAn,12345\n", encoding="utf-8")
    screen = make_admin(qtbot, seam(tmp_path, stick), store=store, keyring=KEYRING)
    page = screen.staff
    with qtbot.waitSignal(page.task_done, timeout=5000, check_params_cb=lambda w, _d: w == "files"):
        screen.show_page(page)
    done = answer(qtbot, page, "import", page.import_button.click)
    assert not done.ok
    assert "Nothing was imported" in page.message.text() and "row 2" in page.message.text()
    assert not (store.path.parent / "roster.json").exists()


def test_status_page_lists_the_doctor_checks(qtbot: QtBot, tmp_path: Path, store: Store) -> None:
    checks = [("database", "OK", "readable, 0 visits waiting"), ("server", "FAIL", "cannot reach x:443")]
    screen = AdminScreen(
        ui_context(store=store, gate=NullGate(), status_checks=lambda: checks),
        media=seam(tmp_path),
        idle_s=600,
    )
    qtbot.addWidget(screen)
    page = screen.status
    qtbot.waitUntil(lambda: not page.checks_pending and bool(page.facts), timeout=5000)
    assert [(f.name, f.level, f.value) for f in page.checks] == checks
    texts = [page.doctor_grid.itemAt(i).widget().text() for i in range(page.doctor_grid.count())]  # type: ignore[union-attr]
    assert "cannot reach x:443" in texts and "FAIL" in texts
    names = [f.name for f in page.facts]
    assert names[:4] == ["version", "disk", "database", "backlog"]
    assert "clock" in names and "gate outputs" in names


def test_status_page_shows_the_last_errors(qtbot: QtBot, tmp_path: Path, store: Store) -> None:
    errors = ["10:02:11 the visit database failed, recording stopped: disk I/O error"]
    screen = AdminScreen(
        ui_context(store=store, gate=NullGate(), recent_errors=lambda: errors),
        media=seam(tmp_path),
        idle_s=600,
    )
    qtbot.addWidget(screen)
    page = screen.status
    qtbot.waitUntil(lambda: bool(page.facts), timeout=5000)
    assert ("last errors", "WARN", errors[0]) in [(f.name, f.level, f.value) for f in page.facts]


def test_the_gate_test_plays_each_pattern(qtbot: QtBot, tmp_path: Path) -> None:
    gate = NullGate()
    screen = make_admin(qtbot, seam(tmp_path), gate=gate)
    screen.show_page(screen.gate)
    answer(qtbot, screen.gate, "gate", screen.gate.open_button.click)
    answer(qtbot, screen.gate, "gate", screen.gate.refuse_button.click)
    assert list(gate.signals) == [Outcome.GRANTED, Outcome.REFUSED]
    assert "nothing to test" in screen.gate.message.text()  # a NullGate has no outputs


def test_changing_the_guard_pin(qtbot: QtBot, tmp_path: Path) -> None:
    pins = tmp_path / "pins.json"
    PinVault.open(pins).set_pin(Role.ADMIN, "2580")
    screen = make_admin(qtbot, seam(tmp_path), pin_path=pins)
    page = screen.settings
    screen.show_page(page)
    page.choose_role("guard")

    def type_pin(pin: str) -> None:
        for digit in pin:
            page.keys["1234567890".index(digit)].click()
        page.ok_button.click()

    type_pin("1357")
    type_pin("1375")
    assert "differ" in page.pin_message.text()
    type_pin("1357")
    done = answer(qtbot, page, "pin", lambda: type_pin("1357"))
    assert done.ok, done.error
    reading = ClockReading(datetime(2026, 11, 27, tzinfo=UTC), True, "boot", 1.0)
    assert PinVault.open(pins).verify(Role.GUARD, "1357", reading).ok
    type_pin("2580")
    done = answer(qtbot, page, "pin", lambda: type_pin("2580"))
    assert not done.ok
    assert "must differ" in page.pin_message.text()


def test_first_run_opens_on_the_pin_page(qtbot: QtBot, tmp_path: Path) -> None:
    screen = make_admin(qtbot, seam(tmp_path), pin_path=tmp_path / "pins.json")
    qtbot.waitUntil(lambda: screen.current is screen.settings, timeout=5000)
    assert screen.settings.role == "admin" and "No admin PIN yet" in screen.settings.prompt.text()


def test_settings_are_shown_with_where_they_change(qtbot: QtBot, tmp_path: Path) -> None:
    screen = make_admin(qtbot, seam(tmp_path))
    screen.show_page(screen.settings)
    assert "/etc/kiosk/kiosk.toml" in screen.settings.where.text()
    assert screen.settings.form.rowCount() >= 8


def settings_screen(qtbot: QtBot, tmp_path: Path) -> tuple[AdminScreen, Path]:
    path = tmp_path / "var" / "admin-settings.toml"
    base = load_config(environ={}, overrides={"store.admin_settings": str(path)})
    screen = AdminScreen(dataclasses.replace(ui_context(), config=base), media=seam(tmp_path), idle_s=600)
    qtbot.addWidget(screen)
    screen.resize(800, 480)
    screen.show()
    qtbot.waitExposed(screen)
    screen.show_page(screen.settings)
    return screen, path


def test_settings_edited_on_screen_are_saved_for_the_next_start(qtbot: QtBot, tmp_path: Path) -> None:
    screen, path = settings_screen(qtbot, tmp_path)
    page = screen.settings
    exits: list[int] = []
    page.exit_app = exits.append
    name = page.fields["location.name"]
    page.scroll_area.ensureWidgetVisible(name)
    qtbot.mouseClick(name, Qt.MouseButton.LeftButton)  # a touch brings up the on-screen keyboard
    assert page.keyboard.isVisible() and page.keyboard.field is name and page.keyboard.telex
    name.clear()
    for key in ["shift", *"nhaf vawn hoas"]:
        page.keyboard.press(key)
    assert name.text() == "Nhà văn hoá"
    window = page.fields["policy.repeat_window_s"]
    page.scroll_area.ensureWidgetVisible(window)
    qtbot.mouseClick(window, Qt.MouseButton.LeftButton)
    assert page.keyboard.field is window and not page.keyboard.telex  # numbers are typed literally
    window.clear()
    for key in "45":
        page.keyboard.press(key)
    page.directions["both"].click()
    assert not page.restart_button.isVisible()

    done = answer(qtbot, page, "settings", page.save_button.click)
    assert done.ok, done.error
    saved = tomllib.loads(path.read_text(encoding="utf-8"))
    assert saved["location"]["name"] == "Nhà văn hoá"
    assert saved["policy"]["repeat_window_s"] == 45.0
    assert saved["device"]["direction"] == "both"
    config = load_config(environ={}, overrides={"store.admin_settings": str(path)})
    assert config.location.name == "Nhà văn hoá" and config.policy.repeat_window_s == 45.0
    assert config.device.direction is Direction.BOTH
    assert config == done.value
    assert "after a restart" in page.settings_message.text()
    assert page.restart_button.isVisible()
    page.restart_button.click()
    assert exits == [0]  # systemd starts the kiosk again


def test_reopened_before_the_restart_it_shows_the_saved_settings(qtbot: QtBot, tmp_path: Path) -> None:
    screen, _ = settings_screen(qtbot, tmp_path)
    page = screen.settings
    page.fields["location.name"].setText("Nhà văn hoá")
    assert answer(qtbot, page, "settings", page.save_button.click).ok
    running = page.context
    screen.close()
    # The kiosk still runs with the old values; a new admin screen shows what was saved, and says so.
    again = AdminScreen(running, media=seam(tmp_path), idle_s=600)
    qtbot.addWidget(again)
    again.show()
    again.show_page(again.settings)
    assert again.settings.fields["location.name"].text() == "Nhà văn hoá"
    assert running.config.location.name != "Nhà văn hoá"
    assert "apply after a restart" in again.settings.settings_message.text()
    assert again.settings.restart_button.isVisible()


def test_settings_fixed_by_the_environment_or_flags_are_named(qtbot: QtBot, tmp_path: Path) -> None:
    from kiosk.config import admin_keys_overridden

    overridden = admin_keys_overridden(
        {"KIOSK_POLICY_MODE": "health", "KIOSK_CONFIG": "/x", "PATH": "/bin"},
        ["sync.server_url", "camera.fps"],
    )
    assert overridden == ("policy.mode", "sync.server_url")
    path = tmp_path / "admin-settings.toml"
    base = load_config(environ={}, overrides={"store.admin_settings": str(path)})
    context = dataclasses.replace(ui_context(), config=base, overridden=overridden)
    screen = AdminScreen(context, media=seam(tmp_path), idle_s=600)
    qtbot.addWidget(screen)
    screen.show()
    screen.show_page(screen.settings)
    note = screen.settings.overridden_note
    assert note.isVisible()
    assert note.text().endswith("Policy, Server (https://…, empty: none)")
    assert not screen.settings.pending and screen.settings.settings_message.isHidden()


def test_an_invalid_setting_is_refused_and_nothing_is_written(qtbot: QtBot, tmp_path: Path) -> None:
    screen, path = settings_screen(qtbot, tmp_path)
    page = screen.settings
    page.fields["location.name"].setText("Somewhere else")
    page.fields["policy.repeat_window_s"].setText("9000")
    done = answer(qtbot, page, "settings", page.save_button.click)
    assert not done.ok
    text = page.settings_message.text()
    assert text.startswith("The settings were not saved:")
    assert "policy.repeat_window_s" in text and "between 0 and 3600" in text
    assert not path.exists()
    assert not path.parent.exists() or not list(path.parent.iterdir())
    assert not page.restart_button.isVisible()


class FakeLoop:
    """What the camera test reads from the scan loop."""

    last_decode_ms = 12.4
    frames_processed = 300
    errors = 0


class FakeFrames:
    def status(self) -> CameraStatus:
        return CameraStatus(CameraState.RUNNING, 29.6)


def test_camera_test_shows_frame_rate_and_decode_time(qtbot: QtBot, tmp_path: Path) -> None:
    screen = make_admin(qtbot, seam(tmp_path), frames=FakeFrames(), loop=FakeLoop())
    page = screen.camera
    answer(qtbot, page, "rates", lambda: screen.show_page(page))
    assert page.fps.text() == "Frame rate: 29.6 frames/s"
    assert page.decode.text() == "Decode time: 12 ms"
    assert page.timer.isActive()
    image = QImage(64, 48, QImage.Format.Format_Grayscale8)
    image.fill(128)
    screen.context.bridge.frame_ready.emit(image)
    assert not page.preview.pixmap().isNull()
    screen.show_page(screen.status)
    assert not page.timer.isActive()  # polling only while shown


def test_closes_itself_after_inactivity(qtbot: QtBot, tmp_path: Path) -> None:
    screen = make_admin(qtbot, seam(tmp_path), idle_s=0.3)
    with qtbot.waitSignal(screen.closed, timeout=3000):
        pass


def test_a_touch_keeps_it_open_and_close_closes(qtbot: QtBot, tmp_path: Path) -> None:
    screen = make_admin(qtbot, seam(tmp_path), idle_s=1.0)
    qtbot.waitUntil(lambda: screen.idle_timer.remainingTime() < 500, timeout=2000)
    qtbot.mouseClick(screen.nav_buttons[1], Qt.MouseButton.LeftButton)
    assert screen.current is screen.camera
    assert screen.idle_timer.remainingTime() > 800  # the touch started the wait again
    with qtbot.waitSignal(screen.closed, timeout=1000):
        qtbot.mouseClick(screen.close_button, Qt.MouseButton.LeftButton)
    assert all(b.minimumHeight() >= 60 for b in screen.findChildren(QPushButton) if b.isVisible())


def test_on_a_short_screen_the_keyboard_takes_the_headers_room(qtbot: QtBot, tmp_path: Path) -> None:
    screen, _path = settings_screen(qtbot, tmp_path)  # 800×480
    page = screen.settings
    address = page.fields["location.address"]
    page.scroll_area.ensureWidgetVisible(address)
    qtbot.mouseClick(address, Qt.MouseButton.LeftButton)
    assert page.keyboard.isVisible()
    assert not screen.close_button.isVisible() and not any(b.isVisible() for b in screen.nav_buttons)
    # the field being typed into is inside the visible part of the page
    viewport = page.scroll_area.viewport()

    def in_view() -> bool:
        top = address.mapTo(viewport, address.rect().topLeft()).y()
        return top >= 0 and top + address.height() <= viewport.height()

    qtbot.waitUntil(in_view, timeout=2000)
    page.hide_keyboard()
    assert screen.close_button.isVisible() and all(b.isVisible() for b in screen.nav_buttons)
