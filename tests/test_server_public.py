"""The public citizen report page (``/report/``): no sign-in, CSRF enforced, validation errors shown, the rate
limits (per client and overall) answered with 429, and a stored report that holds a keyed hash of the
client's address, never the address."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import server_support

ADDRESS = "203.0.113.7"
NAME = "Sở Y tế tỉnh Thừa Thiên Huế"


@pytest.fixture(scope="module", autouse=True)
def _django(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return server_support.configure_django(tmp_path_factory)


def _empty() -> None:
    from django.contrib.auth.models import User

    from server.province.models import CitizenReport

    CitizenReport.objects.all().delete()
    User.objects.all().delete()
    server_support.clean_database()


@pytest.fixture(autouse=True)
def _clean(_django: Path) -> Iterator[None]:
    _empty()
    yield
    _empty()


@pytest.fixture
def location() -> Any:
    from server.province.models import Location

    return Location.objects.create(code="HUE-0001", name=NAME, address="28 Lê Lợi, Huế")


def browser(**kwargs: Any) -> Any:
    """A test client that, like a browser, sends the CSRF token it was given (and English, so the page's
    text does not depend on which translations are compiled)."""
    from django.test import Client

    return Client(enforce_csrf_checks=True, headers={"accept-language": "en"}, **kwargs)


def token_from(client: Any, url: str = "/report/", **extra: Any) -> str:
    page = client.get(url, **extra)
    assert page.status_code == 200
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert found is not None
    return found.group(1)


def send(client: Any, remote_addr: str = ADDRESS, **fields: str) -> Any:
    token = token_from(client, REMOTE_ADDR=remote_addr)
    data = {"csrfmiddlewaretoken": token, "problem": "board_missing", "code": "HUE-0001", **fields}
    return client.post("/report/", data, REMOTE_ADDR=remote_addr)


def reports() -> list[Any]:
    from server.province.models import CitizenReport

    return list(CitizenReport.objects.order_by("id"))


def test_the_page_needs_no_sign_in_and_prefills_the_code(location: Any) -> None:
    page = browser().get("/report/?code=HUE-0001")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="code"' in html and 'value="HUE-0001"' in html
    assert NAME in html  # the location the board's link names is shown
    assert 'name="csrfmiddlewaretoken"' in html
    for problem in ("board_missing", "board_wrong", "board_unreadable", "kiosk_broken"):
        assert f'value="{problem}"' in html


def test_a_report_is_stored_and_thanked_for(location: Any) -> None:
    client = browser()
    reply = send(client, problem="board_unreadable", text="Bảng bị mờ,\r\nkhông quét được.")
    assert reply.status_code == 302 and reply["Location"] == "/report/thanks/"
    thanks = client.get("/report/thanks/")
    assert thanks.status_code == 200 and "Thank you" in thanks.content.decode()
    [stored] = reports()
    assert stored.location_id == location.pk
    assert stored.problem == "board_unreadable"
    assert stored.text == "Bảng bị mờ,\nkhông quét được."
    assert stored.handled_at is None and stored.at is not None


def test_a_place_described_in_words_is_enough(location: Any) -> None:
    reply = send(browser(), code="", place="Chợ Đông Ba, cổng số 2", problem="kiosk_broken")
    assert reply.status_code == 302
    [stored] = reports()
    assert stored.location is None and stored.location_text == "Chợ Đông Ba, cổng số 2"


def test_csrf_is_enforced(location: Any) -> None:
    client = browser()
    reply = client.post("/report/", {"problem": "board_missing", "code": "HUE-0001"}, REMOTE_ADDR=ADDRESS)
    assert reply.status_code == 403
    token_from(client)  # a cookie, but a wrong token in the form
    reply = client.post(
        "/report/",
        {"csrfmiddlewaretoken": "x" * 64, "problem": "board_missing", "code": "HUE-0001"},
        REMOTE_ADDR=ADDRESS,
    )
    assert reply.status_code == 403
    assert reports() == []


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"problem": ""}, "This field is required"),
        ({"problem": "fire"}, "Select a valid choice"),
        ({"code": "", "place": ""}, "Give the location code, or the place"),
        ({"code": "NOWHERE-9"}, "No location has this code"),
        ({"code": "bad code!"}, "A location code has only letters"),
        ({"text": "x" * 1001}, "at most 1000 characters"),
        ({"place": "y" * 301, "code": ""}, "at most 300 characters"),
        ({"text": "Bảng sai \u202egnal"}, "U+202E"),  # a right-to-left override
        ({"place": "Chợ\u200b Đông Ba", "code": ""}, "U+200B"),  # a zero-width space
        ({"text": "ok\x07"}, "U+0007"),
    ],
)
def test_validation_errors_are_shown_and_nothing_is_stored(
    location: Any, fields: dict[str, str], says: str
) -> None:
    reply = send(browser(), **fields)
    assert reply.status_code == 200
    assert says in reply.content.decode()
    assert reports() == []


def test_a_code_typed_in_lower_case_finds_its_location(location: Any) -> None:
    assert send(browser(), code="hue-0001").status_code == 302
    assert reports()[0].location_id == location.pk


def test_one_client_is_limited_to_five_reports_an_hour(location: Any) -> None:
    from server.web import public

    client = browser()
    for _ in range(public.PER_CLIENT_PER_HOUR):
        assert send(client).status_code == 302
    refused = send(client)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"
    assert "Too many reports" in refused.content.decode()
    assert len(reports()) == public.PER_CLIENT_PER_HOUR
    # Another client is not held back by this one.
    assert send(browser(), remote_addr="198.51.100.20").status_code == 302


def test_reports_older_than_an_hour_do_not_count(location: Any) -> None:
    from django.utils import timezone

    from server.province.models import CitizenReport
    from server.web import public

    old = timezone.now() - public.WINDOW - timedelta(minutes=1)
    CitizenReport.objects.bulk_create(
        CitizenReport(at=old, problem="other", location_text="x", client_hash=public.client_hash(ADDRESS))
        for _ in range(public.PER_CLIENT_PER_HOUR)
    )
    assert send(browser()).status_code == 302


def test_everyone_together_is_limited_too(location: Any) -> None:
    from django.utils import timezone

    from server.province.models import CitizenReport
    from server.web import public

    now = timezone.now()
    CitizenReport.objects.bulk_create(
        CitizenReport(
            at=now - timedelta(minutes=n % 50), problem="other", location_text="x", client_hash=f"{n:064x}"
        )
        for n in range(public.OVERALL_PER_HOUR)
    )
    assert send(browser(), remote_addr="192.0.2.99").status_code == 429
    assert CitizenReport.objects.count() == public.OVERALL_PER_HOUR


def test_the_stored_report_holds_a_keyed_hash_never_the_address(location: Any) -> None:
    from django.conf import settings

    from server.web import public

    assert send(browser(), remote_addr=ADDRESS).status_code == 302
    [stored] = reports()
    assert re.fullmatch(r"[0-9a-f]{64}", stored.client_hash)
    assert stored.client_hash == public.client_hash(ADDRESS)
    row = {field.attname: getattr(stored, field.attname) for field in stored._meta.concrete_fields}
    assert not any(ADDRESS in str(value) for value in row.values())
    # Keyed: the same address under another SECRET_KEY hashes otherwise, so a table of all IPv4 addresses
    # made without the key finds nothing.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "SECRET_KEY", "another key " + "k" * 40)
        assert public.client_hash(ADDRESS) != stored.client_hash


def test_an_ipv6_client_is_its_slash_64() -> None:
    from server.web import public

    assert public.client_hash("2001:db8:1:2::10") == public.client_hash("2001:db8:1:2:ffff::1")
    assert public.client_hash("2001:db8:1:2::10") != public.client_hash("2001:db8:1:3::10")
    assert public.client_hash("::ffff:203.0.113.7") == public.client_hash(ADDRESS)
