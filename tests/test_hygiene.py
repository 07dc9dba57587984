"""Input hygiene (issue 6, items 5 and 6): ASCII digits in numbers and dates; what a name may contain.

Item 5: Python's ``str.isdigit()``, ``int()`` and ``re`` ``\\d`` accept any Unicode digit, so a CCCD written with
full-width or Arabic-Indic digits used to be granted and stored with those digits while the screen showed
the same last four digits as the real card. Numbers and dates are ASCII only.

Item 6: a name is an allow-list (letters, combining marks, spaces, ``' ’ - .`` and ASCII digits); invisible,
format, private-use, unassigned and noncharacters are CONTROL_CHARS; a name that reads as a formula, also in
full-width form or after NFKC, is FORMULA_NAME.
"""

from __future__ import annotations

import binascii
import unicodedata
from datetime import UTC, date, datetime

import pytest

from kiosk.errors import PayloadError
from kiosk.model import Kind, Reason
from kiosk.payloads import parse
from kiosk.payloads.text import check_characters, check_name, parse_date, starts_like_formula

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")


def cccd(
    *,
    id_number: str = "046090001234",
    old_id: str = "191234567",
    name: str = "Nguyễn Văn An",
    dob: str = "15031990",
    address: str = "12 Lê Lợi, Huế",
    issued: str = "20042021",
) -> str:
    return "|".join([id_number, old_id, name, dob, "Nam", address, issued])


def bhyt(
    *,
    card: str = "GD4464600000001",
    name: str = "Nguyễn Văn An",
    dob: str = "15/03/1990",
    address: str = "12 Lê Lợi",
    valid_to: str = "31/12/2026",
) -> str:
    def hex_text(text: str) -> str:
        return binascii.hexlify(text.encode("utf-8", "surrogatepass")).decode("ascii")

    return "|".join(
        [
            *(card, hex_text(name), dob, "1", hex_text(address), "46001", "01/01/2026", valid_to),
            *("01/01/2026", "46046000000001", "-", "4", "01/01/2026", "1f2fa22c47f0bd18-7102", "$"),
        ]
    )


def qrqg(*, doc: str = "046090001234", name: str = "NGUYEN VAN AN", dob: str = "1990-03-15") -> str:
    return f"{doc}|{name}|{dob}|0|163000000000000001|<1<<<"


def refusal(payload: str) -> tuple[Kind, Reason]:
    with pytest.raises(PayloadError) as err:
        parse(payload, now=NOW)
    return err.value.kind, err.value.reason


# -- item 5: ASCII digits only ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "id_number",
    [
        "046090001234".translate(FULL_WIDTH),
        "046090001234".translate(ARABIC_INDIC),
        "046090001234".translate(DEVANAGARI),
        "04609000" + "1234".translate(FULL_WIDTH),  # the digits the screen masks are the look-alikes
        "０４６090001234",  # only the first digits swapped: the screen shows the real card's last four
    ],
)
def test_cccd_number_with_unicode_digits_is_bad_id(id_number: str) -> None:
    assert refusal(cccd(id_number=id_number)) == (Kind.CCCD, Reason.BAD_ID)


@pytest.mark.parametrize("old_id", ["19123456²", "191234567".translate(FULL_WIDTH), "١٩١٢٣٤٥٦٧"])
def test_cccd_old_number_with_unicode_digits_is_bad_id(old_id: str) -> None:
    assert refusal(cccd(old_id=old_id)) == (Kind.CCCD, Reason.BAD_ID)


@pytest.mark.parametrize(
    "dates",
    [
        {"dob": "15031990".translate(FULL_WIDTH)},
        {"dob": "1503" + "1990".translate(ARABIC_INDIC)},
        {"issued": "20042021".translate(DEVANAGARI)},
    ],
)
def test_cccd_dates_with_unicode_digits_are_bad_date(dates: dict[str, str]) -> None:
    assert refusal(cccd(**dates)) == (Kind.CCCD, Reason.BAD_DATE)


@pytest.mark.parametrize(
    "dob",
    [
        "1990".translate(FULL_WIDTH) + "-03-15",
        "1990-03-15".translate(ARABIC_INDIC),
        "1990".translate(DEVANAGARI) + "-**-**",  # masked: only the year is read
    ],
)
def test_qrqg_birth_date_with_unicode_digits_is_bad_date(dob: str) -> None:
    assert refusal(qrqg(dob=dob)) == (Kind.QRQG, Reason.BAD_DATE)


def test_qrqg_document_number_with_unicode_digits_is_bad_id() -> None:
    assert refusal(qrqg(doc="046090001234".translate(FULL_WIDTH))) == (Kind.QRQG, Reason.BAD_ID)


