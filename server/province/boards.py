"""Layer: server. Printable location QR boards (A4 PDF) and the ``kiosk-server board`` command.

A board carries the location's check-in QR code — the very text the kiosk's scan screen shows
(``kiosk.payloads.location.location_payload``), large, with its quiet zone — the location's name and address,
the hotline 1900 1075 and how to report a problem through the Hue-S app, in Vietnamese with English under it.

Nothing unverified leaves this module: every board is rasterised (pdfium) and read back with the project's
own decoder (``kiosk.decode``) before it is returned. A board whose page does not read as exactly one QR code
with exactly ``QRGATE:LOC:<its code>`` raises ``BoardError`` (logged as an error) and is never served or
written. The expected text is spelled from ``LOCATION_PREFIX`` and the register's code, not from the function
that made the QR text, so a fault there cannot move the yardstick too.

Verified boards are cached per process, keyed by everything printed on them (``BoardDetails``, the QR text,
the font): a change of name, address or code makes, and checks, a new board.

Font: a TTF with Vietnamese letters, found on the system at run time — Noto Sans (Debian's
``fonts-noto-core``), else DejaVu Sans (``fonts-dejavu-core``) — and embedded (subset) in the PDF. With none
of them, or when a name holds a letter the font cannot draw, no board is made: ``BoardError`` names what to
install or the character (a board with missing letters is a wrong board).

A command module of ``server.cli`` (``PLUGGED``): no Django import at module level; fpdf2, pypdfium2, segno
and the decoder load when a board is made.
"""

# Django, fpdf2, pypdfium2 and the decoder are imported inside the functions: add_arguments runs before
# django.setup() (server/cli.py PLUGGED), and ``kiosk-server --help`` stays instant.
# ruff: noqa: PLC0415

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from kiosk.payloads.location import LOCATION_PREFIX, location_payload
from server.errors import RegisterError, ServerError

if TYPE_CHECKING:
    from fpdf import FPDF

log = logging.getLogger(__name__)

HOTLINE = "1900 1075"
_FONT_DIR = Path("/usr/share/fonts/truetype")
#: (regular, bold) pairs, preferred first. Both carry every Vietnamese letter, precomposed.
FONT_CANDIDATES: tuple[tuple[Path, Path], ...] = (
    (_FONT_DIR / "noto/NotoSans-Regular.ttf", _FONT_DIR / "noto/NotoSans-Bold.ttf"),
    (_FONT_DIR / "dejavu/DejaVuSans.ttf", _FONT_DIR / "dejavu/DejaVuSans-Bold.ttf"),
)
#: Widths of the QR code on the page, its quiet zone included (mm), tried largest first until the page fits.
#: 135 mm is about 4 mm a module for a version 2 code: a phone reads it from a couple of metres.
QR_SIZES_MM = (135.0, 120.0, 105.0, 90.0)
#: The quiet zone around the code, in modules: the 4 the QR standard asks for.
QUIET_ZONE_MODULES = 4
#: The resolution the check reads the page at (1.5 × 72 dpi): about 15 pixels a module, far from the limit.
RASTER_SCALE = 1.5
_CACHE_SIZE = 128
_BRAND_RGB = (11, 79, 138)  # the web pages' --brand (server/static/province/site.css)
_MUTED_RGB = (79, 91, 107)
_INK_RGB = (27, 36, 48)
_BOTTOM_MARGIN_MM = 10.0


class BoardError(ServerError):
    """A board could not be made, or did not read back as its location's code: nothing is served."""


@dataclass(frozen=True, slots=True)
class BoardDetails:
    """Everything a board prints, and so the key of its cache."""

    code: str
    name: str
    address: str = ""
    #: the public report page for this location (``…/report/?code=CODE``), printed as a link; "" for none
    report_url: str = ""


@dataclass(frozen=True, slots=True)
class BoardFont:
    regular: Path
    bold: Path


def details_of(location: Any, report_url: str = "") -> BoardDetails:
    """The details of a register ``Location`` (or anything with ``code``, ``name``, ``address``)."""
    return BoardDetails(
        code=str(location.code),
        name=str(location.name),
        address=str(location.address or ""),
        report_url=report_url,
    )


def expected_text(code: str) -> str:
    """What the board of location ``code`` must read as: the kiosk's own location code."""
    return LOCATION_PREFIX + code


