"""Unit tests for EU DCC verification (kiosk.payloads.dcc), the trust list and Base45.

DCCs are built at test time with throw-away keys, so every branch is exercised without shared data; the
fake VN sample from ``shared/data/payloads/samples.json`` is checked too when that folder is present.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import unicodedata
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.cli import main as cli_main
from kiosk.demo import self_signed_dsc
from kiosk.errors import PayloadError, TrustListError
from kiosk.model import Kind, Reason
from kiosk.payloads.base45 import ALPHABET, b45decode, b45encode
from kiosk.payloads.dcc import verify_dcc
from kiosk.payloads.trust import Signer, TrustList, kid_of
from tests.cli_support import isolate_cli
from tests.shared import require_shared

NOW = datetime(2022, 3, 1, 12, 0, tzinfo=UTC)
IAT = datetime(2022, 1, 10, tzinfo=UTC)
EXP = datetime(2023, 1, 10, tzinfo=UTC)
DSC_FROM = datetime(2021, 1, 1, tzinfo=UTC)
DSC_TO = datetime(2025, 1, 1, tzinfo=UTC)
OID_TEST, OID_VACC, OID_RECO = (f"1.3.6.1.4.1.1847.2021.1.{i}" for i in (1, 2, 3))
OID_TLS_CLIENT, OID_EMAIL = "1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.4"  # purposes real national DSCs carry
OID_ICAO_DS = "2.23.136.1.1.14.2"  # ICAO document signer, on Iceland's DSCs (dcc-testdata IS/3)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- builders -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dsc:
    key: PrivateKey
    der: bytes

    @property
    def kid(self) -> bytes:
        return kid_of(self.der)

    def trust(self) -> TrustList:
        return TrustList((Signer.from_der(self.der),))


def make_dsc(
    key: PrivateKey,
    *,
    eku: tuple[str, ...] = (),
    country: str = "VN",
    serial: int = 1,
    not_before: datetime = DSC_FROM,
    not_after: datetime = DSC_TO,
) -> Dsc:
    der = self_signed_dsc(
        key,
        not_before=not_before,
        not_after=not_after,
        country=country,
        common_name="TEST DSC",
        eku=eku,
        serial=serial,
    )
    return Dsc(key, der)


def hcert(kind: str = "v", *, entries: int = 1, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "tg": "840539006",
        "co": "VN",
        "is": "Ministry of Health",
        "ci": "URN:UVCI:01:VN:TEST0001",
    }
    dcc: dict[str, Any] = {
        "ver": "1.3.0",
        "nam": {"fn": "Nguyễn", "fnt": "NGUYEN", "gn": "Văn An", "gnt": "VAN<AN"},
        "dob": "1990-03-15",
        kind: [dict(entry) for _ in range(entries)],
    }
    dcc.update(extra)
    return dcc


def claims(dcc: Mapping[str, Any] | None = None, *, iat: datetime = IAT, exp: datetime = EXP) -> Any:
    return {
        1: "VN",
        6: int(iat.timestamp()),
        4: int(exp.timestamp()),
        -260: {1: hcert() if dcc is None else dcc},
    }


def sign(key: PrivateKey, protected: bytes, payload: bytes, *, alg: int = -7) -> bytes:
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(to_be_signed, ec.ECDSA(hashes.SHA256())))
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    return key.sign(to_be_signed, pss, hashes.SHA256())


def cose(
    dsc: Dsc,
    payload_claims: Any = None,
    *,
    alg: int | None = None,
    protected_kid: bytes | None = None,
    unprotected_kid: bytes | None = None,
    kid_where: str = "protected",
    tag: str = "18",
) -> bytes:
    if alg is None:
        alg = -7 if isinstance(dsc.key, ec.EllipticCurvePrivateKey) else -37
    protected_map: dict[int, Any] = {1: alg}
    unprotected: dict[int, Any] = {}
    if kid_where in ("protected", "both"):
        protected_map[4] = dsc.kid if protected_kid is None else protected_kid
    if kid_where in ("unprotected", "both"):
        unprotected[4] = dsc.kid if unprotected_kid is None else unprotected_kid
    protected = cbor2.dumps(protected_map)
    payload = cbor2.dumps(claims() if payload_claims is None else payload_claims)
    body = [protected, unprotected, payload, sign(dsc.key, protected, payload, alg=alg)]
    if tag == "none":
        return cbor2.dumps(body)
    if tag == "61+18":
        return cbor2.dumps(cbor2.CBORTag(61, cbor2.CBORTag(18, body)))
    return cbor2.dumps(cbor2.CBORTag(18, body))


def hc1(cose_bytes: bytes, *, compress: bool = True) -> str:
    return "HC1:" + b45encode(zlib.compress(cose_bytes, 9) if compress else cose_bytes)


def refused(text: str, trust: TrustList, now: datetime = NOW) -> Reason:
    with pytest.raises(PayloadError) as info:
        verify_dcc(text, trust, now)
    assert info.value.kind is Kind.DCC
    return info.value.reason


@pytest.fixture(scope="module")
def p256() -> Dsc:
    return make_dsc(ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture(scope="module")
def rsa_dsc() -> Dsc:
    return make_dsc(rsa.generate_private_key(public_exponent=65537, key_size=2048))


# --- the fake VN sample ---------------------------------------------------------------------------------


def _vn_cases() -> list[dict[str, Any]]:
    path = require_shared("data/payloads/samples.json")
    cases = json.loads(path.read_text(encoding="utf-8"))["cases"]
    return [c for c in cases if c["kind"] == "dcc"]


def _vn_good() -> dict[str, Any]:
    return next(c for c in _vn_cases() if c["ok"])


def _vn_trust(case: Mapping[str, Any]) -> TrustList:
    if "trust_cert_der_b64" not in case:
        return TrustList.empty()
    return TrustList((Signer.from_der(base64.b64decode(case["trust_cert_der_b64"])),))


def test_vn_sample_verifies_at_its_clock() -> None:
    good = _vn_good()
    credential = verify_dcc(good["payload"], _vn_trust(good), datetime.fromisoformat(good["at"]))
    assert credential.kind is Kind.DCC
    assert credential.identity_key == "dcc:URN:UVCI:01:VN:FAKE0000000000000001"
    assert credential.is_health_certificate
    assert credential.country == "VN"
    assert credential.certificate_type == "v"
    assert credential.expires_at is not None
    assert credential.expires_at.date() == date(2023, 1, 10)
    assert credential.warnings == ()


def test_vn_sample_kid_matches_the_reference() -> None:
    (signer,) = _vn_trust(_vn_good())
    assert base64.b64encode(signer.kid).decode() == "GTx4mwI32Q8="


def test_vn_sample_expired_a_year_later() -> None:
    good = _vn_good()
    at = datetime(2023, 2, 14, tzinfo=UTC)
    assert refused(good["payload"], _vn_trust(good), at) is Reason.DCC_EXPIRED


def test_vn_sample_unknown_kid_without_its_dsc() -> None:
    good = _vn_good()
    at = datetime.fromisoformat(good["at"])
    assert refused(good["payload"], TrustList.empty(), at) is Reason.DCC_UNKNOWN_KID


def test_vn_sample_tampered_variant_is_refused() -> None:
    good = _vn_good()
    tampered = next(c for c in _vn_cases() if c["payload"] != good["payload"])
    at = datetime.fromisoformat(good["at"])
    # One Base45 character changed: the zlib checksum no longer matches.
    assert refused(tampered["payload"], _vn_trust(good), at) is Reason.DCC_COMPRESSION


def test_every_vn_sample_case_matches_its_ok_flag() -> None:
    for case in _vn_cases():
        at = datetime.fromisoformat(case["at"])
        if case["ok"]:
            verify_dcc(case["payload"], _vn_trust(case), at)
        else:
            refused(case["payload"], _vn_trust(case), at)


# --- algorithms, tags and headers -----------------------------------------------------------------------


def test_es256_p256(p256: Dsc) -> None:
    credential = verify_dcc(hc1(cose(p256)), p256.trust(), NOW)
    assert credential.identity_key == "dcc:URN:UVCI:01:VN:TEST0001"
    assert credential.name == "Nguyễn Văn An"  # family name first, as Vietnamese names are written
    assert credential.birth_date == date(1990, 3, 15)
    assert credential.expires_at == EXP


def test_es256_with_p384_key_splits_signature_in_halves() -> None:
    dsc = make_dsc(ec.generate_private_key(ec.SECP384R1()))
    text = hc1(cose(dsc, alg=-7))
    assert verify_dcc(text, dsc.trust(), NOW).certificate_type == "v"


def test_ps256(rsa_dsc: Dsc) -> None:
    assert verify_dcc(hc1(cose(rsa_dsc)), rsa_dsc.trust(), NOW).country == "VN"


@pytest.mark.parametrize("tag", ["61+18", "none"])
def test_cwt_and_missing_tags_are_accepted(p256: Dsc, tag: str) -> None:
    assert verify_dcc(hc1(cose(p256, tag=tag)), p256.trust(), NOW).certificate_type == "v"


def test_other_tag_is_a_cbor_error(p256: Dsc) -> None:
    body = cbor2.loads(cose(p256, tag="none"))
    text = hc1(cbor2.dumps(cbor2.CBORTag(98, body)))
    assert refused(text, p256.trust()) is Reason.DCC_CBOR


def test_kid_only_in_unprotected_header(p256: Dsc) -> None:
    text = hc1(cose(p256, kid_where="unprotected"))
    assert verify_dcc(text, p256.trust(), NOW).certificate_type == "v"


def test_wrong_protected_kid_beats_right_unprotected_kid(p256: Dsc) -> None:
    text = hc1(cose(p256, kid_where="both", protected_kid=b"\x00" * 8))
    assert refused(text, p256.trust()) is Reason.DCC_UNKNOWN_KID


def test_right_protected_kid_beats_wrong_unprotected_kid(p256: Dsc) -> None:
    text = hc1(cose(p256, kid_where="both", unprotected_kid=b"\x00" * 8))
    assert verify_dcc(text, p256.trust(), NOW).certificate_type == "v"


def test_missing_kid_is_unknown(p256: Dsc) -> None:
    assert refused(hc1(cose(p256, kid_where="none")), p256.trust()) is Reason.DCC_UNKNOWN_KID


def test_every_signer_sharing_a_kid_is_tried(p256: Dsc) -> None:
    impostor = make_dsc(ec.generate_private_key(ec.SECP256R1()))
    # Same kid, wrong key first: verification must go on to the second DSC.
    decoy = Signer.from_der(impostor.der, kid=p256.kid)
    trust = TrustList((decoy, Signer.from_der(p256.der)))
    assert len(trust.signers_for(p256.kid)) == 2
    assert verify_dcc(hc1(cose(p256)), trust, NOW).certificate_type == "v"
    only_decoy = TrustList((decoy,))
    assert refused(hc1(cose(p256)), only_decoy) is Reason.DCC_SIGNATURE


def test_bad_signature(p256: Dsc) -> None:
    tag = cbor2.loads(cose(p256))
    protected, unprotected, payload, signature = tag.value
    forged = bytes([signature[0] ^ 1]) + signature[1:]
    text = hc1(cbor2.dumps(cbor2.CBORTag(18, [protected, dict(unprotected), payload, forged])))
    assert refused(text, p256.trust()) is Reason.DCC_SIGNATURE


def test_payload_swapped_after_signing(p256: Dsc) -> None:
    tag = cbor2.loads(cose(p256))
    protected, unprotected, _, signature = tag.value
    other = cbor2.dumps(claims(hcert(ci="URN:UVCI:01:VN:SOMEONE-ELSE")))
    text = hc1(cbor2.dumps(cbor2.CBORTag(18, [protected, dict(unprotected), other, signature])))
    assert refused(text, p256.trust()) is Reason.DCC_SIGNATURE


def test_key_type_mismatch_is_a_bad_signature(rsa_dsc: Dsc, p256: Dsc) -> None:
    # ES256 header, RSA DSC: no key can verify it.
    text = hc1(cose(p256, alg=-7))
    trust = TrustList((Signer.from_der(rsa_dsc.der, kid=p256.kid),))
    assert refused(text, trust) is Reason.DCC_SIGNATURE


@pytest.mark.parametrize("alg", [-35, -8, -7.0, "ES256", None])
def test_unsupported_algorithm(p256: Dsc, alg: Any) -> None:
    protected = cbor2.dumps({1: alg, 4: p256.kid} if alg is not None else {4: p256.kid})
    payload = cbor2.dumps(claims())
    body = [protected, {}, payload, sign(p256.key, protected, payload)]
    text = hc1(cbor2.dumps(cbor2.CBORTag(18, body)))
    assert refused(text, p256.trust()) is Reason.DCC_BAD_ALGORITHM


# --- time, key usage and content ------------------------------------------------------------------------


def test_not_yet_valid_and_expired(p256: Dsc) -> None:
    text = hc1(cose(p256))
    trust = p256.trust()
    assert refused(text, trust, IAT - timedelta(seconds=1)) is Reason.DCC_NOT_YET_VALID
    assert verify_dcc(text, trust, IAT).certificate_type == "v"
    assert verify_dcc(text, trust, EXP).certificate_type == "v"
    assert refused(text, trust, EXP + timedelta(seconds=1)) is Reason.DCC_EXPIRED


def test_naive_now_is_utc(p256: Dsc) -> None:
    text = hc1(cose(p256))
    naive = (EXP + timedelta(seconds=1)).replace(tzinfo=None)
    assert refused(text, p256.trust(), naive) is Reason.DCC_EXPIRED


@pytest.mark.parametrize(
    ("eku", "kind", "ok"),
    [
        ((OID_VACC,), "v", True),
        ((OID_TEST,), "v", False),
        ((OID_RECO,), "t", False),
        ((OID_TEST, OID_RECO), "r", True),
        (("1.3.6.1.4.1.0.1847.2021.1.1",), "t", True),
        (("1.3.6.1.4.1.0.1847.2021.1.1",), "v", False),
        ((), "r", True),
        # Only DCC OIDs restrict: other purposes leave every type allowed, as production verifiers do
        # (CWA DCCSignatureVerification.swift step 10; the EU suite's IS/3 expects otherwise, a deviation).
        ((OID_ICAO_DS,), "t", True),
        ((OID_TLS_CLIENT, OID_EMAIL), "v", True),
        ((OID_TLS_CLIENT, OID_EMAIL), "r", True),
        ((OID_TLS_CLIENT, OID_VACC), "v", True),
        ((OID_TLS_CLIENT, OID_VACC), "t", False),
    ],
)
def test_key_usage(eku: tuple[str, ...], kind: str, ok: bool) -> None:
    dsc = make_dsc(ec.generate_private_key(ec.SECP256R1()), eku=eku)
    text = hc1(cose(dsc, claims(hcert(kind))))
    if ok:
        assert verify_dcc(text, dsc.trust(), NOW).certificate_type == kind
    else:
        assert refused(text, dsc.trust()) is Reason.DCC_KEY_USAGE


@pytest.mark.parametrize(
    "dcc",
    [
        "not a map",
    ],
    ids=["not-map"],
)
def test_invalid_content(p256: Dsc, dcc: Any) -> None:
    assert refused(hc1(cose(p256, claims(dcc))), p256.trust()) is Reason.DCC_INVALID_CONTENT


@pytest.mark.parametrize(
    "dcc",
    [
        {**hcert("v"), "t": hcert("t")["t"]},  # two types
        hcert("v", entries=2),  # two entries (RO/2, SK/3 in the EU suite)
        {k: v for k, v in hcert().items() if k != "dob"},
        hcert(v=[{"tg": "840539006"}]),  # no ci
    ],
    ids=["two-types", "two-entries", "no-dob", "no-ci"],
)
def test_schema_breaks_in_a_signed_code_are_warnings(p256: Dsc, dcc: Any) -> None:
    credential = verify_dcc(hc1(cose(p256, claims(dcc))), p256.trust(), NOW)
    assert credential.warnings == ("dcc_schema",)
    assert credential.identity_key.startswith(("dcc:", "dcc-sig:"))
    assert credential.is_health_certificate


@pytest.mark.parametrize(
    "dcc",
    [
        {"ver": "1.0.0", "nam": {}},  # DGC1 in the EU suite: signed, but certifies nothing
        {k: v for k, v in hcert().items() if k != "v"},
        hcert(v={"ci": "x"}),  # a map, not an array
    ],
    ids=["dgc1", "no-type", "entry-not-array"],
)
def test_a_signed_code_that_certifies_nothing_is_no_health_certificate(p256: Dsc, dcc: Any) -> None:
    credential = verify_dcc(hc1(cose(p256, claims(dcc))), p256.trust(), NOW)
    assert credential.warnings == ("dcc_schema",)
    assert not credential.is_health_certificate
    assert credential.certificate_type is None


def test_key_usage_must_cover_every_type_in_the_code() -> None:
    dsc = make_dsc(ec.generate_private_key(ec.SECP256R1()), eku=(OID_VACC,))
    text = hc1(cose(dsc, claims({**hcert("v"), "t": hcert("t")["t"]})))
    assert refused(text, dsc.trust()) is Reason.DCC_KEY_USAGE


def test_missing_hcert_claim(p256: Dsc) -> None:
    payload = {1: "VN", 6: int(IAT.timestamp()), 4: int(EXP.timestamp())}
    assert refused(hc1(cose(p256, payload)), p256.trust()) is Reason.DCC_INVALID_CONTENT


@pytest.mark.parametrize("exp", ["2023-01-10", True, 10**30, float("nan")])
def test_bad_numeric_dates(p256: Dsc, exp: Any) -> None:
    payload = {**claims(), 4: exp}
    assert refused(hc1(cose(p256, payload)), p256.trust()) is Reason.DCC_INVALID_CONTENT


def test_schema_deviation_is_only_a_warning(p256: Dsc) -> None:
    dcc = hcert("r", dob="1990", t=None, nam={"fnt": "NGUYEN", "gnt": "VAN<AN"})
    dcc["r"][0]["tg"] = "not-covid"
    credential = verify_dcc(hc1(cose(p256, claims(dcc))), p256.trust(), NOW)
    assert credential.warnings == ("dcc_schema",)
    assert credential.birth_date is None  # a year alone is not a date
    assert credential.name == "NGUYEN VAN AN"
    assert credential.certificate_type == "r"


def test_names_are_nfc(p256: Dsc) -> None:
    decomposed = "Nguye\u0302\u0303n"  # Nguyễn in NFD
    dcc = hcert(nam={"fn": decomposed, "fnt": "NGUYEN", "gn": "An"})
    credential = verify_dcc(hc1(cose(p256, claims(dcc))), p256.trust(), NOW)
    assert credential.name == "Nguyễn An"


def test_country_falls_back_to_issuer(p256: Dsc) -> None:
    dcc = hcert()
    del dcc["v"][0]["co"]
    credential = verify_dcc(hc1(cose(p256, claims(dcc))), p256.trust(), NOW)
    assert credential.country == "VN"
    assert credential.warnings == ("dcc_schema",)


# --- the signer's validity (issue 6, item 2) ------------------------------------------------------------


def fresh_dsc(**kwargs: Any) -> Dsc:
    return make_dsc(ec.generate_private_key(ec.SECP256R1()), **kwargs)


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


@pytest.mark.parametrize(
    ("not_before", "not_after", "reason"),
    [
        # The DSC expired before the clock, although the code itself runs until 2023.
        (at(2020, 1, 1), at(2022, 2, 1), Reason.DCC_SIGNER_EXPIRED),
        # The DSC becomes valid only after the clock.
        (at(2022, 6, 1), DSC_TO, Reason.DCC_SIGNER_NOT_YET_VALID),
        # Valid at the clock, but the code was issued before the DSC's validity began (hcert §3.3.6).
        (at(2022, 2, 1), DSC_TO, Reason.DCC_SIGNER_NOT_YET_VALID),
    ],
    ids=["dsc-expired", "dsc-not-yet-valid", "iat-before-dsc"],
)
def test_a_code_signed_outside_its_signers_validity_is_refused(
    not_before: datetime, not_after: datetime, reason: Reason
) -> None:
    dsc = fresh_dsc(not_before=not_before, not_after=not_after)
    assert refused(hc1(cose(dsc)), dsc.trust()) is reason


def test_the_signers_validity_bounds_are_inclusive() -> None:
    dsc = fresh_dsc(not_before=IAT, not_after=NOW)
    text = hc1(cose(dsc))
    assert verify_dcc(text, dsc.trust(), NOW).certificate_type == "v"
    assert refused(text, dsc.trust(), NOW + timedelta(seconds=1)) is Reason.DCC_SIGNER_EXPIRED


def test_the_codes_own_window_is_reported_before_its_signers() -> None:
    dsc = fresh_dsc(not_before=at(2020, 1, 1), not_after=at(2022, 2, 1))
    text = hc1(cose(dsc))
    assert refused(text, dsc.trust(), EXP + timedelta(seconds=1)) is Reason.DCC_EXPIRED
    assert refused(text, dsc.trust(), IAT - timedelta(seconds=1)) is Reason.DCC_NOT_YET_VALID


def test_exp_beyond_the_dscs_end_counts_only_while_the_dsc_is_valid() -> None:
    # FR and HU issuers in the EU suite sign codes whose exp outlives the DSC; they verify until it expires.
    dsc = fresh_dsc(not_after=at(2022, 6, 1))
    text = hc1(cose(dsc))
    assert verify_dcc(text, dsc.trust(), NOW).expires_at == EXP
    assert refused(text, dsc.trust(), at(2022, 7, 1)) is Reason.DCC_SIGNER_EXPIRED


@pytest.mark.parametrize(
    ("bound", "reason"),
    [("not_before", Reason.DCC_SIGNER_NOT_YET_VALID), ("not_after", Reason.DCC_SIGNER_EXPIRED)],
)
def test_an_unreadable_dsc_validity_fails_closed(p256: Dsc, bound: str, reason: Reason) -> None:
    signer = Signer.from_der(p256.der)
    if bound == "not_before":
        signer = dataclasses.replace(signer, not_before=None)
    else:
        signer = dataclasses.replace(signer, not_after=None)
    assert refused(hc1(cose(p256)), TrustList((signer,))) is reason


@pytest.mark.parametrize("claim", [4, 6], ids=["no-exp", "no-iat"])
def test_a_code_without_exp_or_iat_is_refused(p256: Dsc, claim: int) -> None:
    # No exp: it would never expire. No iat: it cannot be placed in its DSC's validity. CWA refuses both.
    payload = {key: value for key, value in claims().items() if key != claim}
    assert refused(hc1(cose(p256, payload)), p256.trust()) is Reason.DCC_INVALID_CONTENT


# --- text hygiene of names, country and UVCI (issue 6, item 3) ------------------------------------------

ESC = "\x1b"


def with_names(**nam: str) -> Any:
    return claims(hcert(nam=nam))


@pytest.mark.parametrize(
    ("nam", "reason"),
    [
        ({"fn": '=HYPERLINK("http://evil.example","x")', "fnt": "X", "gn": "An"}, Reason.FORMULA_NAME),
        ({"fn": "Nguyễn", "fnt": "NGUYEN", "gn": "@SUM(A1)"}, Reason.FORMULA_NAME),
        ({"fn": "Nguyễn \u202eVăn", "fnt": "NGUYEN", "gn": "An"}, Reason.CONTROL_CHARS),
        ({"fn": f"Nguy{ESC}[31men", "fnt": "NGUYEN", "gn": "An"}, Reason.CONTROL_CHARS),
        ({"fn": "Nguyễn", "fnt": "NGUYEN", "gn": "V\u2066an"}, Reason.CONTROL_CHARS),
        ({"fn": "A" * 3000, "fnt": "A", "gn": "An"}, Reason.MALFORMED),
        ({"fn": "12345", "fnt": "X"}, Reason.MALFORMED),  # no letter: not a name
        # The transliterated names are shown when fn/gn are absent...
        ({"fnt": "NGUYEN\x00", "gnt": "AN"}, Reason.CONTROL_CHARS),
        ({"fnt": "=NGUYEN", "gnt": "AN"}, Reason.FORMULA_NAME),
        # ...and a signed name field carrying a control character is refused even where it is not shown.
        ({"fn": "Nguyễn", "fnt": "NGUYEN\u200b", "gn": "An"}, Reason.CONTROL_CHARS),
    ],
    ids=[
        "formula-fn",
        "formula-gn",
        "bidi-override",
        "escape-sequence",
        "bidi-isolate",
        "3000-chars",
        "no-letter",
        "nul-in-fnt",
        "formula-fnt",
        "hidden-zero-width-in-fnt",
    ],
)
def test_a_signed_name_gets_the_hygiene_of_every_other_kind(
    p256: Dsc, nam: dict[str, str], reason: Reason
) -> None:
    assert refused(hc1(cose(p256, with_names(**nam))), p256.trust()) is reason


def test_two_name_parts_at_the_schemas_80_characters_are_accepted(p256: Dsc) -> None:
    fn, gn = "Nguyễn" + "a" * 74, "Văn" + "b" * 77
    credential = verify_dcc(hc1(cose(p256, with_names(fn=fn, fnt="NGUYEN", gn=gn))), p256.trust(), NOW)
    assert credential.name == f"{fn} {gn}"


def test_transliterated_names_are_shown_without_their_filler(p256: Dsc) -> None:
    credential = verify_dcc(hc1(cose(p256, with_names(fnt="NGUYEN<<", gnt="VAN<AN"))), p256.trust(), NOW)
    assert credential.name == "NGUYEN VAN AN"


def country_claims(co: Any, iss: Any) -> Any:
    dcc = hcert()
    dcc["v"][0]["co"] = co
    payload = claims(dcc)
    if iss is None:
        del payload[1]
    else:
        payload[1] = iss
    return payload


@pytest.mark.parametrize(
    ("co", "iss", "country"),
    [
        ("Vietnam", "VN", "VN"),  # dropped; the iss claim stands in
        ("vn", None, None),
        ("\uff36\uff2e", None, None),  # full-width ＶＮ
        ("V1", "Viet Nam", None),
        (704, None, None),  # a numeric code is not the schema's string
    ],
    ids=["name", "lower-case", "full-width", "digit", "number"],
)
def test_a_country_that_is_not_two_ascii_capitals_is_dropped_with_a_warning(
    p256: Dsc, co: Any, iss: Any, country: str | None
) -> None:
    credential = verify_dcc(hc1(cose(p256, country_claims(co, iss))), p256.trust(), NOW)
    assert credential.country == country
    assert credential.warnings == ("dcc_schema",)


def test_a_junk_iss_is_ignored_when_co_is_good(p256: Dsc) -> None:
    credential = verify_dcc(hc1(cose(p256, country_claims("VN", "Ministry of Health"))), p256.trust(), NOW)
    assert (credential.country, credential.warnings) == ("VN", ())


@pytest.mark.parametrize("bad", [f"V{ESC}N", "V\u202eN", "VN\x00"], ids=["escape", "bidi", "nul"])
@pytest.mark.parametrize("field", ["co", "iss"])
def test_a_country_with_control_or_bidi_characters_is_refused(p256: Dsc, field: str, bad: str) -> None:
    payload = country_claims(bad, "VN") if field == "co" else country_claims("VN", bad)
    assert refused(hc1(cose(p256, payload)), p256.trust()) is Reason.CONTROL_CHARS


@pytest.mark.parametrize(
    ("ci", "reason"),
    [
        ("URN:UVCI:01:VN:\u202eTEST0001", Reason.CONTROL_CHARS),
        ("URN:UVCI:01:VN:TEST\x000001", Reason.CONTROL_CHARS),
        ("URN:UVCI:01:VN:TEST\u200b0001", Reason.CONTROL_CHARS),  # one certificate, two identities
        ("URN:UVCI:01:VN:" + "X" * 66, Reason.TOO_LONG),  # 81 characters
        ("URN:UVCI:01:VN:" + "X" * 3000, Reason.TOO_LONG),
    ],
    ids=["bidi", "nul", "zero-width", "81-chars", "3000-chars"],
)
def test_the_uvci_must_be_clean_and_bounded(p256: Dsc, ci: str, reason: Reason) -> None:
    assert refused(hc1(cose(p256, claims(hcert(v=[{**hcert()["v"][0], "ci": ci}])))), p256.trust()) is reason


def test_a_uvci_of_80_characters_is_the_identity_key(p256: Dsc) -> None:
    ci = "URN:UVCI:01:VN:" + "X" * 65
    credential = verify_dcc(
        hc1(cose(p256, claims(hcert(v=[{**hcert()["v"][0], "ci": ci}])))), p256.trust(), NOW
    )
    assert credential.identity_key == "dcc:" + ci


_TRICKY_CHARACTERS = (
    "\u0663\uff11\u0967\u00b2"  # digits that are not ASCII: Arabic-Indic, full-width, Devanagari, superscript
    "\ufdd0\ufffe\U0001ffff"  # noncharacters
    "\u00ad\u200b\u200d\u202e\u2066\u2061\ufeff\U000e0041\u180e"  # format characters
    "\x00\x1b\x7f\x85\u2028"  # controls and a line separator
    "=+-@\uff1d <"  # formula starts (also full-width), space, the ICAO filler
)
_NAMES = st.lists(
    st.one_of(
        st.sampled_from(_TRICKY_CHARACTERS),
        st.sampled_from("NguyễnVănAnÆøß"),
        st.characters(codec="utf-8"),  # surrogates cannot be encoded, so none are drawn
    ),
    max_size=30,
).map("".join)


@_FUZZ
@given(fn=_NAMES, gn=_NAMES, fnt=_NAMES)
def test_any_signed_name_is_a_clean_credential_or_a_payload_error(
    p256: Dsc, fn: str, gn: str, fnt: str
) -> None:
    text = hc1(cose(p256, with_names(fn=fn, gn=gn, fnt=fnt)))
    try:
        credential = verify_dcc(text, p256.trust(), NOW)
    except PayloadError as exc:
        assert exc.kind is Kind.DCC
        assert exc.reason in {Reason.CONTROL_CHARS, Reason.FORMULA_NAME, Reason.MALFORMED}
        return
    for ch in credential.name or "":
        assert unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp"), f"U+{ord(ch):04X} granted"
        assert not (0xFDD0 <= ord(ch) <= 0xFDEF or ord(ch) & 0xFFFE == 0xFFFE), f"U+{ord(ch):04X} granted"
    if credential.name:
        assert not unicodedata.normalize("NFKC", credential.name).startswith(("=", "+", "-", "@"))


# --- kiosk verify on forged certificates (issues 6, items 1-3, end to end) ------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No KIOSK_* variables and an empty config file, as in tests/test_cli.py."""
    isolate_cli(tmp_path, monkeypatch)
    return tmp_path


