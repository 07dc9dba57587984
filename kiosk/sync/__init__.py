"""Layer: core. The kiosk's sync client: uploads the outbox to the provincial server, reports health, pulls
the device configuration (``docs/sync-protocol.md``).

Modules: ``transport`` (the HTTP seam: ``RequestsTransport``, ``FunctionTransport``; the core's only module
that imports ``requests``), ``client`` (``ServerClient``: the API as methods and typed results), ``backoff``
(capped exponential back-off with full jitter), ``state`` (the worker's files: token, state, status, pulled
configuration), ``worker`` (``SyncWorker``: one cycle, and the loop), ``fake`` (``FakeServer``, an in-memory
server for tests and demos).

Nothing here is imported by ``kiosk`` itself: ``app`` imports it when ``kiosk sync`` or ``kiosk enroll`` runs.
"""
