"""Layer: ui. Every sentence the screens say about a verdict, a reason, a hint or a direction.

Each text goes through Qt's translation tools (``QCoreApplication.translate`` with an English source text
and a fixed context), so ``pyside6-lupdate`` finds it and ``ui/i18n/kiosk_vi.ts`` / ``kiosk_en.ts`` carry it.
The reason code is what the record stores and the log prints; only here does it become words.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from kiosk.hints import Hint
from kiosk.model import Direction, Outcome, Reason
from ui.viewmodel import VerdictView


def reason_text(reason: Reason) -> str:
    """The refusal reason (or the admission) in plain words, in the current language."""
    match reason:
        case Reason.OK:
            return QCoreApplication.translate("Reason", "Your code is valid.")
        case Reason.EMPTY:
            return QCoreApplication.translate("Reason", "The code is empty. Please show another code.")
        case Reason.TOO_LONG:
            return QCoreApplication.translate(
                "Reason", "This code is too long to be an ID card or a personal code."
            )
        case Reason.NOT_UTF8:
            return QCoreApplication.translate(
                "Reason", "This code cannot be read as text. Please show your personal code or ID card."
            )
        case Reason.CONTROL_CHARS:
            return QCoreApplication.translate(
                "Reason", "This code contains hidden characters and cannot be accepted."
            )
        case Reason.FORMULA_NAME:
            return QCoreApplication.translate("Reason", "The name in this code is not valid.")
        case Reason.MALFORMED:
            return QCoreApplication.translate(
                "Reason", "This code is damaged or incomplete. Please show it again or use your ID card."
            )
        case Reason.BAD_ID:
            return QCoreApplication.translate("Reason", "The ID number in this code is not valid.")
        case Reason.BAD_DATE:
            return QCoreApplication.translate("Reason", "A date in this code is not valid.")
        case Reason.BAD_SEX:
            return QCoreApplication.translate("Reason", "The details on this card are not valid.")
        case Reason.LOCATION_CODE:
            return QCoreApplication.translate(
                "Reason", "This is the place's code — please show your personal code or ID card."
            )
        case Reason.UNKNOWN_FORMAT:
            return QCoreApplication.translate("Reason", "This is not an ID card or a personal health code.")
        case Reason.DCC_PREFIX | Reason.DCC_BASE45 | Reason.DCC_COMPRESSION | Reason.DCC_CBOR:
            return QCoreApplication.translate(
                "Reason", "This vaccine certificate is damaged and cannot be read."
            )
        case Reason.DCC_UNKNOWN_KID:
            return QCoreApplication.translate(
                "Reason", "This vaccine certificate comes from an issuer the kiosk does not know."
            )
        case Reason.DCC_BAD_ALGORITHM:
            return QCoreApplication.translate(
                "Reason", "This vaccine certificate uses a signature the kiosk does not accept."
            )
        case Reason.DCC_SIGNATURE:
            return QCoreApplication.translate(
                "Reason", "This vaccine certificate's signature is not valid — it may have been altered."
            )
        case Reason.DCC_NOT_YET_VALID:
            return QCoreApplication.translate("Reason", "This vaccine certificate is not valid yet.")
        case Reason.DCC_EXPIRED:
            return QCoreApplication.translate("Reason", "This vaccine certificate has expired.")
        case Reason.DCC_SIGNER_NOT_YET_VALID:
            return QCoreApplication.translate(
                "Reason", "The issuer's key for this certificate is not valid yet."
            )
        case Reason.DCC_SIGNER_EXPIRED:
            return QCoreApplication.translate("Reason", "The issuer's key for this certificate has expired.")
        case Reason.DCC_KEY_USAGE:
            return QCoreApplication.translate("Reason", "This issuer may not sign this kind of certificate.")
        case Reason.DCC_INVALID_CONTENT:
            return QCoreApplication.translate(
                "Reason", "The contents of this vaccine certificate are not valid."
            )
        case Reason.DENY_LIST:
            return QCoreApplication.translate("Reason", "You may not enter here. Please see the guard.")
        case Reason.NOT_ON_ROSTER:
            return QCoreApplication.translate(
                "Reason", "You are not on this office's list. Please see the guard."
            )
        case Reason.HEALTH_CERT_REQUIRED:
            return QCoreApplication.translate("Reason", "A vaccine or test certificate is required here.")
        case Reason.REPEAT:
            return QCoreApplication.translate(
                "Reason", "You were recorded a moment ago — no need to scan again."
            )
        case Reason.NOT_RECORDED:
            return QCoreApplication.translate(
                "Reason", "Your visit could not be recorded. Please see the guard."
            )
        case Reason.MANUAL_ENTRY:
            return QCoreApplication.translate("Reason", "Entered by hand by the guard.")
        case Reason.GUARD_OVERRIDE:
            return QCoreApplication.translate("Reason", "Let in by the guard.")
        case Reason.OUT_OF_SERVICE:
            return QCoreApplication.translate("Reason", "This kiosk is out of service. Please see the guard.")
    raise ValueError(f"no text for reason {reason!r}")  # pragma: no cover - a test covers every Reason


def hint_text(hint: Hint) -> str:
    """A short aiming hint for the scan screen; empty for ``Hint.NONE``."""
    match hint:
        case Hint.NONE:
            return ""
        case Hint.TOO_DARK:
            return QCoreApplication.translate("Hint", "Too dark — move into the light")
        case Hint.GLARE:
            return QCoreApplication.translate("Hint", "Glare — tilt the code a little")
        case Hint.TOO_FAR:
            return QCoreApplication.translate("Hint", "Move the code closer")
        case Hint.BLURRY:
            return QCoreApplication.translate("Hint", "Hold the code still")
        case Hint.HOLD_STILL:
            return QCoreApplication.translate("Hint", "Hold it there…")
    raise ValueError(f"no text for hint {hint!r}")  # pragma: no cover


def outcome_word(outcome: Outcome) -> str:
    """The one word the result screen shows in large type (colour is never the only signal)."""
    match outcome:
        case Outcome.GRANTED:
            return QCoreApplication.translate("Outcome", "ACCEPTED")
        case Outcome.REFUSED:
            return QCoreApplication.translate("Outcome", "REFUSED")
        case Outcome.NEEDS_GUARD:
            return QCoreApplication.translate("Outcome", "SEE THE GUARD")
    raise ValueError(f"no word for outcome {outcome!r}")  # pragma: no cover


def result_sentence(view: VerdictView) -> str:
    """The one sentence under the word."""
    if view.outcome is Outcome.GRANTED:
        if view.repeat:
            return QCoreApplication.translate("Outcome", "Already recorded.")
        if view.direction is Direction.OUT:
            return QCoreApplication.translate("Outcome", "Goodbye — your exit is recorded.")
        return QCoreApplication.translate("Outcome", "Welcome — your visit is recorded.")
    if view.outcome is Outcome.NEEDS_GUARD:
        return QCoreApplication.translate("Outcome", "Please see the guard to be let in.")
    return QCoreApplication.translate("Outcome", "Your code was not accepted.")


def direction_word(direction: Direction) -> str:
    """VÀO / RA on the scan screen (a gate counting both ways records entries)."""
    if direction is Direction.OUT:
        return QCoreApplication.translate("Direction", "OUT")
    return QCoreApplication.translate("Direction", "IN")
