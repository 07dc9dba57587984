"""The access decision, from a table of cases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kiosk.config import PolicyConfig
from kiosk.errors import PayloadError
from kiosk.identity import IdentityKey, IdentityKeyring, IdentitySet
from kiosk.model import ClockReading, Credential, Kind, Outcome, PolicyMode, Reason

NOW = ClockReading(datetime(2026, 11, 27, 9, tzinfo=UTC), True, "boot", 5000.0)
AN = Credential(Kind.CCCD, "id:046090001234", "046090001234", "Nguyễn Văn An")
BINH = Credential(Kind.QRQG, "qid:1630001", "1630001", "TRAN THI BINH")
CERT = Credential(Kind.DCC, "dcc:URN:UVCI:01:VN:X", name="Nguyễn Văn An", is_health_certificate=True)
GUARD_TYPED = Credential(Kind.MANUAL, "id:046090009999", "046090009999", "Lê Văn Khách")
KEY = IdentityKey("hue-test-1", b"policy tests identity key, 32+ bytes")
KEYRING = IdentityKeyring((KEY,))
AN_HASH = KEY.hash("id:046090001234")

LOG = PolicyConfig()
HEALTH = PolicyConfig(mode=PolicyMode.HEALTH)
ALLOW = PolicyConfig(mode=PolicyMode.ALLOWLIST)

CASES = [
    # id, credential, policy, deny, roster, last_seen, outcome, reason, repeat
    ("log admits any identity", AN, LOG, (), (), {}, Outcome.GRANTED, Reason.OK, False),
    ("log admits a certificate", CERT, LOG, (), (), {}, Outcome.GRANTED, Reason.OK, False),
    (
        "deny list refuses in log mode",
        AN,
        LOG,
        (AN_HASH,),
        (),
        {},
        Outcome.REFUSED,
        Reason.DENY_LIST,
        False,
    ),
    (
        "deny list beats the roster",
        AN,
        ALLOW,
        (AN_HASH,),
        (AN_HASH,),
        {},
        Outcome.REFUSED,
        Reason.DENY_LIST,
        False,
    ),
    (
        "health needs a certificate",
        AN,
        HEALTH,
        (),
        (),
        {},
        Outcome.REFUSED,
        Reason.HEALTH_CERT_REQUIRED,
        False,
    ),
    ("health admits a certificate", CERT, HEALTH, (), (), {}, Outcome.GRANTED, Reason.OK, False),
    (
        "health admits a guard's manual entry",
        GUARD_TYPED,
        HEALTH,
        (),
        (),
        {},
        Outcome.GRANTED,
        Reason.OK,
        False,
    ),
    (
        "allowlist admits the roster",
        AN,
        ALLOW,
        (),
        (AN_HASH,),
        {},
        Outcome.GRANTED,
        Reason.OK,
        False,
    ),
    (
        "allowlist sends others to the guard",
        BINH,
        ALLOW,
        (),
        (AN_HASH,),
        {},
        Outcome.NEEDS_GUARD,
        Reason.NOT_ON_ROSTER,
        False,
    ),
    (
        "repeat within the window",
        AN,
        LOG,
        (),
        (),
        {AN_HASH: 4990.0},
        Outcome.GRANTED,
        Reason.OK,
        True,
    ),
    (
        "repeat keeps a refusal",
        AN,
        LOG,
        (AN_HASH,),
        (),
        {AN_HASH: 4990.0},
        Outcome.REFUSED,
        Reason.DENY_LIST,
        True,
    ),
    (
        "after the window it is a new visit",
        AN,
        LOG,
        (),
        (),
        {AN_HASH: 4960.0},
        Outcome.GRANTED,
        Reason.OK,
        False,
    ),
    (
        "someone else is not a repeat",
        BINH,
        LOG,
        (),
        (),
        {AN_HASH: 4999.0},
        Outcome.GRANTED,
        Reason.OK,
        False,
    ),
    (
        "a clock from another boot is not a repeat",
        AN,
        LOG,
        (),
        (),
        {AN_HASH: 9000.0},
        Outcome.GRANTED,
        Reason.OK,
        False,
    ),
]


@pytest.mark.parametrize(
    ("credential", "policy", "deny", "roster", "last_seen", "outcome", "reason", "repeat"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decide(
    credential: Credential,
    policy: PolicyConfig,
    deny: tuple[str, ...],
    roster: tuple[str, ...],
    last_seen: dict[str, float],
    outcome: Outcome,
    reason: Reason,
    repeat: bool,
) -> None:
    from kiosk.policy import LocalState, decide

    state = LocalState(
        keyring=KEYRING,
        deny=IdentitySet(((KEY, frozenset(deny)),)),
        roster=IdentitySet(((KEY, frozenset(roster)),)),
        last_seen=last_seen,
    )
    decision = decide(credential, state, NOW, policy)
    assert (decision.outcome, decision.reason, decision.repeat) == (outcome, reason, repeat)
    assert decision.credential is credential
    assert decision.kind is credential.kind


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (PayloadError(Reason.LOCATION_CODE, Kind.LOCATION), Kind.LOCATION),
        (PayloadError(Reason.DCC_EXPIRED, Kind.DCC), Kind.DCC),
        (PayloadError(Reason.UNKNOWN_FORMAT, Kind.UNKNOWN), Kind.UNKNOWN),
    ],
)
def test_refused_payloads_are_refused_with_their_reason(error: PayloadError, kind: Kind) -> None:
    from kiosk.policy import LocalState, decide

    for policy in (LOG, HEALTH, ALLOW):
        decision = decide(error, LocalState(keyring=KEYRING), NOW, policy)
        assert (decision.outcome, decision.reason, decision.kind) == (
            Outcome.REFUSED,
            error.reason,
            kind,
        )
        assert decision.credential is None
