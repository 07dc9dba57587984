"""Bounded work and clear errors: every value at the edge of what the kiosk takes gives one line, exit 2.

Each case here was an ``internal error`` (an OverflowError, a RecursionError, a UnicodeDecodeError) or
was silently accepted before; now it names the value and what is accepted. Image batches go on past a bad
image, whatever the image did to the decoder. Commands run in-process through ``app.cli.main`` (the core
commands plus ``run``); a few run as real processes, where OpenCV's own warnings would show.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli import main
from kiosk.config import MAX_CONFIG_BYTES, load_config
from kiosk.decode.decoder import Decoder
from kiosk.demo import CCCD_AN, render_code
from kiosk.errors import ConfigError
from kiosk.payloads.text import MAX_PAYLOAD_BYTES
from tests.cli_support import isolate_cli


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No KIOSK_* variables and no /etc/kiosk: an empty config file, and tmp_path as the cwd."""
    return isolate_cli(tmp_path, monkeypatch)


def assert_one_error_line(err: str, *fragments: str) -> None:
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kiosk: error:"), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# -- command-line values at the ends of their ranges --------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (
            ["verify", "--at", "9999-12-31T23:59:59", CCCD_AN],
            ["--at", "'9999-12-31T23:59:59'", "1970 to 2100"],
        ),
        (["verify", "--at", "0001-01-01T00:00:00+14:00", CCCD_AN], ["--at", "1970 to 2100"]),
        (["export", "--from", "0001-01-01", "--to", "2026-01-01"], ["--from '0001-01-01'", "1970 to 2100"]),
        (["export", "--from", "2026-01-01", "--to", "9999-12-31"], ["--to '9999-12-31'", "1970 to 2100"]),
        (["visits", "--limit", str(10**30)], ["--limit", str(10**30), "from 1 to 1000000"]),
        (["visits", "--limit", "0"], ["--limit", "from 1 to 1000000"]),
        (["run", "--headless", "--duration", "nan"], ["--duration", "'nan'", "above 0"]),
        (["run", "--headless", "--duration", "inf"], ["--duration", "'inf'", "at most 31622400"]),
        (["run", "--headless", "--duration", "1e400"], ["--duration", "'1e400'"]),
        (["run", "--headless", "--duration", "-1"], ["--duration", "'-1'"]),
        (["run", "--headless", "--duration", "soon"], ["--duration", "'soon'", "number of seconds"]),
    ],
)
def test_values_at_the_edges_are_one_line_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], fragments: list[str]
) -> None:
    db = tmp_path / "visits.db"

    status = main([*argv[:1], "--db", str(db), *argv[1:]])

    out, err = capsys.readouterr()
    assert status == 2, err
    assert out == ""
    assert_one_error_line(err, *fragments)
    assert not db.exists()


def test_verify_dash_reads_no_more_than_one_byte_past_the_payload_cap(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = io.BytesIO(b"A" * (10 * MAX_PAYLOAD_BYTES))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(stdin))

    status = main(["verify", "-"])

    out, _ = capsys.readouterr()
    assert status == 1
    assert json.loads(out)["reason"] == "too_long"
    assert stdin.tell() == MAX_PAYLOAD_BYTES + 1  # the rest of the stream is never read


def test_verify_dash_at_the_cap_is_still_parsed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(CCCD_AN.encode().ljust(MAX_PAYLOAD_BYTES))))

    main(["verify", "-"])

    assert json.loads(capsys.readouterr().out)["reason"] != "too_long"


@pytest.mark.parametrize("at", ["1970-01-01T00:00:00+14:00", "2100-12-31T23:59:59-12:00"])
def test_verify_at_the_ends_of_the_accepted_years_gives_a_verdict(
    capsys: pytest.CaptureFixture[str], at: str
) -> None:
    status = main(["verify", "--at", at, CCCD_AN])

    out, err = capsys.readouterr()
    assert status in (0, 1), err
    assert json.loads(out)["kind"] == "cccd"


# -- configuration values: TOML file, KIOSK_* variables, --set ----------------------------------------


@pytest.mark.parametrize(
    ("setting", "key", "fragment"),
    [
        ("decoder.crop_margin=nan", "decoder.crop_margin", "'nan'"),
        ("camera.fps=inf", "camera.fps", "'inf'"),
        ("retention.days=1e400", "retention.days", "'1e400' is out of range"),
        ("retention.days=30.5", "retention.days", "'30.5' is not a whole number"),
        ("store.min_free_mb=" + "9" * 30, "store.min_free_mb", "out of range; finite numbers from"),
        ("camera.exposure=inf", "camera.exposure", "'auto', or a number"),
        ("location.name=An\x1b[31m", "location.name", "control character U+001B"),
        ("decoder.max_image_pixels=1000000000", "decoder.max_image_pixels", "between 10000 and 250000000"),
    ],
)
def test_set_values_that_are_not_finite_sane_or_clean_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setting: str, key: str, fragment: str
) -> None:
    status = main(["visits", "--db", str(tmp_path / "v.db"), "--set", setting])

    assert status == 2
    assert_one_error_line(capsys.readouterr().err, f"config {key}:", fragment)