def write_pem(directory: Path, dsc: Dsc) -> Path:
    path = directory / "dsc.pem"
    path.write_bytes(x509.load_der_x509_certificate(dsc.der).public_bytes(Encoding.PEM))
    return path


def without_iss(payload: Any) -> Any:
    return {key: value for key, value in payload.items() if key != 1}


CLI_CASES = [
    # (id, make_dsc options, CWT claims, expected reason, expected subject keys)
    ("foreign-eku-signs-a-test", {"eku": (OID_TLS_CLIENT, OID_EMAIL)}, claims(hcert("t")), "ok"),
    ("icao-eku-signs-a-recovery", {"eku": (OID_ICAO_DS,)}, claims(hcert("r")), "ok"),
    ("dcc-eku-restricts", {"eku": (OID_TLS_CLIENT, OID_VACC)}, claims(hcert("t")), "dcc_key_usage"),
    (
        "dsc-expired",
        {"not_before": at(2020, 1, 1), "not_after": at(2022, 2, 1)},
        claims(),
        "dcc_signer_expired",
    ),
    ("dsc-not-yet-valid", {"not_before": at(2022, 6, 1)}, claims(), "dcc_signer_not_yet_valid"),
    ("iat-before-dsc", {"not_before": at(2022, 2, 1)}, claims(), "dcc_signer_not_yet_valid"),
    ("no-exp", {}, {k: v for k, v in claims().items() if k != 4}, "dcc_invalid_content"),
    ("formula-name", {}, with_names(fn="=HYPERLINK(1)", fnt="X", gn="An"), "formula_name"),
    ("bidi-name", {}, with_names(fn="Nguyễn \u202eVăn", fnt="NGUYEN", gn="An"), "control_chars"),
    ("escape-name", {}, with_names(fn=f"Nguy{ESC}[2Jen", fnt="NGUYEN", gn="An"), "control_chars"),
    ("3000-char-name", {}, with_names(fn="A" * 3000, fnt="A", gn="An"), "malformed"),
    ("control-country", {}, country_claims(f"V{ESC}N", "VN"), "control_chars"),
    ("junk-country", {}, without_iss(country_claims("Vietnam", None)), "ok"),
]


