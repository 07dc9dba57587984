"""Layer: app (the composition root). The commands of the ``kiosk`` console script that need no device:
``decode``, ``verify``, ``scan``, ``visits``, ``export``, ``trace``, ``demo``, ``identity``; and ``run`` / ``doctor``,
which load the device layers only when called.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.build import (
    build_pipeline,
    config_from_args,
    keyring_from_config,
    open_read_only,
    open_store,
    trust_from_config,
)
from kiosk.config import SYSTEM_CONFIG
from kiosk.errors import KioskError, PayloadError, UsageError
from kiosk.fileio import fsync_directory, rename_no_replace

if TYPE_CHECKING:
    from kiosk.pipeline import Verdict

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
#: ``--at``, ``--from`` and ``--to`` take times in these years: 1970 because a Pi without a clock source
#: boots there, and both ends far from year 1 and 9999, where a day or a time zone later overflows.
FIRST_YEAR, LAST_YEAR = 1970, 2100


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
    from kiosk.export import VIETNAM_TIME  # noqa: PLC0415

    first = _parse_day("--from", args.date_from)
    last = _parse_day("--to", args.date_to)
    if last < first:
        raise UsageError("--to is before --from")
    config = config_from_args(args)
    since = datetime.combine(first, datetime.min.time(), VIETNAM_TIME)
    until = datetime.combine(last + timedelta(days=1), datetime.min.time(), VIETNAM_TIME)
    output = args.output or Path(f"visits-{first}-{last}.{args.format}")
    to_stdout = str(output) == "-"
    if to_stdout and args.format == "xlsx" and sys.stdout.isatty():
        raise UsageError("an Excel file is binary: redirect it (-o - > visits.xlsx) or give -o FILE")
    if not to_stdout:
        config_file = args.config or Path(os.environ.get("KIOSK_CONFIG") or SYSTEM_CONFIG)
        _check_export_target(output, config.store.database, config_file, force=args.force)
    with open_read_only(config) as store:
        visits = store.visits(since=since, until=until)
    directory = (
        Path(tempfile.gettempdir()) if to_stdout else (output.parent if str(output.parent) else Path())
    )
    try:
        count = _write_atomically(visits, output, args.format, directory, force=args.force)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc
    print(
        f"exported {count} visits from {first} to {last} to {'standard output' if to_stdout else output}",
        file=sys.stderr if to_stdout else sys.stdout,
    )
    return EXIT_OK


def _check_export_target(output: Path, database: Path, config_file: Path, *, force: bool) -> None:
    """Never over the database, its WAL, lock or sequence files or the configuration, whatever ``--force``
    says; never over any other existing file without it."""
    protected = [database, *(Path(f"{database}{s}") for s in ("-wal", "-shm", ".lock", ".seq"))]
    for path in protected:
        if _same_file(output, path):
            raise UsageError(
                f"{output} is the visit database's own file ({path.name}); an export never writes over it — "
                "choose another -o"
            )
    if _same_file(output, config_file):
        raise UsageError(f"{output} is the kiosk's configuration file; choose another -o")
    if output.is_dir():
        raise UsageError(f"{output} is a folder; give a file name, e.g. -o {output / 'visits.xlsx'}")
    if output.exists() and not force:
        raise UsageError(f"{output} already exists; add --force to replace it, or choose another -o")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def _write_atomically(visits: Any, output: Path, fmt: str, directory: Path, *, force: bool) -> int:
    """Write into a temporary file beside the target, then put it in place in one step: a reader (or a
    power cut) sees the old file or the whole new one, never half a file. ``-`` copies it to stdout."""
    from kiosk.export import export_visits  # noqa: PLC0415

    fd, tmp_name = tempfile.mkstemp(prefix=".visits-", suffix=f".{fmt}.tmp", dir=directory)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        count = export_visits(visits, tmp, fmt)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
            if str(output) == "-":
                sys.stdout.flush()
                sys.stdout.buffer.write(fh.read())
                sys.stdout.buffer.flush()
                return count
        if force:
            os.replace(tmp, output)
        elif not rename_no_replace(tmp, output):  # never clobbers, even a file that appeared meanwhile
            raise UsageError(f"{output} already exists; add --force to replace it")
        fsync_directory(directory)
        return count
    finally:
        tmp.unlink(missing_ok=True)


def cmd_trace(args: argparse.Namespace) -> int:
    """Contact tracing from this kiosk's own record (``kiosk.trace``): masked unless ``--full``."""
    import csv  # noqa: PLC0415
    import io  # noqa: PLC0415
    from dataclasses import replace  # noqa: PLC0415

    from kiosk.export import VIETNAM_TIME, safe_cell  # noqa: PLC0415
    from kiosk.trace import (  # noqa: PLC0415
        COLUMNS,
        MAX_MARGIN,
        Period,
        Subject,
        from_kiosk_visit,
        result_rows,
        trace_visits,
    )

    if args.birth_year is not None and args.name is None:
        raise UsageError("--birth-year goes with --name (an ID number alone is enough)")
    subject = Subject.parse(args.id_number, args.name, args.birth_year)  # a TraceQueryError is a UsageError
    if not 0 <= args.margin_min <= MAX_MARGIN.total_seconds() // 60:
        raise UsageError(
            f"--margin-min {args.margin_min}: must be 0 to {int(MAX_MARGIN.total_seconds() // 60)}"
        )
    margin = timedelta(minutes=args.margin_min)
    today = datetime.now(VIETNAM_TIME).date()
    first = _parse_day("--from", args.date_from) if args.date_from else today - timedelta(days=13)
    last = _parse_day("--to", args.date_to) if args.date_to else today
    period = Period(first, last)
    config = config_from_args(args)
    if args.output is not None:
        config_file = args.config or Path(os.environ.get("KIOSK_CONFIG") or SYSTEM_CONFIG)
        _check_export_target(args.output, config.store.database, config_file, force=False)
    keyring = keyring_from_config(config)
    with open_read_only(config) as store:
        # The person's visits lie in the period; their contacts at most a margin outside it.
        recorded = store.visits(since=period.start - margin, until=period.end + margin + timedelta(seconds=1))
    here = config.location
    visits = [
        replace(t, location_name=here.name) if t.location == here.code else t
        for t in (from_kiosk_visit(v) for v in recorded)
    ]
    result = trace_visits(subject, period, margin, visits, keyring)
    out = io.StringIO()
    if args.format == "csv":
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        writer.writerows([safe_cell(c) for c in row] for row in result_rows(result, full=args.full))
    else:
        _trace_text(out, result, full=args.full)
    if args.output is None:
        sys.stdout.write(out.getvalue())
        return EXIT_OK
    try:
        # "x": never over a file that appeared since the check; a BOM so Excel reads Vietnamese names right.
        encoding = "utf-8-sig" if args.format == "csv" else "utf-8"
        with args.output.open("x", encoding=encoding, newline="") as fh:
            fh.write(out.getvalue())
    except FileExistsError as exc:
        raise UsageError(f"{args.output} already exists; choose another -o") from exc
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
    counts = result.counts()
    print(f"wrote {args.output}: {counts['visits']} visits, {counts['contacts']} contacts")
    return EXIT_OK


