"""Runs every case of the EU ``dcc-testdata`` suite (``shared/data/dcc-testdata``) through ``verify_dcc``.

Each case gives an ``HC1:`` string (``PREFIX``), its DSC (``TESTCTX.CERTIFICATE``), a clock
(``TESTCTX.VALIDATIONCLOCK``) and expected booleans per verification step; an absent flag means the step is
not tested (the suite's README). Every case is verified at its own ``VALIDATIONCLOCK``.

How a verdict is judged (``judge``), with the steps in the order ``verify_dcc`` takes them (``STEPS``):

- Some flag is false: the verifier stops at its first failing step, so the earliest false flag in that
  order decides, and only the refusals of that step fit (``FLAG_REASONS``), nothing looser.
- Every flag present is true: the code must verify, or be refused at a step the case does not test, after
  every step it does test (they were all reached and passed). That is how ``FR``/``LU``/``SG`` cases whose
  clock precedes their ``iat``, but which do not test expiry, pass.
- ``EXPECTEDSCHEMAVALIDATION`` is not a refusal criterion: a correctly signed, unexpired code that breaks the
  schema (``DGC1``, ``DGC2``, two entries in ``RO/2``) must still verify, with the warning ``dcc_schema``.
- A refusal no suite step covers (our text hygiene: ``control_chars`` …) never fits.
- ``DEVIATIONS`` lists the cases where we knowingly answer otherwise than the suite, each with its reason
  and citation (also in docs/dcc.md); such a case passes only with exactly the documented answer.

Known issues (``tests/known_issues.csv`` of the suite) make a case ``xfail(strict=True)``, so a case that
starts to pass fails the run, except where the issue does not touch what this harness judges
(``NOT_JUDGED_SUITE_TESTS``) or this verifier handles it (``HANDLED_KNOWN_ISSUES``): those cases must pass.

See the per-country table with ``.venv/bin/python -m tests.test_dcc_testdata`` or
``pytest -s tests/test_dcc_testdata.py -k summary``. Without ``shared/`` every test here skips.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import csv
import json
import os
import re
import subprocess
import sys
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import MappingProxyType
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


@dataclass(frozen=True)
class Step:
    """One step the suite flags, and the refusals of ``verify_dcc`` that mean exactly that step failed."""

    flag: str
    reasons: frozenset[Reason]


# In the order verify_dcc takes them (its module docstring), which is what "earliest false flag" means.
STEPS: tuple[Step, ...] = (
    Step("EXPECTEDUNPREFIX", frozenset({Reason.DCC_PREFIX})),
    Step("EXPECTEDB45DECODE", frozenset({Reason.DCC_BASE45})),
    Step("EXPECTEDCOMPRESSION", frozenset({Reason.DCC_COMPRESSION})),
    # "COSE can be cryptographically verified": DCC_CBOR is the COSE_Sign1 container itself (tag, array,
    # headers), which must hold for any signature to be checked (CBO2 hides the COSE behind a stray item).
    Step(
        "EXPECTEDVERIFY",
        frozenset({Reason.DCC_CBOR, Reason.DCC_UNKNOWN_KID, Reason.DCC_BAD_ALGORITHM, Reason.DCC_SIGNATURE}),
    ),
    # The signed payload (the suite's CBOR field) decodes into a DCC: CBO1. The suite splits this in three.
    Step("EXPECTEDDECODE", frozenset({Reason.DCC_INVALID_CONTENT})),
    Step("EXPECTEDVALIDOBJECT", frozenset({Reason.DCC_INVALID_CONTENT})),
    Step("EXPECTEDVALIDJSON", frozenset({Reason.DCC_INVALID_CONTENT})),
    # "Valid when verifying at the moment VALIDATIONCLOCK": the code's iat..exp and its signer's validity.
    Step(
        "EXPECTEDEXPIRATIONCHECK",
        frozenset(
            {
                Reason.DCC_NOT_YET_VALID,
                Reason.DCC_EXPIRED,
                Reason.DCC_SIGNER_NOT_YET_VALID,
                Reason.DCC_SIGNER_EXPIRED,
            }
        ),
    ),
    Step("EXPECTEDKEYUSAGE", frozenset({Reason.DCC_KEY_USAGE})),
)
FLAG_REASONS: Mapping[str, frozenset[Reason]] = MappingProxyType({step.flag: step.reasons for step in STEPS})
SCHEMA_FLAG = "EXPECTEDSCHEMAVALIDATION"


@dataclass(frozen=True)
class Deviation:
    """A case where we knowingly answer otherwise than the suite expects."""

    verdict: str  # our answer: "ok" or a Reason value
    reason: str
    citation: str


DEVIATIONS: Mapping[str, Deviation] = MappingProxyType(
    {
        "IS/2DCode/raw/3": Deviation(
            verdict="ok",
            reason=(
                "the DSC's extended key usage names only ICAO's document-signer OID 2.23.136.1.1.14.2 and no "
                "DCC OID; only DCC OIDs restrict what a DSC may sign, so its test certificate is accepted "
                "(the suite expects EXPECTEDKEYUSAGE false, reading any EKU as a restriction)"
            ),
            citation=(
                "corona-warn-app/cwa-app-ios HealthCertificateToolkit/SignatureVerification/"
                "DCCSignatureVerification.swift step 10 (no DCC OID: success); corona-warn-app/"
                "cwa-app-android covidcertificate/signature/core/DscSignatureValidator.kt checkCertOid; "
                "eu-digital-green-certificates/dgca-app-core-android decoder/services/X509.kt isSuitable"
            ),
        ),
    }
)

# Suite test functions whose known issues concern nothing this harness judges.
NOT_JUDGED_SUITE_TESTS: Mapping[str, str] = MappingProxyType(
    {
        "test_cose_schema": "schema validation is not a refusal criterion here (EXPECTEDSCHEMAVALIDATION)",
        "test_cose_json": "the harness never compares the case's JSON field with the decoded content",
        "test_cbor_json": "the harness never compares the case's JSON field with the decoded content",
    }
)
# Known issues of steps this harness judges that verify_dcc handles: these cases must pass, not xfail.
# Keyed like the suite's known_issues.csv: (country, test set); an empty test set is the whole country.
_P384 = "ES256 header over a P-384 key: r||s is split in halves, not at 32 bytes (dcc.py _signature_ok)"
HANDLED_KNOWN_ISSUES: Mapping[tuple[str, str], str] = MappingProxyType(
    {
        ("FI", ""): (
            "FI DSCs are not strict DER (an encoded default BasicConstraints): the key is read without the "
            "extensions and the EKU by a tolerant DER walk (trust.py _scan_eku)"
        ),
        ("ES", "401"): _P384,
        ("ES", "402"): _P384,
        ("ES", "403"): _P384,
    }
)


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
class KnownIssue:
    """One row of the suite's tests/known_issues.csv."""

    test_name: str  # the suite's own test function, e.g. test_cose_schema
    country: str
    test_set: str  # a case's file stem; empty for the whole country
    url: str

    def applies_to(self, case: Case) -> bool:
        return self.country == case.country and self.test_set in ("", case.stem)

    @property
    def handled_because(self) -> str:
        """Why this issue does not make a case xfail here, or "" when it does."""
        return NOT_JUDGED_SUITE_TESTS.get(self.test_name) or HANDLED_KNOWN_ISSUES.get(
            (self.country, self.test_set), ""
        )


