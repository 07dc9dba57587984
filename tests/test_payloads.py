"""Payload parsing: every sample, hand-made edge cases per kind, text hygiene, and fuzzing."""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kiosk.errors import PayloadError
from kiosk.model import Credential, Kind, Reason
from kiosk.payloads import classify, parse
from kiosk.payloads.location import location_payload
from kiosk.payloads.text import MAX_PAYLOAD_BYTES
from kiosk.payloads.trust import Signer, TrustList
from tests.shared import require_shared

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
CCCD = "046090001234|191234567|Nguyễn Văn An|15031990|Nam|12 Lê Lợi, Phường Vĩnh Ninh, Thành phố Huế|20042021"
QRQG = "046090001234|NGUYEN VAN AN|1990-03-15|0|163000000000000001|<1<GD4464600000001<0900000001<"
BHYT = (
    "GD4464600000001|4e677579e1bb856e2056c4836e20416e|15/03/1990|1|"
    "3132204cc3aa204ce1bba369|46001|01/01/2026|31/12/2026|01/01/2026|46046000000001|-|4|01/01/2026|"
    "1f2fa22c47f0bd18-7102|$"
)


def refused(payload: bytes | str) -> PayloadError:
    with pytest.raises(PayloadError) as err:
        parse(payload, now=NOW)
    return err.value


def sample_cases() -> list[dict[str, object]]:
    path = require_shared("data/payloads/samples.json")
    cases: list[dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))["cases"]
    return cases


def test_every_sample_gives_its_expected_kind_and_verdict() -> None:
    cases = sample_cases()
    assert cases
    for case in cases:
        trust = TrustList.empty()
        now = NOW
        if "trust_cert_der_b64" in case:
            der = base64.b64decode(str(case["trust_cert_der_b64"]))
            trust = TrustList.from_signers([Signer.from_der(der)])
        if "at" in case:
            now = datetime.fromisoformat(str(case["at"]))
        payload = str(case["payload"]).encode("utf-8")
        try:
            credential = parse(payload, now=now, trust=trust)
        except PayloadError as exc:
            kind, ok = exc.kind, False
        else:
            kind, ok = credential.kind, True
        assert (kind.value, ok) == (case["kind"], case["ok"]), case.get("note")


# -- CCCD -------------------------------------------------------------------------------------------


def test_cccd_fields_and_minimisation() -> None:
    credential = parse(CCCD.encode(), now=NOW)
    assert credential.kind is Kind.CCCD
    assert credential.id_number == "046090001234"
    assert credential.name == "Nguyễn Văn An"
    assert credential.identity_key == "id:046090001234"
    assert credential.warnings == ()
    assert "Lê Lợi" not in repr(credential)  # the address is never kept
    assert credential.masked_subject() == {"name": "Nguyễn V. A", "id": "••••1234"}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("046090001234|Nguyen Van An", Reason.MALFORMED),
        ("04609000123|191234567|An|15031990|Nam|x|20042021", Reason.BAD_ID),
        ("046090001234|19123456|An|15031990|Nam|x|20042021", Reason.BAD_ID),
        ("046090001234||An|31022001|Nam|x|20042021", Reason.BAD_DATE),
        ("046090001234||An|15031990|Nam|x|2004202", Reason.BAD_DATE),
        ("046090001234||An|15032022|Nam|x|20042021", Reason.BAD_DATE),  # born after issue
        ("046090001234||An|15031990|Nam|x|20042019", Reason.BAD_DATE),  # before chip cards
        ("046090001234||An|15031990|Nam|x|20042030", Reason.BAD_DATE),  # issued in the future
        ("046090001234||An|15031990|Male|x|20042021", Reason.BAD_SEX),
        ("046090001234||=HYPERLINK(1)|15031990|Nam|x|20042021", Reason.FORMULA_NAME),
        ("046090001234||@SUM(A1)|15031990|Nam|x|20042021", Reason.FORMULA_NAME),
        ("046090001234||+An|15031990|Nam|x|20042021", Reason.FORMULA_NAME),
        ("046090001234||-An|15031990|Nam|x|20042021", Reason.FORMULA_NAME),
        ("046090001234|| |15031990|Nam|x|20042021", Reason.MALFORMED),
        ("046090001234||Nguyễn \u202eAn|15031990|Nam|x|20042021", Reason.CONTROL_CHARS),
        ("046090001234||Nguyễn\x00An|15031990|Nam|x|20042021", Reason.CONTROL_CHARS),
        ("046090001234||Nguyễn\u200bAn|15031990|Nam|x|20042021", Reason.CONTROL_CHARS),
    ],
)
def test_cccd_refusals(payload: str, reason: Reason) -> None:
    err = refused(payload)
    assert (err.kind, err.reason) == (Kind.CCCD, reason)


