"""Runs every case of the EU ``dcc-testdata`` suite (``shared/data/dcc-testdata``) through ``verify_dcc``.

Each case gives an ``HC1:`` string (``PREFIX``), its DSC (``TESTCTX.CERTIFICATE``), a clock and expected
booleans per verification step. A false flag means the code must be refused for a reason that fits that step
(``FLAG_REASONS``); when every flag present is true, the code must verify. ``EXPECTEDSCHEMAVALIDATION`` is not
a refusal criterion: a correctly signed, unexpired code that breaks the schema (``DGC1``, ``DGC2``, two
entries in ``RO/2``) must still verify, with the warning ``dcc_schema`` where our checks notice.

The clock is ``TESTCTX.VALIDATIONCLOCK`` when the case tests expiry; otherwise it is one second after the
code's ``iat`` (the suite's clocks are often unrelated to the code then), or the middle of the DSC's validity
when the payload cannot be decoded.

Cases listed in ``tests/known_issues.csv`` of the suite are marked ``xfail`` (non-strict), which is how the
suite itself treats them; they show as XPASS when we verify them anyway.

See the per-country table with ``.venv/bin/python -m tests.test_dcc_testdata`` or
``pytest -s tests/test_dcc_testdata.py -k summary``.
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
import re
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography import x509

from kiosk.errors import PayloadError, TrustListError
from kiosk.model import Reason
from kiosk.payloads.base45 import b45decode
from kiosk.payloads.dcc import verify_dcc
from kiosk.payloads.trust import Signer, TrustList
from tests.shared import shared_dir

TESTDATA = "data/dcc-testdata"

# Which refusals fit a step the suite expects to fail. Several steps can only fail as a malformed structure
# (a COSE that is not a COSE cannot be verified, test CBO2), hence DCC_CBOR in more than one set.
FLAG_REASONS: Mapping[str, frozenset[Reason]] = {
    "EXPECTEDUNPREFIX": frozenset({Reason.DCC_PREFIX}),
    "EXPECTEDB45DECODE": frozenset({Reason.DCC_BASE45}),
    "EXPECTEDCOMPRESSION": frozenset({Reason.DCC_COMPRESSION}),
    "EXPECTEDDECODE": frozenset({Reason.DCC_CBOR, Reason.DCC_INVALID_CONTENT}),
    "EXPECTEDVERIFY": frozenset(
        {Reason.DCC_SIGNATURE, Reason.DCC_UNKNOWN_KID, Reason.DCC_BAD_ALGORITHM, Reason.DCC_CBOR}
    ),
    "EXPECTEDEXPIRATIONCHECK": frozenset({Reason.DCC_EXPIRED, Reason.DCC_NOT_YET_VALID}),
    "EXPECTEDKEYUSAGE": frozenset({Reason.DCC_KEY_USAGE}),
    "EXPECTEDVALIDOBJECT": frozenset({Reason.DCC_CBOR, Reason.DCC_INVALID_CONTENT}),
    "EXPECTEDVALIDJSON": frozenset({Reason.DCC_CBOR, Reason.DCC_INVALID_CONTENT}),
}
SCHEMA_FLAG = "EXPECTEDSCHEMAVALIDATION"


@dataclass(frozen=True)
class Case:
    case_id: str  # path below the suite without ".json", e.g. "common/2DCode/raw/CO1"
    path: Path

    @property
    def country(self) -> str:
        return self.case_id.split("/", 1)[0]

    @property
    def stem(self) -> str:
        return self.path.stem


@dataclass(frozen=True)
class Outcome:
    case: Case
    passed: bool
    known_issue: str  # the suite's issue URL when the case is listed in known_issues.csv
    verdict: str  # "ok" or the refusal reason
    expected: str
    flags: Mapping[str, bool]


def suite_root() -> Path | None:
    base = shared_dir()
    root = base / TESTDATA if base is not None else None
    return root if root is not None and root.is_dir() else None


def discover_cases(root: Path) -> list[Case]:
    """Every JSON test case (with EXPECTEDRESULTS) in a country folder or common/, sorted."""
    cases = []
    for path in sorted(root.glob("*/**/*.json")):
        rel = path.relative_to(root)
        if rel.parts[0] == "tests":
            continue
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(document, dict) and isinstance(document.get("EXPECTEDRESULTS"), dict):
            cases.append(Case(rel.with_suffix("").as_posix(), path))
    return cases


def known_issues(root: Path) -> dict[tuple[str, str], str]:
    """(country, test set) → issue URL; an empty test set means the whole country (as the suite reads it)."""
    path = root / "tests" / "known_issues.csv"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as handle:
        return {(row["country"], row["test_set"]): row["reason"] for row in csv.DictReader(handle)}


def known_issue_for(case: Case, issues: Mapping[tuple[str, str], str]) -> str:
    return issues.get((case.country, case.stem)) or issues.get((case.country, ""), "")


def parse_clock(text: str) -> datetime:
    """The suite's clocks: ISO 8601 with 0–9 fraction digits, ``Z``/``±hh:mm``/``±hhmm`` or no zone."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?", text.strip())
    if match is None:
        raise ValueError(f"unexpected VALIDATIONCLOCK {text!r}")
    stamp, fraction, zone = match.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    if zone in (None, "Z"):
        zone = "+00:00"
    elif ":" not in zone:
        zone = zone[:3] + ":" + zone[3:]
    return datetime.fromisoformat(f"{stamp}.{micro}{zone}")


