"""Layer: server. The server's exceptions, translated at the boundary (the API's JSON, the CLI's exit 2).

    ServerError
     ├── ApiError               an answer to a device: HTTP status, stable ``error`` code, ``detail``
     │    ├── TokenError        401 token_missing | token_invalid | token_revoked
     │    ├── EnrolmentError    403 enrolment_code_invalid
     │    ├── BatchTooLargeError 413 batch_too_large (with max_visits)
     │    └── WrongDeviceError  403 wrong_device
     └── RegisterError          an operator's command could not be done (unknown location, bad code …)

``detail`` is for people and logs; it never holds personal data or a secret.
"""

from __future__ import annotations


class ServerError(Exception):
    """The root of the server's own errors."""


class ApiError(ServerError):
    def __init__(self, status: int, error: str, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.extra = extra

    def body(self) -> dict[str, object]:
        return {"error": self.error, "detail": self.detail, **self.extra}


class TokenError(ApiError):
    def __init__(self, error: str, detail: str) -> None:
        super().__init__(401, error, detail)


class EnrolmentError(ApiError):
    def __init__(self) -> None:
        super().__init__(
            403,
            "enrolment_code_invalid",
            "this enrolment code is unknown, used or expired; ask the operator for a new one",
        )


class WrongDeviceError(ApiError):
    def __init__(self, index: int) -> None:
        super().__init__(
            403,
            "wrong_device",
            f"visit {index} names another device than the one this token belongs to; nothing was stored",
            index=index,
        )


class BatchTooLargeError(ApiError):
    """Raised before a body is parsed or its visits validated: "halve the batch", not "visit 0 is bad"."""

    def __init__(self, detail: str, max_visits: int) -> None:
        super().__init__(413, "batch_too_large", detail, max_visits=max_visits)


class RegisterError(ServerError):
    """An operator's command failed for a reason the message states (the CLI prints it and exits 2)."""
