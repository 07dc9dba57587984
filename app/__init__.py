"""Layer: app. The composition root: the ``kiosk`` console script and its command table (``app.cli``),
building the store, keyring, trust list and pipeline from the configuration (``app.build``), the live gate
without a screen (``app.headless``) and the installer's self-test (``app.doctor``).

Only this package reads the environment and the real clock and wires the layers together; nothing imports
it. The touchscreen app (``ui``) is imported from here only when a screen is used.
"""
