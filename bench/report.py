"""What every benchmark shares: where the reference data is, what machine ran it, and how it reports.

Each benchmark prints its table, may replace its marked section of ``docs/benchmarks.md`` (``write_section``)
and ends by printing exactly one JSON line with all its figures (``print_json``), so CI can keep them.
"""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def shared_dir() -> Path:
    """The reference data folder: ``$KIOSK_SHARED_DIR``, else ``../shared`` beside the checkout."""
    env = os.environ.get("KIOSK_SHARED_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared"


def machine() -> str:
    """``<cpu model>, <n> cpu, <arch>``, as the tables print it."""
    model = platform.processor() or "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cpu, {platform.machine()}"


def header(bench: str) -> dict[str, Any]:
    """The fields every JSON report starts with."""
    return {
        "bench": bench,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "python": platform.python_version(),
    }


def write_section(path: Path, name: str, body: str, heading: str = "") -> None:
    """Replace the part of ``path`` between ``<!-- name:start -->`` and ``<!-- name:end -->`` with ``body``;
    append the section (under ``heading``, if given) when the file does not have it yet."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    section = f"{start}\n{body.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if start in text and end in text:
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        text = head + section + tail
    else:
        parts = [text.rstrip()] if text.strip() else []
        parts += [heading] if heading else []
        text = "\n\n".join([*parts, section]) + "\n"
    path.write_text(text, encoding="utf-8")


def print_json(report: dict[str, Any]) -> None:
    """The last line of a benchmark's output: every figure, on one line."""
    print(json.dumps(report, ensure_ascii=False, separators=(",", ":")))