def _claims(document: Mapping[str, Any]) -> Mapping[Any, Any] | None:
    """The CWT claims, read without verification, only to choose a clock."""
    try:
        if isinstance(document.get("COSE"), str):
            raw = binascii.unhexlify(document["COSE"])
        else:
            raw = zlib.decompress(b45decode(str(document["PREFIX"]).removeprefix("HC1:")))
        obj = cbor2.loads(raw)
        while isinstance(obj, cbor2.CBORTag):
            obj = obj.value
        claims = cbor2.loads(obj[2])
    except (ValueError, TypeError, LookupError, zlib.error, cbor2.CBORError):
        return None
    return claims if isinstance(claims, Mapping) else None


def clock_for(document: Mapping[str, Any], der: bytes) -> datetime:
    context = document["TESTCTX"]
    if "EXPECTEDEXPIRATIONCHECK" in document["EXPECTEDRESULTS"]:
        return parse_clock(context["VALIDATIONCLOCK"])
    claims = _claims(document)
    iat = claims.get(6) if claims is not None else None
    exp = claims.get(4) if claims is not None else None
    if isinstance(iat, int | float):
        moment = iat + 1
        if isinstance(exp, int | float) and moment > exp:
            moment = iat
        return datetime.fromtimestamp(moment, UTC)
    try:
        cert = x509.load_der_x509_certificate(der)
        before, after = cert.not_valid_before_utc, cert.not_valid_after_utc
        return before + (after - before) / 2
    except ValueError:
        return parse_clock(context["VALIDATIONCLOCK"])


def expectation(results: Mapping[str, Any]) -> tuple[bool, frozenset[Reason]]:
    """(must verify?, the refusal reasons that fit)."""
    fitting = frozenset(
        reason for flag, reasons in FLAG_REASONS.items() if results.get(flag) is False for reason in reasons
    )
    if fitting:
        return False, fitting
    return True, frozenset()


def run_case(case: Case, issues: Mapping[tuple[str, str], str]) -> Outcome:
    document = json.loads(case.path.read_text(encoding="utf-8"))
    results = document["EXPECTEDRESULTS"]
    flags = {k: v for k, v in results.items() if k in FLAG_REASONS or k == SCHEMA_FLAG}
    must_verify, fitting = expectation(results)
    expected = "ok" if must_verify else "refused: " + "|".join(sorted(fitting))
    if must_verify and fitting:
        expected += " (or " + "|".join(sorted(fitting)) + ")"
    der = base64.b64decode(document["TESTCTX"]["CERTIFICATE"])
    try:
        trust = TrustList((Signer.from_der(der, source=case.case_id),))
    except TrustListError:
        trust = TrustList.empty()
    try:
        verify_dcc(document["PREFIX"], trust, clock_for(document, der))
    except PayloadError as exc:
        verdict = exc.reason.value
        passed = exc.reason in fitting
    else:
        verdict = "ok"
        passed = must_verify
    return Outcome(case, passed, known_issue_for(case, issues), verdict, expected, flags)