@pytest.mark.parametrize(
    "card",
    ["GD" + "4464600000001".translate(FULL_WIDTH), "GD446460000" + "0001".translate(ARABIC_INDIC)],
)
def test_bhyt_card_number_with_unicode_digits_is_bad_id(card: str) -> None:
    assert refusal(bhyt(card=card)) == (Kind.BHYT, Reason.BAD_ID)


@pytest.mark.parametrize(
    "dates",
    [
        {"dob": "15/03/" + "1990".translate(FULL_WIDTH)},
        {"dob": "1990".translate(ARABIC_INDIC)},  # a year-only birth date
        {"dob": "+1/03/1990"},  # int() reads a sign,
        {"dob": " 1/03/1990"},  # surrounding blanks,
        {"dob": "01/03/1_90"},  # and digit-group underscores
        {"valid_to": "31/12/" + "2026".translate(DEVANAGARI)},
    ],
)
def test_bhyt_dates_with_anything_but_ascii_digits_are_bad_date(dates: dict[str, str]) -> None:
    assert refusal(bhyt(**dates)) == (Kind.BHYT, Reason.BAD_DATE)


@pytest.mark.parametrize(
    ("value", "fmt"),
    [
        ("15031990".translate(FULL_WIDTH), "DDMMYYYY"),
        ("15/03/" + "1990".translate(ARABIC_INDIC), "DD/MM/YYYY"),
        ("+1/03/1990", "DD/MM/YYYY"),
        ("01/03/ 990", "DD/MM/YYYY"),
        ("1990-03-" + "15".translate(DEVANAGARI), "YYYY-MM-DD"),
        ("1990-+3-15", "YYYY-MM-DD"),
        ("1_90-03-15", "YYYY-MM-DD"),
    ],
)
def test_parse_date_reads_ascii_digits_only(value: str, fmt: str) -> None:
    with pytest.raises(PayloadError) as err:
        parse_date(value, fmt, Kind.CCCD)
    assert err.value.reason is Reason.BAD_DATE


@pytest.mark.parametrize(
    ("value", "fmt"), [("15031990", "DDMMYYYY"), ("15/03/1990", "DD/MM/YYYY"), ("1990-03-15", "YYYY-MM-DD")]
)
def test_parse_date_still_reads_ascii_dates(value: str, fmt: str) -> None:
    assert parse_date(value, fmt, Kind.CCCD) == date(1990, 3, 15)


# -- item 6: names --------------------------------------------------------------------------------

INVISIBLE_OR_MEANINGLESS = {
    "noncharacter U+FFFF": "\uffff",
    "noncharacter U+FFFE": "\ufffe",
    "noncharacter U+FDD0": "\ufdd0",
    "noncharacter U+FDEF": "\ufdef",
    "noncharacter U+1FFFF": "\U0001ffff",
    "noncharacter U+10FFFE": "\U0010fffe",
    "soft hyphen": "\u00ad",
    "function application": "\u2061",
    "tag letter A": "\U000e0041",
    "cancel tag": "\U000e007f",
    "Mongolian vowel separator": "\u180e",
    "Hangul filler": "\u3164",
    "Hangul choseong filler": "\u115f",
    "Hangul jungseong filler": "\u1160",
    "half-width Hangul filler": "\uffa0",
    "braille blank": "\u2800",
    "variation selector 16": "\ufe0f",
    "combining grapheme joiner": "\u034f",
    "private use": "\ue000",
    "private use (Apple logo)": "\uf8ff",
    "unassigned U+0378": "\u0378",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
}


@pytest.mark.parametrize("bad", INVISIBLE_OR_MEANINGLESS.values(), ids=INVISIBLE_OR_MEANINGLESS.keys())
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_names_with_invisible_or_meaningless_characters_are_control_chars(bad: str, where: str) -> None:
    name = {
        "start": bad + "Nguyễn Văn An",
        "middle": "Nguyễn Văn" + bad + " An",
        "end": "Nguyễn Văn An" + bad,
    }
    assert refusal(cccd(name=name[where])) == (Kind.CCCD, Reason.CONTROL_CHARS)
    assert refusal(bhyt(name=name[where])) == (Kind.BHYT, Reason.CONTROL_CHARS)


def test_lone_surrogate_in_a_name_is_control_chars() -> None:
    assert refusal(cccd(name="Nguyễn \ud800An")) == (Kind.CCCD, Reason.CONTROL_CHARS)


@pytest.mark.parametrize("bad", ["\uffff", "\ufdd0", "\u00ad", "\U000e0041"])
def test_noncharacters_and_format_characters_anywhere_in_the_payload_are_refused(bad: str) -> None:
    # The address is never kept, but a noncharacter has no business anywhere in a card's text.
    assert refusal(cccd(address="12 Lê" + bad + " Lợi")) == (Kind.CCCD, Reason.CONTROL_CHARS)
    assert refusal(bhyt(address="12 Lê" + bad + " Lợi")) == (Kind.BHYT, Reason.CONTROL_CHARS)