@pytest.mark.parametrize(
    ("dsc_options", "payload", "reason"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES]
)
def test_kiosk_verify_on_forged_certificates(
    cli_env: Path, capsys: pytest.CaptureFixture[str], dsc_options: dict[str, Any], payload: Any, reason: str
) -> None:
    dsc = fresh_dsc(**dsc_options)
    argv = [
        "verify",
        "--trust-cert",
        str(write_pem(cli_env, dsc)),
        "--at",
        NOW.isoformat(),
        hc1(cose(dsc, payload)),
    ]

    status = cli_main(argv)

    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 1, (out, err)
    result = json.loads(lines[0])
    assert (result["kind"], result["reason"], result["ok"]) == ("dcc", reason, reason == "ok")
    assert status == (0 if reason == "ok" else 1)
    if reason == "ok":
        assert "=" not in json.dumps(result["subject"])
    if result["reason"] == "ok" and payload.get(1) is None:  # junk co, no iss: no country at all
        assert "country" not in result["subject"]
        assert result["warnings"] == ["dcc_schema"]


def test_the_installed_kiosk_command_refuses_an_expired_signer(cli_env: Path) -> None:
    command = Path(sys.executable).with_name("kiosk")
    if not command.exists():
        pytest.skip("the kiosk console script is not installed in this environment")
    dsc = fresh_dsc(not_before=at(2020, 1, 1), not_after=at(2022, 2, 1))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env["KIOSK_CONFIG"] = str(cli_env / "empty.toml")
    args = ["verify", "--trust-cert", str(write_pem(cli_env, dsc)), "--at", NOW.isoformat(), hc1(cose(dsc))]

    proc = subprocess.run(
        [str(command), *args], cwd=cli_env, env=env, capture_output=True, text=True, timeout=120, check=False
    )

    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["reason"] == "dcc_signer_expired"
    assert "Traceback" not in proc.stderr


