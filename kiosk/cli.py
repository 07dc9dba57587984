"""Layer: core (composition root for the command line). ``kiosk`` and its subcommands.

Operators and our own checks script against these exact forms, so their output is stable:

- ``kiosk decode IMAGE...``   one JSON object per image: image, symbols (text, bytes_hex, quad), ms
- ``kiosk verify [--trust-cert FILE]... [--trust-list FILE] [--at ISO8601] [PAYLOAD | -]``
  one JSON object: kind, ok, reason, subject (masked), warnings; exit 0 ok, 1 refused, 2 usage error
- ``kiosk scan IMAGE...``     the whole pipeline with a one-line verdict per image
- ``kiosk visits``            recorded visits
- ``kiosk export --from DATE --to DATE --format csv|xlsx``
- ``kiosk demo``              the pipeline on generated codes of every kind

Every command has ``--help``; bad input gives a one-line reason and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk import __version__
from kiosk.config import Config, load_config
from kiosk.errors import ConfigError, KioskError, PayloadError, UsageError

if TYPE_CHECKING:
    from kiosk.decode import Decoder
    from kiosk.identity import IdentityKeyring, IdentitySet
    from kiosk.payloads.trust import TrustList
    from kiosk.pipeline import ScanPipeline, Verdict
    from kiosk.store import Store

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
#: ``--at``, ``--from`` and ``--to`` take times in these years: 1970 because a Pi without a clock source
#: boots there, and both ends far from year 1 and 9999, where a day or a time zone later overflows.
FIRST_YEAR, LAST_YEAR = 1970, 2100
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


Extension = Callable[[Any, argparse.ArgumentParser], None]


def build_parser(extend: Extension | None = None) -> argparse.ArgumentParser:
    """The ``kiosk`` parser. ``extend(subparsers, common)`` adds commands that need the device layers
    (``run``, ``doctor``); the composition root outside the core passes it."""
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
    p.add_argument("--output", "-o", type=Path, help="file to write (default visits-FROM-TO.FORMAT)")

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
    if extend is not None:
        extend(sub, common)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    extend: Extension | None = None,
    commands: Mapping[str, Callable[[argparse.Namespace], int]] | None = None,
) -> int:
    """Run one command. ``extend``/``commands`` add the device-layer commands (see ``build_parser``)."""
    try:
        args = build_parser(extend).parse_args(argv)
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING,
            format="kiosk: %(levelname)s %(name)s: %(message)s",
        )
        handler = {**_COMMANDS, **(commands or {})}[args.command]
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


# -- helpers ------------------------------------------------------------------------------------------


def config_from_args(args: argparse.Namespace) -> Config:
    overrides: dict[str, str] = {}
    for item in args.set:
        key, eq, value = item.partition("=")
        if not eq:
            raise UsageError(f"--set {item!r}: expected SECTION.KEY=VALUE")
        overrides[key.strip()] = value
    if args.db is not None:
        overrides["store.database"] = str(args.db)
    return load_config(args.config, environ=os.environ, overrides=overrides)


def open_store(config: Config, path: Path | None = None) -> Store:
    from kiosk.store import Store  # noqa: PLC0415

    return Store.open(
        path or config.store.database,
        device_id=config.device.id,
        location_code=config.location.code,
        privacy_notice_version=config.device.privacy_notice_version,
        min_free_mb=config.store.min_free_mb,
    )


def open_read_only(config: Config) -> Store:
    """A read-only snapshot of the configured database (``visits``, ``export``, ``doctor``): never creates,
    repairs or moves anything, and works while the gate records."""
    from kiosk.store import Store  # noqa: PLC0415

    if not config.store.database.exists():
        raise UsageError(f"no visit database at {config.store.database} (set --db or store.database)")
    return Store.open_read_only(config.store.database)


def trust_from_config(config: Config) -> TrustList:
    from kiosk.payloads.trust import TrustList  # noqa: PLC0415

    if config.dcc.trust_list is None:
        return TrustList.empty()
    return TrustList.from_json_file(config.dcc.trust_list)


def keyring_from_config(config: Config) -> IdentityKeyring:
    """The province's identity keys, or the public demo key when ``identity.key_file`` is not set."""
    from kiosk.identity import DEMO_KEYRING, IdentityKeyring  # noqa: PLC0415

    if config.identity.key_file is None:
        return DEMO_KEYRING
    return IdentityKeyring.from_file(config.identity.key_file)


