"""Layer: ui (composition root). The ``kiosk`` console script: the core commands plus those that wire the
device layers — ``kiosk run`` (the live gate) and ``kiosk doctor`` (the installer's self-test).

Qt is not imported here: ``run --headless`` and ``doctor`` work on a machine without PySide6.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from kiosk import cli as core_cli
from kiosk.errors import UsageError


def _extend(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("run", parents=[common], help="run the live gate: camera, scanners, gate outputs")
    p.add_argument("--headless", action="store_true", help="no touchscreen: print one JSON line per verdict")
    p.add_argument(
        "--camera",
        metavar="SOURCE",
        help="auto | demo | replay:PATH | opencv:DEVICE | picamera2 (default: camera.source in the config)",
    )
    p.add_argument(
        "--duration",
        type=core_cli.positive_seconds,
        metavar="SECONDS",
        help="stop after this long (default: run on)",
    )
    p.add_argument("--direction", choices=["in", "out"], help="record as entering or leaving")

    p = sub.add_parser("doctor", parents=[common], help="check camera, gate, database, disk, clock, server")
    p.add_argument("--seconds", type=float, default=3.0, help="how long to watch the camera (default 3)")
    p.add_argument("--no-relay", action="store_true", help="do not click the relay")
    p.add_argument("--json", action="store_true", help="one JSON object per check")
    p.add_argument("--test-card", metavar="PNG", help="write a test card to show the camera, then exit")


def cmd_run(args: argparse.Namespace) -> int:
    from ui.headless import run_headless  # noqa: PLC0415 - device stack loads only for this command

    if not args.headless:
        raise UsageError("the touchscreen app is not installed in this version; use 'kiosk run --headless'")
    return run_headless(args)


def cmd_doctor(args: argparse.Namespace) -> int:
    from ui.doctor import Level, run_doctor, write_test_card  # noqa: PLC0415

    if args.test_card:
        write_test_card(args.test_card)
        print(f"test card written to {args.test_card}: show it to the camera and run 'kiosk doctor'")
        return core_cli.EXIT_OK
    checks = run_doctor(core_cli.config_from_args(args), seconds=args.seconds, click_relay=not args.no_relay)
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
    return core_cli.EXIT_REFUSED if failed else core_cli.EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return core_cli.main(argv, extend=_extend, commands={"run": cmd_run, "doctor": cmd_doctor})


if __name__ == "__main__":
    sys.exit(main())
