"""Layer: core. Keyed identity hashes: what deny lists, rosters, the repeat filter and the record use.

An identity key (``id:<12 digits>``, ``qid:<QID>``, ``bhyt:<card>``, ``dcc:<UVCI>``) is hashed with
HMAC-SHA-256 under a secret the province holds, never with a bare SHA-256: a 12-digit citizen ID has only
10^12 values, and an unkeyed hash of one is reversed by brute force in about a second. Without the key a
hash tells nothing; with it, the province (and every kiosk it provisions) computes the same hash.

Keys come from a key file (``identity.key_file``, root-owned, readable by the kiosk's group only)::

    {"keys": [{"id": "hue-2026-1", "secret": "<base64 of at least 32 random bytes>"},
              {"id": "hue-2025-2", "secret": "..."}]}

The first key is the current one: new records are hashed with it. The others are kept during a rotation
so that lists the province made with them still match until it has pushed new ones (see
``docs/identity-keys.md``). Every hash list names the key it was made with::

    {"key_id": "hue-2026-1", "hashes": ["<64 hex>", ...]}

and every recorded visit stores the id of the key its hash was made with. A kiosk that has no key file
uses ``DEMO_KEYRING`` (key id ``demo``): fine for the demo and development, reported by ``kiosk doctor``
and refused by the province, since its secret is public.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.errors import ConfigError

__all__ = [
    "DEMO_KEYRING",
    "DEMO_KEY_ID",
    "MIN_SECRET_BYTES",
    "IdentityKey",
    "IdentityKeyring",
    "IdentitySet",
    "hash_list_document",
    "load_hash_list",
    "new_key_file_document",
]

#: Shortest secret accepted: HMAC-SHA-256 gains nothing from more than 32 bytes, and less is guessable.
MIN_SECRET_BYTES = 32
#: Id of the public development key. Records hashed with it are refused by the province.
DEMO_KEY_ID = "demo"
LEGACY_KEY_ID = "sha256"  # visits recorded before keyed hashes (schema 2) carry this id

_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_HASH = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class IdentityKey:
    """One HMAC key. ``secret`` is kept out of ``repr`` so it never reaches a log line."""

    key_id: str
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not _KEY_ID.fullmatch(self.key_id):
            raise ValueError(f"key id {self.key_id!r}: 1-64 letters, digits, '-', '_' or '.'")
        if len(self.secret) < MIN_SECRET_BYTES:
            raise ValueError(f"key {self.key_id}: the secret must be at least {MIN_SECRET_BYTES} bytes")

    def hash(self, identity_key: str) -> str:
        """HMAC-SHA-256 hex of ``identity_key`` (UTF-8) under this key."""
        return hmac.new(self.secret, identity_key.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class IdentityKeyring:
    """The identity keys a kiosk holds: the current one first, then older ones kept during a rotation."""

    keys: tuple[IdentityKey, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a keyring needs at least one key")
        ids = [k.key_id for k in self.keys]
        if len(set(ids)) != len(ids):
            raise ValueError(f"key ids must be unique: {', '.join(ids)}")

    @property
    def current(self) -> IdentityKey:
        return self.keys[0]

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(k.key_id for k in self.keys)

    @property
    def is_demo(self) -> bool:
        return self.current.key_id == DEMO_KEY_ID

    def get(self, key_id: str) -> IdentityKey | None:
        return next((k for k in self.keys if k.key_id == key_id), None)

    def hash(self, identity_key: str) -> str:
        """The hash of ``identity_key`` under the current key (what a new record stores)."""
        return self.current.hash(identity_key)

    @classmethod
    def from_file(cls, path: Path, config_key: str = "identity.key_file") -> IdentityKeyring:
        """Read a key file; every problem is a ``ConfigError`` naming ``config_key`` and what to do."""
        document = _read_json(path, config_key)
        entries = document.get("keys") if isinstance(document, Mapping) else None
        if not isinstance(entries, list) or not entries:
            raise ConfigError(
                config_key,
                f'{path} must hold {{"keys": [{{"id": ..., "secret": <base64>}}, ...]}} with at least one key',
            )
        keys: list[IdentityKey] = []
        for i, entry in enumerate(entries):
            where = f"{path} keys[{i}]"
            if not isinstance(entry, Mapping):
                raise ConfigError(config_key, f'{where}: expected {{"id": ..., "secret": ...}}')
            key_id, secret_b64 = entry.get("id"), entry.get("secret")
            if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
                raise ConfigError(config_key, f"{where}: id must be 1-64 letters, digits, '-', '_' or '.'")
            if key_id == DEMO_KEY_ID:
                raise ConfigError(config_key, f"{where}: the id {DEMO_KEY_ID!r} is reserved for the demo key")
            if not isinstance(secret_b64, str):
                raise ConfigError(config_key, f"{where}: secret must be a base64 string")
            try:
                secret = base64.b64decode(secret_b64, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ConfigError(config_key, f"{where}: secret is not valid base64") from exc
            if len(secret) < MIN_SECRET_BYTES:
                raise ConfigError(
                    config_key,
                    f"{where}: secret is {len(secret)} bytes; at least {MIN_SECRET_BYTES} random bytes needed",
                )
            keys.append(IdentityKey(key_id, secret))
        try:
            return cls(tuple(keys))
        except ValueError as exc:
            raise ConfigError(config_key, f"{path}: {exc}") from exc


#: The public development keyring. Its secret is in the source code, so it protects nothing.
DEMO_KEYRING = IdentityKeyring((IdentityKey(DEMO_KEY_ID, b"qr-gate-kiosk public demo identity key"),))


@dataclass(frozen=True, slots=True)
class IdentitySet:
    """Identities given as keyed hashes, possibly under several keys (a list pushed before a rotation and
    one after). ``identity_key in s`` hashes the key under each of the set's keys."""

    members: tuple[tuple[IdentityKey, frozenset[str]], ...] = ()

    def __contains__(self, identity_key: object) -> bool:
        if not isinstance(identity_key, str):
            return False
        return any(key.hash(identity_key) in hashes for key, hashes in self.members)

    def __len__(self) -> int:
        return sum(len(hashes) for _, hashes in self.members)

    def __iter__(self) -> Iterator[str]:
        return (h for _, hashes in self.members for h in hashes)

    def __or__(self, other: IdentitySet) -> IdentitySet:
        if not isinstance(other, IdentitySet):
            return NotImplemented
        merged: dict[str, tuple[IdentityKey, set[str]]] = {}
        for key, hashes in (*self.members, *other.members):
            merged.setdefault(key.key_id, (key, set()))[1].update(hashes)
        return IdentitySet(tuple((key, frozenset(hashes)) for key, hashes in merged.values()))

    @classmethod
    def of(cls, identity_keys: Iterable[str], key: IdentityKey) -> IdentitySet:
        """The set of these identity keys, hashed under ``key``."""
        return cls(((key, frozenset(key.hash(k) for k in identity_keys)),))


