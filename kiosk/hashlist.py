"""Layer: core. Reading the identity-hash lists the province pushes (deny list, staff roster).

File format: ``{"hashes": ["<sha256 hex>", ...]}`` or a bare JSON list. A hash is the SHA-256 hex of an
identity key (``kiosk.model.identity_hash``), so the list never carries names or ID numbers in clear.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from kiosk.errors import ConfigError

_HASH = re.compile(r"[0-9a-f]{64}")


def load_hash_list(path: Path, key: str) -> frozenset[str]:
    """Load a hash list; ``key`` names the config key for the error message."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(key, f"file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(key, f"cannot read {path} as JSON: {exc}") from exc
    items = data.get("hashes") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ConfigError(key, f'{path} must hold {{"hashes": [...]}} or a JSON list')
    hashes = [str(h).lower() for h in items]
    bad = [h for h in hashes if not _HASH.fullmatch(h)]
    if bad:
        raise ConfigError(key, f"{path} has {len(bad)} entries that are not SHA-256 hex, e.g. {bad[0]!r}")
    return frozenset(hashes)
