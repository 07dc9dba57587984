"""Layer: core. Offline verification of EU Digital COVID Certificates (``HC1:`` codes, HCERT spec 1.0.8).

``verify_dcc(text, trust, now)`` returns a ``Credential`` or raises ``PayloadError(reason, Kind.DCC, …)``;
it never lets a library exception escape, whatever the input. The steps follow payload-formats.md §4, in
this order (the first that fails gives the reason):

1. ``HC1:`` prefix (other ``HCx:`` values are reserved for incompatible versions)   → ``DCC_PREFIX``
2. Base45                                                                           → ``DCC_BASE45``
3. zlib, bounded so a small code cannot inflate into a large allocation             → ``DCC_COMPRESSION``
4. the COSE_Sign1 container (tag 18, untagged, or CWT tag 61 around tag 18)         → ``DCC_CBOR``
5. kid (protected header wins) → every DSC with that kid                            → ``DCC_UNKNOWN_KID``
6. ES256 (raw r‖s, any curve) or PS256 over ``Sig_structure``  → ``DCC_BAD_ALGORITHM`` / ``DCC_SIGNATURE``
7. the signed content: a CWT claims map with numeric ``iat`` and ``exp`` and an ``eu_dcc_v1`` map (other
   schema deviations are only warnings)                                             → ``DCC_INVALID_CONTENT``
8. text hygiene of what is shown, recorded or hashed (names, country, UVCI), with the functions every other
   kind uses                              → ``CONTROL_CHARS`` / ``FORMULA_NAME`` / ``MALFORMED`` / ``TOO_LONG``
9. time: ``now`` within ``iat``..``exp``                      → ``DCC_NOT_YET_VALID`` / ``DCC_EXPIRED``;
   the DSC valid at ``now`` and at ``iat``      → ``DCC_SIGNER_NOT_YET_VALID`` / ``DCC_SIGNER_EXPIRED``
10. DSC extended key usage covers the certificate type                              → ``DCC_KEY_USAGE``

Nothing from the payload is trusted before the signature has been verified (spec §6). Full JSON-schema
and value-set validation is not done: the kiosk only needs the type, the UVCI, the name and the expiry, and
the EU test suite treats schema failures as separate from verification. Softer deviations that we do notice
are reported as the warning ``"dcc_schema"`` on the credential.

Decisions (sources and the EU suite deviations in docs/dcc.md):

- **Key usage.** Only the DCC OIDs restrict: a DSC whose extended key usage names none of them (TLS client
  auth, e-mail protection, ICAO's document-signer OID) may sign every type, as the Corona-Warn-App and the
  EU reference verifier apply it (``Signer.allowed_types``).
- **Time.** ``iat`` and ``exp`` are required: a DCC without ``exp`` would never expire and one without
  ``iat`` cannot be placed in its DSC's validity, so both are ``DCC_INVALID_CONTENT`` (the Corona-Warn-App's
  ``DccHeaderParser`` and the EU app core's ``DefaultCborService`` refuse them too). The DSC must be valid
  at ``now``, as production verifiers check it (CWA ``DCCSignatureVerification`` step 9, the EU verifier's
  ``VerificationViewModel``), and at ``iat`` (spec §3.3.6 "the Issued At field MUST not predate the
  validity period of the DSC"; ``hcert-kotlin``'s ``DefaultCwtService`` refuses it). A bound that cannot
  be read fails closed. ``exp`` beyond the DSC's ``notAfter`` is tolerated: issuers in the suite (FR, HU)
  do it and every code is still refused once its DSC has expired.
- **Text.** Every name part (``fn``, ``gn``, ``fnt``, ``gnt``) goes through ``check_characters`` and the
  parts shown go through ``check_name``, as for the other kinds. ``co`` (and ``iss``, its fallback) with a
  control or format character is refused; otherwise a value that is not two ASCII capitals is dropped
  (warning ``dcc_schema``). The UVCI, the identity key, must pass ``check_characters`` and is at most 80
  characters (the schema's ``certificate_id`` limit), else ``CONTROL_CHARS`` / ``TOO_LONG``.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import unicodedata
import zlib
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, NoReturn

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from kiosk.errors import PayloadError
from kiosk.model import Credential, Kind, Reason
from kiosk.payloads.base45 import b45decode
from kiosk.payloads.text import check_characters, check_name
from kiosk.payloads.trust import Signer, TrustList

__all__ = ["PREFIX", "verify_dcc"]

PREFIX = "HC1:"
WARNING_SCHEMA = "dcc_schema"

# A QR code holds at most 4,296 alphanumeric characters; anything much longer is not a scanned DCC and is
# refused before any work is done, so every input is handled in bounded time.
MAX_TEXT_CHARS = 8_000
# Real DCCs inflate to 1–3 KiB. The cap stops a crafted code from inflating into megabytes (zip bomb).
MAX_INFLATED_BYTES = 64 * 1024
# The UVCI becomes the identity key; eu-dcc-schema caps ``certificate_id`` at 80 characters.
MAX_UVCI_CHARS = 80

_CWT_ISS, _CWT_EXP, _CWT_IAT, _CWT_HCERT = 1, 4, 6, -260
_HCERT_EU_DCC_V1 = 1
_HEADER_ALG, _HEADER_KID = 1, 4
_TAG_COSE_SIGN1, _TAG_CWT = 18, 61
_ALG_ES256, _ALG_PS256 = -7, -37
_ALG_NAMES = {-7: "ES256", -35: "ES384", -36: "ES512", -37: "PS256", -38: "PS384", -39: "PS512"}
_TYPES = ("v", "t", "r")
_OTHER_VERSION = re.compile(r"^HC[0-9A-Z]:")
# ASCII digits only: \\d would also take full-width or Arabic-Indic digits, and int() reads them.
_DOB = re.compile(r"^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?(?:T.*)?$")
_COUNTRY = re.compile(r"[A-Z]{2}")  # ISO 3166-1 alpha-2, ASCII capitals only (fullmatch)


def verify_dcc(text: str, trust: TrustList, now: datetime) -> Credential:
    """Verify an ``HC1:`` code offline against ``trust`` at wall-clock time ``now``.

    ``now`` should be timezone-aware; a naive value is taken as UTC. Returns a ``Credential`` of kind
    ``Kind.DCC`` whose ``identity_key`` is ``"dcc:" + UVCI``; raises ``PayloadError`` otherwise.
    """
    body = _unprefix(text)
    try:
        packed = b45decode(body)
    except ValueError as exc:
        _fail(Reason.DCC_BASE45, str(exc))
    cose = _inflate(packed)
    protected_bytes, protected, unprotected, payload, signature = _cose_sign1(cose)

    kid = _header(protected, unprotected, _HEADER_KID)
    if kid is None:
        _fail(Reason.DCC_UNKNOWN_KID, "no kid in the COSE headers")
    if not isinstance(kid, bytes):
        _fail(Reason.DCC_CBOR, "kid is not a byte string")
    signers = trust.signers_for(kid)
    if not signers:
        _fail(Reason.DCC_UNKNOWN_KID, f"kid {kid.hex()} is not on the trust list")
    alg = _header(protected, unprotected, _HEADER_ALG)
    # Exact ints only: CBOR floats (-7.0) and booleans compare equal to ints in Python.
    if type(alg) is not int or alg not in (_ALG_ES256, _ALG_PS256):
        name = _ALG_NAMES.get(alg, repr(alg)) if isinstance(alg, int) else repr(alg)
        _fail(Reason.DCC_BAD_ALGORITHM, f"algorithm {name} is not ES256 or PS256")
    to_be_signed = cbor2.dumps(["Signature1", protected_bytes, b"", payload])
    signer = _verified_signer(signers, alg, to_be_signed, signature)

    # From here on the payload is authentic; its content can be interpreted (a payload that does not
    # decode is content the signer vouched for, not a broken container: DCC_INVALID_CONTENT).
    claims = _cbor(payload, Reason.DCC_INVALID_CONTENT, "CWT payload")
    if not isinstance(claims, Mapping):
        _fail(Reason.DCC_INVALID_CONTENT, "CWT payload is not a map")
    iat = _numeric_date(claims, _CWT_IAT, "iat")
    exp = _numeric_date(claims, _CWT_EXP, "exp")
    types, dcc, entry, warnings = _essential_content(claims)

    # Everything shown, recorded or hashed into the identity gets the hygiene of the other kinds.
    holder = _holder_name(dcc.get("nam"))
    country, country_dropped = _country(entry.get("co"), claims.get(_CWT_ISS))
    identity_key = _identity_key(entry, signature)

    _check_time(iat, exp, _timestamp(now), signer)
    _check_key_usage(types, signer)
    return Credential(
        kind=Kind.DCC,
        identity_key=identity_key,
        name=holder,
        birth_date=_birth_date(dcc.get("dob")),
        is_health_certificate=bool(types),
        country=country,
        certificate_type=types[0] if types else None,
        expires_at=_datetime(exp),
        warnings=(WARNING_SCHEMA,) if warnings or country_dropped else (),
    )


def _fail(reason: Reason, detail: str) -> NoReturn:
    raise PayloadError(reason, Kind.DCC, detail)


def _unprefix(text: str) -> str:
    if not isinstance(text, str):
        _fail(Reason.DCC_PREFIX, "not text")
    # Keyboard-wedge scanners end a read with CR/LF; a space is a Base45 digit, so only strip line ends.
    text = text.rstrip("\r\n")
    if len(text) > MAX_TEXT_CHARS:
        _fail(Reason.TOO_LONG, f"{len(text)} characters is longer than any QR code")
    if text.startswith(PREFIX):
        return text[len(PREFIX) :]
    if _OTHER_VERSION.match(text):
        _fail(Reason.DCC_PREFIX, f"{text[:4]} is a reserved, unsupported HCERT version")
    _fail(Reason.DCC_PREFIX, "missing the HC1: prefix")


def _inflate(packed: bytes) -> bytes:
    # Uncompressed COSE is refused on purpose: the spec mandates zlib and test Z2 expects a failure.
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(packed, MAX_INFLATED_BYTES)
    except zlib.error as exc:
        _fail(Reason.DCC_COMPRESSION, f"zlib: {exc}")
    if inflater.unconsumed_tail:
        _fail(Reason.DCC_COMPRESSION, f"inflates to more than {MAX_INFLATED_BYTES} bytes")
    if not inflater.eof:
        _fail(Reason.DCC_COMPRESSION, "truncated zlib stream")
    return data


def _cbor(data: bytes, reason: Reason, what: str) -> Any:
    """Decode exactly one CBOR item filling ``data``; anything else is ``reason``."""
    stream = io.BytesIO(data)
    try:
        # Duplicate map keys would let two readers see different headers or claims; refuse them.
        decoder = cbor2.CBORDecoder(stream, allow_duplicate_keys=False, max_depth=64)
        value = decoder.decode()
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, LookupError, RecursionError) as exc:
        _fail(reason, f"{what}: {exc}")
    # Bytes after the item are covered by nothing (test CBO2 hides a COSE behind a bare integer).
    if stream.tell() != len(data):
        _fail(reason, f"{what}: {len(data) - stream.tell()} bytes after the CBOR item")
    return value


def _cose_sign1(
    data: bytes,
) -> tuple[bytes, Mapping[Any, Any], Mapping[Any, Any], bytes, bytes]:
    """Unwrap tags 61/18 and check the four-element COSE_Sign1 array and its decoded protected header."""
    obj = _cbor(data, Reason.DCC_CBOR, "COSE")
    if isinstance(obj, cbor2.CBORTag) and obj.tag == _TAG_CWT:
        obj = obj.value
        if not (isinstance(obj, cbor2.CBORTag) and obj.tag == _TAG_COSE_SIGN1):
            _fail(Reason.DCC_CBOR, "CWT tag 61 does not wrap a COSE_Sign1 (tag 18)")
    if isinstance(obj, cbor2.CBORTag):
        if obj.tag != _TAG_COSE_SIGN1:
            _fail(Reason.DCC_CBOR, f"CBOR tag {obj.tag} is not COSE_Sign1 (18)")
        obj = obj.value
    if not _is_sequence(obj) or len(obj) != 4:
        _fail(Reason.DCC_CBOR, "not a four-element COSE_Sign1 array")
    protected_bytes, unprotected, payload, signature = obj
    if not (
        isinstance(protected_bytes, bytes)
        and isinstance(unprotected, Mapping)
        and isinstance(payload, bytes)
        and isinstance(signature, bytes)
    ):
        _fail(Reason.DCC_CBOR, "COSE_Sign1 members have the wrong types")
    # An empty protected bstr stands for an empty map (RFC 9052 §3).
    protected = _cbor(protected_bytes, Reason.DCC_CBOR, "protected header") if protected_bytes else {}
    if not isinstance(protected, Mapping):
        _fail(Reason.DCC_CBOR, "protected header is not a map")
    return protected_bytes, protected, unprotected, payload, signature


def _header(protected: Mapping[Any, Any], unprotected: Mapping[Any, Any], label: int) -> Any:
    # The protected header wins (spec §3.3.3): an attacker can rewrite the unprotected one freely.
    if label in protected:
        return protected[label]
    return unprotected.get(label)


def _verified_signer(signers: Sequence[Signer], alg: int, to_be_signed: bytes, signature: bytes) -> Signer:
    """The first DSC whose key verifies the signature. Kids are truncated hashes, so try them all."""
    for signer in signers:
        if _signature_ok(signer, alg, to_be_signed, signature):
            return signer
    plural = "s" if len(signers) > 1 else ""
    _fail(Reason.DCC_SIGNATURE, f"signature does not verify with {len(signers)} DSC{plural}")


def _signature_ok(signer: Signer, alg: int, to_be_signed: bytes, signature: bytes) -> bool:
    key = signer.public_key
    try:
        if alg == _ALG_ES256:
            if not isinstance(key, ec.EllipticCurvePublicKey):
                return False
            # COSE carries raw r‖s; each half is the curve's size (P-384 DSCs exist with alg -7).
            half = len(signature) // 2
            if half == 0 or len(signature) % 2:
                return False
            r = int.from_bytes(signature[:half], "big")
            s = int.from_bytes(signature[half:], "big")
            key.verify(encode_dss_signature(r, s), to_be_signed, ec.ECDSA(hashes.SHA256()))
            return True
        if not isinstance(key, rsa.RSAPublicKey):
            return False
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        key.verify(signature, to_be_signed, pss, hashes.SHA256())
        return True
    except (InvalidSignature, ValueError):
        return False


def _timestamp(now: datetime) -> float:
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.timestamp()


def _numeric_date(claims: Mapping[Any, Any], key: int, name: str) -> float:
    """A required NumericDate claim. Without ``exp`` a code would never expire; without ``iat`` it cannot
    be placed in its DSC's validity (the CWA's ``DccHeaderParser`` refuses both as well)."""
    value = claims.get(key)
    if value is None:
        _fail(Reason.DCC_INVALID_CONTENT, f"no {name} claim ({key})")
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        _fail(Reason.DCC_INVALID_CONTENT, f"{name} is not a NumericDate")
    if _datetime(value) is None:
        _fail(Reason.DCC_INVALID_CONTENT, f"{name} is out of range")
    return float(value)


def _check_time(iat: float, exp: float, now_s: float, signer: Signer) -> None:
    """The code's own window first (what a visitor understands), then its signer's validity.

    The DSC must be valid at ``now`` (CWA ``DCCSignatureVerification`` step 9, the EU verifier app) and at
    ``iat``: the spec forbids an ``iat`` before the DSC's validity (hcert §3.3.6, ``hcert-kotlin``).
    ``iat`` is never after ``now`` here, so ``iat`` after ``notAfter`` is already caught by the clock.
    """
    if now_s < iat:
        _fail(Reason.DCC_NOT_YET_VALID, f"issued at {_iso(iat)}, after the clock ({_iso(now_s)})")
    if now_s > exp:
        _fail(Reason.DCC_EXPIRED, f"expired at {_iso(exp)}")
    not_before = _aware_timestamp(signer.not_before)
    not_after = _aware_timestamp(signer.not_after)
    # An unreadable bound fails closed: the signer's validity cannot be shown to hold.
    if not_before is None:
        _fail(Reason.DCC_SIGNER_NOT_YET_VALID, "the DSC's notBefore cannot be read")
    if not_after is None:
        _fail(Reason.DCC_SIGNER_EXPIRED, "the DSC's notAfter cannot be read")
    for moment, what in ((now_s, "the clock"), (iat, "the issue time (iat)")):
        if moment < not_before:
            _fail(
                Reason.DCC_SIGNER_NOT_YET_VALID,
                f"the DSC is valid from {_iso(not_before)}, after {what} ({_iso(moment)})",
            )
        if moment > not_after:
            _fail(
                Reason.DCC_SIGNER_EXPIRED,
                f"the DSC expired at {_iso(not_after)}, before {what} ({_iso(moment)})",
            )


def _aware_timestamp(moment: datetime | None) -> float | None:
    return None if moment is None else _timestamp(moment)


def _check_key_usage(types: Sequence[str], signer: Signer) -> None:
    """Every type the code claims must be covered by the signer's key usage, not just the first."""
    allowed = signer.allowed_types
    if allowed is None:
        return
    uncovered = [t for t in types if t not in allowed]
    if uncovered:
        _fail(
            Reason.DCC_KEY_USAGE,
            f"the DSC's key usage allows {'/'.join(sorted(allowed))}, not {'/'.join(uncovered)}",
        )


