"""Layer: core. Payload bytes to text without losing any: what ``Symbol.text`` holds."""

from __future__ import annotations


def text_of(raw: bytes, fallback: str | None = None) -> str:
    """The payload as text: UTF-8 where the bytes are valid UTF-8 (every payload the kiosk issues).

    Otherwise the decoder's own reading (zxing-cpp honours ECI and recognises Shift_JIS, common in older
    codes), else latin-1, which maps every byte. ``Symbol.raw`` always keeps the exact bytes, so a
    parser can still refuse a payload that is not UTF-8.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return fallback if fallback else raw.decode("latin-1")
