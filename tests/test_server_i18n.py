"""The province's web pages in Vietnamese (the default) and English: ``scripts/server-i18n --check`` passes
(every Vietnamese msgid translated, no fuzzy entry, the .mo files compiled from the .po files as they are), and
the sign-in page and the signed-in pages render in Vietnamese by default and in English when the browser asks
for it (``Accept-Language``) or the language switch chose it (the ``django_language`` cookie)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import server_support

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "server-i18n"
PASSWORD = "gate-monitor-Hue-2025"


@pytest.fixture(scope="module", autouse=True)
def _django(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return server_support.configure_django(tmp_path_factory)


def _clean() -> None:
    from server.province.models import Account, AuditEntry

    AuditEntry.objects.all().delete()
    Account.objects.all().delete()
    server_support.clean_database()


@pytest.fixture(autouse=True)
def _empty(_django: Path) -> Iterator[None]:
    _clean()
    yield
    _clean()


@pytest.fixture
def officer() -> Any:
    """A province account, and one location with a kiosk that sent a heartbeat (so the device cells render)."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from server.province.accounts import add_account
    from server.province.models import Device, District, Heartbeat, Location, Office

    huong_thuy = District.objects.create(name="Hương Thủy")
    office = Office.objects.create(name="UBND phường Phú Bài", district=huong_thuy)
    location = Location.objects.create(
        code="HUE-0001", name="Chợ Phú Bài", district="Hương Thủy", district_unit=huong_thuy, office=office
    )
    device = Device.objects.create(device_id="g1", location=location, last_seen_at=timezone.now())
    received = timezone.now() - timedelta(minutes=3)
    Heartbeat.objects.create(
        device=device,
        received_at=received,
        sent_at=received,
        clock_offset_s=0.5,
        payload={
            "sent_at": received.isoformat(),
            "backlog": 2,
            "clock_synchronised": True,
            "version": "0.1.0",
        },
    )
    add_account("ward", role="province", password=PASSWORD)
    return User.objects.get(username="ward")


def html_of(reply: Any) -> str:
    assert reply.status_code == 200, reply.status_code
    return str(reply.content.decode("utf-8"))


# -- the catalogues --------------------------------------------------------------------------------------------


def test_the_translations_are_complete_and_compiled() -> None:
    if shutil.which("msgfmt") is None:
        pytest.skip("GNU gettext's msgfmt is not installed (apt-get install gettext)")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


# -- the pages -------------------------------------------------------------------------------------------------


def test_the_sign_in_page_is_vietnamese_by_default_and_english_on_request() -> None:
    from django.test import Client

    vietnamese = html_of(Client().get("/login/"))
    assert '<html lang="vi">' in vietnamese
    assert "Đăng nhập" in vietnamese and "Mật khẩu" in vietnamese
    assert "Sign in" not in vietnamese and "Password" not in vietnamese

    english = html_of(Client(headers={"accept-language": "en"}).get("/login/"))
    assert '<html lang="en">' in english
    assert "Sign in" in english and "Password" in english
    assert "Đăng nhập" not in english and "Mật khẩu" not in english


@pytest.mark.parametrize(
    ("path", "vietnamese", "english"),
    [
        ("/", "Bảng điều khiển", "Dashboard"),
        ("/", "Tín hiệu gần nhất", "Last heartbeat"),
        ("/locations/HUE-0001/", "Tín hiệu gần đây", "Recent heartbeats"),
        ("/flags/", "Dấu hiệu vi phạm", "Signs of violation"),
        ("/flags/staff/", "Cán bộ, nhân viên không quét mã", "Staff who did not scan"),
        ("/trace/", "Truy vết tiếp xúc", "Contact tracing"),
        ("/boards/", "Bảng mã QR", "QR boards"),
    ],
)
def test_signed_in_pages_are_vietnamese_by_default_and_english_by_the_language_cookie(
    officer: Any, path: str, vietnamese: str, english: str
) -> None:
    from django.test import Client

    client = Client()
    client.force_login(officer)
    page = html_of(client.get(path))
    assert vietnamese in page and english not in page
    assert "Đăng xuất" in page

    client.cookies["django_language"] = "en"
    page = html_of(client.get(path))
    assert english in page and vietnamese not in page
    assert "Sign out" in page


def test_codes_on_pages_are_words_in_the_pages_language() -> None:
    from django.template import Context, Template
    from django.utils import translation

    page = Template("{% load labels %}{{ d|label }} {{ o|label }} {{ c|label }} {{ x|label }}")
    values = Context({"d": "in", "o": "granted", "c": "lost", "x": "something_new"})
    with translation.override("vi"):
        assert page.render(values) == "vào cho vào không hoạt động something_new"
    with translation.override("en"):
        assert page.render(values) == "in let in not working something_new"