@dataclass(frozen=True)
class Outcome:
    case: Case
    passed: bool
    how: str  # how the verdict was judged: "verified", "refused at EXPECTED…", "deviation", …
    verdict: str  # "ok" or the refusal reason
    expected: str
    flags: Mapping[str, bool]
    open_issue: str = ""  # known-issue URLs that make the case xfail (strict)
    handled_issue: str = ""  # known issues listed for the case that do not apply here, and why


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


def known_issues(root: Path) -> tuple[KnownIssue, ...]:
    """The rows of the suite's tests/known_issues.csv (an empty test set means the whole country)."""
    path = root / "tests" / "known_issues.csv"
    if not path.is_file():
        return ()
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(
            KnownIssue(row["test_name"], row["country"], row["test_set"], row["reason"])
            for row in csv.DictReader(handle)
        )


def open_issues_for(case: Case, issues: tuple[KnownIssue, ...]) -> tuple[KnownIssue, ...]:
    """The known issues that make ``case`` an expected failure here (strict xfail)."""
    return tuple(i for i in issues if i.applies_to(case) and not i.handled_because)


def handled_issues_for(case: Case, issues: tuple[KnownIssue, ...]) -> tuple[KnownIssue, ...]:
    """The known issues listed for ``case`` that this harness does not judge or this verifier handles."""
    return tuple(i for i in issues if i.applies_to(case) and i.handled_because)


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
    """``TESTCTX.VALIDATIONCLOCK`` wherever the case gives a readable one (every stored case does).

    Otherwise, as the README allows a case without it: one second after the code's ``iat``, or the middle
    of the DSC's validity when the payload cannot be read.
    """
    context = document.get("TESTCTX")
    clock = context.get("VALIDATIONCLOCK") if isinstance(context, Mapping) else None
    if isinstance(clock, str):
        with contextlib.suppress(ValueError):
            return parse_clock(clock)
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
    except ValueError:
        return datetime.now(UTC)  # nothing in the case tells the time; the verdict cannot depend on it
    return before + (after - before) / 2


