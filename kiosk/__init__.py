"""Layer: core. The kiosk's pure core: config, value types, decoding, payload parsing, policy, storage, CLI.

Nothing in this package imports Qt, GPIO, camera libraries or an HTTP client (checked by import-linter).
"""

__version__ = "0.1.0"