def build_pipeline(
    config: Config,
    store: Store,
    trust: TrustList,
    decoder: Decoder,
    direction: str | None = None,
    deny: IdentitySet | None = None,
    keyring: IdentityKeyring | None = None,
) -> ScanPipeline:
    """The scan pipeline for ``config``. The caller owns (and closes) ``store`` and ``decoder``.
    ``deny`` adds to the configured deny list (the demo's); ``keyring`` defaults to the configured one."""
    from kiosk.clock import SystemClock  # noqa: PLC0415
    from kiosk.identity import IdentitySet, load_hash_list  # noqa: PLC0415
    from kiosk.model import Direction  # noqa: PLC0415
    from kiosk.pipeline import ScanPipeline  # noqa: PLC0415

    policy = config.policy
    keyring = keyring if keyring is not None else keyring_from_config(config)
    deny = deny if deny is not None else IdentitySet()
    if policy.deny_list is not None:
        deny = deny | load_hash_list(policy.deny_list, "policy.deny_list", keyring)
    roster = load_hash_list(policy.roster, "policy.roster", keyring) if policy.roster else IdentitySet()
    pipeline = ScanPipeline(
        store=store,
        policy=policy,
        direction=Direction(direction) if direction else config.device.direction,
        keyring=keyring,
        trust=trust,
        deny=deny,
        roster=roster,
        decode=decoder.decode,
    )
    # A restart (watchdog, power blip) must not turn a visitor shown twice into two visits.
    now = SystemClock().now()
    pipeline.resume(store.visits(since=now.wall - timedelta(seconds=policy.repeat_window_s)), now)
    return pipeline


def _parse_moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(
            f"--at {text!r}: expected an ISO 8601 time such as 2022-02-09T10:00:00+07:00"
        ) from exc
    _check_year("--at", text, moment.year)  # before any arithmetic: the UTC offset is less than a day
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parse_day(flag: str, text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"{flag} {text!r}: expected a date as YYYY-MM-DD") from exc
    _check_year(flag, text, day.year)
    return day


def _check_year(flag: str, text: str, year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise UsageError(f"{flag} {text!r}: must be in the years {FIRST_YEAR} to {LAST_YEAR}")


def _jsonl(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def _opencv_defaults(verbose: bool) -> None:
    """Settings OpenCV reads once, when it is first imported (lazily, after this call): its own pixel
    ceiling, a second line behind ``load_gray``'s header check, and its log only with ``-v``: ``load_gray``
    says in one line what went wrong with an image, OpenCV's "can't read data" lines would come in between.
    Too late once OpenCV is loaded (in tests)."""
    if "cv2" in sys.modules:
        return
    from kiosk.decode.image import MAX_IMAGE_PIXELS_CEILING  # noqa: PLC0415

    os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_IMAGE_PIXELS_CEILING))
    if not verbose:
        os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")


def _image_error(image: str, exc: Exception) -> str:
    """One line for an image a batch could not handle; an unexpected error's traceback goes to ``-v``."""
    if isinstance(exc, KioskError):
        return str(exc)
    logging.getLogger("kiosk").info("unexpected error on %s", image, exc_info=True)
    lines = str(exc).strip().splitlines()  # the first line of a long library message is enough
    detail = f": {lines[0]}" if lines else ""
    return f"cannot decode image {image}: {type(exc).__name__}{detail}"