@dataclass(frozen=True)
class Expectation:
    flag: str | None  # the earliest false flag in STEPS order; None: every flag present is true
    reasons: frozenset[Reason]  # the refusals that fit that flag

    def __str__(self) -> str:
        if self.flag is None:
            return "ok (or refused at a step the case does not test, after every step it tests)"
        return f"refused at {self.flag}: " + "|".join(sorted(self.reasons))


def expectation(results: Mapping[str, Any]) -> Expectation:
    """What a case expects: the earliest false flag decides (the verifier stops at its first failure)."""
    for step in STEPS:
        if results.get(step.flag) is False:
            return Expectation(step.flag, step.reasons)
    return Expectation(None, frozenset())


def judge(verdict: Reason | None, results: Mapping[str, Any]) -> tuple[bool, str]:
    """(does ``verdict`` — None for verified — agree with the case's flags?, how it was judged)."""
    expected = expectation(results)
    if expected.flag is not None:
        if verdict is not None and verdict in expected.reasons:
            return True, f"refused at {expected.flag}"
        return False, f"{expected.flag} is false, but {verdict.value if verdict else 'verified'}"
    if verdict is None:
        return True, "verified"
    owners = [i for i, step in enumerate(STEPS) if verdict in step.reasons]
    if not owners:
        return False, f"{verdict.value} is no step of the suite"
    tested = [STEPS[i].flag for i in owners if STEPS[i].flag in results]
    if tested:
        return False, f"{'/'.join(tested)} is true, but {verdict.value}"
    # Refused at a step the case leaves out: consistent only if every step it tests came earlier.
    unreached = [step.flag for step in STEPS[owners[-1] + 1 :] if step.flag in results]
    if unreached:
        return False, f"{verdict.value} before reaching the tested {'/'.join(unreached)}"
    return True, f"refused at untested {STEPS[owners[0]].flag}"


def _grouped(issues: tuple[KnownIssue, ...]) -> str:
    """``test_a, test_b: why`` for each distinct reason an issue does not apply."""
    names: dict[str, list[str]] = {}
    for issue in issues:
        names.setdefault(issue.handled_because, []).append(issue.test_name)
    return "; ".join(f"{', '.join(tests)}: {why}" for why, tests in names.items())


def run_case(case: Case, issues: tuple[KnownIssue, ...]) -> Outcome:
    document = json.loads(case.path.read_text(encoding="utf-8"))
    results = document["EXPECTEDRESULTS"]
    flags = {k: v for k, v in results.items() if k in FLAG_REASONS or k == SCHEMA_FLAG}
    der = base64.b64decode(document["TESTCTX"]["CERTIFICATE"])
    try:
        trust = TrustList((Signer.from_der(der, source=case.case_id),))
    except TrustListError:
        trust = TrustList.empty()
    verdict: Reason | None = None
    try:
        verify_dcc(document["PREFIX"], trust, clock_for(document, der))
    except PayloadError as exc:
        verdict = exc.reason
    answer = verdict.value if verdict is not None else "ok"
    expected = str(expectation(results))
    deviation = DEVIATIONS.get(case.case_id)
    if deviation is not None:
        passed, how = answer == deviation.verdict, "deviation"
        expected = f"{deviation.verdict} (documented deviation; the suite: {expected})"
    else:
        passed, how = judge(verdict, results)
    return Outcome(
        case,
        passed,
        how,
        answer,
        expected,
        flags,
        open_issue=" ".join(i.url for i in open_issues_for(case, issues)),
        handled_issue=_grouped(handled_issues_for(case, issues)),
    )