@pytest.mark.parametrize(
    ("payload", "warning"),
    [
        (CCCD + "|", "cccd_fields_8"),  # 2024 cards append fields: tolerated
        (CCCD + "|Nguyễn Văn Cha|Trần Thị Mẹ", "cccd_fields_9"),
        (
            "046190001234||Nguyễn Văn An|15031990|Nam|x|20042021",
            "cccd_id_mismatch",
        ),  # digit 4 says female
        ("999090001234||Nguyễn Văn An|15031990|Nam|x|20042021", "cccd_unknown_province"),
        ("046090001234||Nguyễn Văn An|15031990|NAM|x|20042021", "cccd_sex_spelling"),
    ],
)
def test_cccd_flags_without_blocking(payload: str, warning: str) -> None:
    assert warning in parse(payload, now=NOW).warnings


def test_same_person_by_cccd_and_unmasked_national_qr_has_one_identity() -> None:
    assert parse(CCCD, now=NOW).identity_key == parse(QRQG, now=NOW).identity_key == "id:046090001234"


# -- QRQG, BHYT, location, unknown ---------------------------------------------------------------


def test_qrqg_masked_uses_the_qid() -> None:
    credential = parse("******001234|NGUYEN VAN AN|1990-**-**|0|163000000000000001|<1<<<", now=NOW)
    assert credential.kind is Kind.QRQG
    assert credential.identity_key == "qid:163000000000000001"
    assert "qrqg_masked" in credential.warnings


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("046090001234|NGUYEN VAN AN|1990-02-30|0|163|x", Reason.BAD_DATE),
        ("046090001234|NGUYEN VAN AN|2990-**-**|0|163|x", Reason.BAD_DATE),
        ("046090001234|NGUYEN VAN AN|1990-03-15|7|163|x", Reason.MALFORMED),
        ("046090001234|Nguyễn Văn An|1990-03-15|0|163|x", Reason.MALFORMED),
        ("04|NGUYEN VAN AN|1990-03-15|0|163|x", Reason.BAD_ID),
        ("046090001234|NGUYEN VAN AN|1990-03-15|0|16 3|x", Reason.BAD_ID),
    ],
)
def test_qrqg_refusals(payload: str, reason: Reason) -> None:
    err = refused(payload)
    assert (err.kind, err.reason) == (Kind.QRQG, reason)


def test_bhyt_decodes_hex_name_and_keeps_no_address() -> None:
    credential = parse(BHYT, now=NOW)
    assert credential.kind is Kind.BHYT
    assert credential.name == "Nguyễn Văn An"
    assert credential.id_number == "GD4464600000001"
    assert "Lê Lợi" not in repr(credential)


@pytest.mark.parametrize(
    "payload",
    [
        BHYT.replace("|$", "|"),  # no final $
        BHYT.replace("4e677579", "zz677579"),  # name not hex
        BHYT.replace("4e677579e1bb856e2056c4836e20416e", "3d48595045524c494e4b"),  # =HYPERLINK
        BHYT.replace("31/12/2026", "31/02/2026"),
    ],
)
def test_bhyt_refusals(payload: str) -> None:
    assert refused(payload).kind is Kind.BHYT


@pytest.mark.parametrize(
    "payload",
    [
        "https://qr.tokhaiyte.vn/place/ABC123",
        "HTTPS://QR.PCCOVID.GOV.VN/x?y=1",
        "https://hue-s.vn/checkin/42",
        location_payload("HUE-0001"),
    ],
)
def test_location_codes_are_refused_with_a_hint(payload: str) -> None:
    err = refused(payload)
    assert (err.kind, err.reason) == (Kind.LOCATION, Reason.LOCATION_CODE)


@pytest.mark.parametrize(
    "payload",
    [
        "https://example.com/phishing",
        "WIFI:S:Cafe;T:WPA;P:x;;",
        "shc:/5676290952432060346029243740",
        "hello",
        b"PK\x03\x04certificate.json",
        "a|b|c",
    ],
)
def test_anything_else_is_unknown(payload: str | bytes) -> None:
    err = refused(payload)
    assert (err.kind, err.reason) == (Kind.UNKNOWN, Reason.UNKNOWN_FORMAT)


