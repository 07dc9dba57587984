"""Keyed identity hashes: the key file, hash lists, rotation, and what the record stores.

The point of the key: an unkeyed SHA-256 of a 12-digit ID is reversed by trying every ID, and the same
search finds nothing in a keyed hash without the key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import cv2
import pytest

from app.cli import main
from kiosk.demo import CCCD_AN, CCCD_BINH, render_code
from kiosk.errors import ConfigError
from kiosk.identity import (
    DEMO_KEYRING,
    IdentityKey,
    IdentityKeyring,
    IdentitySet,
    hash_list_document,
    load_hash_list,
    new_key_file_document,
)
from tests.cli_support import isolate_cli

AN_KEY = "id:046090001234"
SECRET = b"identity tests: thirty-two bytes or more"


def key_file(path: Path, *keys: tuple[str, bytes]) -> Path:
    entries = [{"id": key_id, "secret": base64.b64encode(secret).decode()} for key_id, secret in keys]
    path.write_text(json.dumps({"keys": entries}), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------
# the hash itself


def test_a_keyed_hash_is_not_found_by_trying_every_id() -> None:
    """An attacker who has a stored hash tries every ID in a window that holds the real one."""
    stored_unkeyed = hashlib.sha256(AN_KEY.encode()).hexdigest()
    stored_keyed = IdentityKey("hue-1", SECRET).hash(AN_KEY)
    window = [f"id:04609000{n:04d}" for n in range(1000, 1500)]

    def brute_force(target: str) -> list[str]:
        return [c for c in window if hashlib.sha256(c.encode()).hexdigest() == target]

    assert brute_force(stored_unkeyed) == [AN_KEY]  # what the old scheme gave away
    assert brute_force(stored_keyed) == []
    assert stored_keyed != stored_unkeyed and len(stored_keyed) == 64


def test_the_same_key_gives_the_same_hash_and_another_key_another() -> None:
    a, b = IdentityKey("hue-1", SECRET), IdentityKey("hue-2", SECRET[::-1])
    assert a.hash(AN_KEY) == IdentityKey("hue-1", SECRET).hash(AN_KEY)
    assert a.hash(AN_KEY) != b.hash(AN_KEY)
    assert a.hash(AN_KEY) != a.hash("id:046090001235")


def test_the_secret_never_shows_in_repr() -> None:
    assert SECRET.decode() not in repr(IdentityKey("hue-1", SECRET))
    assert SECRET.decode() not in repr(IdentityKeyring((IdentityKey("hue-1", SECRET),)))


@pytest.mark.parametrize(
    ("key_id", "secret", "fragment"),
    [
        ("hue-1", b"short", "at least 32 bytes"),
        ("", SECRET, "key id"),
        ("has space", SECRET, "key id"),
    ],
)
def test_bad_keys_are_refused(key_id: str, secret: bytes, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        IdentityKey(key_id, secret)


# ------------------------------------------------------------------------------------------------
# the key file


def test_key_file_current_key_first(tmp_path: Path) -> None:
    path = key_file(tmp_path / "keys.json", ("hue-2", SECRET[::-1]), ("hue-1", SECRET))
    keyring = IdentityKeyring.from_file(path)
    assert keyring.key_ids == ("hue-2", "hue-1")
    assert keyring.hash(AN_KEY) == IdentityKey("hue-2", SECRET[::-1]).hash(AN_KEY)
    assert not keyring.is_demo and DEMO_KEYRING.is_demo


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "does not exist"),
        (b"\xff\xfe", "not UTF-8"),
        (b"{", "not valid JSON"),
        (b"[" * 200_000, "too deeply"),
        (b'{"keys": []}', "at least one key"),
        (b'{"keys": ["x"]}', "keys[0]"),
        (b'{"keys": [{"id": "a b", "secret": "AAAA"}]}', "id must be"),
        (b'{"keys": [{"id": "demo", "secret": "AAAA"}]}', "reserved"),
        (b'{"keys": [{"id": "hue-1", "secret": "***"}]}', "not valid base64"),
        (b'{"keys": [{"id": "hue-1", "secret": "AAAA"}]}', "3 bytes"),
    ],
)
def test_key_file_problems_name_the_setting(tmp_path: Path, content: bytes | None, fragment: str) -> None:
    path = tmp_path / "keys.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=r"identity\.key_file") as caught:
        IdentityKeyring.from_file(path)
    assert fragment in str(caught.value)


def test_duplicate_key_ids_are_refused(tmp_path: Path) -> None:
    path = key_file(tmp_path / "keys.json", ("hue-1", SECRET), ("hue-1", SECRET[::-1]))
    with pytest.raises(ConfigError, match="unique"):
        IdentityKeyring.from_file(path)


def test_new_key_file_keeps_the_old_keys_after_the_new_one() -> None:
    old = IdentityKeyring((IdentityKey("hue-1", SECRET),))
    document = new_key_file_document("hue-2", old)
    assert [k["id"] for k in document["keys"]] == ["hue-2", "hue-1"]
    fresh = base64.b64decode(document["keys"][0]["secret"])
    assert len(fresh) == 32 and fresh != SECRET
    assert base64.b64decode(document["keys"][1]["secret"]) == SECRET


# ------------------------------------------------------------------------------------------------
# hash lists


def test_hash_list_round_trip_and_membership(tmp_path: Path) -> None:
    keyring = IdentityKeyring((IdentityKey("hue-1", SECRET),))
    path = tmp_path / "deny.json"
    path.write_text(json.dumps(hash_list_document([AN_KEY, AN_KEY], keyring.current)), encoding="utf-8")

    deny = load_hash_list(path, "policy.deny_list", keyring)

    assert AN_KEY in deny
    assert "id:046090001235" not in deny
    assert len(deny) == 1


def test_a_list_made_with_the_previous_key_still_matches_after_a_rotation(tmp_path: Path) -> None:
    old = IdentityKey("hue-1", SECRET)
    new = IdentityKey("hue-2", SECRET[::-1])
    path = tmp_path / "deny.json"
    path.write_text(json.dumps(hash_list_document([AN_KEY], old)), encoding="utf-8")

    deny = load_hash_list(path, "policy.deny_list", IdentityKeyring((new, old)))

    assert AN_KEY in deny
    combined = deny | IdentitySet.of(["qid:1630001"], new)
    assert AN_KEY in combined and "qid:1630001" in combined


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ([hashlib.sha256(AN_KEY.encode()).hexdigest()], "names no key_id"),
        ({"hashes": [hashlib.sha256(AN_KEY.encode()).hexdigest()]}, "names no key_id"),
        ({"key_id": "hue-9", "hashes": []}, "does not hold"),
        ({"key_id": "hue-1", "hashes": ["xyz"]}, "not 64 hex digits"),
        ({"key_id": "hue-1", "hashes": [12]}, "not 64 hex digits"),
        ({"key_id": "hue-1"}, '"hashes"'),
    ],
)
def test_bad_hash_lists_name_the_setting_and_what_to_do(
    tmp_path: Path, document: object, fragment: str
) -> None:
    path = tmp_path / "deny.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    keyring = IdentityKeyring((IdentityKey("hue-1", SECRET),))
    with pytest.raises(ConfigError, match=r"policy\.deny_list") as caught:
        load_hash_list(path, "policy.deny_list", keyring)
    assert fragment in str(caught.value)


def test_a_deeply_nested_list_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "roster.json"
    path.write_text("[" * 200_000, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"policy\.roster"):
        load_hash_list(path, "policy.roster", DEMO_KEYRING)


# ------------------------------------------------------------------------------------------------
# the command line, end to end: provision, make a list, scan, rotate


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_cli(tmp_path, monkeypatch)
    return tmp_path


def kiosk(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def stdin_text(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8"))))


def stored_hashes(db: Path) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT identity_hash, identity_key_id FROM visit ORDER BY seq").fetchall()


def test_provision_list_scan_and_rotate(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    keys1, keys2 = isolated / "keys-1.json", isolated / "keys-2.json"
    deny, db = isolated / "deny.json", isolated / "kiosk.db"
    an, binh = isolated / "an.png", isolated / "binh.png"
    assert cv2.imwrite(str(an), render_code(CCCD_AN.encode(), "paper", seed=1))
    assert cv2.imwrite(str(binh), render_code(CCCD_BINH.encode(), "paper", seed=1))

    code, out, _ = kiosk(capsys, "identity", "new-key", "--id", "hue-2026-1", "-o", str(keys1))
    assert code == 0 and "hue-2026-1" in out
    assert stat.S_IMODE(keys1.stat().st_mode) == 0o600
    stdin_text(monkeypatch, "# people who must not enter\nid:046090001234\n")
    code, _, _ = kiosk(
        capsys, "identity", "hash-list", "--set", f"identity.key_file={keys1}", "-o", str(deny)
    )
    assert code == 0
    assert json.loads(deny.read_text())["key_id"] == "hue-2026-1"

    settings = ["--set", f"policy.deny_list={deny}", "--db", str(db)]
    code, out, _ = kiosk(capsys, "scan", *settings, "--set", f"identity.key_file={keys1}", str(an))
    assert "REFUSED" in out and "deny_list" in out

    # Rotation: the new key file holds the new key first and the old one after it; the old list still works.
    code, _, _ = kiosk(
        capsys, "identity", "new-key", "--id", "hue-2026-2", "--rotate", str(keys1), "-o", str(keys2)
    )
    assert code == 0
    code, out, _ = kiosk(capsys, "scan", *settings, "--set", f"identity.key_file={keys2}", str(an), str(binh))
    refused, granted = out.splitlines()
    assert "deny_list" in refused and "GRANTED" in granted

    keyring2 = IdentityKeyring.from_file(keys2)
    old_key = keyring2.get("hue-2026-1")
    assert old_key is not None
    assert stored_hashes(db) == [
        (old_key.hash(AN_KEY), "hue-2026-1"),
        (keyring2.hash(AN_KEY), "hue-2026-2"),
        (keyring2.hash("id:046305009876"), "hue-2026-2"),
    ]
    assert hashlib.sha256(AN_KEY.encode()).hexdigest() not in {h for h, _ in stored_hashes(db)}


def test_a_plain_sha256_deny_list_stops_start_up_with_what_to_do(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deny = isolated / "deny.json"
    deny.write_text(json.dumps({"hashes": [hashlib.sha256(AN_KEY.encode()).hexdigest()]}), encoding="utf-8")
    image = isolated / "an.png"
    assert cv2.imwrite(str(image), render_code(CCCD_AN.encode(), "paper", seed=1))

    code, out, err = kiosk(
        capsys, "scan", "--db", str(isolated / "k.db"), "--set", f"policy.deny_list={deny}", str(image)
    )

    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "policy.deny_list" in err and "names no key_id" in err


def test_new_key_never_overwrites_a_key_file(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = key_file(isolated / "keys.json", ("hue-1", SECRET))
    before = existing.read_bytes()
    code, _, err = kiosk(capsys, "identity", "new-key", "--id", "hue-2", "-o", str(existing))
    assert code == 2 and "already exists" in err
    assert existing.read_bytes() == before


def test_hash_list_refuses_a_line_that_is_not_an_identity_key(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin_text(monkeypatch, "id:046090001234\n046090001234\n")
    code, out, err = kiosk(capsys, "identity", "hash-list")
    assert code == 2 and out == "" and "line 2" in err
    stdin_text(monkeypatch, "id:０４６０９０００１２３４\n")
    code, out, err = kiosk(capsys, "identity", "hash-list")
    assert code == 2 and "12 ASCII digits" in err