@cache
def all_outcomes() -> tuple[Outcome, ...]:
    root = suite_root()
    if root is None:
        return ()
    issues = known_issues(root)
    return tuple(run_case(case, issues) for case in discover_cases(root))


def summary_line(outcomes: tuple[Outcome, ...]) -> str:
    passed = [o for o in outcomes if o.passed]
    xfail = [o for o in outcomes if o.open_issue and not o.passed]
    failed = [o for o in outcomes if not o.passed and not o.open_issue]
    unexpected = [o for o in passed if o.open_issue]
    deviations = sum(o.how == "deviation" for o in passed)
    untested = sum(o.how.startswith("refused at untested") for o in passed)
    return (
        f"{len(outcomes)} cases: {len(passed) - len(unexpected)} passed ({deviations} by a documented "
        f"deviation, {untested} refused at a step the case does not test), {len(failed)} failed, "
        f"{len(xfail)} xfail (open known issues), {len(unexpected)} known issues now passing (fail the run)"
    )


def country_table(outcomes: tuple[Outcome, ...]) -> str:
    """Per country: cases, passed, xfail, deviations; per flag: agreement; then every exception, named."""
    rows: dict[str, Counter[str]] = {}
    for outcome in outcomes:
        row = rows.setdefault(outcome.case.country, Counter())
        row["cases"] += 1
        row["passed"] += outcome.passed
        row["xfail"] += bool(outcome.open_issue) and not outcome.passed
        row["deviation"] += outcome.how == "deviation"
        row["untested"] += outcome.how.startswith("refused at untested")
        row["handled"] += bool(outcome.handled_issue)
    columns = ("cases", "passed", "xfail", "deviation", "untested", "handled")
    header = ("cases", "passed", "xfail", "deviation", "untested step", "known issue n/a")
    lines = [f"{'country':<8}" + "".join(f"{h:>{len(h) + 2}}" for h in header)]
    total: Counter[str] = Counter()
    for country, row in [*sorted(rows.items()), ("total", total)]:
        if country != "total":
            total.update(row)
        lines.append(
            f"{country:<8}" + "".join(f"{row[c]:>{len(h) + 2}}" for c, h in zip(columns, header, strict=True))
        )
    lines += ["", summary_line(outcomes)]
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

    def section(title: str, items: list[str]) -> None:
        if items:
            lines.extend(["", title, *(f"  {item}" for item in items)])

    section(
        "documented deviations (docs/dcc.md):",
        [
            f"{o.case.case_id}: {o.verdict}; {DEVIATIONS[o.case.case_id].reason} "
            f"[{DEVIATIONS[o.case.case_id].citation}]"
            for o in outcomes
            if o.how == "deviation"
        ],
    )
    section(
        "refused at a step the case does not test:",
        [
            f"{o.case.case_id}: {o.verdict} ({o.how})"
            for o in outcomes
            if o.how.startswith("refused at untested")
        ],
    )
    handled = Counter(o.handled_issue for o in outcomes if o.handled_issue)
    section(
        "known issues that do not apply here:", [f"{n} case(s): {why}" for why, n in sorted(handled.items())]
    )
    section(
        "xfail (open known issues):",
        [
            f"{o.case.case_id}: got {o.verdict} [{o.open_issue}]"
            for o in outcomes
            if o.open_issue and not o.passed
        ],
    )
    section(
        "not passing:",
        [
            f"{o.case.case_id}: got {o.verdict}, expected {o.expected} ({o.how})"
            for o in outcomes
            if not o.passed and not o.open_issue
        ]
        + [
            f"{o.case.case_id}: passes, but is listed as {o.open_issue}"
            for o in outcomes
            if o.passed and o.open_issue
        ],
    )
    return "\n".join(lines)


def _params() -> Iterator[Any]:
    root = suite_root()
    if root is None:
        yield pytest.param(None, marks=pytest.mark.skip(reason=f"shared {TESTDATA} not present"))
        return
    issues = known_issues(root)
    for case in discover_cases(root):
        open_issues = open_issues_for(case, issues)
        marks = []
        if open_issues:
            urls = " ".join(i.url for i in open_issues)
            marks.append(pytest.mark.xfail(reason=f"known issue {urls}", strict=True))
        yield pytest.param(case, id=case.case_id, marks=marks)