def verdict_line(verdict: Verdict) -> str:
    """One human line for a verdict: outcome, kind, masked subject, reason, recording."""
    decision = verdict.decision
    parts = [verdict.outcome.value.upper(), decision.kind.value]
    if decision.credential is not None:
        parts.extend(decision.credential.masked_subject().get(k, "") for k in ("name", "id"))
    parts.append(f"({verdict.reason.value})")
    if verdict.visit is not None:
        parts.append(f"recorded #{verdict.visit.seq}")
    elif verdict.not_recorded is not None:
        parts.append(f"not recorded: {verdict.not_recorded.value}")
    return " ".join(p for p in parts if p)


# -- commands -----------------------------------------------------------------------------------------


def cmd_decode(args: argparse.Namespace) -> int:
    from kiosk.decode import Decoder, load_gray  # noqa: PLC0415

    config = config_from_args(args)
    _opencv_defaults(args.verbose)
    status = EXIT_OK
    with Decoder(config.decoder) as decoder:
        for image in args.images:
            try:
                gray = load_gray(image, config.decoder.max_image_pixels)
                start = time.perf_counter()
                symbols = decoder.decode(gray)
            except Exception as exc:  # one bad image has its own line (MemoryError, cv2.error too)
                message = _image_error(image, exc)
                print(f"kiosk: {message}", file=sys.stderr)
                _jsonl({"image": image, "symbols": [], "ms": 0.0, "error": message})
                status = EXIT_REFUSED
                continue
            elapsed_ms = (time.perf_counter() - start) * 1000
            _jsonl(
                {
                    "image": image,
                    "symbols": [
                        {
                            "text": s.text,
                            "bytes_hex": s.raw.hex(),
                            "quad": [list(p) for p in s.quad],
                        }
                        for s in symbols
                    ],
                    "ms": round(elapsed_ms, 3),
                }
            )
    return status


def cmd_verify(args: argparse.Namespace) -> int:
    from kiosk.payloads import parse  # noqa: PLC0415
    from kiosk.payloads.trust import TrustList  # noqa: PLC0415

    if args.payload is None:
        raise UsageError("give a PAYLOAD, or - to read it from standard input")
    raw = _read_stdin_payload() if args.payload == "-" else os.fsencode(args.payload)
    now = _parse_moment(args.at) if args.at else datetime.now(UTC)
    trust = TrustList.empty()
    if args.trust_cert:
        trust = trust + TrustList.from_certificate_files(args.trust_cert)
    if args.trust_list:
        trust = trust + TrustList.from_json_file(args.trust_list)
    if not args.trust_cert and not args.trust_list:
        trust = trust_from_config(config_from_args(args))
    try:
        credential = parse(raw, now=now, trust=trust)
    except PayloadError as exc:
        _jsonl(
            {
                "kind": exc.kind.value,
                "ok": False,
                "reason": exc.reason.value,
                "subject": {},
                "warnings": [],
            }
        )
        return EXIT_REFUSED
    _jsonl(
        {
            "kind": credential.kind.value,
            "ok": True,
            "reason": "ok",
            "subject": credential.masked_subject(),
            "warnings": list(credential.warnings),
        }
    )
    return EXIT_OK


def _read_stdin_payload() -> bytes:
    """At most one byte more than any payload may be: a longer one is refused as too long, unread."""
    from kiosk.payloads.text import MAX_PAYLOAD_BYTES  # noqa: PLC0415

    if sys.stdin is None:
        raise UsageError("verify -: standard input is closed")
    data: bytes = sys.stdin.buffer.read(MAX_PAYLOAD_BYTES + 1)
    return data


