"""Layer: app (the composition root). The ``kiosk`` console script: its parser and its command table.

Operators and our own checks script against these exact forms, so their output is stable:

- ``kiosk decode IMAGE...``   one JSON object per image: image, symbols (text, bytes_hex, quad), ms
- ``kiosk verify [--trust-cert FILE]... [--trust-list FILE] [--at ISO8601] [PAYLOAD | -]``
  one JSON object: kind, ok, reason, subject (masked), warnings; exit 0 ok, 1 refused, 2 usage error
- ``kiosk scan IMAGE...``     the whole pipeline with a one-line verdict per image
- ``kiosk visits``            recorded visits
- ``kiosk export --from DATE --to DATE --format csv|xlsx [-o FILE|-] [--force]``
- ``kiosk trace --id NUMBER | --name NAME --birth-year YYYY [--from DATE --to DATE] [--margin-min 15]
  [--format text|csv] [-o FILE] [--full]``  contact tracing offline from this kiosk's own record (masked)
- ``kiosk demo``              the pipeline on generated codes of every kind
- ``kiosk identity new-key|hash-list``  the province's identity keys and hash lists
- ``kiosk run [--headless]``  the live gate with its touchscreen app, or without a screen (device layers
  and Qt loaded only for it)
- ``kiosk doctor``            the installer's self-test
- ``kiosk sync [--once]``     the sync worker: uploads the outbox, heartbeats, pulls the device configuration;
  ``--once``: one cycle, exit 0 when the outbox is drained, 1 when something is left or failed
- ``kiosk enroll --server URL --code CODE [--ca-file F]`` (or ``--code-qr IMAGE``, or ``--camera``)  enrol with the
  provincial server: keeps the device token and the server URL; prints the device id and location

Every command has ``--help``; bad input gives a one-line reason and a non-zero exit, never a traceback.
Neither Qt nor a device library is imported until a command needs it: a headless install never needs
PySide6.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app import commands
from app.commands import EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from kiosk import __version__
from kiosk.errors import ConfigError, KioskError, UsageError

#: The most visits ``kiosk visits --limit`` lists.
MAX_VISITS_LIMIT = 1_000_000
#: The longest ``--duration`` (a year): without it the gate runs on.
MAX_DURATION_S = 366 * 24 * 3600


def positive_seconds(text: str) -> float:
    """An argparse type for a duration: a finite number of seconds above 0 and at most a year."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not 0 < seconds <= MAX_DURATION_S:  # also NaN and infinities
        raise argparse.ArgumentTypeError(
            f"{text!r}: must be a number of seconds above 0 and at most {MAX_DURATION_S} (a year)"
        )
    return seconds


def _visit_limit(text: str) -> int:
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_VISITS_LIMIT:
        raise argparse.ArgumentTypeError(
            f"{text[:40]!r}: expected a whole number from 1 to {MAX_VISITS_LIMIT}"
        )
    return limit


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own usage errors: one line, exit 2
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _common() -> _Parser:
    common = _Parser(add_help=False)
    group = common.add_argument_group("configuration")
    group.add_argument(
        "--config",
        type=Path,
        help="TOML config file (default: $KIOSK_CONFIG or /etc/kiosk/kiosk.toml)",
    )
    group.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one config value, e.g. --set policy.mode=health (repeatable)",
    )
    group.add_argument("--db", type=Path, help="visit database file (same as --set store.database=PATH)")
    group.add_argument("-v", "--verbose", action="store_true", help="log what happens on standard error")
    return common


