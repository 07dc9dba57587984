"""Layer: core. The guard console's rules, without Qt: what a guard may type, how search matches and how
"people inside now" is counted.

The store (``Store.record_manual``, ``record_override``, ``search``, ``inside_now``) applies these rules;
the touchscreen shows ``ConsoleLine``s, which never hold a full ID number.

- **Notes** (the reason for a manual entry or an override) are cleaned, not refused: NFC, every run of
  whitespace (line breaks too) one space, invisible and format characters dropped; an empty note is
  ``Reason.EMPTY`` and one longer than ``MAX_NOTE_CHARS`` is ``Reason.TOO_LONG`` (a ``PayloadError``, so the
  screen can say what is wrong). The stock reasons below are English codes the UI translates; a typed
  reason is stored as typed.
- **Guards** are named by their role or name (``"guard"``, ``"Bảo vệ 2"``), never by a PIN: a guard name
  made only of digits is a programming error (``ValueError``).
- **Search** folds case and Vietnamese accents (``fold``: "Đặng" → "dang", "Nguyễn" → "nguyen"); every word
  typed must begin a word of the name, in any order ("an nguyen" finds "Nguyễn Văn An", "an" does not find
  "Lan"). A word of ASCII digits matches the end of the ID number and needs at least ``MIN_ID_DIGITS``
  digits, so a guard cannot list everyone by typing one digit.
- **Inside now** (``count_inside``): granted visits only, oldest first; a person (an identity hash under one
  key) counts again only when the direction changes, so a second scan on the way in is not a second person
  inside; a visit without an identity (a manual entry without an ID) always counts. ``inside`` is entries
  minus exits, never below zero (people who came in before the day started and leave today would make it
  negative).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from kiosk.errors import PayloadError
from kiosk.model import Direction, Kind, Outcome, Reason, Visit, mask_id
from kiosk.payloads.text import ascii_digits, is_invisible

__all__ = [
    "MANUAL_ENTRY_REASONS",
    "MAX_NOTE_CHARS",
    "MIN_ID_DIGITS",
    "OVERRIDE_REASONS",
    "ConsoleLine",
    "InsideCount",
    "SearchQuery",
    "clean_guard",
    "clean_note",
    "console_line",
    "count_inside",
    "fold",
    "parse_query",
]

#: Stock reasons for overriding a refusal, as English codes the UI translates (the guard may type another).
OVERRIDE_REASONS: Final[tuple[str, ...]] = (
    "known staff member",
    "visitor expected by the office",
    "code damaged, identity checked by hand",
    "elderly visitor without phone",
    "emergency or official duty",
)
#: Stock reasons for a manual entry (a visitor without a phone or an ID card to scan).
MANUAL_ENTRY_REASONS: Final[tuple[str, ...]] = (
    "visitor without phone",
    "visitor without ID card",
    "elderly visitor",
    "code does not scan",
    "delivery or contractor",
)
MAX_NOTE_CHARS: Final = 200
MAX_GUARD_CHARS: Final = 64
#: Fewest digits a search for the end of an ID number takes.
MIN_ID_DIGITS: Final = 4

# Letters that do not decompose into a base letter and a mark under NFD.
_UNDECOMPOSED = str.maketrans(
    {"đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "ł": "l", "Ł": "l", "ø": "o", "Ø": "o"}
)


def fold(text: str) -> str:
    """``text`` for matching: accents and case folded, whitespace collapsed ("Đặng  Thị" → "dang thi")."""
    decomposed = unicodedata.normalize("NFD", text.translate(_UNDECOMPOSED))
    bare = "".join(ch for ch in decomposed if not unicodedata.category(ch).startswith("M"))
    return " ".join(unicodedata.normalize("NFC", bare).casefold().split())


def _clean_line(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    # Whitespace first (a line break or tab is one space), then invisible and format characters go.
    text = " ".join(text.split())
    return " ".join("".join(ch for ch in text if not is_invisible(ch)).split())


def clean_note(note: str) -> str:
    """The guard's reason as stored: one clean line of at most ``MAX_NOTE_CHARS`` characters.

    Raises ``PayloadError`` (kind ``manual``): ``EMPTY`` when nothing is left, ``TOO_LONG`` beyond the limit.
    """
    cleaned = _clean_line(note)
    if not cleaned:
        raise PayloadError(Reason.EMPTY, Kind.MANUAL, "the reason is empty")
    if len(cleaned) > MAX_NOTE_CHARS:
        raise PayloadError(Reason.TOO_LONG, Kind.MANUAL, f"the reason has {len(cleaned)} characters")
    return cleaned


def clean_guard(guard: str) -> str:
    """The guard's role or name as stored; ``ValueError`` for an empty one, a long one or a PIN."""
    cleaned = _clean_line(guard)
    if not cleaned or len(cleaned) > MAX_GUARD_CHARS:
        raise ValueError(f"a guard is named by a role or name of 1-{MAX_GUARD_CHARS} characters")
    if ascii_digits(cleaned.replace(" ", "")):
        raise ValueError("a guard is named by a role or name, never by a PIN")
    return cleaned


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What a guard typed, split into name words (folded) and ID-number endings (ASCII digits)."""

    words: tuple[str, ...]
    id_endings: tuple[str, ...]

    @property
    def usable(self) -> bool:
        """False for an empty query or one with a digit group shorter than ``MIN_ID_DIGITS``."""
        if not self.words and not self.id_endings:
            return False
        return all(len(d) >= MIN_ID_DIGITS for d in self.id_endings)

    def name_matches(self, name: str | None) -> bool:
        """Every word typed begins some word of ``name`` (accents and case folded)."""
        if not self.words:
            return True
        if not name:
            return False
        parts = _name_words(name)
        return all(any(p.startswith(w) for p in parts) for w in self.words)


@functools.lru_cache(maxsize=4096)
def _name_words(name: str) -> tuple[str, ...]:
    # Cached: a search folds every recorded name, and the same staff names come back day after day.
    return tuple(fold(name).split())


def parse_query(text: str) -> SearchQuery:
    """Split a search text: words of ASCII digits are ID endings, the rest folded name words."""
    words: list[str] = []
    endings: list[str] = []
    for token in fold(_clean_line(text)).split():
        (endings if ascii_digits(token) else words).append(token)
    return SearchQuery(tuple(words), tuple(endings))


@dataclass(frozen=True, slots=True)
class InsideCount:
    """People inside now: ``entered`` and ``left`` since the start of the day, ``inside`` their difference
    (never below zero)."""

    entered: int
    left: int

    @property
    def inside(self) -> int:
        return max(0, self.entered - self.left)


def count_inside(visits: Iterable[tuple[Direction, str | None, str | None]]) -> InsideCount:
    """Count ``(direction, identity_key_id, identity_hash)`` of granted visits, **oldest first**.

    A person counts again only when their direction changes; ``Direction.BOTH`` counts as in (a gate set to
    both ways records entries, as the scan pipeline does). Identities without a hash always count.
    """
    last: dict[tuple[str | None, str], Direction] = {}
    entered = left = 0
    for direction, key_id, identity_hash in visits:
        way = Direction.OUT if direction is Direction.OUT else Direction.IN
        if identity_hash is not None:
            who = (key_id, identity_hash)
            if last.get(who) is way:
                continue
            last[who] = way
        if way is Direction.IN:
            entered += 1
        else:
            left += 1
    return InsideCount(entered, left)


@dataclass(frozen=True, slots=True)
class ConsoleLine:
    """One visit as the guard console shows it: the ID number masked (``••••1234``), never in full."""

    uuid: str
    at: datetime
    direction: Direction
    kind: Kind
    outcome: Outcome
    reason: Reason
    name: str
    masked_id: str
    manual: bool
    guard: str
    note: str
    #: a refused or needs-guard visit the guard may override (``Store.record_override``): not one already let in
    overridable: bool
    #: a refusal the guard already let in (``Store.override_of``): it cannot be overridden again
    overridden: bool = False


def console_line(visit: Visit, *, overridden: bool = False) -> ConsoleLine:
    """The console's view of ``visit``; ``at`` is the recorded wall time (convert to local time to show).
    ``overridden``: the guard already let this refusal in (``Store.override_of``)."""
    refusal = visit.outcome in (Outcome.REFUSED, Outcome.NEEDS_GUARD)
    return ConsoleLine(
        uuid=visit.uuid,
        at=visit.at.wall,
        direction=visit.direction,
        kind=visit.kind,
        outcome=visit.outcome,
        reason=visit.reason,
        name=visit.name or "",
        masked_id=mask_id(visit.id_number) if visit.id_number else "",
        manual=visit.manual,
        guard=visit.guard or "",
        note=visit.note or "",
        overridable=refusal and not overridden,
        overridden=refusal and overridden,
    )
