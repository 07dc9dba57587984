"""Layer: server. The provincial server: a Django project with one app (``server.province``) that registers
locations and kiosks, hands out one-time enrolment codes and device tokens, and takes the kiosks' visit
uploads, heartbeats and configuration requests over the versioned JSON API in ``docs/sync-protocol.md``.

The server may import the core's value types (``kiosk.model``); it never imports ``app``, ``ui`` or
``hardware``. ``kiosk-server`` (``server.cli``) is its command line.
"""
