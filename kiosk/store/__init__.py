"""Layer: core. The kiosk's local record of visits (SQLite through peewee) and its upload outbox.

``Store`` is the only way in: ``Store.open(path, device_id=..., location_code=...,
privacy_notice_version=...)``, then ``record``, ``pending``/``acknowledge`` for the sync worker,
``visits`` for the guard console and exports, and ``purge`` for retention.
"""

from kiosk.store.db import SCHEMA_VERSION
from kiosk.store.repository import DiskSpace, Store, default_disk_free

__all__ = ["SCHEMA_VERSION", "DiskSpace", "Store", "default_disk_free"]
