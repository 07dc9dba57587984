"""Layer: core. The access decision: one pure function of credential, local state, time and policy.

Modes: ``log`` admits any valid identity and records it (the default for offices); ``health`` also
requires a valid health certificate; ``allowlist`` admits only people on the roster and sends everyone else
to the guard. A deny list pushed by the province refuses listed identities in every mode. The same identity
shown again within the repeat window gets the same answer but is not a second visit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kiosk.config import PolicyConfig
from kiosk.errors import PayloadError
from kiosk.model import ClockReading, Credential, Decision, Kind, Outcome, PolicyMode, Reason


@dataclass(frozen=True, slots=True)
class LocalState:
    """What the kiosk knows locally: lists pushed by the province and recent visits."""

    deny: frozenset[str] = frozenset()  # identity hashes
    roster: frozenset[str] = frozenset()  # identity hashes
    #: identity hash → monotonic seconds of its last recorded visit
    last_seen: Mapping[str, float] = field(default_factory=dict)


def decide(
    credential: Credential | PayloadError,
    state: LocalState,
    now: ClockReading,
    policy: PolicyConfig,
) -> Decision:
    """Decide what the gate does for one parsed credential (or a refused payload)."""
    if isinstance(credential, PayloadError):
        return Decision(Outcome.REFUSED, credential.reason, credential.kind)
    decision = _base_decision(credential, state, policy)
    seen = state.last_seen.get(credential.identity_hash)
    repeat = seen is not None and 0 <= now.monotonic_s - seen < policy.repeat_window_s
    if repeat:
        return Decision(decision.outcome, decision.reason, decision.kind, credential, repeat=True)
    return decision


def _base_decision(credential: Credential, state: LocalState, policy: PolicyConfig) -> Decision:
    kind = credential.kind
    key = credential.identity_hash
    if key in state.deny:
        return Decision(Outcome.REFUSED, Reason.DENY_LIST, kind, credential)
    if policy.mode is PolicyMode.ALLOWLIST and key not in state.roster:
        return Decision(Outcome.NEEDS_GUARD, Reason.NOT_ON_ROSTER, kind, credential)
    if policy.mode is PolicyMode.HEALTH and not credential.is_health_certificate and kind is not Kind.MANUAL:
        return Decision(Outcome.REFUSED, Reason.HEALTH_CERT_REQUIRED, kind, credential)
    return Decision(Outcome.GRANTED, Reason.OK, kind, credential)