@cache
def all_outcomes() -> tuple[Outcome, ...]:
    root = suite_root()
    if root is None:
        return ()
    issues = known_issues(root)
    return tuple(run_case(case, issues) for case in discover_cases(root))


def country_table(outcomes: tuple[Outcome, ...]) -> str:
    """A per-country table (passed / cases, known issues) and a per-flag agreement table."""
    rows: dict[str, Counter[str]] = {}
    for outcome in outcomes:
        row = rows.setdefault(outcome.case.country, Counter())
        row["cases"] += 1
        row["passed"] += outcome.passed
        row["known"] += bool(outcome.known_issue)
        row["known_failing"] += bool(outcome.known_issue) and not outcome.passed
    lines = [f"{'country':<8}{'cases':>6}{'passed':>8}{'known issue':>13}{'of which fail':>15}"]
    total: Counter[str] = Counter()
    for country, row in sorted(rows.items()):
        total.update(row)
        lines.append(
            f"{country:<8}{row['cases']:>6}{row['passed']:>8}{row['known']:>13}{row['known_failing']:>15}"
        )
    lines.append(
        f"{'total':<8}{total['cases']:>6}{total['passed']:>8}{total['known']:>13}{total['known_failing']:>15}"
    )
    lines += ["", f"{'flag (refusal reasons agree)':<34}{'true':>10}{'false':>10}"]
    for flag in [*FLAG_REASONS, SCHEMA_FLAG]:
        agree: Counter[str] = Counter()
        seen: Counter[str] = Counter()
        for outcome in outcomes:
            if flag not in outcome.flags:
                continue
            value = outcome.flags[flag]
            key = "true" if value else "false"
            seen[key] += 1
            reasons = FLAG_REASONS.get(flag, frozenset())
            refused_here = outcome.verdict != "ok" and Reason(outcome.verdict) in reasons
            if flag == SCHEMA_FLAG:
                agree[key] += True  # never a refusal criterion; counted only for coverage
            else:
                agree[key] += refused_here != value
        lines.append(f"{flag:<34}{agree['true']:>5}/{seen['true']:<4}{agree['false']:>5}/{seen['false']:<4}")
    failures = [o for o in outcomes if not o.passed]
    if failures:
        lines += ["", "not passing:"]
        lines += [
            f"  {o.case.case_id}: got {o.verdict}, expected {o.expected}"
            + (f" [known issue {o.known_issue}]" if o.known_issue else "")
            for o in failures
        ]
    return "\n".join(lines)


def _params() -> Iterator[Any]:
    root = suite_root()
    if root is None:
        yield pytest.param(None, marks=pytest.mark.skip(reason=f"shared {TESTDATA} not present"))
        return
    issues = known_issues(root)
    for case in discover_cases(root):
        issue = known_issue_for(case, issues)
        marks = [pytest.mark.xfail(reason=f"known issue {issue}", strict=False)] if issue else []
        yield pytest.param(case, id=case.case_id, marks=marks)


@pytest.mark.parametrize("case", list(_params()))
def test_case(case: Case) -> None:
    root = suite_root()
    assert root is not None
    outcome = run_case(case, known_issues(root))
    assert outcome.passed, f"got {outcome.verdict}, expected {outcome.expected}"


def test_summary_every_case_without_a_known_issue_passes() -> None:
    outcomes = all_outcomes()
    if not outcomes:
        pytest.skip(f"shared {TESTDATA} not present")
    print("\n" + country_table(outcomes))  # shown with pytest -s
    failing = [o.case.case_id for o in outcomes if not o.passed and not o.known_issue]
    assert not failing, f"failing cases: {failing}"


if __name__ == "__main__":
    print(country_table(all_outcomes()) or f"shared {TESTDATA} not present")
