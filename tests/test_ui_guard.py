"""The guard console (ui.guard_console) on a real Store under tmp_path: a manual entry typed on the
on-screen keyboard with Telex, an override of a refusal, search with masked IDs only, people inside now,
the in/out switch, and closing after inactivity. No sleeps: qtbot.waitSignal / waitUntil."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidget, QPushButton
from pytestqt.qtbot import QtBot

from kiosk.clock import FakeClock
from kiosk.config import Config, DeviceConfig, UiConfig
from kiosk.guard import OVERRIDE_REASONS
from kiosk.identity import DEMO_KEYRING
from kiosk.model import ClockReading, Credential, Decision, Direction, Kind, Outcome, Reason
from kiosk.store import Store
from ui import theme
from ui.bridge import ScanBridge
from ui.context import UiContext
from ui.guard_console import GuardConsole
from ui.keyboard import VietKeyboard

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam
AN_ID = "046090001234"
BINH_ID = "001085005678"


def reading(at: datetime) -> ClockReading:
    return ClockReading(wall=at, synchronised=True, boot_id="boot-1", monotonic_s=100.0)


def scanned(
    id_number: str, name: str, outcome: Outcome = Outcome.GRANTED, reason: Reason = Reason.OK
) -> Decision:
    key = f"id:{id_number}"
    return Decision(
        outcome,
        reason,
        Kind.CCCD,
        Credential(Kind.CCCD, key, id_number, name),
        identity_hash=DEMO_KEYRING.hash(key),
        identity_key_id=DEMO_KEYRING.current.key_id,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(
        tmp_path / "kiosk.db",
        device_id="gate-1",
        location_code="HUE-0001",
        privacy_notice_version="2026-01",
        disk_free=lambda _d: 10_000 * 1024 * 1024,
    ) as opened:
        yield opened


def context(store: Store, direction: Direction = Direction.IN) -> UiContext:
    config = dataclasses.replace(
        Config(), ui=UiConfig(kiosk_mode=True), device=DeviceConfig(direction=direction)
    )
    return UiContext(
        config=config,
        bridge=ScanBridge(),
        clock=FakeClock(NOW),
        store=store,
        keyring=DEMO_KEYRING,
    )


def open_console(
    qtbot: QtBot, ctx: UiContext, size: tuple[int, int] = (800, 480), inactivity_s: float = 60.0
) -> GuardConsole:
    console = GuardConsole(ctx, inactivity_s=inactivity_s)
    qtbot.addWidget(console)
    console.resize(*size)
    console.show()
    qtbot.waitExposed(console)
    qtbot.waitUntil(lambda: not console.busy, timeout=3000)
    return console


def click(qtbot: QtBot, button: QPushButton) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def type_keys(qtbot: QtBot, board: VietKeyboard, keys: str) -> None:
    for char in keys:
        if char.isupper():
            click(qtbot, board.keys["shift"])
        click(qtbot, board.keys[char.lower()])


def select_row(lst: QListWidget, row: int) -> None:
    lst.setCurrentRow(row)


def shown_texts(lst: QListWidget) -> list[str]:
    return [lst.item(i).text() for i in range(lst.count())]


def test_manual_entry_typed_with_telex_is_recorded(qtbot: QtBot, store: Store) -> None:
    console = open_console(qtbot, context(store))
    click(qtbot, console.manual_tab)
    assert console.page is console.manual_page
    qtbot.mouseClick(console.name_field, Qt.MouseButton.LeftButton)
    assert console.keyboard.isVisible() and console.keyboard.field is console.name_field
    type_keys(qtbot, console.keyboard, "Nguyeenx Thij Hwowngf")
    assert console.name_field.text() == "Nguyễn Thị Hường"
    qtbot.mouseClick(console.id_field, Qt.MouseButton.LeftButton)
    type_keys(qtbot, console.keyboard, AN_ID)
    console.manual_reasons.setCurrentRow(0)  # "visitor without phone"
    click(qtbot, console.keyboard.keys["hide"])  # the keyboard gives the room back to the form
    assert not console.keyboard.isVisible()
    with qtbot.waitSignal(console.recorded, timeout=3000) as signal:
        click(qtbot, console.record_button)
    line = signal.args[0]
    assert line.name == "Nguyễn Thị Hường" and line.masked_id == "••••1234"

    visits = store.visits()
    assert len(visits) == 1
    visit = visits[0]
    assert visit.kind is Kind.MANUAL and visit.manual
    assert visit.name == "Nguyễn Thị Hường"
    assert visit.outcome is Outcome.GRANTED and visit.reason is Reason.MANUAL_ENTRY
    assert visit.guard == "guard" and visit.note == "visitor without phone"
    assert visit.identity_hash == DEMO_KEYRING.hash(f"id:{AN_ID}")
    assert console.name_field.text() == ""  # ready for the next visitor
    qtbot.waitUntil(lambda: console.inside.inside == 1, timeout=3000)


def test_manual_entry_needs_a_name_and_a_reason(qtbot: QtBot, store: Store) -> None:
    console = open_console(qtbot, context(store))
    click(qtbot, console.manual_tab)
    click(qtbot, console.record_button)
    assert console.message.text()
    console.name_field.setText("Trương Ưng")
    console.id_field.setText("123")
    console.manual_reasons.setCurrentRow(1)
    click(qtbot, console.record_button)
    assert "12" in console.message.text()
    assert store.visits() == []


def test_override_of_a_refusal_records_reason_guard_and_verdict(qtbot: QtBot, store: Store) -> None:
    refused = store.record(
        scanned(BINH_ID, "Đặng Quốc Việt", Outcome.REFUSED, Reason.NOT_ON_ROSTER),
        at=reading(NOW - timedelta(minutes=5)),
        direction=Direction.IN,
    )
    console = open_console(qtbot, context(store))
    assert console.recent_list.count() == 1
    assert not console.recent_override.isEnabled()
    select_row(console.recent_list, 0)
    assert console.recent_override.isEnabled()
    click(qtbot, console.recent_override)
    assert console.page is console.override_page
    assert "••••5678" in console.override_visit.text() and BINH_ID not in console.override_visit.text()

    # the guard types a name for this session
    qtbot.mouseClick(console.guard_field, Qt.MouseButton.LeftButton)
    type_keys(qtbot, console.keyboard, "Baor veej 2")
    assert console.guard == "Bảo vệ 2"
    click(qtbot, console.keyboard.keys["\n"])  # enter: done with the name, the keyboard goes
    assert not console.keyboard.isVisible()
    console.override_reasons.setCurrentRow(0)
    with qtbot.waitSignal(console.recorded, timeout=3000):
        click(qtbot, console.override_confirm)

    newest = store.visits()[0]
    assert newest.uuid != refused.uuid
    assert newest.outcome is Outcome.GRANTED and newest.reason is Reason.GUARD_OVERRIDE
    assert newest.note == OVERRIDE_REASONS[0]
    assert newest.guard == "Bảo vệ 2"
    assert newest.original_outcome is Outcome.REFUSED and newest.original_reason is Reason.NOT_ON_ROSTER
    assert newest.manual
    assert console.page is console.recent_page
    qtbot.waitUntil(lambda: console.recent_list.count() == 2, timeout=3000)


def test_a_refusal_already_let_in_cannot_be_overridden_again(qtbot: QtBot, store: Store) -> None:
    refused = store.record(
        scanned(BINH_ID, "Đặng Quốc Việt", Outcome.REFUSED, Reason.NOT_ON_ROSTER),
        at=reading(NOW - timedelta(minutes=5)),
        direction=Direction.IN,
    )
    console = open_console(qtbot, context(store))
    select_row(console.recent_list, 0)
    click(qtbot, console.recent_override)
    console.override_reasons.setCurrentRow(0)
    # Meanwhile the refusal was let in elsewhere (the list on screen is older than the record).
    first = store.record_override(refused, note=OVERRIDE_REASONS[1], guard="guard", at=reading(NOW))
    with qtbot.waitSignal(console.refreshed, timeout=3000):
        click(qtbot, console.override_confirm)

    assert console.page is console.recent_page
    assert "already let in by the guard" in console.message.text()
    assert [v.uuid for v in store.visits()] == [first.uuid, refused.uuid]  # nothing more was recorded
    assert store.override_of(refused.uuid) == first

    # The refusal is shown as let in, and the override button stays off for it.
    texts = shown_texts(console.recent_list)
    assert "let in by the guard" in texts[1]
    assert "let in by the guard" not in texts[0]
    select_row(console.recent_list, 1)
    assert not console.recent_override.isEnabled()
    click(qtbot, console.recent_override)
    assert console.page is console.recent_page


def test_override_with_a_typed_reason(qtbot: QtBot, store: Store) -> None:
    store.record(
        scanned(BINH_ID, "Đặng Quốc Việt", Outcome.NEEDS_GUARD, Reason.NOT_RECORDED),
        at=reading(NOW),
        direction=Direction.IN,
    )
    console = open_console(qtbot, context(store))
    select_row(console.recent_list, 0)
    click(qtbot, console.recent_override)
    qtbot.mouseClick(console.override_other, Qt.MouseButton.LeftButton)
    type_keys(qtbot, console.keyboard, "Gawpj giams ddoocs")
    with qtbot.waitSignal(console.recorded, timeout=3000):
        click(qtbot, console.keyboard.keys["\n"])  # enter on the last field lets the visitor in
    newest = store.visits()[0]
    assert newest.note == "Gặp giám đốc" and newest.guard == "guard"
    assert newest.original_outcome is Outcome.NEEDS_GUARD


def test_search_shows_only_masked_id_numbers(qtbot: QtBot, store: Store) -> None:
    store.record(scanned(AN_ID, "Nguyễn Văn An"), at=reading(NOW), direction=Direction.IN)
    store.record(scanned(BINH_ID, "Đặng Quốc Việt"), at=reading(NOW), direction=Direction.IN)
    console = open_console(qtbot, context(store))
    click(qtbot, console.search_tab)
    qtbot.mouseClick(console.search_field, Qt.MouseButton.LeftButton)
    type_keys(qtbot, console.keyboard, "dang")
    with qtbot.waitSignal(console.searched, timeout=3000):
        click(qtbot, console.keyboard.keys["\n"])
    texts = shown_texts(console.search_list)
    assert len(texts) == 1 and "Đặng Quốc Việt" in texts[0] and "••••5678" in texts[0]

    console.search_field.setText("1234")
    with qtbot.waitSignal(console.searched, timeout=3000):
        click(qtbot, console.search_button)
    texts = shown_texts(console.search_list)
    assert len(texts) == 1 and "••••1234" in texts[0]
    every_text = texts + shown_texts(console.recent_list)
    for number in (AN_ID, BINH_ID):
        assert not any(number in text or number[:8] in text for text in every_text)


def test_inside_now_counts_entries_minus_exits_today(qtbot: QtBot, store: Store) -> None:
    yesterday = NOW - timedelta(days=1)
    store.record(scanned("079000000001", "Hôm Qua"), at=reading(yesterday), direction=Direction.IN)
    store.record(scanned(AN_ID, "Nguyễn Văn An"), at=reading(NOW), direction=Direction.IN)
    store.record(scanned(AN_ID, "Nguyễn Văn An"), at=reading(NOW), direction=Direction.IN)  # twice: one
    store.record(scanned(BINH_ID, "Đặng Quốc Việt"), at=reading(NOW), direction=Direction.IN)
    store.record(scanned(BINH_ID, "Đặng Quốc Việt"), at=reading(NOW), direction=Direction.OUT)
    store.record(
        scanned("001085009999", "Từ Chối", Outcome.REFUSED, Reason.DENY_LIST),
        at=reading(NOW),
        direction=Direction.IN,
    )
    console = open_console(qtbot, context(store))
    assert (console.inside.entered, console.inside.left, console.inside.inside) == (2, 1, 1)
    assert "1" in console.inside_label.text()


def test_a_new_verdict_refreshes_the_console(qtbot: QtBot, store: Store) -> None:
    ctx = context(store)
    console = open_console(qtbot, ctx)
    assert console.recent_list.count() == 0
    store.record(scanned(AN_ID, "Nguyễn Văn An"), at=reading(NOW), direction=Direction.IN)
    with qtbot.waitSignal(console.refreshed, timeout=3000):
        ctx.bridge.decided.emit(object())
    assert console.recent_list.count() == 1 and console.inside.inside == 1


def test_direction_switch_only_for_a_gate_both_ways(qtbot: QtBot, store: Store) -> None:
    fixed = open_console(qtbot, context(store, Direction.IN))
    assert not fixed.in_button.isEnabled() and not fixed.out_button.isEnabled()
    assert fixed.in_button.isChecked()

    ctx = context(store, Direction.BOTH)
    console = open_console(qtbot, ctx)
    assert console.out_button.isEnabled()
    with qtbot.waitSignal(console.direction_changed, timeout=1000) as signal:
        click(qtbot, console.out_button)
    assert signal.args == [Direction.OUT]
    assert console.direction is Direction.OUT
    # a manual entry now is an exit
    click(qtbot, console.manual_tab)
    console.name_field.setText("Trương Ưng")
    console.manual_reasons.setCurrentRow(0)
    with qtbot.waitSignal(console.recorded, timeout=3000):
        click(qtbot, console.record_button)
    assert store.visits()[0].direction is Direction.OUT


def test_closes_after_inactivity_and_stays_while_used(qtbot: QtBot, store: Store) -> None:
    console = open_console(qtbot, context(store), inactivity_s=0.3)
    with qtbot.waitSignal(console.closed, timeout=3000):
        pass
    busy = open_console(qtbot, context(store), inactivity_s=0.5)
    closed: list[bool] = []
    busy.closed.connect(lambda: closed.append(True))
    busy.idle_timer.setInterval(400)
    busy.idle_timer.start()
    remaining_before = busy.idle_timer.remainingTime()
    qtbot.waitUntil(lambda: busy.idle_timer.remainingTime() < remaining_before - 100, timeout=2000)
    click(qtbot, busy.manual_tab)  # a touch restarts the countdown
    assert busy.idle_timer.remainingTime() > remaining_before - 100
    assert not closed
    with qtbot.waitSignal(busy.closed, timeout=3000):
        pass


def test_close_button(qtbot: QtBot, store: Store) -> None:
    console = open_console(qtbot, context(store))
    with qtbot.waitSignal(console.closed, timeout=1000):
        click(qtbot, console.close_button)


@pytest.mark.parametrize("size", [(800, 480), (720, 1280)])
def test_layout_fits_with_the_keyboard(
    qtbot: QtBot, store: Store, size: tuple[int, int], tmp_path: Path
) -> None:
    store.record(
        scanned(BINH_ID, "Đặng Quốc Việt", Outcome.REFUSED, Reason.NOT_ON_ROSTER),
        at=reading(NOW),
        direction=Direction.IN,
    )
    console = open_console(qtbot, context(store, Direction.BOTH), size)
    console.grab().save(str(tmp_path / "recent.png"))
    click(qtbot, console.manual_tab)
    qtbot.mouseClick(console.name_field, Qt.MouseButton.LeftButton)
    assert console.keyboard.isVisible()
    for key in console.keyboard.keys.values():
        assert key.height() >= theme.MIN_TOUCH_PX and key.width() >= theme.MIN_TOUCH_PX
    assert console.keyboard.geometry().bottom() <= console.height()
    field = console.name_field
    top_left = field.mapTo(console, field.rect().topLeft())
    qtbot.waitUntil(lambda: field.mapTo(console, field.rect().topLeft()).y() >= 0, timeout=1000)
    assert top_left.y() + field.height() <= console.keyboard.geometry().top()
    for button in (console.in_button, console.out_button, console.close_button, console.record_button):
        assert button.height() >= theme.MIN_TOUCH_PX