def _datetime(seconds: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _iso(seconds: float) -> str:
    moment = _datetime(seconds)
    return moment.isoformat() if moment is not None else str(seconds)


def _essential_content(
    claims: Mapping[Any, Any],
) -> tuple[list[str], Mapping[Any, Any], Mapping[Any, Any], bool]:
    """(types present, eu_dcc_v1 map, the first entry or {}, schema deviations seen?).

    Missing ver/nam/dob, no or several types, several entries or no ``ci`` break the schema but not the
    signature: the EU suite treats schema failures apart from verification, and a correctly signed, unexpired
    code from a foreign issuer is admitted with the warning ``dcc_schema``. A code that certifies nothing is
    not a health certificate (``Credential.is_health_certificate`` is false), so ``health`` mode still
    refuses it. Only a code without an ``eu_dcc_v1`` map at all is refused here.
    """
    hcert = claims.get(_CWT_HCERT)
    if not isinstance(hcert, Mapping):
        _fail(Reason.DCC_INVALID_CONTENT, "no hcert claim (-260)")
    dcc = hcert.get(_HCERT_EU_DCC_V1)
    if not isinstance(dcc, Mapping):
        _fail(Reason.DCC_INVALID_CONTENT, "no eu_dcc_v1 map in hcert")
    soft = any(key not in dcc for key in ("ver", "nam", "dob"))
    # Early Bulgarian codes (schema 1.0.0) write the unused types as null; read null as absent.
    nulls = any(t in dcc and dcc[t] is None for t in _TYPES)
    present = [t for t in _TYPES if _is_sequence(dcc.get(t)) and dcc[t] and isinstance(dcc[t][0], Mapping)]
    # A type given in some other shape than a list of maps is a deviation too.
    misshapen = any(dcc.get(t) is not None and t not in present for t in _TYPES)
    soft = soft or nulls or misshapen or len(present) != 1
    if not present:
        return [], dcc, {}, True
    entries = dcc[present[0]]
    entry = entries[0]
    ci = entry.get("ci")
    soft = soft or len(entries) > 1 or not (isinstance(ci, str) and ci.strip())
    return present, dcc, entry, soft or _soft_problems(dcc, entry)


def _soft_problems(dcc: Mapping[Any, Any], entry: Mapping[Any, Any]) -> bool:
    """Schema points that do not stop the kiosk from identifying the holder (warning only)."""
    nam = dcc.get("nam")
    if not isinstance(nam, Mapping) or not isinstance(nam.get("fnt"), str):
        return True
    if not all(isinstance(nam.get(k), str | None) for k in ("fn", "gn", "gnt")):
        return True
    if not isinstance(dcc.get("ver"), str) or not isinstance(dcc.get("dob"), str):
        return True
    if not _DOB.match(dcc["dob"]) and dcc["dob"] != "":
        return True
    if entry.get("tg") != "840539006":  # COVID-19 is the only target disease in the value set
        return True
    co, issuer = entry.get("co"), entry.get("is")
    return not (isinstance(co, str) and _COUNTRY.fullmatch(co) and isinstance(issuer, str) and issuer)


def _identity_key(entry: Mapping[Any, Any], signature: bytes) -> str:
    """``dcc:<UVCI>``; a code without a UVCI is still one distinct code, named by its signature.

    The UVCI is the identity key that deny lists and rosters match, so it gets the character check of any
    text (``CONTROL_CHARS``) and the schema's length bound (``TOO_LONG``): an invisible character would make
    the same certificate two identities.
    """
    ci = entry.get("ci")
    if not (isinstance(ci, str) and ci.strip()):
        return "dcc-sig:" + hashlib.sha256(signature).hexdigest()
    ci = _nfc(ci)
    check_characters(ci, Kind.DCC)
    if len(ci) > MAX_UVCI_CHARS:
        _fail(Reason.TOO_LONG, f"UVCI of {len(ci)} characters (at most {MAX_UVCI_CHARS})")
    return "dcc:" + ci


def _holder_name(nam: Any) -> str | None:
    """The displayed name, family name first, or None; PayloadError when a name part is not clean.

    Every name string is checked for controls and format characters, also the one not shown (a signed code
    carrying them is not a real certificate); the parts shown go through ``check_name`` one by one (the
    schema allows 80 characters each), which refuses formula starts, over-long and letterless parts.
    """
    if not isinstance(nam, Mapping):
        return None
    for key in ("fn", "gn", "fnt", "gnt"):
        value = nam.get(key)
        if isinstance(value, str):
            check_characters(_nfc(value), Kind.DCC)
    # Prefer the names as written; the ICAO-transliterated ones (fnt/gnt, "<" between words) only when
    # those are absent.
    parts = _name_parts(nam, ("fn", "gn"), "")
    if not parts:
        parts = _name_parts(nam, ("fnt", "gnt"), "<")
    return " ".join(check_name(part, Kind.DCC) for part in parts) or None


def _name_parts(nam: Mapping[Any, Any], keys: tuple[str, str], separator: str) -> list[str]:
    parts = []
    for key in keys:
        value = nam.get(key)
        if isinstance(value, str):
            if separator:
                value = value.replace(separator, " ")
            if value.strip():
                parts.append(_nfc(value))
    return parts


def _country(co: Any, iss: Any) -> tuple[str | None, bool]:
    """(the certificate's country, was ``co`` unusable?): ``co`` of the entry, else the ``iss`` claim.

    A control or format character refuses the code as in any text (``CONTROL_CHARS``); otherwise a value
    that is not two ASCII capitals (``"Vietnam"``, ``"vn"``, full-width ``"ＶＮ"``) is dropped, which the
    caller reports as the ``dcc_schema`` warning.
    """
    for value in (co, iss):
        if isinstance(value, str):
            check_characters(value, Kind.DCC)
    if isinstance(co, str) and _COUNTRY.fullmatch(co):
        return co, False
    return (iss if isinstance(iss, str) and _COUNTRY.fullmatch(iss) else None), True


def _birth_date(dob: Any) -> date | None:
    if not isinstance(dob, str):
        return None
    match = _DOB.match(dob)
    if not match or match.group(3) is None:
        return None  # year-only or year-month dates are legitimate but not a calendar date
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)
