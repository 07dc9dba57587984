"""Layer: core. Base45 (RFC 9285), the text encoding of ``HC1:`` health certificates.

Small enough to own: the PyPI ``base45`` package is dormant, and the decoder must reject every malformed
input with one exception type so the DCC parser can map it to a single reason code.
"""

from __future__ import annotations

__all__ = ["ALPHABET", "b45decode", "b45encode"]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}


def b45decode(text: str) -> bytes:
    """Decode Base45 ``text`` to bytes.

    Raises ``ValueError`` for a character outside the alphabet, a length of 1 modulo 3, or a group whose
    value does not fit the bytes it stands for (RFC 9285 §4.3 requires rejecting those).
    """
    if len(text) % 3 == 1:
        raise ValueError(f"invalid Base45 length {len(text)}")
    try:
        values = [_VALUE[ch] for ch in text]
    except KeyError as exc:
        raise ValueError(f"invalid Base45 character {exc.args[0]!r}") from None
    out = bytearray()
    full = len(values) - len(values) % 3
    for i in range(0, full, 3):
        n = values[i] + values[i + 1] * 45 + values[i + 2] * 45 * 45
        if n > 0xFFFF:
            raise ValueError(f"Base45 group at {i} exceeds two bytes")
        out += n.to_bytes(2, "big")
    if full < len(values):
        n = values[full] + values[full + 1] * 45
        if n > 0xFF:
            raise ValueError(f"Base45 group at {full} exceeds one byte")
        out.append(n)
    return bytes(out)


def b45encode(data: bytes) -> str:
    """Encode bytes as Base45 (used to build test and demo codes)."""
    out: list[str] = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out += (ALPHABET[c], ALPHABET[d], ALPHABET[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += (ALPHABET[c], ALPHABET[d])
    return "".join(out)