def cmd_scan(args: argparse.Namespace) -> int:
    from kiosk.clock import SystemClock  # noqa: PLC0415
    from kiosk.decode import Decoder, load_gray  # noqa: PLC0415

    config = config_from_args(args)
    _opencv_defaults(args.verbose)
    clock = SystemClock()
    status = EXIT_OK
    with open_store(config) as store, Decoder(config.decoder) as decoder:
        if store.recovered_from is not None:
            print(
                f"kiosk: the database was damaged and moved aside to {store.recovered_from}",
                file=sys.stderr,
            )
        # Retention runs where the kiosk runs: uploaded visits older than the retention period go.
        purged = store.purge(clock.now().wall, config.retention.days)
        if purged:
            logging.getLogger("kiosk").info("purged %d uploaded visits past retention", purged)
        pipeline = build_pipeline(config, store, trust_from_config(config), decoder, args.direction)
        for image in args.images:
            try:
                gray = load_gray(image, config.decoder.max_image_pixels)
                verdicts = pipeline.handle_frame(gray, clock.now())
            except Exception as exc:  # one bad image has its own line (MemoryError, cv2.error too)
                print(f"{image}: ERROR {_image_error(image, exc)}")
                status = EXIT_REFUSED
                continue
            if not verdicts:
                print(f"{image}: NO CODE (hold the code flat, closer and without glare)")
                status = EXIT_REFUSED
            else:
                # One line per image, as operators' scripts expect; several codes are joined with "; ".
                print(f"{image}: " + "; ".join(verdict_line(v) for v in verdicts))
                if not all(v.ok for v in verdicts):
                    status = EXIT_REFUSED
    return status


def _visit_json(v: Any) -> dict[str, object]:
    from kiosk.model import mask_id, mask_name  # noqa: PLC0415

    return {
        "seq": v.seq,
        "uuid": v.uuid,
        "time": v.at.wall.isoformat(),
        "clock_synchronised": v.at.synchronised,
        "direction": v.direction.value,
        "kind": v.kind.value,
        "name": mask_name(v.name) if v.name else None,
        "id": mask_id(v.id_number) if v.id_number else None,
        "outcome": v.outcome.value,
        "reason": v.reason.value,
        "manual": v.manual,
        "uploaded": v.uploaded,
    }