@pytest.mark.parametrize(
    ("toml", "key", "fragment"),
    [
        ("[policy]\nrepeat_window_s = nan\n", "policy.repeat_window_s", "nan is out of range"),
        ("[decoder]\ncrop_margin = -inf\n", "decoder.crop_margin", "-inf is out of range"),
        ("[store]\nmin_free_mb = inf\n", "store.min_free_mb", "inf is out of range"),
        ("[store]\nmin_free_mb = 1e400\n", "store.min_free_mb", "inf is out of range"),
        ("[retention]\ndays = 9223372036854775807\n", "retention.days", "out of range"),
        ('[location]\nname = "An\\u0000"\n', "location.name", "control character U+0000"),
        ('[store]\ndatabase = "/tmp/a\\u0000b.db"\n', "store.database", "control character U+0000"),
        ('[dcc]\ntrust_list = "/tmp/list\\n.json"\n', "dcc.trust_list", "control character U+000A"),
        ('[location]\n"\\u0000" = 1\n', "location.'\\x00'", "unknown key"),
    ],
)
def test_config_file_values_that_are_not_finite_sane_or_clean_are_refused(
    tmp_path: Path, toml: str, key: str, fragment: str
) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(toml, encoding="utf-8")

    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})

    assert err.value.key == key
    assert fragment in str(err.value)
    assert str(err.value).isprintable()


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("KIOSK_GATE_UNLOCK_S", "nan", "gate.unlock_s: 'nan'"),
        ("KIOSK_LOCATION_NAME", "Văn phòng\x07", "location.name: contains the control character U+0007"),
        ("KIOSK_STORE_DATABASE", "/tmp/k\x01.db", "store.database: contains the control character U+0001"),
    ],
)
def test_environment_values_are_checked_like_the_file(variable: str, value: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match="^config " + re.escape(fragment)):
        load_config(environ={variable: value})


def test_whole_floats_are_accepted_for_whole_numbers(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text("[retention]\ndays = 30.0\n", encoding="utf-8")

    assert load_config(path, environ={}).retention.days == 30


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (b'[location]\nname = "Hu\xe1"\n', ["is not UTF-8 text", "byte 0xe1 at offset 21"]),
        (b"a = " + b"[\n" * 100_000, ["nests arrays or tables too deeply"]),
        (b"a = " + b"{b = " * 600 + b"1" + b"}" * 600 + b"\n", ["nests arrays or tables too deeply"]),
        (b"a = " + b"[\n" * 200_000 + b"]\n" * 200_000, ["is larger than 256 KiB"]),
        (b"a = " + b"[" * 100_000 + b"]" * 100_000 + b"\n", ["line 1 is longer than 4096 characters"]),
        (b"#\n[location" + b".x" * 100_000 + b"]\n", ["line 2 is longer than 4096 characters"]),
        (b"#\n" * MAX_CONFIG_BYTES, ["is larger than 256 KiB"]),
    ],
    ids=["not-utf8", "deep-arrays", "deep-tables", "deep-200000", "deep-one-line", "deep-header", "huge"],
)
def test_unreadable_config_files_are_one_line_errors_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, fragments: list[str]
) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_bytes(content)

    status = main(["visits", "--config", str(path), "--db", str(tmp_path / "v.db")])

    assert status == 2
    assert_one_error_line(capsys.readouterr().err, "config --config:", str(path), *fragments)


def test_a_utf8_bom_is_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_bytes(b'\xef\xbb\xbf[location]\nname = "Hu\xe1\xba\xbf"\n')

    assert load_config(path, environ={}).location.name == "Huế"


# -- image batches: a bad image has its own line, the good ones are decoded -------------------------------


