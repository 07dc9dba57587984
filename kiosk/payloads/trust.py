"""Layer: core. The DCC trust list: document signer certificates (DSCs) indexed by their COSE kid.

A trust list is loaded from files the operator copies onto the kiosk (there is no public EU endpoint any
more, see payload-formats.md §3.1):

* a JSON file ``{"certificates": [{"country": "VN", "kid": "<b64>", "der": "<b64 DER>"}]}`` (a bare JSON
  list of those objects is accepted too; ``kid`` and ``country`` are optional);
* single certificate files holding PEM (one or more certificates), raw DER, or base64 of the DER.

The kid of a DSC is the first 8 bytes of SHA-256 over its DER (hcert spec App. A.1). Because kids are
truncated, several DSCs may share one, and ``signers_for`` returns all of them.

Some DSCs in the wild are not strictly DER (the FI test certificates encode a default ``BasicConstraints
cA=FALSE``; ``CO15`` has an empty EKU). ``cryptography`` parses them but raises as soon as their extensions
are read, so the public key is taken without touching extensions and the extended key usage falls back to a
small, tolerant DER walk (``_scan_eku``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from kiosk.errors import TrustListError

__all__ = [
    "DCC_KEY_USAGE_OIDS",
    "Signer",
    "TrustList",
    "kid_of",
]

KID_LENGTH = 8

# Extended key usage OIDs that restrict which DCC types a DSC may sign (hcert spec §5.1.1). Some issuers
# used the variant with an extra ".0" arc; verifiers in production accept both.
DCC_KEY_USAGE_OIDS: Mapping[str, str] = MappingProxyType(
    {
        "1.3.6.1.4.1.1847.2021.1.1": "t",
        "1.3.6.1.4.1.1847.2021.1.2": "v",
        "1.3.6.1.4.1.1847.2021.1.3": "r",
        "1.3.6.1.4.1.0.1847.2021.1.1": "t",
        "1.3.6.1.4.1.0.1847.2021.1.2": "v",
        "1.3.6.1.4.1.0.1847.2021.1.3": "r",
    }
)

_EKU_OID_DER = b"\x06\x03\x55\x1d\x25"  # OBJECT IDENTIFIER 2.5.29.37 (extKeyUsage)


def kid_of(der: bytes) -> bytes:
    """The COSE kid of a DSC: the first 8 bytes of SHA-256 over its DER encoding."""
    return hashlib.sha256(der).digest()[:KID_LENGTH]


@dataclass(frozen=True, slots=True)
class Signer:
    """One trusted document signer certificate.

    ``extended_key_usage`` holds every OID of the certificate's extended key usage (dotted form), empty
    when the extension is absent or lists nothing; ``key_usage_oids`` is its subset of DCC OIDs.
    """

    kid: bytes
    public_key: CertificatePublicKeyTypes
    der: bytes
    not_before: datetime | None = None
    not_after: datetime | None = None
    country: str | None = None
    extended_key_usage: frozenset[str] = frozenset()
    source: str = ""

    @property
    def key_usage_oids(self) -> frozenset[str]:
        """The DCC extended-key-usage OIDs of this DSC."""
        return frozenset(oid for oid in self.extended_key_usage if oid in DCC_KEY_USAGE_OIDS)

    @classmethod
    def from_der(
        cls,
        der: bytes,
        *,
        kid: bytes | None = None,
        country: str | None = None,
        source: str = "<memory>",
    ) -> Signer:
        """Build a signer from a DER certificate. Raises ``TrustListError`` if it cannot be parsed."""
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError as exc:
            raise TrustListError(
                f"{source}: not an X.509 certificate ({exc}); export the DSC as PEM or DER and retry"
            ) from exc
        try:
            public_key = cert.public_key()
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise TrustListError(
                f"{source}: the certificate's public key cannot be read ({exc}); "
                "only EC and RSA document signer certificates are supported"
            ) from exc
        return cls(
            kid=kid_of(der) if kid is None else kid,
            public_key=public_key,
            der=der,
            not_before=_safe_validity(cert, before=True),
            not_after=_safe_validity(cert, before=False),
            country=country if country is not None else _subject_country(cert),
            extended_key_usage=_extended_key_usage(cert, der),
            source=source,
        )

    @property
    def allowed_types(self) -> frozenset[str] | None:
        """DCC types (``"t"``, ``"v"``, ``"r"``) this DSC may sign, or ``None`` when unrestricted.

        Only the DCC OIDs restrict, as production verifiers apply the rule: a DSC whose extended key usage
        names none of them may sign every type. Real national DSCs carry unrelated purposes (TLS client
        auth, e-mail protection; Iceland's carry ICAO's 2.23.136.1.1.14.2), and the Corona-Warn-App
        (``DCCSignatureVerification.swift`` step 10; Android ``DscSignatureValidator.checkCertOid``) and the
        EU reference app (``dgca-app-core-android`` ``X509.isSuitable``) accept them. The EU test suite
        expects ``IS/3`` to fail instead; that case is a documented deviation (docs/dcc.md). No EKU, an
        empty one (``CO15``) or one without DCC OIDs leaves every type allowed.
        """
        oids = self.key_usage_oids
        if not oids:
            return None
        return frozenset(DCC_KEY_USAGE_OIDS[oid] for oid in oids)


@dataclass(frozen=True, slots=True)
class TrustList:
    """An immutable set of trusted DSCs, looked up by kid. Combine lists with ``+`` or ``merge``."""

    signers: tuple[Signer, ...] = ()
    _by_kid: Mapping[bytes, tuple[Signer, ...]] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        index: dict[bytes, list[Signer]] = {}
        for signer in self.signers:
            index.setdefault(signer.kid, []).append(signer)
        # The dataclass is frozen; the index is derived state, set once here.
        object.__setattr__(self, "_by_kid", MappingProxyType({k: tuple(v) for k, v in index.items()}))

    def __len__(self) -> int:
        return len(self.signers)

    def __iter__(self) -> Iterator[Signer]:
        return iter(self.signers)

    def __add__(self, other: TrustList) -> TrustList:
        if not isinstance(other, TrustList):
            return NotImplemented
        return self.merge(other)

    def signers_for(self, kid: bytes) -> tuple[Signer, ...]:
        """Every DSC whose kid is ``kid`` (kids are truncated hashes, so there may be several)."""
        return self._by_kid.get(bytes(kid), ())

    def merge(self, *others: TrustList) -> TrustList:
        """A new list holding this list's signers and then the others', without exact duplicates."""
        seen: set[tuple[bytes, bytes]] = set()
        merged: list[Signer] = []
        for signer in (s for tl in (self, *others) for s in tl.signers):
            key = (signer.kid, signer.der)
            if key not in seen:
                seen.add(key)
                merged.append(signer)
        return TrustList(tuple(merged))

    @classmethod
    def empty(cls) -> TrustList:
        return cls(())

    @classmethod
    def from_signers(cls, signers: Iterable[Signer]) -> TrustList:
        return cls(tuple(signers))

    @classmethod
    def from_json_file(cls, path: str | Path) -> TrustList:
        """Load ``{"certificates": [...]}`` or a bare list of ``{"country", "kid", "der"}`` objects."""
        path = Path(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise TrustListError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TrustListError(
                f"{path}: not a JSON trust list ({exc}); expected "
                '{"certificates": [{"country": ..., "kid": ..., "der": ...}]}'
            ) from exc
        except RecursionError as exc:
            # json raises RecursionError past about a thousand nested arrays or objects; a trust list is
            # three levels deep, so such a file is not one (and must not crash the caller).
            raise TrustListError(
                f"{path}: JSON nested too deeply to be a trust list; expected "
                '{"certificates": [{"country": ..., "kid": ..., "der": ...}]}'
            ) from exc
        entries = document.get("certificates") if isinstance(document, Mapping) else document
        if not isinstance(entries, list):
            raise TrustListError(
                f'{path}: expected a "certificates" list or a bare JSON list of certificate objects'
            )
        return cls(tuple(_signer_from_entry(entry, f"{path}[{i}]") for i, entry in enumerate(entries)))

    @classmethod
    def from_certificate_files(cls, paths: Iterable[str | Path]) -> TrustList:
        """Load single certificate files holding PEM (one or more certificates), DER or base64 DER."""
        signers: list[Signer] = []
        for raw_path in paths:
            path = Path(raw_path)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise TrustListError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
            for i, der in enumerate(_certificate_ders(data, str(path))):
                source = str(path) if i == 0 else f"{path}#{i}"
                signers.append(Signer.from_der(der, source=source))
        return cls(tuple(signers))


def _signer_from_entry(entry: Any, source: str) -> Signer:
    if not isinstance(entry, Mapping):
        raise TrustListError(f"{source}: expected an object with a base64 'der' field")
    der_b64 = entry.get("der")
    if not isinstance(der_b64, str):
        raise TrustListError(f"{source}: missing the base64 'der' field")
    der = _b64(der_b64, f"{source}.der")
    kid_b64 = entry.get("kid")
    kid: bytes | None = None
    if kid_b64 is not None:
        if not isinstance(kid_b64, str):
            raise TrustListError(f"{source}.kid: expected a base64 string")
        kid = _b64(kid_b64, f"{source}.kid")
    country = entry.get("country")
    if country is not None and not isinstance(country, str):
        raise TrustListError(f"{source}.country: expected a two-letter country code string")
    return Signer.from_der(der, kid=kid, country=country, source=source)


def _b64(text: str, source: str) -> bytes:
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TrustListError(f"{source}: not valid base64 ({exc})") from exc


def _certificate_ders(data: bytes, source: str) -> list[bytes]:
    """The DER certificates in a file: PEM blocks, raw DER, or base64 text of the DER."""
    if b"-----BEGIN" in data:
        try:
            certs = x509.load_pem_x509_certificates(data)
        except ValueError as exc:
            raise TrustListError(
                f"{source}: unreadable PEM ({exc}); expected -----BEGIN CERTIFICATE----- blocks"
            ) from exc
        return [cert.public_bytes(Encoding.DER) for cert in certs]
    if data[:1] == b"\x30":
        return [data]
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    if text.strip():
        try:
            der = _b64(text, source)
        except TrustListError:
            der = b""
        if der[:1] == b"\x30":
            return [der]
    raise TrustListError(f"{source}: not a certificate; expected PEM, DER or base64 of the DER of a DSC")


def _safe_validity(cert: x509.Certificate, *, before: bool) -> datetime | None:
    try:
        return cert.not_valid_before_utc if before else cert.not_valid_after_utc
    except ValueError:
        return None


def _subject_country(cert: x509.Certificate) -> str | None:
    try:
        attributes = cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    except ValueError:
        return None
    if not attributes:
        return None
    value = attributes[0].value
    return value if isinstance(value, str) else None


def _extended_key_usage(cert: x509.Certificate, der: bytes) -> frozenset[str]:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return frozenset()
    except ValueError:
        # Not strictly DER (an encoded default BasicConstraints, an empty EKU): read the EKU ourselves.
        return frozenset(_scan_eku(der))
    return frozenset(oid.dotted_string for oid in eku)


# --- a tolerant, minimal DER walk, only for the EKU fallback ---------------------------------------------


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at ``pos``; ValueError when truncated."""
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    pos = start
    while pos < end:
        tag, cstart, cend = _tlv(data, pos)
        yield tag, cstart, cend
        pos = cend


