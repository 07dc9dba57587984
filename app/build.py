"""Layer: app (the composition root). Building the core's objects from the configuration: the config tree
from the command line and the environment, the store, the identity keyring, the trust list, the pipeline.

Only ``app`` reads the environment and the real clock; everything it builds is handed down.
"""

from __future__ import annotations

import argparse
import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.config import Config, load_config
from kiosk.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from kiosk.decode import Decoder
    from kiosk.identity import IdentityKeyring, IdentitySet
    from kiosk.payloads.trust import TrustList
    from kiosk.pipeline import ScanPipeline
    from kiosk.store import Store

log = logging.getLogger(__name__)


def config_from_args(args: argparse.Namespace) -> Config:
    overrides: dict[str, str] = {}
    for item in args.set:
        key, eq, value = item.partition("=")
        if not eq:
            raise UsageError(f"--set {item!r}: expected SECTION.KEY=VALUE")
        overrides[key.strip()] = value
    if args.db is not None:
        overrides["store.database"] = str(args.db)
    config = load_config(args.config, environ=os.environ, overrides=overrides)
    server = server_layer(config)
    if not server:
        return config
    try:
        return load_config(args.config, environ=os.environ, overrides=overrides, server=server)
    except ConfigError as exc:  # the gate keeps its local configuration rather than stop
        log.error("the provincial server's configuration is not used: %s", exc)
        return config


def server_layer(config: Config) -> dict[str, dict[str, Any]]:
    """The device configuration the sync worker last applied (``kiosk.sync.state``), as a config layer:
    location, policy and retention settings, and the trust list, deny list and roster files it wrote."""
    from kiosk.sync.state import read_server_config  # noqa: PLC0415

    pulled = read_server_config(config.sync.state_dir)
    if pulled is None:
        return {}
    layer: dict[str, dict[str, Any]] = {section: dict(values) for section, values in pulled.settings.items()}
    if pulled.trust_list is not None:
        layer.setdefault("dcc", {})["trust_list"] = str(pulled.trust_list)
    if pulled.deny_list is not None:
        layer.setdefault("policy", {})["deny_list"] = str(pulled.deny_list)
    if pulled.roster is not None:
        layer.setdefault("policy", {})["roster"] = str(pulled.roster)
    return layer


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


def policy_lists(
    config: Config, keyring: IdentityKeyring, extra_deny: IdentitySet | None = None
) -> tuple[IdentitySet, IdentitySet]:
    """The configured deny list (with ``extra_deny``, the demo's) and roster as hash sets."""
    from kiosk.identity import IdentitySet, load_hash_list  # noqa: PLC0415

    policy = config.policy
    deny = extra_deny if extra_deny is not None else IdentitySet()
    if policy.deny_list is not None:
        deny = deny | load_hash_list(policy.deny_list, "policy.deny_list", keyring)
    roster = load_hash_list(policy.roster, "policy.roster", keyring) if policy.roster else IdentitySet()
    return deny, roster


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
    from kiosk.model import Direction  # noqa: PLC0415
    from kiosk.pipeline import ScanPipeline  # noqa: PLC0415

    policy = config.policy
    keyring = keyring if keyring is not None else keyring_from_config(config)
    deny, roster = policy_lists(config, keyring, deny)
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