def cmd_visits(args: argparse.Namespace) -> int:
    from kiosk.export import VIETNAM_TIME  # noqa: PLC0415

    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    config = config_from_args(args)
    with open_read_only(config) as store:
        visits = store.visits(limit=args.limit)
    for v in visits:
        row = _visit_json(v)
        if args.json:
            _jsonl(row)
        else:
            when = v.at.wall.astimezone(VIETNAM_TIME).strftime("%Y-%m-%d %H:%M:%S")
            who = " ".join(str(row[k]) for k in ("name", "id") if row[k])
            print(
                f"#{v.seq:<6} {when} {v.direction.value:<3} {v.outcome.value:<11} {v.kind.value:<8} "
                f"{who} ({v.reason.value}){' [not uploaded]' if not v.uploaded else ''}"
            )
    if not visits and not args.json:
        print("no visits recorded yet")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from kiosk.export import VIETNAM_TIME, export_visits  # noqa: PLC0415

    first = _parse_day("--from", args.date_from)
    last = _parse_day("--to", args.date_to)
    if last < first:
        raise UsageError("--to is before --from")
    config = config_from_args(args)
    since = datetime.combine(first, datetime.min.time(), VIETNAM_TIME)
    until = datetime.combine(last + timedelta(days=1), datetime.min.time(), VIETNAM_TIME)
    output = args.output or Path(f"visits-{first}-{last}.{args.format}")
    with open_read_only(config) as store:
        visits = store.visits(since=since, until=until)
    try:
        count = export_visits(visits, output, args.format)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from exc
    print(f"exported {count} visits from {first} to {last} to {output}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from kiosk.clock import SystemClock  # noqa: PLC0415
    from kiosk.decode import Decoder  # noqa: PLC0415
    from kiosk.demo import DemoSigner, demo_cases, demo_deny_list, render_code  # noqa: PLC0415

    config = config_from_args(args)
    clock = SystemClock()
    now = clock.now().wall
    signer = DemoSigner.create(now)
    trust = signer.trust_list()
    with tempfile.TemporaryDirectory(prefix="kiosk-demo-") as tmp:
        path = None if args.keep_db else Path(tmp) / "demo.db"
        with open_store(config, path) as store, Decoder(config.decoder) as decoder:
            keyring = keyring_from_config(config)
            deny = demo_deny_list(keyring.current)
            pipeline = build_pipeline(config, store, trust, decoder, deny=deny, keyring=keyring)
            print(
                f"Kiosk demo at {config.location.name} ({config.location.code}), "
                f"policy {config.policy.mode.value}, database {store.path}"
            )
            matched = 0
            cases = demo_cases(signer, now)
            for i, case in enumerate(cases, 1):
                frame = render_code(case.payload, case.style, seed=i)
                start = time.perf_counter()
                verdicts = pipeline.handle_frame(frame, clock.now())
                ms = (time.perf_counter() - start) * 1000
                line = "; ".join(verdict_line(v) for v in verdicts) or "NO CODE READ"
                good = bool(verdicts) and all(
                    v.outcome is case.expect
                    and v.reason is case.expect_reason
                    and (v.visit is not None) == case.expect_recorded
                    for v in verdicts
                )
                matched += good
                print(
                    f"{i:2}. {case.label:<44} [{case.style:<7}] {line}  {ms:.0f} ms{'' if good else '  <-- UNEXPECTED'}"
                )
            print(f"{matched}/{len(cases)} verdicts as expected; {store.backlog()} visits waiting for upload")
    return EXIT_OK if matched == len(cases) else EXIT_REFUSED


def cmd_identity(args: argparse.Namespace) -> int:
    from kiosk.identity import IdentityKeyring, hash_list_document, new_key_file_document  # noqa: PLC0415

    if args.identity_action == "new-key":
        previous = IdentityKeyring.from_file(args.rotate, "--rotate") if args.rotate else None
        try:
            document = new_key_file_document(args.key_id, previous)
        except ValueError as exc:
            raise UsageError(f"--id {args.key_id!r}: {exc}") from exc
        if previous is not None and args.key_id in previous.key_ids:
            raise UsageError(f"--id {args.key_id!r}: {args.rotate} already holds a key with that id")
        _write_secret_file(args.output, json.dumps(document, indent=2) + "\n")
        kept = f", then {', '.join(previous.key_ids)}" if previous is not None else ""
        print(f"wrote {args.output}: current key {args.key_id}{kept} (mode 0600; see docs/identity-keys.md)")
        return EXIT_OK
    keyring = keyring_from_config(config_from_args(args))
    keys: list[str] = []
    for number, raw in enumerate(sys.stdin.buffer.read(64 * 1024 * 1024).splitlines(), start=1):
        line = raw.decode("utf-8", errors="replace").strip()
        if not line or line.startswith("#"):
            continue
        kind, colon, value = line.partition(":")
        if not colon or kind not in ("id", "qid", "bhyt", "dcc") or not value:
            raise UsageError(
                f"line {number}: {line[:40]!r} is not an identity key (id:<12 digits>, qid:, bhyt:, dcc:)"
            )
        if kind == "id" and not (len(value) == 12 and value.isascii() and value.isdigit()):
            raise UsageError(f"line {number}: an id: key is 12 ASCII digits")
        keys.append(line)
    text = json.dumps(hash_list_document(keys, keyring.current), indent=1) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
        print(f"wrote {args.output}: {len(set(keys))} identities hashed with key {keyring.current.key_id}")
    return EXIT_OK


def _write_secret_file(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only; never overwrite (a lost key orphans every list)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise UsageError(f"{path} already exists; choose another file (an old key must not be lost)") from exc
    except OSError as exc:
        raise UsageError(f"cannot create {path}: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


_COMMANDS = {
    "decode": cmd_decode,
    "verify": cmd_verify,
    "scan": cmd_scan,
    "visits": cmd_visits,
    "export": cmd_export,
    "demo": cmd_demo,
    "identity": cmd_identity,
}

if __name__ == "__main__":
    sys.exit(main())