# --- transport layers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", Reason.DCC_PREFIX),
        ("HC2:NCF", Reason.DCC_PREFIX),
        ("HL0:NCF", Reason.DCC_PREFIX),
        ("hc1:NCF", Reason.DCC_PREFIX),
        ("NCFOXN%TS3DH", Reason.DCC_PREFIX),
        ("HC1:A", Reason.DCC_BASE45),
        ("HC1:abc", Reason.DCC_BASE45),
        ("HC1:GGW", Reason.DCC_BASE45),
        ("HC1:" + "0" * 9000, Reason.TOO_LONG),
        ("HC1:", Reason.DCC_COMPRESSION),
        ("HC1:" + b45encode(b"\x78\xda\x01"), Reason.DCC_COMPRESSION),
    ],
)
def test_transport_errors(text: str, reason: Reason) -> None:
    assert refused(text, TrustList.empty()) is reason


def test_uncompressed_cose_is_refused(p256: Dsc) -> None:
    assert refused(hc1(cose(p256), compress=False), p256.trust()) is Reason.DCC_COMPRESSION


def test_zip_bomb_is_refused() -> None:
    text = "HC1:" + b45encode(zlib.compress(bytes(2_000_000), 9))
    assert refused(text, TrustList.empty()) is Reason.DCC_COMPRESSION