def load_hash_list(path: Path, config_key: str, keyring: IdentityKeyring) -> IdentitySet:
    """Read a deny list or roster made with one of ``keyring``'s keys; ``config_key`` names the setting
    in every error."""
    document = _read_json(path, config_key)
    if isinstance(document, list) or (isinstance(document, Mapping) and "key_id" not in document):
        raise ConfigError(
            config_key,
            f"{path} names no key_id: lists of plain SHA-256 hashes are refused (a 12-digit ID is "
            f"recovered from one in a second); ask the province for a list made with identity key "
            f"{keyring.current.key_id!r}",
        )
    if not isinstance(document, Mapping):
        raise ConfigError(config_key, f'{path} must hold {{"key_id": ..., "hashes": [...]}}')
    key_id, items = document.get("key_id"), document.get("hashes")
    if not isinstance(items, list):
        raise ConfigError(config_key, f'{path} must hold {{"key_id": ..., "hashes": [...]}}')
    key = keyring.get(key_id) if isinstance(key_id, str) else None
    if key is None:
        raise ConfigError(
            config_key,
            f"{path} was made with identity key {key_id!r}, which this kiosk does not hold (it has "
            f"{', '.join(keyring.key_ids)}); install the province's key file (identity.key_file) or ask "
            "for a list made with the current key",
        )
    hashes = [h.lower() if isinstance(h, str) else h for h in items]
    bad = [h for h in hashes if not (isinstance(h, str) and _HASH.fullmatch(h))]
    if bad:
        raise ConfigError(
            config_key, f"{path} has {len(bad)} entries that are not 64 hex digits, e.g. {bad[0]!r}"
        )
    return IdentitySet(((key, frozenset(hashes)),))


def hash_list_document(identity_keys: Iterable[str], key: IdentityKey) -> dict[str, Any]:
    """The JSON document of a hash list of ``identity_keys`` made with ``key`` (sorted, no duplicates)."""
    return {"key_id": key.key_id, "hashes": sorted({key.hash(k) for k in identity_keys})}


def new_key_file_document(key_id: str, previous: IdentityKeyring | None = None) -> dict[str, Any]:
    """A key file with a fresh random current key ``key_id``, followed by ``previous``'s keys (rotation)."""
    fresh = IdentityKey(key_id, secrets.token_bytes(MIN_SECRET_BYTES))
    keys = [fresh, *(previous.keys if previous is not None else ())]
    return {"keys": [{"id": k.key_id, "secret": base64.b64encode(k.secret).decode("ascii")} for k in keys]}


def _read_json(path: Path, config_key: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(config_key, f"file {path} does not exist") from exc
    except IsADirectoryError as exc:
        raise ConfigError(config_key, f"{path} is a directory, not a JSON file") from exc
    except PermissionError as exc:
        raise ConfigError(
            config_key, f"{path} cannot be read by this user (check its owner and group)"
        ) from exc
    except OSError as exc:
        raise ConfigError(config_key, f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(config_key, f"{path} is not UTF-8 text (byte {exc.start})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(config_key, f"{path} is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # json's C scanner guards its recursion: 200,000 '[' end here
        raise ConfigError(config_key, f"{path} nests arrays or objects too deeply to be a list") from exc