def test_other_hc_prefixes_are_dcc_prefix_errors() -> None:
    err = refused("HC2:6BFOXN%TS3DH0YOJ58S")
    assert (err.kind, err.reason) == (Kind.DCC, Reason.DCC_PREFIX)


# -- text hygiene -----------------------------------------------------------------------------------


def test_bom_and_trailing_newlines_are_stripped_and_text_is_nfc() -> None:
    decomposed = CCCD.replace("ễ", "e\u0302\u0303")  # NFD: e + circumflex + tilde
    assert parse(b"\xef\xbb\xbf" + decomposed.encode() + b"\r\n", now=NOW).name == "Nguyễn Văn An"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", Reason.EMPTY),
        (b"\r\n", Reason.EMPTY),
        (b"046090001234|\xff\xfe|x", Reason.NOT_UTF8),
        (b"x" * (MAX_PAYLOAD_BYTES + 1), Reason.TOO_LONG),
    ],
)
def test_text_level_refusals(payload: bytes, reason: Reason) -> None:
    assert refused(payload).reason is reason


def test_classify_dispatch_order() -> None:
    assert classify("HC1:ABC") is Kind.DCC
    assert classify(QRQG) is Kind.QRQG
    assert classify(CCCD) is Kind.CCCD
    assert classify(BHYT) is Kind.BHYT
    assert classify("https://qr.tokhaiyte.vn/x") is Kind.LOCATION


# -- fuzzing ----------------------------------------------------------------------------------------

SEEDS = [CCCD, QRQG, BHYT, "HC1:NCFOXN%TSMAHN-H$P8O1LL+6BNV45W0II8", "https://qr.tokhaiyte.vn/p/1"]

# What a hostile or broken code puts into fields (issue 6): digits that are not ASCII (full-width,
# Arabic-Indic, extended Arabic-Indic, Devanagari, Bengali; superscripts pass str.isdigit too),
# noncharacters, format and invisible characters, a lone surrogate, odd spaces and formula signs.
DIGIT_ZEROS = ("０", "٠", "۰", "०", "০")
HOSTILE_CHARS = (
    [chr(ord(zero) + d) for zero in DIGIT_ZEROS for d in range(10)]
    + ["²", "³", "¹"]
    + ["\ufdd0", "\ufdef", "\ufffe", "\uffff", "\U0001fffe", "\U0010ffff"]
    + ["\u00ad", "\u200b", "\u200d", "\u2061", "\u202e", "\u2066", "\ufeff", "\u180e", "\U000e0041"]
    + ["\U000e007f", "\u3164", "\u115f", "\u1160", "\uffa0", "\u2800", "\ufe0f", "\u034f", "\ue000"]
    + ["\u0378", "\u2028", "\ud800", "\x00", "\x85", "\t", "\u3000", "\u00a0", " "]
    + list("=+-@＝＋－＠﹦﹢﹣﹫")
)
FORMULA_SIGNS = "=+-@＝＋－＠"
# Seeds as fields; the BHYT name and address (fields 1 and 4) are text here and hex-encoded when built, so
# that the hostile characters reach the decoded name and not just the hex.
FIELDS = {
    Kind.CCCD: CCCD.split("|"),
    Kind.QRQG: QRQG.split("|"),
    Kind.BHYT: [binascii.unhexlify(f).decode() if i in (1, 4) else f for i, f in enumerate(BHYT.split("|"))],
}


def _build(kind: Kind, fields: list[str]) -> str:
    if kind is Kind.BHYT:
        fields = [
            binascii.hexlify(f.encode("utf-8", "surrogatepass")).decode() if i in (1, 4) else f
            for i, f in enumerate(fields)
        ]
    return "|".join(fields)