def test_trailing_line_end_from_a_scanner_is_ignored(p256: Dsc) -> None:
    assert verify_dcc(hc1(cose(p256)) + "\r\n", p256.trust(), NOW).certificate_type == "v"


@pytest.mark.parametrize(
    "obj",
    [
        0,
        [],
        cbor2.CBORTag(18, [b"", {}, b""]),
        cbor2.CBORTag(18, ["x", {}, b"", b""]),
        cbor2.CBORTag(18, [b"", [], b"", b""]),
        cbor2.CBORTag(61, [b"", {}, b"", b""]),
        cbor2.CBORTag(18, [b"\x01", {}, b"", b""]),  # protected header is not a map
        cbor2.CBORTag(18, [b"\xa1\x04\x01", {}, b"", b""]),  # kid is not bytes
    ],
)
def test_bad_cose_structure(obj: Any) -> None:
    assert refused(hc1(cbor2.dumps(obj)), TrustList.empty()) is Reason.DCC_CBOR


def test_trailing_bytes_after_cose(p256: Dsc) -> None:
    assert refused(hc1(cose(p256) + b"\x00"), p256.trust()) is Reason.DCC_CBOR


def test_signed_payload_that_is_not_a_map(p256: Dsc) -> None:
    # The COSE container is sound and the signature holds: what the signer vouched for is bad content.
    assert refused(hc1(cose(p256, [1, 2])), p256.trust()) is Reason.DCC_INVALID_CONTENT