def build_parser() -> argparse.ArgumentParser:
    """The ``kiosk`` parser, every command."""
    common = _common()
    parser = _Parser(prog="kiosk", description="QR gate kiosk: decode, verify, scan and record visits.")
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("decode", parents=[common], help="decode QR codes in image files (JSON lines)")
    p.add_argument("images", nargs="+", metavar="IMAGE")

    p = sub.add_parser("verify", parents=[common], help="parse and verify one payload (JSON)")
    p.add_argument(
        "payload",
        nargs="?",
        metavar="PAYLOAD",
        help="payload text, or - to read raw bytes from stdin",
    )
    p.add_argument(
        "--trust-cert",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="a DCC signer certificate (PEM, DER or base64 DER); repeatable",
    )
    p.add_argument("--trust-list", type=Path, metavar="FILE", help="a JSON trust list of signer certificates")
    p.add_argument("--at", metavar="ISO8601", help="check validity at this moment (default: now)")

    p = sub.add_parser("scan", parents=[common], help="decode, verify, decide and record images")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--direction", choices=["in", "out"], help="record as entering or leaving")

    p = sub.add_parser("visits", parents=[common], help="list recorded visits, newest first")
    p.add_argument(
        "--limit", type=_visit_limit, default=50, help=f"how many, 1 to {MAX_VISITS_LIMIT} (default 50)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per visit")

    p = sub.add_parser("export", parents=[common], help="export visits of a date range to CSV or Excel")
    p.add_argument("--from", dest="date_from", required=True, metavar="DATE", help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", required=True, metavar="DATE", help="last day, YYYY-MM-DD")
    p.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    p.add_argument(
        "--output",
        "-o",
        type=Path,
        help="file to write, or - for standard output (default visits-FROM-TO.FORMAT); never the database",
    )
    p.add_argument("--force", action="store_true", help="replace the output file if it exists")

    p = sub.add_parser(
        "trace",
        parents=[common],
        help="contact tracing from this kiosk's own record: a person's visits and who was there at the same time",
    )
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--id", dest="id_number", metavar="NUMBER", help="the person's 12-digit ID number")
    who.add_argument("--name", metavar="NAME", help="the person's full name (with --birth-year)")
    p.add_argument("--birth-year", metavar="YYYY", help="the person's birth year (with --name)")
    p.add_argument(
        "--from", dest="date_from", metavar="DATE", help="first day, YYYY-MM-DD (default: 13 days ago)"
    )
    p.add_argument("--to", dest="date_to", metavar="DATE", help="last day, YYYY-MM-DD (default: today)")
    p.add_argument(
        "--margin-min",
        type=int,
        default=15,
        metavar="MINUTES",
        help="minutes either side of a visit (default 15)",
    )
    p.add_argument("--format", choices=["text", "csv"], default="text")
    p.add_argument(
        "--output", "-o", type=Path, help="file to write (default: standard output); must not exist"
    )
    p.add_argument("--full", action="store_true", help="show full ID numbers and names (default: masked)")

    p = sub.add_parser("demo", parents=[common], help="run the pipeline on generated codes of every kind")
    p.add_argument(
        "--keep-db",
        action="store_true",
        help="record into the configured database, not a temporary one",
    )
    p = sub.add_parser(
        "identity",
        help="identity keys and hash lists (deny lists, rosters) for the province's administrator",
    )
    action = p.add_subparsers(dest="identity_action", metavar="ACTION", parser_class=_Parser)
    action.required = True
    q = action.add_parser(
        "new-key", parents=[common], help="write a new identity key file (a rotation keeps the old keys)"
    )
    q.add_argument("--id", dest="key_id", required=True, help="the new key's id, e.g. hue-2026-1")
    q.add_argument(
        "--rotate", type=Path, metavar="FILE", help="the current key file: its keys follow the new one"
    )
    q.add_argument("--output", "-o", type=Path, required=True, help="key file to create (must not exist)")
    q = action.add_parser(
        "hash-list",
        parents=[common],
        help="read identity keys (id:<12 digits>, qid:, bhyt:, dcc:) one per line from stdin; "
        "write a deny list or roster made with the current identity key",
    )
    q.add_argument("--output", "-o", type=Path, help="file to write (default: standard output)")
    p = sub.add_parser("run", parents=[common], help="run the live gate: camera, scanners, gate outputs")
    p.add_argument("--headless", action="store_true", help="no touchscreen: print one JSON line per verdict")
    p.add_argument(
        "--camera",
        metavar="SOURCE",
        help="auto | demo | replay:PATH | opencv:DEVICE | picamera2 (default: camera.source in the config)",
    )
    p.add_argument(
        "--duration",
        type=positive_seconds,
        metavar="SECONDS",
        help="stop after this long (default: run on)",
    )
    p.add_argument("--direction", choices=["in", "out"], help="record as entering or leaving")
    p.add_argument(
        "--screenshots",
        type=Path,
        metavar="DIR",
        help="touchscreen app: save pictures of the scan and result screens here "
        "(default without a display: var/screenshots)",
    )
    p.add_argument(
        "--window",
        metavar="WxH",
        help="touchscreen app: a window of this size instead of full screen, e.g. 800x480",
    )

    p = sub.add_parser(
        "sync", parents=[common], help="upload recorded visits to the provincial server (the sync worker)"
    )
    p.add_argument(
        "--once",
        action="store_true",
        help="one cycle, then exit: 0 when nothing waits to be sent (parked conflicts do not wait: see kiosk "
        "doctor), 1 when something is left or failed",
    )

    p = sub.add_parser(
        "enroll", parents=[common], help="enrol this kiosk with the provincial server (one-time code)"
    )
    p.add_argument("--server", metavar="URL", help="the server's URL, e.g. https://kiosk.example.gov.vn")
    p.add_argument("--code", metavar="CODE", help="the one-time enrolment code, e.g. ABCD-EFGH-JKLM")
    p.add_argument(
        "--code-qr",
        type=Path,
        metavar="IMAGE",
        help="a picture of the enrolment QR code (KIOSK-ENROL:<url>#<code>) instead of --server and --code",
    )
    p.add_argument(
        "--camera",
        type=positive_seconds,
        nargs="?",
        const=60.0,
        metavar="SECONDS",
        help="show the enrolment QR code to the kiosk's camera instead (waits up to SECONDS, default 60; "
        "stop the gate app first: it holds the camera)",
    )
    p.add_argument(
        "--ca-file",
        type=Path,
        metavar="FILE",
        help="CA certificate (PEM) of the server (default: sync.ca_file)",
    )

    p = sub.add_parser("doctor", parents=[common], help="check camera, gate, database, disk, clock, server")
    p.add_argument(
        "--seconds", type=positive_seconds, default=3.0, help="how long to watch the camera (default 3)"
    )
    p.add_argument("--no-relay", action="store_true", help="do not click the relay")
    p.add_argument("--json", action="store_true", help="one JSON object per check")
    p.add_argument("--test-card", metavar="PNG", help="write a test card to show the camera, then exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status: 0 ok, 1 refused or failed, 2 usage or configuration error."""
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING,
            format="kiosk: %(levelname)s %(name)s: %(message)s",
        )
        handler = COMMANDS[args.command]
        return handler(args)
    except (UsageError, ConfigError) as exc:
        print(f"kiosk: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KioskError as exc:
        print(f"kiosk: error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # never a traceback for an operator; -v shows it in the log
        logging.getLogger("kiosk").info("unexpected error", exc_info=True)  # shown with -v
        print(
            f"kiosk: internal error: {type(exc).__name__}: {exc} (run with -v for details)",
            file=sys.stderr,
        )
        return EXIT_REFUSED


#: The command table: every ``kiosk`` command and its handler.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "decode": commands.cmd_decode,
    "verify": commands.cmd_verify,
    "scan": commands.cmd_scan,
    "visits": commands.cmd_visits,
    "export": commands.cmd_export,
    "trace": commands.cmd_trace,
    "demo": commands.cmd_demo,
    "identity": commands.cmd_identity,
    "run": commands.cmd_run,
    "doctor": commands.cmd_doctor,
    "sync": commands.cmd_sync,
    "enroll": commands.cmd_enroll,
}

if __name__ == "__main__":
    sys.exit(main())
