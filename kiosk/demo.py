"""Layer: core. Demo material: visitors' codes of every kind, valid and invalid, generated on the spot.

Used by ``kiosk demo`` (the README's run command), by tests and by benchmarks. Everything here is invented:
the DCCs are signed with a throw-away key made at start, whose certificate goes into a demo trust list.
QR images are drawn with segno and distorted with OpenCV (both imported lazily).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
import numpy as np
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from kiosk.identity import IdentityKey, IdentitySet
from kiosk.model import Outcome, Reason
from kiosk.payloads.base45 import b45encode
from kiosk.payloads.trust import Signer, TrustList, kid_of

DCC_VACCINATION_OID = "1.3.6.1.4.1.1847.2021.1.2"


@dataclass(frozen=True)
class DemoSigner:
    """A throw-away document signer (ES256) and its self-signed certificate."""

    key: ec.EllipticCurvePrivateKey
    certificate_der: bytes

    @property
    def kid(self) -> bytes:
        return kid_of(self.certificate_der)

    def trust_list(self) -> TrustList:
        """A trust list holding just this signer, so its demo certificates verify."""
        return TrustList.from_signers([Signer.from_der(self.certificate_der, country="VN")])

    @classmethod
    def create(cls, now: datetime, country: str = "VN") -> DemoSigner:
        key = ec.generate_private_key(ec.SECP256R1())
        der = self_signed_dsc(
            key, not_before=now - timedelta(days=800), not_after=now + timedelta(days=800), country=country
        )
        return cls(key, der)

    def sign_dcc(self, claims: dict[int, Any]) -> str:
        """COSE_Sign1 (tag 18, ES256, kid in the protected header) → zlib → Base45 → ``HC1:``."""
        protected = cbor2.dumps({1: -7, 4: self.kid})
        payload = cbor2.dumps(claims)
        to_sign = cbor2.dumps(["Signature1", protected, b"", payload])
        r, s = decode_dss_signature(self.key.sign(to_sign, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        cose = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))
        return "HC1:" + b45encode(zlib.compress(cose, 9))


def self_signed_dsc(
    key: CertificateIssuerPrivateKeyTypes,
    *,
    not_before: datetime,
    not_after: datetime,
    country: str = "VN",
    common_name: str = "DEMO DSC - NOT TRUSTED",
    eku: Sequence[str] = (DCC_VACCINATION_OID,),
    serial: int | None = None,
) -> bytes:
    """A self-signed document signer certificate (DER) for ``key``: demo and test material, never trusted.

    ``eku`` lists the extended key usage OIDs (empty: no such extension, as on many real DSCs); ``serial``
    defaults to a random one.
    """
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number() if serial is None else serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if eku:
        usages = [x509.ObjectIdentifier(oid) for oid in eku]
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def vaccination_claims(issued: datetime, expires: datetime, uvci: str) -> dict[int, Any]:
    hcert = {
        "ver": "1.3.0",
        "nam": {"fn": "Nguyễn", "fnt": "NGUYEN", "gn": "Văn An", "gnt": "VAN<AN"},
        "dob": "1990-03-15",
        "v": [
            {
                "tg": "840539006",
                "vp": "J07BX03",
                "mp": "EU/1/20/1528",
                "ma": "ORG-100030215",
                "dn": 2,
                "sd": 2,
                "dt": (issued - timedelta(days=14)).date().isoformat(),
                "co": "VN",
                "is": "Bộ Y tế (demo)",
                "ci": uvci,
            }
        ],
    }
    return {1: "VN", 6: int(issued.timestamp()), 4: int(expires.timestamp()), -260: {1: hcert}}


@dataclass(frozen=True)
class DemoCase:
    """One demo visitor: what they show, how the screen looks, and what the kiosk should answer."""

    label: str
    payload: bytes
    style: str  # how the code is shown: paper, phone, dark, tilted, blurred, glare
    expect: Outcome
    expect_reason: Reason
    expect_recorded: bool = True


CCCD_AN = (
    "046090001234|191234567|Nguyễn Văn An|15031990|Nam|12 Lê Lợi, Phường Vĩnh Ninh, Thành phố Huế|20042021"
)
CCCD_BINH = "046305009876||Trần Thị Bình|02112005|Nữ|45 Hùng Vương, Phường Phú Hội, Thành phố Huế|10082022"
CCCD_DENIED = "046085004321|190000001|Lê Văn Cấm|01011985|Nam|1 Trần Hưng Đạo, Thành phố Huế|05052022"


def demo_deny_list(key: IdentityKey) -> IdentitySet:
    """The demo province deny list, hashed with ``key``: one person who must not enter."""
    return IdentitySet.of(["id:046085004321"], key)


def demo_cases(signer: DemoSigner, now: datetime) -> list[DemoCase]:
    """Visitors of every kind, valid and invalid, in the order the demo shows them."""
    valid_dcc = signer.sign_dcc(
        vaccination_claims(now - timedelta(days=30), now + timedelta(days=335), "URN:UVCI:01:VN:DEMO0001")
    )
    expired_dcc = signer.sign_dcc(
        vaccination_claims(now - timedelta(days=400), now - timedelta(days=35), "URN:UVCI:01:VN:DEMO0002")
    )
    tampered = valid_dcc[:40] + ("A" if valid_dcc[40] != "A" else "B") + valid_dcc[41:]
    bhyt_name = "Phạm Thị Hoa".encode().hex()
    bhyt_addr = "12 Lê Lợi, Thành phố Huế".encode().hex()
    g, r = Outcome.GRANTED, Outcome.REFUSED
    cases = [
        ("CCCD chip card", CCCD_AN, "paper", g, Reason.OK, True),
        ("CCCD without old ID, phone photo", CCCD_BINH, "phone", g, Reason.OK, True),
        ("same CCCD again (not a 2nd visit)", CCCD_AN, "paper", g, Reason.OK, False),
        (
            "PC-Covid personal QR, masked, dark mode",
            "******001234|NGUYEN VAN AN|1990-**-**|0|163000000000000001|<1<<<",
            "dark",
            g,
            Reason.OK,
            True,
        ),
        (
            "health-insurance card, tilted",
            f"GD4464600000001|{bhyt_name}|15/03/1990|0|{bhyt_addr}|46001|01/01/2026|31/12/2026|"
            "01/01/2026|46046000000001|-|4|01/01/2026|1f2fa22c47f0bd18-7102|$",
            "tilted",
            g,
            Reason.OK,
            True,
        ),
        ("vaccine certificate (DCC), valid", valid_dcc, "phone", g, Reason.OK, True),
        ("vaccine certificate (DCC), expired", expired_dcc, "blurred", r, Reason.DCC_EXPIRED, True),
        ("vaccine certificate (DCC), tampered", tampered, "phone", r, Reason.DCC_COMPRESSION, True),
        (
            "CCCD with impossible birth date",
            "046090001234|191234567|Nguyễn Văn An|31022001|Nam|12 Lê Lợi|20042021",
            "paper",
            r,
            Reason.BAD_DATE,
            True,
        ),
        (
            "CCCD cut short (partial read)",
            "046090001234|Nguyen Van An",
            "glare",
            r,
            Reason.MALFORMED,
            True,
        ),
        (
            "name that is a spreadsheet formula",
            "046090005678||=HYPERLINK(1)|15031990|Nam|x|20042021",
            "paper",
            r,
            Reason.FORMULA_NAME,
            True,
        ),
        (
            "name with a hidden bidi override",
            "046090005678||Nguyễn \u202eVăn An|15031990|Nam|x|20042021",
            "paper",
            r,
            Reason.CONTROL_CHARS,
            True,
        ),
        ("province deny list", CCCD_DENIED, "paper", r, Reason.DENY_LIST, True),
        (
            "a premises (location) QR",
            "https://qr.tokhaiyte.vn/place/ABC123",
            "paper",
            r,
            Reason.LOCATION_CODE,
            True,
        ),
        (
            "a shop's Wi-Fi code",
            "WIFI:S:CafeHue;T:WPA;P:12345678;;",
            "phone",
            r,
            Reason.UNKNOWN_FORMAT,
            True,
        ),
    ]
    return [
        DemoCase(label, text.encode("utf-8"), style, outcome, reason, recorded)
        for label, text, style, outcome, reason, recorded in cases
    ]


def render_code(payload: bytes, style: str, size: tuple[int, int] = (640, 480), seed: int = 0) -> np.ndarray:
    """A 640×480 grayscale camera frame showing ``payload`` as a QR code in the given style."""
    import cv2  # noqa: PLC0415 - OpenCV only where it is needed
    import segno  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    frame: Any
    qr = segno.make_qr(payload, error="m", boost_error=False)
    modules = np.array([[0 if bit else 255 for bit in row] for row in qr.matrix], dtype=np.uint8)
    modules = np.pad(modules, 4, constant_values=255)
    width, height = size
    side = int(min(width, height) * (0.55 if style != "phone" else 0.45))
    code = cv2.resize(modules, (side, side), interpolation=cv2.INTER_NEAREST)
    frame = np.full((height, width), 90, dtype=np.uint8)
    frame += rng.integers(0, 25, size=frame.shape, dtype=np.uint8)
    y, x = (height - side) // 2, (width - side) // 2
    if style == "dark":
        code = 255 - code  # phone in dark mode: light modules on a dark screen
        code = (code.astype(np.float32) * 0.8 + 20).astype(np.uint8)
    frame[y : y + side, x : x + side] = code
    if style == "tilted":
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 17, 0.95)
        frame = cv2.warpAffine(frame, matrix, (width, height), borderValue=90)
    elif style == "blurred":
        frame = cv2.GaussianBlur(frame, (0, 0), 1.2)
    elif style == "glare":
        yy, xx = np.mgrid[0:height, 0:width]
        spot = np.exp(-(((xx - x - side * 0.8) ** 2 + (yy - y - side * 0.2) ** 2) / (2 * (side / 6) ** 2)))
        frame = np.clip(frame.astype(np.float32) + spot * 90, 0, 255).astype(np.uint8)
    elif style == "phone":
        noise = rng.normal(0, 6, size=frame.shape)
        frame = np.clip(frame.astype(np.float32) * 0.9 + 15 + noise, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(frame)


def demo_now() -> datetime:
    return datetime.now(UTC)