def test_signed_payload_that_is_not_cbor_is_invalid_content(p256: Dsc) -> None:
    protected = cbor2.dumps({1: -7, 4: p256.kid})
    payload = b"\xff\xff not cbor"
    body = [protected, {}, payload, sign(p256.key, protected, payload)]
    text = hc1(cbor2.dumps(cbor2.CBORTag(18, body)))
    assert refused(text, p256.trust()) is Reason.DCC_INVALID_CONTENT


def test_duplicate_header_keys_are_refused(p256: Dsc) -> None:
    kid_item = cbor2.dumps(4) + cbor2.dumps(p256.kid)
    protected = b"\xa3" + cbor2.dumps(1) + cbor2.dumps(-7) + kid_item + kid_item
    payload = cbor2.dumps(claims())
    body = [protected, {}, payload, sign(p256.key, protected, payload)]
    text = hc1(cbor2.dumps(cbor2.CBORTag(18, body)))
    assert refused(text, p256.trust()) is Reason.DCC_CBOR


@_FUZZ
@given(st.text(alphabet=ALPHABET + "abc=\n", max_size=300))
def test_any_text_is_a_payload_error_or_credential(body: str) -> None:
    with contextlib.suppress(PayloadError):
        verify_dcc("HC1:" + body, TrustList.empty(), NOW)


@_FUZZ
@given(st.binary(max_size=400))
def test_any_compressed_bytes_are_refused_cleanly(blob: bytes) -> None:
    with pytest.raises(PayloadError):
        verify_dcc("HC1:" + b45encode(zlib.compress(blob)), TrustList.empty(), NOW)