def report_link(base_url: str, code: str) -> str:
    """The public report page's address with the location prefilled (``?code=CODE``)."""
    return base_url + ("&" if "?" in base_url else "?") + urlencode({"code": code})


def find_font(candidates: tuple[tuple[Path, Path], ...] = FONT_CANDIDATES) -> BoardFont:
    """The first installed font of ``candidates`` (its bold, or the regular one again when that is missing)."""
    for regular, bold in candidates:
        if regular.is_file():
            return BoardFont(regular, bold if bold.is_file() else regular)
    looked = ", ".join(str(regular) for regular, _ in candidates)
    raise BoardError(
        f"no font with Vietnamese letters found (looked for {looked}): install Debian's fonts-noto-core "
        "or fonts-dejavu-core"
    )


# -- the page ---------------------------------------------------------------------------------------------

_TITLE_VI = "MÃ QR ĐIỂM KIỂM SOÁT RA VÀO"
_TITLE_EN = "Check-in QR code of this location"
_SAME_VI = "Mã này trùng với mã hiển thị trên màn hình máy quét tại cổng."
_SAME_EN = "It is the same code the gate kiosk shows on its screen."
_REPORT_VI = (
    "Bảng mã bị mất, sai hoặc không quét được, hay máy quét tại cổng không hoạt động? "
    "Gọi đường dây nóng {hotline} hoặc phản ánh qua ứng dụng Hue-S (mục Phản ánh hiện trường), "
    "ghi rõ mã địa điểm {code}."
)
_REPORT_EN = (
    "Board missing, wrong or unreadable, or the gate kiosk not working? Call the hotline {hotline} or "
    "report it in the Hue-S app (Phản ánh hiện trường: field reports), quoting the location code {code}."
)
_HOTLINE_LINE = "Đường dây nóng · Hotline: {hotline}"
_CODE_LINE = "Mã địa điểm · Location code: {code}"
_LINK_LINE = "Báo sự cố trực tuyến · Report online: {url}"


def render_board(details: BoardDetails, qr_text: str, font: BoardFont) -> bytes:
    """The board's PDF (one A4 page), not yet checked: use ``board_pdf`` to get one that may be served.

    The QR code is as large as the page allows: a long name or address takes its room from the code, down to
    ``QR_SIZES_MM[-1]``; a board that does not fit even then is refused.
    """
    import segno
    from fpdf import FPDF
    from fpdf.fonts import TTFFont

    # fontTools logs every subsetting step at INFO: dozens of lines per board in the server's log.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    qr = segno.make_qr(qr_text, error="h")  # H: a scratched or dirty board still reads
    for qr_size in QR_SIZES_MM:
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        try:
            _page(pdf, details, qr, qr_size, font)
            if pdf.get_y() <= pdf.h - _BOTTOM_MARGIN_MM:
                return bytes(pdf.output())
        finally:
            for face in pdf.fonts.values():  # fontTools keeps each font file open until closed
                if isinstance(face, TTFFont):
                    face.close()
    raise BoardError(f"the board of {details.code} does not fit on one A4 page (is the address too long?)")


