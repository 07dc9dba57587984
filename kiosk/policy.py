"""Layer: core. The access decision: one pure function of credential, local state, time and policy.

Modes: ``log`` admits any valid identity and records it (the default for offices); ``health`` also
requires a valid health certificate; ``allowlist`` admits only people on the roster and sends everyone else
to the guard. A deny list pushed by the province refuses listed identities in every mode. The same identity
shown again within the repeat window gets the same answer but is not a second visit.

Identities are compared only as keyed hashes (``kiosk.identity``): the deny list and roster are
``IdentitySet``s made with one of the province's keys, and the decision carries the hash under the current
key, which is what the record stores and the repeat filter remembers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kiosk.config import PolicyConfig
from kiosk.errors import PayloadError
from kiosk.identity import IdentityKeyring, IdentitySet
from kiosk.model import ClockReading, Credential, Decision, Kind, Outcome, PolicyMode, Reason


@dataclass(frozen=True, slots=True)
class LocalState:
    """What the kiosk knows locally: its identity keys, lists pushed by the province and recent visits."""

    keyring: IdentityKeyring
    deny: IdentitySet = field(default_factory=IdentitySet)
    roster: IdentitySet = field(default_factory=IdentitySet)
    #: identity hash (current key) → monotonic seconds of its last recorded visit
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
    outcome, reason = _base_decision(credential, state, policy)
    key = state.keyring.current
    identity_hash = key.hash(credential.identity_key)
    seen = state.last_seen.get(identity_hash)
    repeat = seen is not None and 0 <= now.monotonic_s - seen < policy.repeat_window_s
    return Decision(
        outcome,
        reason,
        credential.kind,
        credential,
        repeat=repeat,
        identity_hash=identity_hash,
        identity_key_id=key.key_id,
    )


def _base_decision(credential: Credential, state: LocalState, policy: PolicyConfig) -> tuple[Outcome, Reason]:
    key = credential.identity_key
    if key in state.deny:
        return Outcome.REFUSED, Reason.DENY_LIST
    if policy.mode is PolicyMode.ALLOWLIST and key not in state.roster:
        return Outcome.NEEDS_GUARD, Reason.NOT_ON_ROSTER
    if (
        policy.mode is PolicyMode.HEALTH
        and not credential.is_health_certificate
        and credential.kind is not Kind.MANUAL
    ):
        return Outcome.REFUSED, Reason.HEALTH_CERT_REQUIRED
    return Outcome.GRANTED, Reason.OK
