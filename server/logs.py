"""Layer: server. Structured logging: one JSON object per line on stderr.

A record carries its message, level, logger and time, plus the ``extra`` fields a caller passes (the access
log's method, path, status, duration and device). Request bodies, headers and tokens are never logged: the
formatter drops the ``request`` object Django attaches and every extra field not on its allow-list.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

#: ``extra`` fields that may appear in a log line; anything else a library attaches is dropped.
FIELDS = (
    "method",
    "path",
    "status",
    "duration_ms",
    "device_id",
    "count",
    "stored",
    "duplicates",
    "conflicts",
    "location_code",
    "error",
    "status_code",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)