def _page(pdf: FPDF, details: BoardDetails, qr: Any, qr_size: float, font: BoardFont) -> None:
    from fpdf.enums import Align, XPos, YPos

    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(15, 12, 15)
    pdf.set_creator("kiosk-server")
    pdf.set_title(f"QR {details.code} – {details.name}")
    pdf.set_lang("vi")
    pdf.add_page()
    pdf.add_font("board", "", str(font.regular))
    pdf.add_font("board", "B", str(font.bold))
    report_vi = _REPORT_VI.format(hotline=HOTLINE, code=details.code)
    report_en = _REPORT_EN.format(hotline=HOTLINE, code=details.code)
    hotline = _HOTLINE_LINE.format(hotline=HOTLINE)
    code_line = _CODE_LINE.format(code=details.code)
    link_line = _LINK_LINE.format(url=details.report_url)
    printed = (_TITLE_VI, _TITLE_EN, details.name, details.address, _SAME_VI, _SAME_EN)
    _check_glyphs(pdf, font, "\n".join((*printed, report_vi, report_en, hotline, code_line, link_line)))
    width = pdf.w - pdf.l_margin - pdf.r_margin
    left = pdf.l_margin
    next_line: dict[str, Any] = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}

    # The band on top: what this board is.
    pdf.set_fill_color(*_BRAND_RGB)
    pdf.rect(0, 0, pdf.w, 30, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_xy(left, 7)
    pdf.set_font("board", "B", 20)
    pdf.cell(width, 9, _TITLE_VI, align=Align.C, **next_line)
    pdf.set_font("board", "", 12)
    pdf.cell(width, 7, _TITLE_EN, align=Align.C, **next_line)

    # Where: the name (at most two lines, smaller when long), then the address.
    pdf.set_text_color(*_INK_RGB)
    pdf.set_y(36)
    _fitted(pdf, details.name, "B", sizes=(22, 19, 16, 14, 12), width=width, max_lines=2)
    if details.address:
        pdf.set_text_color(*_MUTED_RGB)
        _fitted(pdf, details.address, "", sizes=(14, 12, 11, 10, 9), width=width, max_lines=2)

    # The code itself, centred; its quiet zone is part of the white square.
    qr_top = pdf.get_y() + 4
    _draw_qr(pdf, qr, x=(pdf.w - qr_size) / 2, y=qr_top, size=qr_size)
    pdf.set_text_color(*_INK_RGB)
    pdf.set_xy(left, qr_top + qr_size + 1)
    pdf.set_font("board", "B", 13)
    pdf.cell(width, 7, code_line, align=Align.C, **next_line)

    # How to report a problem: Vietnamese, English under it.
    pdf.set_y(pdf.get_y() + 3)
    pdf.set_draw_color(*_BRAND_RGB)
    pdf.set_line_width(0.4)
    pdf.line(left, pdf.get_y(), left + width, pdf.get_y())
    pdf.set_y(pdf.get_y() + 3)
    pdf.set_font("board", "", 12)
    pdf.multi_cell(width, 6, _SAME_VI, align=Align.C, **next_line)
    pdf.set_text_color(*_MUTED_RGB)
    pdf.set_font("board", "", 10.5)
    pdf.multi_cell(width, 5, _SAME_EN, align=Align.C, **next_line)
    pdf.set_y(pdf.get_y() + 3)
    pdf.set_text_color(*_INK_RGB)
    pdf.set_font("board", "", 12)
    pdf.multi_cell(width, 6, report_vi, **next_line)
    pdf.set_y(pdf.get_y() + 1)
    pdf.set_text_color(*_MUTED_RGB)
    pdf.set_font("board", "", 10.5)
    pdf.multi_cell(width, 5, report_en, **next_line)
    pdf.set_y(pdf.get_y() + 4)
    pdf.set_text_color(*_BRAND_RGB)
    pdf.set_font("board", "B", 18)
    pdf.cell(width, 9, hotline, align=Align.C, **next_line)
    if details.report_url:
        pdf.set_text_color(*_MUTED_RGB)
        pdf.set_font("board", "", 9.5)
        pdf.multi_cell(width, 5, link_line, align=Align.C, link=details.report_url, **next_line)


def _check_glyphs(pdf: FPDF, font: BoardFont, text: str) -> None:
    """Every letter printed must be in both faces: fpdf2 would drop a missing one with a mere warning."""
    from fpdf.fonts import TTFFont

    for key in ("board", "boardB"):
        face = pdf.fonts[key]
        cmap = face.cmap if isinstance(face, TTFFont) else {}
        missing = sorted({ch for ch in text if not ch.isspace() and ord(ch) not in cmap})
        if missing:
            shown = ", ".join(f"U+{ord(ch):04X}" for ch in missing[:5])
            raise BoardError(
                f"the font {font.regular.name} cannot draw {shown}: no board is made with letters missing"
            )


def _fitted(
    pdf: FPDF, text: str, style: str, *, sizes: tuple[float, ...], width: float, max_lines: int
) -> None:
    """``text`` centred in at most ``max_lines`` lines, in the largest of ``sizes`` that fits (else the smallest)."""
    from fpdf.enums import Align, XPos, YPos

    for size in sizes:
        pdf.set_font("board", style, size)
        lines = pdf.multi_cell(width, size * 0.45, text, align=Align.C, dry_run=True, output="LINES")
        if isinstance(lines, list) and len(lines) <= max_lines:
            break
    pdf.multi_cell(width, size * 0.45, text, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _draw_qr(pdf: FPDF, qr: Any, *, x: float, y: float, size: float) -> None:
    """The code as vector squares (sharp at any printer resolution): one rectangle per run of dark modules.

    Each run reaches a hair into the row below: adjacent rows then leave no anti-aliased seam.
    """
    rows = [list(row) for row in qr.matrix_iter(scale=1, border=QUIET_ZONE_MODULES)]
    module = size / len(rows)
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, size, size, style="F")
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            bleed = 0.05 if r + 1 < len(rows) and rows[r + 1][start] else 0.0
            pdf.rect(x + start * module, y + r * module, (c - start) * module, module + bleed, style="F")


# -- the check --------------------------------------------------------------------------------------------

# pdfium is not thread-safe: one page at a time per process (the development server runs threads).
_PDFIUM_LOCK = threading.Lock()


def read_board(pdf_bytes: bytes, scale: float = RASTER_SCALE) -> list[str]:
    """The texts of every QR code on the board's page(s), read as the kiosk reads a frame."""
    import numpy as np
    import pypdfium2 as pdfium

    from kiosk.decode import Decoder, DecoderOptions

    pages = []
    with _PDFIUM_LOCK:
        document = pdfium.PdfDocument(pdf_bytes)
        try:
            for page in document:
                bitmap = page.render(scale=scale, grayscale=True)
                pages.append(
                    np.ascontiguousarray(bitmap.to_numpy(), dtype=np.uint8).reshape(
                        bitmap.height, bitmap.width
                    )
                )
        finally:
            document.close()
    with Decoder(DecoderOptions()) as decoder:
        return [symbol.text for gray in pages for symbol in decoder.decode(gray)]


def verify_board(pdf_bytes: bytes, code: str) -> None:
    """Raise ``BoardError`` unless the board reads as exactly one QR code with exactly its location's text."""
    want = expected_text(code)
    try:
        texts = read_board(pdf_bytes)
    except Exception as exc:  # a PDF pdfium cannot open, a decoder failure: same verdict, never served
        raise BoardError(f"the board of {code} could not be read back ({type(exc).__name__}: {exc})") from exc
    if texts != [want]:
        raise BoardError(f"the board of {code} reads as {texts!r}, not [{want!r}]")


_cache: OrderedDict[tuple[BoardDetails, str, BoardFont], bytes] = OrderedDict()
_cache_lock = threading.Lock()


def board_pdf(details: BoardDetails, font: BoardFont | None = None) -> bytes:
    """The verified board of a location: from the cache, else made, read back and then cached.

    Raises ``BoardError`` (and logs it as an error) for a board that cannot be made or does not read as
    exactly its location's code: there is no path from here to a wrong board.
    """
    font = font or find_font()
    qr_text = location_payload(details.code)
    key = (details, qr_text, font)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    try:
        pdf = render_board(details, qr_text, font)
        verify_board(pdf, details.code)
    except BoardError as exc:
        log.error("QR board refused, not served: %s", exc)
        raise
    with _cache_lock:
        _cache[key] = pdf
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return pdf


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


# -- kiosk-server board -----------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.description = (
        "Write a location's printable QR board (A4 PDF): its check-in QR code, name, address, the hotline and "
        "how to report a problem, in Vietnamese and English. The board is read back with the kiosk's decoder "
        "before it is written."
    )
    parser.add_argument("code", metavar="LOCATION_CODE")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="FILE.pdf", help="where to write it"
    )
    parser.add_argument(
        "--report-url",
        metavar="URL",
        help="this server's public report page (https://…/report/), printed on the board with the code prefilled",
    )


def run(args: argparse.Namespace) -> int:
    from server.province.register import find_location

    location = find_location(args.code)
    link = ""
    if args.report_url:
        if not args.report_url.startswith(("https://", "http://")):
            raise RegisterError(f"--report-url {args.report_url!r} must start with https:// (or http://)")
        link = report_link(args.report_url, location.code)
    pdf = board_pdf(details_of(location, link))
    output: Path = args.output
    part = output.with_name(output.name + ".part")
    try:
        part.write_bytes(pdf)
        os.replace(part, output)
    except OSError as exc:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
        raise RegisterError(f"cannot write {str(output)!r}: {exc.strerror}") from exc
    print(
        f"board of {location.code} written to {output}: read back, its QR code says {expected_text(location.code)}"
    )
    return 0