@pytest.mark.parametrize("case", list(_params()))
def test_case(case: Case) -> None:
    root = suite_root()
    assert root is not None
    outcome = run_case(case, known_issues(root))
    assert outcome.passed, f"got {outcome.verdict}, expected {outcome.expected} ({outcome.how})"


def test_summary_every_case_passes_or_is_an_open_known_issue() -> None:
    outcomes = all_outcomes()
    if not outcomes:
        pytest.skip(f"shared {TESTDATA} not present")
    print("\n" + country_table(outcomes))  # shown with pytest -s
    failing = [o.case.case_id for o in outcomes if not o.passed and not o.open_issue]
    assert not failing, f"failing cases: {failing}"
    now_passing = [o.case.case_id for o in outcomes if o.passed and o.open_issue]
    assert not now_passing, f"known issues that now pass; list them in HANDLED_KNOWN_ISSUES: {now_passing}"


def test_every_exception_table_entry_is_still_needed() -> None:
    """Deviations, handled and not-judged known issues name things that exist, and each deviation differs
    from what the suite's flags alone would accept (a stale entry would silently widen the harness)."""
    root = suite_root()
    if root is None:
        pytest.skip(f"shared {TESTDATA} not present")
    issues = known_issues(root)
    assert set(HANDLED_KNOWN_ISSUES) <= {(i.country, i.test_set) for i in issues}
    assert set(NOT_JUDGED_SUITE_TESTS) <= {i.test_name for i in issues}
    cases = {case.case_id: case for case in discover_cases(root)}
    for case_id, deviation in DEVIATIONS.items():
        if case_id not in cases:
            continue  # a folder kept aside from this copy of the suite
        document = json.loads(cases[case_id].path.read_text(encoding="utf-8"))
        verdict = None if deviation.verdict == "ok" else Reason(deviation.verdict)
        assert not judge(verdict, document["EXPECTEDRESULTS"])[0], f"{case_id}: the suite already agrees"
        assert run_case(cases[case_id], issues).passed, f"{case_id}: no longer answers {deviation.verdict}"


# --- the harness's own rules (no shared data needed) ----------------------------------------------------


def test_the_earliest_false_flag_decides() -> None:
    results = {"EXPECTEDKEYUSAGE": False, "EXPECTEDVERIFY": False, "EXPECTEDDECODE": True}
    assert expectation(results).flag == "EXPECTEDVERIFY"
    assert judge(Reason.DCC_SIGNATURE, results)[0]
    assert not judge(Reason.DCC_KEY_USAGE, results)[0]  # a later step: the signature must have failed first


@pytest.mark.parametrize(
    ("flag", "reason", "fits"),
    [
        ("EXPECTEDDECODE", Reason.DCC_INVALID_CONTENT, True),
        ("EXPECTEDDECODE", Reason.DCC_CBOR, False),
        ("EXPECTEDVALIDOBJECT", Reason.DCC_CBOR, False),
        ("EXPECTEDVALIDJSON", Reason.DCC_CBOR, False),
        ("EXPECTEDVERIFY", Reason.DCC_CBOR, True),
        ("EXPECTEDVERIFY", Reason.DCC_INVALID_CONTENT, False),
        ("EXPECTEDVERIFY", Reason.DCC_EXPIRED, False),
        ("EXPECTEDEXPIRATIONCHECK", Reason.DCC_SIGNER_EXPIRED, True),
        ("EXPECTEDEXPIRATIONCHECK", Reason.DCC_KEY_USAGE, False),
        ("EXPECTEDKEYUSAGE", Reason.DCC_KEY_USAGE, True),
        ("EXPECTEDKEYUSAGE", Reason.DCC_SIGNATURE, False),
        ("EXPECTEDKEYUSAGE", Reason.CONTROL_CHARS, False),
        ("EXPECTEDUNPREFIX", Reason.TOO_LONG, False),
    ],
)
def test_an_expected_failure_accepts_only_the_refusals_of_its_flag(
    flag: str, reason: Reason, fits: bool
) -> None:
    assert judge(reason, {flag: False})[0] is fits
    assert not judge(None, {flag: False})[0]