@_FUZZ
@given(data=st.data())
def test_mutated_cose_never_leaks_library_errors(p256: Dsc, data: st.DataObject) -> None:
    original = bytearray(cose(p256))
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(original) - 1))
        original[index] = data.draw(st.integers(0, 255))
    with contextlib.suppress(PayloadError):
        verify_dcc(hc1(bytes(original)), p256.trust(), NOW)


# --- properties that fail when verification is broken (issue 7, item 11) --------------------------------
#
# Each was seen to fail with verification broken on purpose: the first with the signature check skipped,
# the second with an empty trust list taken as "no list yet, accept unchecked".

# Where a signed code is changed: inside one COSE member (re-encoded around the others), the COSE bytes,
# the zlib stream, or the Base45 text. "none" keeps the signed code as it is.
_LAYERS = ("none", "payload", "protected", "unprotected", "signature", "cose", "compressed", "text")


def _mutated(data: st.DataObject, blob: bytes, alphabet: bytes | None = None) -> bytes:
    """``blob`` with one to four bytes set, flipped, inserted or deleted (from ``alphabet`` if given).

    Every edit draws the same things whatever ``blob`` is: the throw-away keys differ between runs, so a
    saved failing example must replay with the same draws on a signed code of another length.
    """
    out = bytearray(blob)
    byte = st.sampled_from(alphabet) if alphabet else st.integers(0, 255)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        op = data.draw(st.sampled_from(("set", "flip", "insert", "delete")), label="op")
        where = data.draw(st.floats(0, 1, exclude_max=True), label="where")
        value = data.draw(byte, label="byte")
        bit = data.draw(st.integers(0, 7), label="bit")
        at = int(where * (len(out) + (op == "insert")))
        if op == "insert" or not out:
            out.insert(at, value)
        elif op == "set":
            out[at] = value
        elif op == "flip" and not alphabet:
            out[at] ^= 1 << bit
        else:  # a flipped bit would leave the Base45 alphabet: delete instead
            del out[at]
    return bytes(out)


def _cose_members(cose_bytes: bytes) -> list[Any]:
    """The four COSE_Sign1 members, read here independently of the verifier (tags 61 and 18 unwrapped)."""
    obj = cbor2.loads(cose_bytes)
    while isinstance(obj, cbor2.CBORTag) and obj.tag in (61, 18):
        obj = obj.value
    assert isinstance(obj, list | tuple) and len(obj) == 4, obj
    return list(obj)


def _signed_input(text: str) -> bytes:
    """The Sig_structure a code's signature covers: protected header bytes and payload bytes."""
    protected, _, payload, _ = _cose_members(zlib.decompress(b45decode(text.removeprefix("HC1:"))))
    return cbor2.dumps(["Signature1", protected, b"", payload])


class SignedCode:
    """A validly signed COSE_Sign1 code and its signer. Not a dataclass: Hypothesis prints a dataclass
    field by field, and a failing example that names 18 codes with their keys is a 40 kB warning."""

    def __init__(self, dsc: Dsc, cose_bytes: bytes, label: str) -> None:
        self.dsc, self.cose, self.label = dsc, cose_bytes, label

    def __repr__(self) -> str:
        return self.label


@pytest.fixture(scope="module")
def signed_codes(p256: Dsc, rsa_dsc: Dsc) -> tuple[SignedCode, ...]:
    """Validly signed COSE_Sign1 codes: both algorithms, the kid in each header, each tagging.

    Signed once: ECDSA and PSS signatures are randomised, and Hypothesis needs the same bytes on a replay.
    """
    return tuple(
        SignedCode(dsc, cose(dsc, kid_where=kid_where, tag=tag), f"{alg}, kid {kid_where}, tag {tag}")
        for dsc, alg in ((p256, "ES256"), (rsa_dsc, "PS256"))
        for kid_where in ("protected", "unprotected", "both")
        for tag in ("18", "61+18", "none")
    )


def _signed_code(data: st.DataObject, signed_codes: tuple[SignedCode, ...]) -> tuple[Dsc, str, str, str]:
    """(signer, a validly signed HC1 code, that code after a drawn mutation, the layer mutated)."""
    code = data.draw(st.sampled_from(signed_codes), label="signed code")
    dsc, cose_bytes, original = code.dsc, code.cose, hc1(code.cose)
    layer = data.draw(st.sampled_from(_LAYERS), label="layer")
    if layer == "none":
        return dsc, original, original, layer
    if layer in ("payload", "protected", "signature", "unprotected"):
        members = _cose_members(cose_bytes)
        index = {"protected": 0, "unprotected": 1, "payload": 2, "signature": 3}[layer]
        if layer == "unprotected":
            # The unprotected header is not signed: any kid or algorithm may be written there.
            members[1] = data.draw(
                st.dictionaries(st.sampled_from((1, 4, -1)), st.one_of(st.binary(max_size=9), st.integers())),
                label="unprotected",
            )
        else:
            members[index] = _mutated(data, members[index])
        return dsc, original, hc1(cbor2.dumps(cbor2.CBORTag(18, members))), layer
    if layer == "cose":
        return dsc, original, hc1(_mutated(data, cose_bytes)), layer
    if layer == "compressed":
        return dsc, original, "HC1:" + b45encode(_mutated(data, zlib.compress(cose_bytes, 9))), layer
    body = _mutated(data, original.removeprefix("HC1:").encode(), ALPHABET.encode())
    return dsc, original, "HC1:" + body.decode(), layer


@_FUZZ
@given(data=st.data())
def test_a_code_that_verifies_carries_exactly_the_signed_bytes(
    signed_codes: tuple[SignedCode, ...], data: st.DataObject
) -> None:
    dsc, original, text, layer = _signed_code(data, signed_codes)
    try:
        credential = verify_dcc(text, dsc.trust(), NOW)
    except PayloadError:
        assert layer != "none", "a validly signed code was refused"
        event(f"{layer}: refused")
        return
    event(f"{layer}: accepted")
    # Whatever changed around it (unprotected header, tags, encoding), what was verified is what was signed,
    # and so is everything the kiosk reads from it.
    assert _signed_input(text) == _signed_input(original), (
        f"{layer} mutation accepted with other signed bytes"
    )
    assert credential == verify_dcc(original, dsc.trust(), NOW)


@_FUZZ
@given(data=st.data(), junk=st.one_of(st.none(), st.text(alphabet=ALPHABET, max_size=300)))
def test_an_empty_trust_list_refuses_every_code(
    signed_codes: tuple[SignedCode, ...], data: st.DataObject, junk: str | None
) -> None:
    _, _, text, layer = _signed_code(data, signed_codes)
    if junk is not None:
        text, layer = "HC1:" + junk, "junk"
    with pytest.raises(PayloadError) as info:
        verify_dcc(text, TrustList.empty(), NOW)
    event(f"{layer}: {info.value.reason.value}")
    if layer == "none":  # the same code verifies against its signer (the first property)
        assert info.value.reason is Reason.DCC_UNKNOWN_KID