def _decode_oid(body: bytes) -> str:
    arcs: list[int] = []
    value = 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        return ""
    first = arcs[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(str(a) for a in head + arcs[1:])


def _scan_eku(der: bytes) -> tuple[str, ...]:
    """OIDs of the extKeyUsage extension, read without a strict parser. Empty when absent or unreadable."""
    try:
        _, cert_start, _ = _tlv(der, 0)
        _, tbs_start, tbs_end = _tlv(der, cert_start)
        for tag, start, _ in _children(der, tbs_start, tbs_end):
            if tag != 0xA3:  # [3] EXPLICIT Extensions
                continue
            _, exts_start, exts_end = _tlv(der, start)
            for _, ext_start, ext_end in _children(der, exts_start, exts_end):
                if der[ext_start : ext_start + len(_EKU_OID_DER)] != _EKU_OID_DER:
                    continue
                # extnID, optional critical BOOLEAN, extnValue OCTET STRING holding SEQUENCE OF OID.
                for inner_tag, v_start, _ in _children(der, ext_start, ext_end):
                    if inner_tag != 0x04:
                        continue
                    _, seq_start, seq_end = _tlv(der, v_start)
                    return tuple(
                        _decode_oid(der[o_start:o_end])
                        for o_tag, o_start, o_end in _children(der, seq_start, seq_end)
                        if o_tag == 0x06
                    )
    except ValueError:
        return ()
    return ()
