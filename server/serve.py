"""Layer: server. Running the WSGI app under gunicorn, through gunicorn's own application API.

gunicorn's master handles the signals: SIGTERM and SIGINT stop the workers gracefully (each finishes its
request, within ``graceful_timeout_s``) and the process exits 0; SIGQUIT stops at once; SIGHUP reloads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.config import KNOWN_SETTINGS

from server.errors import RegisterError

GRACEFUL_TIMEOUT_S = 10
#: A worker is restarted when one request takes longer: an upload may wait up to 30 s for SQLite's lock.
WORKER_TIMEOUT_S = 60


def _log_config() -> dict[str, Any]:
    """gunicorn's own log lines as one-line JSON on stderr, like the app's; no access log (the app logs)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "server.logs.JsonFormatter"}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
        },
        # gunicorn merges this over its own defaults key by key: root must name a handler defined here.
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {
            "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """gunicorn's arbiter serving ``server.wsgi.application`` with options from code, never from argv."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    @staticmethod
    def settings_names() -> set[str]:
        return {setting.name for setting in KNOWN_SETTINGS}

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Callable[..., Any]:
        from server.wsgi import application  # noqa: PLC0415 (in the worker, after the fork)

        app: Callable[..., Any] = application
        return app


def gunicorn_options(
    bind: str, workers: int, certfile: Path | None = None, keyfile: Path | None = None
) -> dict[str, Any]:
    """The options for ``GunicornServer``; ``RegisterError`` for a bad combination or a missing file."""
    if workers < 1 or workers > 64:
        raise RegisterError(f"--workers must be from 1 to 64, not {workers}")
    if not bind or (":" not in bind and not bind.startswith("unix:")):
        raise RegisterError(f"--bind {bind!r} is not HOST:PORT")
    if (certfile is None) != (keyfile is None):
        raise RegisterError("TLS needs both --certfile and --keyfile")
    options: dict[str, Any] = {
        "bind": [bind],
        "workers": workers,
        "worker_class": "sync",
        "timeout": WORKER_TIMEOUT_S,
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        "proc_name": "kiosk-server",
        "logconfig_dict": _log_config(),
        "accesslog": None,
        "errorlog": "-",
        "forwarded_allow_ips": "127.0.0.1",
    }
    if "control_socket_disable" in GunicornServer.settings_names():
        # gunicorn 25+: a control socket in $HOME is shared by every server of the user; we need none.
        options["control_socket_disable"] = True
    if certfile is not None and keyfile is not None:
        for flag, file in (("--certfile", certfile), ("--keyfile", keyfile)):
            if not file.is_file():
                raise RegisterError(f"{flag} {str(file)!r} is not a readable file")
        options["certfile"] = str(certfile)
        options["keyfile"] = str(keyfile)
    return options


def run(options: dict[str, Any]) -> None:
    """Serve until signalled; gunicorn exits the process (0 after a graceful SIGTERM)."""
    GunicornServer(options).run()