def huge_png(side: int = 20_000) -> bytes:
    """A real, valid 1-bit PNG of side×side pixels: about 50 KB that OpenCV would decode into 400 MB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" * (1 + (side + 7) // 8)
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture
def batch(tmp_path: Path) -> dict[str, Path]:
    """[good, huge-header PNG, truncated file, directory, good], as the issue lists them."""
    good = tmp_path / "good.png"
    assert cv2.imwrite(str(good), render_code(CCCD_AN.encode(), "paper", seed=7))
    huge = tmp_path / "huge.png"
    huge.write_bytes(huge_png())
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    folder = tmp_path / "folder.png"
    folder.mkdir()
    again = tmp_path / "again.png"
    again.write_bytes(good.read_bytes())
    return {"good": good, "huge": huge, "truncated": truncated, "folder": folder, "again": again}


BAD_LINES = {
    "huge": "declares 20000x20000 = 400,000,000 pixels; at most 40,000,000 are accepted",
    "truncated": "damaged or truncated PNG data",
    "folder": "Is a directory",
}


def test_decode_batch_goes_on_past_each_bad_image(
    batch: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["decode", *map(str, batch.values())])

    out, err = capsys.readouterr()
    assert status == 1
    rows = {Path(row["image"]).stem: row for row in map(json.loads, out.splitlines())}
    assert list(rows) == ["good", "huge", "truncated", "folder", "again"]
    for name in ("good", "again"):
        assert [s["text"] for s in rows[name]["symbols"]] == [CCCD_AN]
        assert "error" not in rows[name]
    err_lines = err.splitlines()
    assert len(err_lines) == 3, err
    for name, fragment in BAD_LINES.items():
        assert fragment in rows[name]["error"]
        assert any(str(batch[name]) in line and fragment in line for line in err_lines)


def test_scan_batch_goes_on_past_each_bad_image(
    tmp_path: Path, batch: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["scan", "--db", str(tmp_path / "v.db"), *map(str, batch.values())])

    out, err = capsys.readouterr()
    assert status == 1
    lines = out.splitlines()
    assert len(lines) == 5, out
    assert lines[0].startswith(f"{batch['good']}: GRANTED cccd")
    assert lines[4].startswith(f"{batch['again']}: GRANTED cccd")  # a repeat, but decoded
    for line, name in zip(lines[1:4], ("huge", "truncated", "folder"), strict=True):
        assert line.startswith(f"{batch[name]}: ERROR ")
        assert BAD_LINES[name] in line
    assert "Traceback" not in err


@pytest.mark.parametrize("failure", [MemoryError(), cv2.error("OpenCV(5.0.0) resize: (-4) out of memory")])
@pytest.mark.parametrize("command", ["decode", "scan"])
def test_a_decoder_failure_mid_batch_is_that_images_line(
    tmp_path: Path,
    batch: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
    command: str,
) -> None:
    poison = tmp_path / "poison.png"
    assert cv2.imwrite(str(poison), np.full((123, 321), 200, np.uint8))
    real_decode = Decoder.decode

    def decode(self: Decoder, gray: np.ndarray, *args: object, **kwargs: object) -> object:
        if gray.shape == (123, 321):
            raise failure
        return real_decode(self, gray, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Decoder, "decode", decode)
    images = [batch["good"], poison, batch["again"]]
    argv = [command, *(["--db", str(tmp_path / "v.db")] if command == "scan" else []), *map(str, images)]

    status = main(argv)

    out, err = capsys.readouterr()
    assert status == 1
    assert "Traceback" not in err
    lines = out.splitlines()
    assert len(lines) == 3, out
    name = type(failure).__name__
    if command == "decode":
        first, middle, last = map(json.loads, lines)
        assert [s["text"] for s in first["symbols"]] == [CCCD_AN] == [s["text"] for s in last["symbols"]]
        assert middle["error"].startswith(f"cannot decode image {poison}: {name}")
        assert err.splitlines() == [f"kiosk: {middle['error']}"]
    else:
        assert "GRANTED" in lines[0] and "GRANTED" in lines[2]
        assert lines[1].startswith(f"{poison}: ERROR cannot decode image {poison}: {name}")


# -- real processes: no traceback, and no OpenCV warning lines in between ----------------------------


def run_kiosk(tmp_path: Path, isolated: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_", "OPENCV_"))}
    env["KIOSK_CONFIG"] = str(isolated)
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *argv],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_real_decode_batch_prints_exactly_one_stderr_line_per_bad_image(
    tmp_path: Path, isolated: Path, batch: dict[str, Path]
) -> None:
    proc = run_kiosk(tmp_path, isolated, "decode", *map(str, batch.values()))

    assert proc.returncode == 1
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [bool(row.get("error")) for row in rows] == [False, True, True, True, False]
    # one line per bad image, and nothing from OpenCV or libpng in between
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [f"kiosk: {row['error']}" for row in rows if row.get("error")]
    for row, name in zip(rows[1:4], BAD_LINES, strict=True):
        assert BAD_LINES[name] in row["error"]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["verify", "--at", "9999-12-31T23:59:59", CCCD_AN], "1970 to 2100"),
        (["run", "--headless", "--duration", "nan"], "--duration"),
        (["visits", "--limit", str(10**30)], "--limit"),
    ],
)
def test_real_processes_refuse_edge_values_in_one_line(
    tmp_path: Path, isolated: Path, argv: list[str], fragment: str
) -> None:
    proc = run_kiosk(tmp_path, isolated, *argv)

    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert_one_error_line(proc.stderr, fragment)
