"""Layer: core. Vietnamese Telex typing for the on-screen keyboard: ASCII keys in, Vietnamese text out.

Telex is how most Vietnamese type on a keyboard without Vietnamese keys: ``aa`` → â, ``aw`` → ă, ``ee`` → ê,
``oo`` → ô, ``ow`` → ơ, ``uw`` or a lone ``w`` → ư, ``dd`` (at the start) → đ, and after the vowels a tone key
``s f r x j`` (sắc, huyền, hỏi, ngã, nặng); ``z`` takes the tone off. So ``Nguyeenx Thij Huwowngf`` →
``Nguyễn Thị Hường`` and ``DDawngj Quoocs Vieetj`` → ``Đặng Quốc Việt``.

How this engine reads keys, word by word (a word is a run of ASCII letters; everything else is kept as is):

- The tone belongs to the syllable, not to a letter, so it may be typed anywhere after the first vowel
  (``vieetj`` = ``viejet``) and moves when the vowels change (``hofa`` → ``hoà``). It is placed by the
  modern ("new style") rule, on the main vowel (``ToneStyle.MODERN``, the default: ``hoà``, ``khoẻ``,
  ``thuỷ``); ``ToneStyle.TRADITIONAL`` gives ``hòa``, ``khỏe``, ``thủy``. The two differ only for an open
  ``oa``, ``oe`` or ``uy``, and both are in use (ID cards often print the traditional one), so code that
  compares typed names with recorded ones must treat them as equal.
- A mark key may come after the final consonant (``tuana`` → ``tuân``, ``truongw`` → ``trương``);
  ``uow`` is ``uơ`` while nothing follows (``thuowr`` → ``thuở``) and ``ươ`` once something does.
- A key changes a letter only if the word can still become a Vietnamese syllable (a known initial, a
  known vowel group, a final among c ch m n ng nh p t); otherwise it is an ordinary letter. A word that
  cannot be Vietnamese is left exactly as typed: ``Smith``, ``Xavier``, ``Jones``, ``Lawrence``.
- Pressing the same mark key again undoes it and types the letter (``ass`` → ``as``, ``aaa`` → ``aa``,
  ``ww`` → ``w``, ``ddd`` → ``dd``); the rest of that word is then typed literally. Like every Telex engine,
  a foreign word that happens to spell a Vietnamese one still changes (``Lee`` → ``Lê``, ``Ross`` → ``Ros``):
  the keyboard's Telex switch (``TelexComposer.enabled``) is there for those.
- Capitals are kept letter by letter (``DDawngj`` → ``Đặng``, ``VIEETJ`` → ``VIỆT``); output is NFC.
- A word that stops being possible mid-way shows the keys as typed (``Vieetjk``), as Unikey's "restore
  keys" does; in ``TelexComposer`` a backspace then takes the slip back (``Việt`` again).

No library is used: the one Telex engine on PyPI (``bogo`` 1.1, LGPLv3+) was last released in 2014 for
Python 2.7 / 3.3 and is unmaintained; the rules fit in this module, tested word by word in
``tests/test_telex.py``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import chain

__all__ = ["TelexComposer", "ToneStyle", "telex_to_vietnamese"]


class ToneStyle(StrEnum):
    """Where the tone goes on an open ``oa``, ``oe``, ``uy``."""

    MODERN = "modern"  # hoà, khoẻ, thuỷ
    TRADITIONAL = "traditional"  # hòa, khỏe, thủy


# Combining marks of the five tones, by Telex key.
_TONES = {"s": "\u0301", "f": "\u0300", "r": "\u0309", "x": "\u0303", "j": "\u0323"}
_TONE_KEY = {mark: key for key, mark in _TONES.items()}
_VOWELS = frozenset("aăâeêioôơuưy")
_BARE = {"ă": "a", "â": "a", "ê": "e", "ô": "o", "ơ": "o", "ư": "u", "đ": "d"}
_HAT = {"a": "â", "ă": "â", "e": "ê", "o": "ô", "ơ": "ô"}  # aa, ee, oo (also turning ă / ơ into â / ô)
_HORN = {"a": "ă", "â": "ă", "o": "ơ", "ô": "ơ", "u": "ư"}  # w
_W_MARKED = frozenset("ăơư")


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_INITIALS = _set("b c ch d đ g gh gi h k kh l m n ng ngh nh p ph qu r s t th tr v x") | {""}
_FINALS = _set("c ch m n ng nh p t") | {""}
# Vowel groups that end the syllable (the last letter may be a glide: ai, ao, iêu...) ...
_OPEN = _set(
    "a e ê i o ô ơ u ư y ai ao au ay âu ây eo êu ia iu oa oe oi ôi ơi ua uê ui uơ uy ưa ưi ưu "
    "iêu yêu oai oao oay oeo uây uôi uya uyu ươi ươu"
)
# ... and those that take a final consonant (y: after qu, as in Quỳnh).
_CLOSED = _set("a ă â e ê i o ô ơ u ư y iê yê oa oă oe oo uâ uê uô ươ uy uyê")
_ALL_GROUPS = _OPEN | _CLOSED


def _compatible(typed: str, group: str) -> bool:
    """``typed`` could still become ``group``: each letter is the same, or the same without its mark yet."""
    return len(typed) == len(group) and all(
        t == g or t == _BARE.get(g) for t, g in zip(typed, group, strict=True)
    )


def _split(chars: str) -> tuple[int, int]:
    """Where the vowel group starts and ends in a lower-case word: initial, vowels, final."""
    start = 0
    while start < len(chars) and chars[start] not in _VOWELS:
        start += 1
    following = chars[start + 1 : start + 2]
    if chars[:start] == "q" and chars[start : start + 1] == "u":
        start += 1  # qu is the initial: quốc, quý
    elif chars[:start] == "g" and chars[start : start + 1] == "i" and following and following in _VOWELS:
        start += 1  # gi is the initial before another vowel (già, giữ), not in gì, gìn
    end = start
    while end < len(chars) and chars[end] in _VOWELS:
        end += 1
    return start, end


def _possible(chars: str) -> bool:
    """Whether the lower-case ``chars`` are, or can still grow into, one Vietnamese syllable."""
    start, end = _split(chars)
    initial, group, final = chars[:start], chars[start:end], chars[end:]
    if initial == "q":
        return not group and not final
    if initial not in _INITIALS or final not in _FINALS:
        return False
    if final:
        return any(_compatible(group, g) for g in _CLOSED)
    return any(_compatible(group, g[: len(group)]) for g in _ALL_GROUPS if len(g) >= len(group))


def _settle_horns(chars: str) -> str:
    """``uơ`` / ``ưo`` followed by anything is ``ươ`` (thương, người); alone it stays (thuở)."""
    for pair in ("uơ", "ưo"):
        at = chars.find(pair)
        if at >= 0 and at + 2 < len(chars):
            chars = chars[:at] + "ươ" + chars[at + 2 :]
    return chars


def _tone_position(chars: str, style: ToneStyle) -> int | None:
    """Index of the letter that carries the tone, by the spelling rules."""
    start, end = _split(chars)
    if start == end:  # no vowel group where one was expected (a word typed literally): the first vowel
        return next((i for i, c in enumerate(chars) if c in _VOWELS), None)
    group = chars[start:end]
    marked = [i for i, c in enumerate(group) if c in "ăâêôơư"]
    if marked:
        at = marked[-1]  # ươ → ơ, iê → ê, ưa → ư
    elif end < len(chars):
        at = len(group) - 1  # a final consonant: the last vowel (toán, huỳnh)
    elif len(group) == 3:
        at = 1  # oai, uya, oeo
    elif len(group) == 2:
        at = 1 if group in ("oa", "oe", "uy") and style is ToneStyle.MODERN else 0
    else:
        at = 0
    return start + min(at, len(group) - 1)


@dataclass(slots=True)
class _Letter:
    char: str  # lower case, with its vowel mark (â, ơ, đ ...) but never a tone
    upper: bool
    from_w: bool = False  # an ư typed as a lone w: undoing it gives back the w


@dataclass(slots=True)
class _Word:
    """The keys of one word and what they have built so far."""

    keys: str = ""
    letters: list[_Letter] = field(default_factory=list)
    tone: str = ""
    frozen: bool = False  # a mark was undone: the rest of the word is literal
    undone: bool = False
    dead: bool = False  # cannot be Vietnamese any more: shown exactly as typed

    def chars(self) -> str:
        return "".join(letter.char for letter in self.letters)

    def feed(self, key: str) -> None:
        self.keys += key
        low = key.lower()
        if self.frozen or self.dead:
            self._append(key)
        elif low in _TONES:
            self._tone(key, _TONES[low])
        elif low == "z" and self.tone:
            self.tone = ""
        elif low in "aeo":
            self._hat(key)
        elif low == "w":
            self._horn(key)
        elif low == "d" and self.chars() in ("d", "đ"):
            self._stroke(key)
        else:
            self._append(key)
        if not (self.frozen or self.dead) and not _possible(self.chars()):
            self.dead = True

    def text(self, style: ToneStyle) -> str:
        if self.dead:
            return self.keys
        chars = _settle_horns(self.chars())
        at = _tone_position(chars, style) if self.tone else None
        out = []
        for i, (char, letter) in enumerate(zip(chars, self.letters, strict=True)):
            shown = char.upper() if letter.upper else char
            out.append(shown + self.tone if i == at else shown)
        return unicodedata.normalize("NFC", "".join(out))

    def _append(self, key: str, char: str | None = None, *, from_w: bool = False) -> None:
        self.letters.append(_Letter(char or key.lower(), key.isupper(), from_w))

    def _undo(self, key: str | None) -> None:
        if key is not None:
            self._append(key)
        self.frozen = self.undone = True

    def _group(self) -> tuple[int, int]:
        return _split(self.chars())

    def _try(self, changes: dict[int, str]) -> bool:
        """Apply letter changes if the word stays possible."""
        chars = list(self.chars())
        for i, char in changes.items():
            chars[i] = char
        if not _possible("".join(chars)):
            return False
        for i, char in changes.items():
            self.letters[i].char = char
        return True

    def _tone(self, key: str, mark: str) -> None:
        start, end = self._group()
        if start == end:
            self._append(key)  # no vowel yet: s, r, x are initials (sa, tre, xa); f, j are not Vietnamese
        elif self.tone == mark:
            self.tone = ""
            self._undo(key)
        else:
            self.tone = mark

    def _hat(self, key: str) -> None:
        low = key.lower()
        start, end = self._group()
        bare = [_BARE.get(c, c) for c in self.chars()]
        at = next((i for i in range(end - 1, start - 1, -1) if bare[i] == low), None)
        if at is not None:
            if self.letters[at].char == _HAT[low]:
                self.letters[at].char = low
                self._undo(key)
                return
            if self._try({at: _HAT[self.letters[at].char]}):
                return
        self._append(key)

    def _horn(self, key: str) -> None:
        start, end = self._group()
        chars = self.chars()
        group = chars[start:end]
        if not group:
            if _possible(chars + "ư"):
                self._append(key, "ư", from_w=True)  # a lone w: chw → chư, Wng → Ưng
            else:
                self._append(key)
            return
        pair = next((i for i in range(len(group) - 1) if group[i] in "uư" and group[i + 1] in "oôơ"), None)
        if pair is not None and group[pair + 1] != "ơ":
            if self._try({start + pair + 1: "ơ"}):  # uo → uơ (ươ once followed), ưo → ươ
                return
        elif any(c in _W_MARKED for c in group):  # ww: undo every w mark of the group
            typed_w = False
            for letter in self.letters[start:end]:
                if letter.from_w:
                    letter.char, typed_w = "w", True
                elif letter.char in _W_MARKED:
                    letter.char = _BARE[letter.char]
            self._undo(None if typed_w else key)
            return
        else:
            # the a of oa (hoằng), else the first a, o or u (ưa, ơi, ưu)
            at = group.find("oa") + 1 or next((i for i, c in enumerate(group) if c in "aâoôu"), -1)
            if at >= 0 and self._try({start + at: _HORN[group[at]]}):
                return
        self._append(key)

    def _stroke(self, key: str) -> None:
        first = self.letters[0]
        if first.char == "đ":
            first.char = "d"
            self._undo(key)
        else:
            first.char = "đ"


def _convert_word(keys: str, style: ToneStyle) -> str:
    word = _Word()
    for key in keys:
        word.feed(key)
    return word.text(style)


def _is_key(char: str) -> bool:
    return char.isascii() and char.isalpha()


def telex_to_vietnamese(keys: str, *, style: ToneStyle = ToneStyle.MODERN) -> str:
    """Text typed with Telex keys, as Vietnamese (NFC). Words are runs of ASCII letters; the rest is kept."""
    out: list[str] = []
    word_start = 0
    for i, char in enumerate(chain(keys, " ")):
        if not _is_key(char):
            if word_start < i:
                out.append(_convert_word(keys[word_start:i], style))
            if i < len(keys):
                out.append(char)
            word_start = i + 1
    return unicodedata.normalize("NFC", "".join(out))


def _keys_for(text: str) -> str | None:
    """Telex keys that type the Vietnamese ``text`` (marks after each letter, the tone at the end), or
    None when a character has no Telex spelling."""
    keys: list[str] = []
    tone = ""
    for char in text:
        decomposed = unicodedata.normalize("NFD", char)
        base, marks = decomposed[:1], decomposed[1:]
        if base in "đĐ":
            keys.append(("D" if base == "Đ" else "d") + "d")
            continue
        if not _is_key(base):
            return None
        keys.append(base)
        for mark in marks:
            if mark in _TONE_KEY and not tone:
                tone = _TONE_KEY[mark]
            elif mark == "\u0302" and base.lower() in "aeo":  # circumflex
                keys.append(base.lower())
            elif (mark == "\u0306" and base.lower() == "a") or (mark == "\u031b" and base.lower() in "ou"):
                keys.append("w")  # breve, horn
            else:
                return None
    return "".join(keys) + tone


class TelexComposer:
    """The text of one input field typed with Telex, key by key.

    ``feed`` takes one key: a character, or ``"\\b"`` for backspace. Backspace removes the last character
    shown (``Việt`` → ``Việ``), and the word before the cursor stays editable: a tone key typed after it
    still changes it. In a word shown as typed because it cannot be Vietnamese, backspace takes back the
    last key instead, so a slip is undone whole (``Vieetjk`` → ``Việt``). A Vietnamese letter from the
    keyboard (``đ``, ``ư``, ...) joins the word when it shows as is. With ``enabled`` False keys go in
    literally; switching commits the word being typed. Not thread-safe: one composer belongs to one field,
    on the GUI thread.
    """

    def __init__(self, *, enabled: bool = True, style: ToneStyle = ToneStyle.MODERN) -> None:
        self._enabled = enabled
        self._style = style
        self._done = ""  # the text before the word being typed
        self._word = _Word()
        self._units: list[tuple[str, str]] = []  # the word as (Telex keys, what was typed) per key press

    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._commit()
        self._enabled = value

    @property
    def text(self) -> str:
        return unicodedata.normalize("NFC", self._done + self._shown_word())

    def clear(self) -> None:
        self._done = ""
        self._start_word([])

    def feed(self, key: str) -> None:
        if len(key) != 1:
            raise ValueError(f"one key at a time, got {key!r}")
        if key == "\b":
            self._backspace()
        elif not self._enabled:
            self._commit()
            self._done += key
        elif _is_key(key):
            self._type(key, key)
        elif not self._continue_word(key):
            self._commit()
            self._done += key

    def _shown_word(self) -> str:
        if self._word.dead:  # not Vietnamese: shown as typed
            return "".join(typed for _, typed in self._units)
        return self._word.text(self._style)

    def _type(self, keys: str, typed: str) -> None:
        for key in keys:
            self._word.feed(key)
        self._units.append((keys, typed))

    def _start_word(self, units: list[tuple[str, str]]) -> None:
        self._word, self._units = _Word(), []
        for keys, typed in units:
            self._type(keys, typed)

    def _commit(self) -> None:
        self._done = self.text
        self._start_word([])

    def _continue_word(self, char: str) -> bool:
        """A Vietnamese letter joins the word if the word then shows just that letter more."""
        keys = _keys_for(char)
        if keys is None:
            return False
        expected = unicodedata.normalize("NFC", self._shown_word() + char)
        units = list(self._units)
        self._type(keys, char)
        if unicodedata.normalize("NFC", self._shown_word()) == expected:
            return True
        self._start_word(units)
        return False

    def _backspace(self) -> None:
        if self._enabled and self._word.dead and self._units and len(self._units[-1][1]) == 1:
            self._start_word(self._units[:-1])  # take back the last key of a word shown as typed
            return
        text = self.text[:-1]
        self._done = text
        self._start_word([])
        if not self._enabled:
            return
        start = len(text)
        while start > 0 and _keys_for(text[start - 1]) is not None:
            start -= 1
        keys = _keys_for(text[start:])
        if keys and _convert_word(keys, self._style) == text[start:]:
            self._done = text[:start]  # the word before the cursor can be edited again
            self._type(keys, text[start:])
