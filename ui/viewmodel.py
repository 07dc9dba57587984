"""Layer: ui. View-models: the frozen values the screens are built from (napari's ``QtDims(dims)``).

The scan worker turns a ``LoopVerdict`` into a ``VerdictView`` on its own thread (``verdict_view``), so no
``Verdict``, ``Credential`` or ORM row ever reaches a widget, and identity is masked before it crosses over.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.device import CameraState
from kiosk.hints import Hint
from kiosk.model import Direction, Kind, Outcome, Reason
from kiosk.scanloop import LoopVerdict

#: The province's smart-city operations centre (the dispatch names it for anyone who is stuck).
HOTLINE = "1900 1075"


@dataclass(frozen=True, slots=True)
class VerdictView:
    """What the result screen shows for one code. ``name`` and ``id_tail`` are already masked."""

    outcome: Outcome
    reason: Reason
    kind: Kind
    direction: Direction = Direction.IN
    name: str = ""  # "Nguyễn V. A"
    id_tail: str = ""  # "••••0321"
    recorded: bool = False
    repeat: bool = False
    latency_ms: float = 0.0

    @property
    def identity(self) -> str:
        """``Nguyễn V. A · ••••0321`` (either part may be missing)."""
        return " · ".join(p for p in (self.name, self.id_tail) if p)


def verdict_view(published: LoopVerdict) -> VerdictView:
    """The view of a published verdict. Called on the scan worker thread."""
    verdict = published.verdict
    subject = verdict.decision.credential.masked_subject() if verdict.decision.credential else {}
    return VerdictView(
        outcome=verdict.outcome,
        reason=verdict.reason,
        kind=verdict.decision.kind,
        direction=verdict.direction,
        name=subject.get("name", ""),
        id_tail=subject.get("id", ""),
        recorded=verdict.visit is not None,
        repeat=verdict.not_recorded is Reason.REPEAT,
        latency_ms=published.latency_ms,
    )


@dataclass(frozen=True, slots=True)
class PlaceView:
    """The premises and this gate, as the scan screen shows them."""

    name: str
    code: str  # the location code; the screen shows its QR (``QRGATE:LOC:<code>``)
    direction: Direction


@dataclass(frozen=True, slots=True)
class SyncView:
    """Upload state: online or not, and how many visits wait to be sent (the store's backlog)."""

    online: bool = False
    backlog: int = 0


@dataclass(frozen=True, slots=True)
class CameraView:
    """The camera's state for the screen (``kiosk.device.CameraStatus`` minus what only the log needs)."""

    state: CameraState
    fps: float = 0.0

    @property
    def lost(self) -> bool:
        return self.state is CameraState.LOST


__all__ = ["HOTLINE", "CameraView", "Hint", "PlaceView", "SyncView", "VerdictView", "verdict_view"]