def test_a_lone_surrogate_anywhere_is_refused() -> None:
    assert refusal(cccd(address="12 Lê\ud83d Lợi")) == (Kind.CCCD, Reason.CONTROL_CHARS)
    # In the hex fields of a BHYT card it is not even UTF-8.
    assert refusal(bhyt(address="12 Lê\ud83d Lợi")) == (Kind.BHYT, Reason.MALFORMED)


@pytest.mark.parametrize(
    "name",
    [
        "＝HYPERLINK(1)",
        "＋An",
        "－An",
        "＠SUM(A1)",
        "﹦1+1",  # small equals sign: "=" after NFKC
        "﹫An",  # small commercial at
        "\u3000=1+1",  # an ideographic space in front
        "\u2003+An",  # an em space in front
    ],
)
def test_full_width_and_nfkc_formula_names_are_formula_name(name: str) -> None:
    assert refusal(cccd(name=name)) == (Kind.CCCD, Reason.FORMULA_NAME)
    assert refusal(bhyt(name=name)) == (Kind.BHYT, Reason.FORMULA_NAME)


@pytest.mark.parametrize(
    "name",
    [
        "An = Bình",
        "Nguyễn 😀 An",
        "Nguyễn Văn An" + "١",  # an Arabic-Indic digit
        "Louis Ⅳ",  # a Roman numeral character
        "An <script>",
        "An" + "\u0301" * 6,  # six stacked accents on one letter
        "\u0301An",  # an accent on nothing
    ],
)
def test_visible_characters_that_are_not_part_of_a_name_are_malformed(name: str) -> None:
    assert refusal(cccd(name=name)) == (Kind.CCCD, Reason.MALFORMED)


@pytest.mark.parametrize(
    "name",
    [
        "Nguyễn Văn An",
        "Trần Thị Ánh Tuyết",
        "Đặng Hữu Phước",
        "Nguyễn Thị Bích Ngọc",
        "Huỳnh Ưng Thượng",
        "O'Brien",
        "D’Arcy",
        "Jean-Luc Picard",
        "St. John-Smith",
        "María José Müller",
        "Ελένη Παπαδοπούλου",
        "Иван Петров",
        "山田 太郎",
        "佐々木 希",
    ],
)
def test_real_names_pass(name: str) -> None:
    assert parse(cccd(name=name), now=NOW).name == name
    assert parse(bhyt(name=name), now=NOW).name == name


def test_names_are_kept_in_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Đặng Hữu Phước")
    assert check_name(decomposed, Kind.DCC) == "Đặng Hữu Phước"


@pytest.mark.parametrize("space", ["\u00a0", "\u2002", "\u2009", "\u202f", "\u3000", "  "])
def test_any_run_of_spaces_becomes_one_plain_space(space: str) -> None:
    assert check_name(f"Nguyễn{space}Văn An", Kind.CCCD) == "Nguyễn Văn An"


def test_dcc_style_names_pass_check_name() -> None:
    # dcc.py joins fn/gn (or fnt/gnt with "<" as a space); the EU test data has specimen names with digits.
    assert check_name("PREZIME01 TEST01", Kind.DCC) == "PREZIME01 TEST01"
    assert check_name("Musterfrau-Gößinger Gabriele", Kind.DCC) == "Musterfrau-Gößinger Gabriele"
    assert check_name("D'Arsøns - van Halen François-Joan", Kind.DCC) == "D'Arsøns - van Halen François-Joan"


def test_check_characters_keeps_refusing_controls_and_bidi() -> None:
    for bad in ("\x00", "\x1b", "\x85", "\u202e", "\u2066", "\u200b", "\ufeff", "\uffff", "\ud800"):
        with pytest.raises(PayloadError) as err:
            check_characters("An" + bad, Kind.DCC)
        assert err.value.reason is Reason.CONTROL_CHARS
    check_characters("12 Lê Lợi, Phường Vĩnh Ninh", Kind.CCCD)  # no error


@pytest.mark.parametrize(
    ("text", "formula"),
    [
        ("=1", True),
        ("+1", True),
        ("-1", True),
        ("@A", True),
        ("＝1", True),
        ("＋1", True),
        ("－1", True),
        ("＠A", True),
        ("﹢1", True),
        (" =1", True),
        ("\t=1", True),
        ("\u3000@A", True),
        ("An = 1", False),
        ("An", False),
        ("", False),
    ],
)
def test_starts_like_formula(text: str, formula: bool) -> None:
    assert starts_like_formula(text) is formula
