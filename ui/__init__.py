"""Layer: ui. The touchscreen app (PySide6) and the composition root that wires core and devices.

``ui.cli`` is the ``kiosk`` console script; ``ui.headless`` runs the live gate without a screen and
``ui.doctor`` is the installer's self-test. Nothing imports this package (checked by import-linter).
"""
