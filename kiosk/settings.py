"""Layer: core. Saving what the admin screen changed: the admin settings file (``store.admin_settings``).

``save_admin_settings`` checks the new values the way start-up would — the whole tree is built with them
(``kiosk.config.with_settings``: the same conversion and ``validate()``), and the text it is about to write is
read back with the start-up reader — and only then replaces the file atomically (a temporary file beside it,
fsync, rename, fsync the folder). A refused value raises ``ConfigError`` naming the key and leaves the file
as it was, so a kiosk is never left with a configuration it cannot start with.

The file holds only ``kiosk.config.ADMIN_KEYS``. It sits above ``/etc/kiosk/kiosk.toml`` and below the
``KIOSK_*`` environment and the command line; the running kiosk reads it at its next start.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from kiosk.config import ADMIN_KEYS, Config, parse_toml, read_admin_settings, with_settings
from kiosk.errors import ConfigError
from kiosk.fileio import replace_atomically

#: Text the admin types is at most this long (a screen line; the file's lines stay far below the limit).
MAX_ADMIN_TEXT = 500
HEADER = (
    "# Written by the kiosk's admin screen; read at start above /etc/kiosk/kiosk.toml and below the\n"
    "# KIOSK_* environment. Only these keys may appear here: " + ", ".join(ADMIN_KEYS) + ".\n"
)


def save_admin_settings(path: Path, values: Mapping[str, str], *, base: Config) -> Config:
    """Merge ``values`` (``section.key`` → text, as typed) into the admin settings file at ``path`` and return
    ``base`` with every saved setting in it. Keys already in the file and not in ``values`` stay.

    Raises ``ConfigError`` naming the key and what is accepted, without touching the file, when a key is not
    an admin key or a value would not start. Environment variables and flags still win over the file at the
    next start. Called off the GUI thread (it writes and fsyncs).
    """
    data = read_admin_settings(path)
    for dotted, value in values.items():
        section, _, key = dotted.partition(".")
        if dotted not in ADMIN_KEYS:
            raise ConfigError(
                dotted, f"cannot be changed from the admin screen; allowed: {', '.join(ADMIN_KEYS)}"
            )
        if isinstance(value, str) and len(value) > MAX_ADMIN_TEXT:
            raise ConfigError(dotted, f"at most {MAX_ADMIN_TEXT} characters")
        data.setdefault(section, {})[key] = value
    config = with_settings(base, data)
    typed = {
        section: {key: getattr(getattr(config, section), key) for key in keys}
        for section, keys in data.items()
    }
    text = admin_settings_text(typed)
    # Read back exactly as start-up will: what is written is what the next start gets.
    if with_settings(base, parse_toml(text, path, key="store.admin_settings")) != config:
        raise ConfigError("store.admin_settings", f"the text for {path} does not read back the same")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Nothing secret: kiosk doctor, run by another user, reads it.
        replace_atomically(path, text.encode("utf-8"), mode=0o644)
    except OSError as exc:
        raise ConfigError("store.admin_settings", f"cannot write {path}: {exc.strerror or exc}") from exc
    return config


def pending_settings(base: Config, path: Path) -> Config:
    """``base`` with what the admin settings file at ``path`` holds now: the values saved since the kiosk
    started, which apply at its next start. ``base`` itself when the file cannot be read or used."""
    try:
        return with_settings(base, read_admin_settings(path))
    except ConfigError:
        return base


def admin_settings_text(data: Mapping[str, Mapping[str, Any]]) -> str:
    """TOML for ``{section: {key: value}}`` with str, enum, int and finite float values (tomllib only reads)."""
    lines = [HEADER.rstrip("\n")]
    for section in sorted(data):
        lines += ["", f"[{section}]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in sorted(data[section].items())]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # finite: validation refused NaN and infinities; repr reads back exactly
    if isinstance(value, str):
        return _toml_string(value)
    raise TypeError(f"no TOML for {type(value).__name__}")  # pragma: no cover - a programming error


def _toml_string(text: str) -> str:
    """A TOML basic string: backslash and quote escaped, control characters as ``\\uXXXX``."""
    out = ['"']
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif unicodedata.category(char) == "Cc":
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)