@st.composite
def hostile_field(draw: st.DrawFn, value: str) -> str:
    """``value`` with Unicode digits for its ASCII ones, or hostile characters put in, over or before it."""
    how = draw(st.sampled_from(["all digits", "one digit", "insert", "overwrite", "prefix"]))
    if how in ("all digits", "one digit"):
        zero = ord(draw(st.sampled_from(DIGIT_ZEROS)))
        positions = [i for i, ch in enumerate(value) if "0" <= ch <= "9"]
        if how == "one digit" and positions:
            positions = [draw(st.sampled_from(positions))]
        chars = list(value)
        for i in positions:
            chars[i] = chr(zero + int(chars[i]))
        return "".join(chars)
    hostile = draw(st.text(alphabet=st.sampled_from(HOSTILE_CHARS), min_size=1, max_size=3))
    at = draw(st.integers(min_value=0, max_value=len(value)))
    if how == "insert":
        return value[:at] + hostile + value[at:]
    if how == "overwrite":
        return value[:at] + hostile + value[at + 1 :]
    return hostile + value


def _is_noncharacter(ch: str) -> bool:
    return 0xFDD0 <= ord(ch) <= 0xFDEF or ord(ch) & 0xFFFE == 0xFFFE


def _check_credential(credential: Credential) -> None:
    """What a granted credential may hold, whatever the payload was (issue 6)."""
    assert credential.identity_key
    id_number = credential.id_number
    if credential.kind is Kind.CCCD:
        assert id_number is not None and re.fullmatch(r"[0-9]{12}", id_number)  # [0-9] is ASCII only
        assert credential.identity_key == f"id:{id_number}"
    if credential.kind is Kind.BHYT:
        assert id_number is not None and re.fullmatch(r"[A-Z]{2}[0-9]{13}", id_number)
    if credential.kind is Kind.QRQG:
        assert id_number is not None and re.fullmatch(r"[0-9A-Za-z]{1,40}", id_number)
    if credential.identity_key.startswith("id:"):
        assert re.fullmatch(r"id:[0-9]{12}", credential.identity_key)
    name = credential.name
    if name is not None:
        for ch in name:
            assert unicodedata.category(ch) not in ("Cc", "Cf", "Cn", "Co", "Cs"), f"U+{ord(ch):04X}"
            assert not _is_noncharacter(ch), f"U+{ord(ch):04X}"
        assert name == name.strip()
        assert not name.startswith(tuple(FORMULA_SIGNS))
        assert not unicodedata.normalize("NFKC", name).startswith(tuple(FORMULA_SIGNS))


def _check_contract(payload: bytes | str) -> None:
    try:
        result = parse(payload, now=NOW)
    except PayloadError as exc:
        assert isinstance(exc.reason, Reason)
        assert isinstance(exc.kind, Kind)
        event(f"refused: {exc.reason}")
    else:
        assert isinstance(result, Credential)
        _check_credential(result)
        event(f"granted: {result.kind}")


# The deadline is generous (the parser takes well under a millisecond on these inputs, see
# docs/benchmarks.md); it is here to catch pathological slowness such as a regex blow-up.
@settings(deadline=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_any_bytes_give_a_credential_or_the_parsers_own_error(payload: bytes) -> None:
    _check_contract(payload)


@settings(deadline=200)
@given(
    seed=st.sampled_from(SEEDS),
    cut=st.integers(min_value=0, max_value=400),
    insert=st.text(max_size=8) | st.text(alphabet=st.sampled_from(HOSTILE_CHARS), max_size=8),
    at=st.integers(min_value=0, max_value=400),
)
def test_mutated_real_payloads_keep_the_contract(seed: str, cut: int, insert: str, at: int) -> None:
    mutated = seed[:at] + insert + seed[at:]
    _check_contract(mutated[: len(mutated) - cut % (len(mutated) + 1)].encode("utf-8", "surrogatepass"))


@settings(deadline=200)
@given(data=st.data())
@pytest.mark.parametrize("kind", [Kind.CCCD, Kind.QRQG, Kind.BHYT])
def test_hostile_characters_in_any_field_never_reach_a_credential(kind: Kind, data: st.DataObject) -> None:
    fields = list(FIELDS[kind])
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="mutations")):
        index = data.draw(st.integers(min_value=0, max_value=len(fields) - 1), label="field")
        fields[index] = data.draw(hostile_field(fields[index]), label=f"field {index}")
    _check_contract(_build(kind, fields))


@pytest.mark.parametrize("kind", [Kind.CCCD, Kind.QRQG, Kind.BHYT])
def test_the_hostile_field_builder_round_trips_the_seeds(kind: Kind) -> None:
    # Guards the property above against testing something other than the real payloads.
    assert _build(kind, list(FIELDS[kind])) == {Kind.CCCD: CCCD, Kind.QRQG: QRQG, Kind.BHYT: BHYT}[kind]
