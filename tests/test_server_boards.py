"""Location QR boards (``server.province.boards``, ``/boards/``, ``kiosk-server board``): the PDF is read back
here, independently of the server's own check, with pdfium and the kiosk's decoder; the page's text is
extracted with pdfium. A district account sees only its district's boards, and a board whose QR code would
read as anything but its location's code is never served or written."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pypdfium2 as pdfium
import pytest

from kiosk.decode import Decoder, DecoderOptions
from kiosk.payloads.location import is_location_code
from server.province.boards import FONT_CANDIDATES  # no Django at import: a command module
from tests import server_support

NAME = "Sở Y tế tỉnh Thừa Thiên Huế"
ADDRESS = "28 Lê Lợi, phường Vĩnh Ninh, thành phố Huế"


@pytest.fixture(scope="module", autouse=True)
def _django(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return server_support.configure_django(tmp_path_factory)


def _empty() -> None:
    from django.contrib.auth.models import User

    from server.province import boards
    from server.province.models import AuditEntry

    User.objects.all().delete()  # accounts first: they protect their districts
    AuditEntry.objects.all().delete()
    server_support.clean_database()
    boards.clear_cache()


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, _django: Path) -> Iterator[None]:
    # server.cli.main reads these; set here so that monkeypatch restores them afterwards.
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "server.settings")
    monkeypatch.setenv("KIOSK_SERVER_DATA", str(_django))
    _empty()
    yield
    _empty()


@pytest.fixture
def province() -> dict[str, Any]:
    """Two districts with one location each, a district account for Huế and a province account."""
    from django.contrib.auth.models import User

    from server.province.models import Account, District, Location

    hue = District.objects.create(name="Thành phố Huế")
    phu_vang = District.objects.create(name="Phú Vang")
    here = Location.objects.create(code="HUE-0001", name=NAME, address=ADDRESS, district_unit=hue)
    there = Location.objects.create(code="PV-0001", name="UBND huyện Phú Vang", district_unit=phu_vang)
    district_user = User.objects.create_user("hue-official")
    Account.objects.create(user=district_user, role=Account.Role.DISTRICT, district=hue)
    province_user = User.objects.create_user("province-official")
    Account.objects.create(user=province_user, role=Account.Role.PROVINCE)
    return {"here": here, "there": there, "district_user": district_user, "province_user": province_user}


def client_for(user: Any) -> Any:
    from django.test import Client

    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def read_qr(pdf: bytes, scale: float) -> list[str]:
    """Every QR code on every page, read the way the kiosk reads a camera frame."""
    document = pdfium.PdfDocument(pdf)
    try:
        grays = [
            np.asarray(page.render(scale=scale, grayscale=True).to_numpy(), dtype=np.uint8).copy()
            for page in document
        ]
    finally:
        document.close()
    with Decoder(DecoderOptions()) as decoder:
        return [symbol.text for gray in grays for symbol in decoder.decode(gray)]


def page_text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        return " ".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def flat(text: str) -> str:
    return " ".join(text.split())


def test_board_pdf_reads_as_its_location_and_names_it(province: dict[str, Any]) -> None:
    reply = client_for(province["province_user"]).get("/boards/HUE-0001.pdf")
    assert reply.status_code == 200
    assert reply["Content-Type"] == "application/pdf"
    pdf = reply.content
    assert pdf.startswith(b"%PDF")
    # Read at two resolutions other than the server's own check: exactly one code, exactly this text.
    for scale in (1.0, 3.0):
        assert read_qr(pdf, scale) == ["QRGATE:LOC:HUE-0001"]
    assert is_location_code("QRGATE:LOC:HUE-0001")  # what the kiosk says to a visitor showing it
    document = pdfium.PdfDocument(pdf)
    try:
        assert len(document) == 1
        width_pt, height_pt = document[0].get_size()
    finally:
        document.close()
    assert (round(width_pt), round(height_pt)) == (595, 842)  # A4
    text = flat(page_text(pdf))
    for expected in (NAME, ADDRESS, "1900 1075", "Hue-S", "Đường dây nóng", "Hotline", "HUE-0001"):
        assert expected in text
    assert "testserver/report/?code=HUE-0001" in text  # the board links to the report page, prefilled
    assert b"/FontFile2" in pdf  # the TrueType font is embedded, not left to the printer


def test_board_list_shows_only_the_accounts_locations(province: dict[str, Any]) -> None:
    page = client_for(province["district_user"]).get("/boards/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/boards/HUE-0001.pdf"' in html and NAME in html
    assert "PV-0001" not in html
    everything = client_for(province["province_user"]).get("/boards/").content.decode()
    assert 'href="/boards/HUE-0001.pdf"' in everything and 'href="/boards/PV-0001.pdf"' in everything


def test_district_account_cannot_download_another_districts_board(province: dict[str, Any]) -> None:
    client = client_for(province["district_user"])
    assert client.get("/boards/PV-0001.pdf").status_code == 404
    assert client.get("/boards/NOWHERE.pdf").status_code == 404  # the same answer as an unknown code
    assert client.get("/boards/HUE-0001.pdf").status_code == 200


def test_boards_need_a_sign_in(province: dict[str, Any]) -> None:
    from django.test import Client

    for url in ("/boards/", "/boards/HUE-0001.pdf"):
        reply = Client().get(url)
        assert reply.status_code == 302 and reply["Location"].startswith("/login/")


def test_a_board_that_reads_otherwise_is_never_served(
    province: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from server.province import boards

    monkeypatch.setattr(boards, "location_payload", lambda code: "QRGATE:LOC:PV-0001")
    client = client_for(province["province_user"])
    with caplog.at_level(logging.ERROR, logger="server.province.boards"):
        reply = client.get("/boards/HUE-0001.pdf")
    assert reply.status_code == 500
    assert reply["Content-Type"].startswith("text/html")
    assert b"%PDF" not in reply.content
    assert "could not be made" in reply.content.decode()
    assert any(
        "refused" in r.getMessage()
        and "QRGATE:LOC:PV-0001" in r.getMessage()
        and "HUE-0001" in r.getMessage()
        for r in caplog.records
    )
    with pytest.raises(boards.BoardError, match="reads as"):
        boards.board_pdf(boards.details_of(province["here"]))
    # Nothing wrong was cached: with the right text back, the board is the right one.
    monkeypatch.undo()
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "server.settings")
    good = client.get("/boards/HUE-0001.pdf")
    assert good.status_code == 200 and read_qr(good.content, 2.0) == ["QRGATE:LOC:HUE-0001"]


def test_a_board_with_an_unreadable_code_is_refused(
    province: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.province import boards

    # A code drawn without its finder patterns' contrast: nothing to read, so nothing to serve.
    monkeypatch.setattr(boards, "_draw_qr", lambda pdf, qr, *, x, y, size: None)
    with pytest.raises(boards.BoardError, match=r"reads as \[\]"):
        boards.board_pdf(boards.details_of(province["here"]))


@pytest.mark.parametrize("faces", FONT_CANDIDATES, ids=lambda faces: faces[0].stem)
def test_each_known_font_prints_vietnamese(faces: tuple[Path, Path]) -> None:
    from server.province import boards

    if not faces[0].is_file():
        pytest.skip(f"{faces[0]} is not installed (Debian: fonts-noto-core, fonts-dejavu-core)")
    font = boards.find_font((faces,))
    pdf = boards.board_pdf(boards.BoardDetails("HUE-0007", "Ủy ban nhân dân phường Phú Hội", ADDRESS), font)
    assert read_qr(pdf, 2.0) == ["QRGATE:LOC:HUE-0007"]
    text = flat(page_text(pdf))
    assert "Ủy ban nhân dân phường Phú Hội" in text and ADDRESS in text and "Đường dây nóng" in text


def test_no_font_no_board(tmp_path: Path) -> None:
    from server.province import boards

    with pytest.raises(boards.BoardError, match="fonts-noto-core or fonts-dejavu-core"):
        boards.find_font(((tmp_path / "none.ttf", tmp_path / "none-bold.ttf"),))


def test_a_letter_the_font_lacks_refuses_the_board() -> None:
    from server.province import boards

    details = boards.BoardDetails("HUE-0009", "Văn phòng 東京")  # no CJK in Noto Sans / DejaVu Sans
    with pytest.raises(boards.BoardError, match=r"U\+6771"):
        boards.board_pdf(details)


def test_the_cache_follows_the_details(province: dict[str, Any]) -> None:
    from server.province import boards

    here = province["here"]
    first = boards.board_pdf(boards.details_of(here))
    assert boards.board_pdf(boards.details_of(here)) is first  # cached: not made and read again
    here.name = "Sở Y tế (cơ sở 2)"
    here.save()
    renamed = boards.board_pdf(boards.details_of(here))
    assert "Sở Y tế (cơ sở 2)" in flat(page_text(renamed))
    assert read_qr(renamed, 2.0) == ["QRGATE:LOC:HUE-0001"]


def test_cli_writes_a_verified_board(
    province: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from server.cli import main

    out = tmp_path / "board.pdf"
    status = main(["board", "HUE-0001", "-o", str(out), "--report-url", "https://qr.example.vn/report/"])
    assert status == 0, capsys.readouterr().err
    assert "QRGATE:LOC:HUE-0001" in capsys.readouterr().out
    pdf = out.read_bytes()
    assert read_qr(pdf, 2.0) == ["QRGATE:LOC:HUE-0001"]
    text = flat(page_text(pdf))
    assert NAME in text and "https://qr.example.vn/report/?code=HUE-0001" in text
    assert not list(tmp_path.glob("*.part"))


def test_cli_refuses_an_unknown_location_and_writes_nothing(
    province: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from server.cli import main

    out = tmp_path / "board.pdf"
    assert main(["board", "NOWHERE", "-o", str(out)]) == 2
    assert "no location" in capsys.readouterr().err
    assert not out.exists()


def test_cli_writes_no_board_that_reads_otherwise(
    province: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from server.cli import main
    from server.province import boards

    monkeypatch.setattr(boards, "location_payload", lambda code: "https://example.com/")
    out = tmp_path / "board.pdf"
    assert main(["board", "HUE-0001", "-o", str(out)]) == 1
    assert "reads as" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.iterdir())
