"""Layer: ui. The touchscreen app (PySide6): screens, view-models and the bridge from the scan worker.

Imported by the composition root (``app``) only when a screen is used, so a headless install never needs
PySide6; nothing else imports it (checked by import-linter).
"""