# --- Base45 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"), (b"ietf!", "QED8WEX0")],
)
def test_base45_rfc9285_examples(raw: bytes, text: str) -> None:
    assert b45encode(raw) == text
    assert b45decode(text) == raw


@pytest.mark.parametrize("text", ["GGW", "A", "ABCD", "ab", "AB=", "::"])
def test_base45_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="Base45"):
        b45decode(text)


@given(st.binary(max_size=200))
def test_base45_round_trip(raw: bytes) -> None:
    assert b45decode(b45encode(raw)) == raw


# --- trust list -----------------------------------------------------------------------------------------


def test_trust_list_json_with_and_without_kid(tmp_path: Path, p256: Dsc, rsa_dsc: Dsc) -> None:
    explicit_kid = b"\x01" * 8
    path = tmp_path / "trust.json"
    entries = [
        {"country": "VN", "der": base64.b64encode(p256.der).decode()},
        {"kid": base64.b64encode(explicit_kid).decode(), "der": base64.b64encode(rsa_dsc.der).decode()},
    ]
    path.write_text(json.dumps({"certificates": entries}), encoding="utf-8")
    trust = TrustList.from_json_file(path)
    assert len(trust) == 2
    (first,) = trust.signers_for(p256.kid)
    assert first.country == "VN"
    assert first.der == p256.der
    assert trust.signers_for(explicit_kid)[0].der == rsa_dsc.der
    assert trust.signers_for(rsa_dsc.kid) == ()

    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(entries[:1]), encoding="utf-8")
    assert TrustList.from_json_file(bare).signers_for(p256.kid)[0].der == p256.der


def test_trust_list_certificate_files(tmp_path: Path, p256: Dsc, rsa_dsc: Dsc) -> None:
    cert = x509.load_der_x509_certificate(p256.der)
    pem = tmp_path / "dsc.pem"
    pem.write_bytes(cert.public_bytes(Encoding.PEM))
    der = tmp_path / "dsc.der"
    der.write_bytes(rsa_dsc.der)
    b64 = tmp_path / "dsc.b64"
    b64.write_text(base64.encodebytes(p256.der).decode(), encoding="ascii")
    bundle = tmp_path / "bundle.pem"
    rsa_cert = x509.load_der_x509_certificate(rsa_dsc.der)
    bundle.write_bytes(cert.public_bytes(Encoding.PEM) + rsa_cert.public_bytes(Encoding.PEM))

    for path, kid in ((pem, p256.kid), (der, rsa_dsc.kid), (b64, p256.kid)):
        (signer,) = TrustList.from_certificate_files([path])
        assert signer.kid == kid
        assert signer.country == "VN"
        assert signer.source == str(path)
        assert signer.not_before == datetime(2021, 1, 1, tzinfo=UTC)
    assert len(TrustList.from_certificate_files([bundle])) == 2


def test_trust_lists_merge_without_duplicates(p256: Dsc, rsa_dsc: Dsc) -> None:
    a, b = p256.trust(), rsa_dsc.trust()
    merged = a + b + a
    assert len(merged) == 2
    assert merged == a.merge(b)
    assert len(TrustList.empty()) == 0
    assert verify_dcc(hc1(cose(rsa_dsc)), merged, NOW).certificate_type == "v"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("missing.json", None),
        ("broken.json", b"{not json"),
        ("wrong-shape.json", b'{"certs": []}'),
        ("entry-not-object.json", b'{"certificates": ["abc"]}'),
        ("no-der.json", b'{"certificates": [{"kid": "AAAAAAAAAAA="}]}'),
        ("bad-base64.json", b'{"certificates": [{"der": "***"}]}'),
        ("not-a-cert.json", b'{"certificates": [{"der": "MAMCAQE="}]}'),
        ("bad-kid.json", b'{"certificates": [{"der": "MAMCAQE=", "kid": 5}]}'),
    ],
)
def test_bad_json_trust_files(tmp_path: Path, name: str, content: bytes | None) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(TrustListError, match=name):
        TrustList.from_json_file(path)


@pytest.mark.parametrize("nesting", ["[", '{"certificates": '], ids=["arrays", "objects"])
def test_a_deeply_nested_json_trust_list_is_a_clear_error(tmp_path: Path, nesting: str) -> None:
    # json.loads raises RecursionError past about a thousand levels; a trust list is three levels deep.
    path = tmp_path / "deep.json"
    closing = "]" if nesting == "[" else "}"
    path.write_text(nesting * 200_000 + "0" + closing * 200_000, encoding="utf-8")
    with pytest.raises(TrustListError) as info:
        TrustList.from_json_file(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert "nested too deeply" in message
    assert '{"certificates": [' in message


def test_kiosk_verify_with_a_deeply_nested_trust_list_fails_in_one_line(
    cli_env: Path, capsys: pytest.CaptureFixture[str], p256: Dsc
) -> None:
    path = cli_env / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")

    status = cli_main(["verify", "--trust-list", str(path), hc1(cose(p256))])

    out, err = capsys.readouterr()
    assert (status, out) == (1, "")
    assert err.count("\n") == 1
    assert err.startswith("kiosk: error: ") and "deep.json" in err and "RecursionError" not in err


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("missing.pem", None),
        ("garbage.pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        ("text.crt", b"hello, this is not a certificate"),
        ("binary.der", b"\x30\x03\x02\x01\x01"),
        ("empty.der", b""),
    ],
)
def test_bad_certificate_files(tmp_path: Path, name: str, content: bytes | None) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(TrustListError, match=name):
        TrustList.from_certificate_files([path])


def _testdata_signer(case: str) -> Signer:
    path = require_shared(f"data/dcc-testdata/{case}.json")
    der = base64.b64decode(json.loads(path.read_text(encoding="utf-8"))["TESTCTX"]["CERTIFICATE"])
    return Signer.from_der(der)


def test_non_der_finnish_dsc_keeps_its_key_usage() -> None:
    # cryptography refuses to read this certificate's extensions (an encoded default BasicConstraints).
    signer = _testdata_signer("FI/2DCode/raw/1")
    assert signer.allowed_types == frozenset({"t", "v", "r"})


def test_empty_eku_allows_every_type() -> None:
    assert _testdata_signer("common/2DCode/raw/CO15").allowed_types is None


def test_icao_only_eku_allows_every_type() -> None:
    signer = _testdata_signer("IS/2DCode/raw/3")
    assert signer.extended_key_usage == frozenset({OID_ICAO_DS})
    assert signer.allowed_types is None