@pytest.mark.parametrize(
    ("results", "reason", "fits"),
    [
        ({"EXPECTEDVERIFY": True}, Reason.DCC_NOT_YET_VALID, True),  # expiry untested, nothing tested later
        ({"EXPECTEDVERIFY": True, "EXPECTEDKEYUSAGE": True}, Reason.DCC_NOT_YET_VALID, False),  # not reached
        ({"EXPECTEDEXPIRATIONCHECK": True}, Reason.DCC_EXPIRED, False),  # tested, and true
        ({"EXPECTEDEXPIRATIONCHECK": True}, Reason.DCC_KEY_USAGE, True),  # LI/4
        ({"EXPECTEDVALIDOBJECT": True}, Reason.DCC_INVALID_CONTENT, False),  # one of the three content flags
        ({"EXPECTEDVERIFY": True}, Reason.DCC_SIGNATURE, False),
        ({}, Reason.CONTROL_CHARS, False),  # our text hygiene is no step of the suite
        ({"EXPECTEDVERIFY": True}, None, True),
    ],
)
def test_an_expected_success_may_stop_only_at_an_untested_step_after_every_tested_one(
    results: dict[str, bool], reason: Reason | None, fits: bool
) -> None:
    assert judge(reason, results)[0] is fits


def _document(iat: int, context: dict[str, str]) -> dict[str, Any]:
    payload = cbor2.dumps({6: iat, 4: iat + 86_400})
    cose = cbor2.dumps(cbor2.CBORTag(18, [b"", {}, payload, b""]))
    return {
        "COSE": cose.hex(),
        "PREFIX": "HC1:",
        "TESTCTX": context,
        "EXPECTEDRESULTS": {"EXPECTEDVERIFY": True},
    }


def test_the_validation_clock_is_used_wherever_a_case_gives_one() -> None:
    iat = int(datetime(2021, 6, 1, tzinfo=UTC).timestamp())
    document = _document(iat, {"VALIDATIONCLOCK": "2021-05-18T20:00:00+02:00"})  # no expiry flag
    assert clock_for(document, b"") == datetime(2021, 5, 18, 18, tzinfo=UTC)


def test_without_a_validation_clock_one_second_after_iat_is_used() -> None:
    iat = int(datetime(2021, 6, 1, tzinfo=UTC).timestamp())
    assert clock_for(_document(iat, {}), b"").timestamp() == iat + 1


def test_known_issues_xfail_only_where_they_touch_a_judged_step_we_do_not_handle() -> None:
    finnish = Case("FI/2DCode/raw/1", Path("FI/2DCode/raw/1.json"))
    other = Case("XX/2DCode/raw/7", Path("XX/2DCode/raw/7.json"))
    issues = (
        KnownIssue("test_expected_key_usage", "FI", "", "u1"),  # handled: the tolerant DER walk
        KnownIssue("test_cose_schema", "XX", "", "u2"),  # not judged here
        KnownIssue("test_verification_check", "XX", "8", "u3"),  # another case
        KnownIssue("test_verification_check", "XX", "7", "u4"),  # open
    )
    assert open_issues_for(finnish, issues) == ()
    assert [i.url for i in handled_issues_for(finnish, issues)] == ["u1"]
    assert [i.url for i in open_issues_for(other, issues)] == ["u4"]
    assert [i.url for i in handled_issues_for(other, issues)] == ["u2"]


def test_without_the_shared_folder_everything_here_skips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIOSK_SHARED_DIR", str(tmp_path / "absent"))
    assert suite_root() is None
    (param,) = list(_params())
    assert [mark.name for mark in param.marks] == ["skip"]
    env = {**os.environ, "KIOSK_SHARED_DIR": str(tmp_path / "absent")}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.test_dcc_testdata"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (proc.returncode, proc.stdout.strip()) == (0, f"shared {TESTDATA} not present"), proc.stderr


def main() -> int:
    """``python -m tests.test_dcc_testdata``: the tables, and a non-zero status if a case fails."""
    outcomes = all_outcomes()
    if not outcomes:
        print(f"shared {TESTDATA} not present")
        return 0
    print(country_table(outcomes))
    return int(any(o.passed == bool(o.open_issue) for o in outcomes))


if __name__ == "__main__":
    raise SystemExit(main())