def _trace_text(out: Any, result: Any, *, full: bool) -> None:
    from kiosk.model import mask_id, mask_name  # noqa: PLC0415

    def when(moment: datetime) -> str:
        from kiosk.export import VIETNAM_TIME  # noqa: PLC0415

        return moment.astimezone(VIETNAM_TIME).strftime("%Y-%m-%d %H:%M:%S")

    def who(v: Any) -> str:
        if full:
            parts = [v.name or "", v.id_number or ""]
        else:
            parts = [mask_name(v.name) if v.name else "", mask_id(v.id_number) if v.id_number else ""]
        return " ".join(p for p in parts if p) or "(no identity)"

    def clock(v: Any) -> str:
        return " [kiosk clock not synchronised]" if v.clock_unsynchronised else ""

    subject = result.subject.full() if full else result.subject.masked()
    minutes = int(result.margin.total_seconds() // 60)
    print(
        f"trace of {subject} from {result.period.first} to {result.period.last}, margin {minutes} min"
        + ("" if full else " (identities masked; --full shows them)"),
        file=out,
    )
    print(f"{len(result.visits)} visits:", file=out)
    for v in result.visits:
        print(
            f"  {when(v.time)}  {v.location:<12} {v.direction.value:<4} {v.outcome.value:<11} {who(v)}{clock(v)}",
            file=out,
        )
    print(f"{len(result.contacts)} contacts:", file=out)
    for entry in result.windows:
        w = entry.window
        if not entry.contacts:
            continue
        place = f"{w.location} {w.location_name}".strip()
        print(f"  at {place} from {when(w.start)} to {when(w.end)}:", file=out)
        for c in entry.contacts:
            times = ", ".join(when(v.time) + clock(v) for v in c.visits)
            print(f"    {who(c)}: {times}", file=out)


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


def cmd_run(args: argparse.Namespace) -> int:
    if args.headless:
        from app.headless import run_headless  # noqa: PLC0415 - the device stack loads only for this command

        return run_headless(args)
    import importlib.util  # noqa: PLC0415

    if importlib.util.find_spec("PySide6") is None:  # say so plainly, without importing Qt here
        raise UsageError(
            "the touchscreen app needs PySide6 (pip install 'qr-gate-kiosk[ui]'); or use 'kiosk run --headless'"
        )
    from app.gui import run_gui  # noqa: PLC0415 - Qt and the device stack load only for this command

    return run_gui(args)


def cmd_sync(args: argparse.Namespace) -> int:
    from app.sync import cmd_sync as run_sync  # noqa: PLC0415 - requests loads only for this command

    return run_sync(args)


def cmd_enroll(args: argparse.Namespace) -> int:
    from app.sync import cmd_enroll as run_enroll  # noqa: PLC0415 - requests loads only for this command

    return run_enroll(args)


def cmd_doctor(args: argparse.Namespace) -> int:
    from app.doctor import Level, run_doctor, write_test_card  # noqa: PLC0415

    if args.test_card:
        write_test_card(args.test_card)
        print(f"test card written to {args.test_card}: show it to the camera and run 'kiosk doctor'")
        return EXIT_OK
    checks = run_doctor(config_from_args(args), seconds=args.seconds, click_relay=not args.no_relay)
    for check in checks:
        if args.json:
            print(
                json.dumps(
                    {"check": check.name, "level": check.level.value, "message": check.message},
                    ensure_ascii=False,
                )
            )
        else:
            print(f"{check.level.value:<4}  {check.name:<18} {check.message}")
    failed = [c for c in checks if c.level is Level.FAIL]
    if not args.json:
        warned = sum(c.level is Level.WARN for c in checks)
        print(f"{len(checks)} checks: {len(failed)} failed, {warned} warnings")
    return EXIT_REFUSED if failed else EXIT_OK
