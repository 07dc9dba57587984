"""The writer killed by ``tests/test_store_crash.py``: records visits in a loop until it is killed.

Run as ``python -m tests.store_crash_child DBPATH [MAX_VISITS]`` or ``python tests/store_crash_child.py
DBPATH [MAX_VISITS]``. After each ``Store.record`` returns (COMMIT done) it prints the visit's
``seq`` and flushes: a printed line stands for "the visitor was told it is recorded", so the parent may
demand that every printed seq survives a SIGKILL. It prints ``ready`` once the store is open, so the
parent can tell kills during start-up from kills during writes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        sys.stderr.write("usage: store_crash_child DBPATH [MAX_VISITS]\n")
        return 2
    if not __package__:
        # Run by path: make the checkout importable (the package is not installed in the venv).
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from datetime import UTC, datetime

    from kiosk.model import ClockReading, Credential, Decision, Direction, Kind, Outcome, Reason
    from kiosk.store import Store

    db_path = Path(argv[0])
    max_visits = int(argv[1]) if len(argv) == 2 else None
    credential = Credential(
        kind=Kind.CCCD,
        identity_key="id:046090001234",
        id_number="046090001234",
        name="Nguyễn Văn An",
    )
    decision = Decision(outcome=Outcome.GRANTED, reason=Reason.OK, kind=Kind.CCCD, credential=credential)
    boot_id = "crash-test-boot"
    out = sys.stdout
    with Store.open(
        db_path,
        device_id="crash-test-device",
        location_code="HUE-TEST-001",
        privacy_notice_version="2025-01",
        min_free_mb=0,
    ) as store:
        out.write("ready\n")
        out.flush()
        written = 0
        while max_visits is None or written < max_visits:
            # The outermost seam: the only place this program reads the clocks.
            at = ClockReading(
                wall=datetime.now(UTC),
                synchronised=False,
                boot_id=boot_id,
                monotonic_s=time.monotonic(),
            )
            visit = store.record(decision, at=at, direction=Direction.IN)
            # Only now, after COMMIT returned, may the visit be reported as recorded.
            out.write(f"{visit.seq}\n")
            out.flush()
            written += 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
