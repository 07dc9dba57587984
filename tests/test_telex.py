"""The Telex engine of the on-screen keyboard, word by word: what is typed, and what the field must show."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.telex import TelexComposer, ToneStyle, telex_to_vietnamese

# (keys typed, text shown, why the row is here)
WORDS = [
    # the names of the brief
    ("Nguyeenx", "Nguyễn", "ee then a tone after the final"),
    ("Thij", "Thị", "one vowel"),
    ("Huwowngf", "Hường", "ươ typed as uw ow"),
    ("Huowngf", "Hường", "ươ typed as uo w"),
    ("DDawngj", "Đặng", "DD, aw, capital kept"),
    ("Quoocs", "Quốc", "qu is the initial: the tone goes on ô"),
    ("Vieetj", "Việt", "iê + final: the tone on ê"),
    ("Truwowng", "Trương", "ươ with no tone"),
    ("Truongw", "Trương", "w after the final"),
    ("Uwng", "Ưng", "capital Ư"),
    ("Wng", "Ưng", "a lone W is Ư"),
    ("Nguyeenx Thij Huwowngf", "Nguyễn Thị Hường", "a whole name"),
    ("DDawngj Quoocs Vieetj", "Đặng Quốc Việt", "a whole name"),
    ("Truwowng Uwng", "Trương Ưng", "a whole name"),
    # tone placement
    ("hoaf", "hoà", "open oa: modern style, on a"),
    ("khoer", "khoẻ", "open oe: modern style, on e"),
    ("thuyr", "thuỷ", "open uy: modern style, on y"),
    ("hoanf", "hoàn", "oa + final: on a in both styles"),
    ("huyfnh", "huỳnh", "uy + final: on y"),
    ("muaf", "mùa", "open ua: on u"),
    ("mias", "mía", "open ia: on i"),
    ("tuaans", "tuấn", "uâ: on â"),
    ("cuoocj", "cuộc", "uô: on ô"),
    ("hofa", "hoà", "tone typed before the last vowel moves"),
    ("viejet", "việt", "tone typed before the mark"),
    ("tuana", "tuân", "the hat typed after the final"),
    ("oais", "oái", "three vowels: the middle one"),
    # ươ and uơ
    ("thuowr", "thuở", "uơ with nothing after it stays uơ"),
    ("huow", "huơ", "uơ"),
    ("quowr", "quở", "qu + ơ"),
    ("nguwowif", "người", "ươ + glide i: on ơ"),
    ("ruwowuj", "rượu", "ươu"),
    ("truwong", "trương", "ưo + final settles as ươ"),
    ("muwa", "mưa", "ưa: on ư when toned"),
    ("mwa", "mưa", "ư from a lone w"),
    ("muaw", "mưa", "ua + w: the u takes the horn"),
    ("chw", "chư", "consonants then w"),
    ("hoawngf", "hoằng", "oa + w: the a takes the breve"),
    # qu and gi
    ("quys", "quý", "qu + y"),
    ("quas", "quá", "qu + a: on a, not u"),
    ("quaan", "quân", "qu + â"),
    ("Quyfnh", "Quỳnh", "qu + y + final"),
    ("quyeenf", "quyền", "qu + yê"),
    ("khuyeen", "khuyên", "uyê"),
    ("gif", "gì", "gi with no other vowel: i is the vowel"),
    ("giaf", "già", "gi is the initial before a"),
    ("giuwax", "giữa", "gi + ưa"),
    ("gieengs", "giếng", "gi + ê"),
    ("ddi", "đi", "dd"),
    # undo: the same mark key again types the letter
    ("ass", "as", "ss undoes the tone"),
    ("aaa", "aa", "aaa undoes the hat"),
    ("ooo", "oo", "ooo"),
    ("xooong", "xoong", "the one Vietnamese word with oo"),
    ("ww", "w", "a lone w undone"),
    ("uww", "uw", "uw undone"),
    ("aww", "aw", "aw undone"),
    ("ddd", "dd", "dd undone"),
    ("asz", "a", "z removes the tone"),
    ("asf", "à", "another tone replaces it"),
    # capitals
    ("VIEETJ", "VIỆT", "all capitals, capital tone key"),
    ("NGUYEENX", "NGUYỄN", "all capitals"),
    ("Dd", "Đ", "the case of the first d"),
    ("Aas", "Ấ", "the case of the first a"),
    # foreign names are left as typed
    ("Smith", "Smith", "sm is no initial"),
    ("Xavier", "Xavier", "v is no final"),
    ("Jones", "Jones", "j is no initial: s stays a letter"),
    ("Lawrence", "Lawrence", "aw and r applied, then impossible: as typed"),
    ("William", "William", "W would be Ư"),
    ("Maria", "Maria", "r would be a tone"),
    ("Thomas", "Thomas", "s would be a tone"),
    ("Sarah", "Sarah", "r would be a tone"),
    ("Anna", "Anna", "nn is no final"),
    ("Fred", "Fred", "f is no initial"),
    ("Zoe", "Zoe", "z is no initial"),
    # punctuation, digits and spaces are kept
    ("Nguyeenx, DDawngj-Vieetj (12)", "Nguyễn, Đặng-Việt (12)", "separators"),
    ("so61 12A, phoos Hueees", "so61 12A, phố Huees", "digits end words; eee undoes"),
    ("", "", "nothing"),
]


@pytest.mark.parametrize(("keys", "expected", "why"), WORDS, ids=[row[0] or "empty" for row in WORDS])
def test_words(keys: str, expected: str, why: str) -> None:
    assert telex_to_vietnamese(keys) == expected, why


@pytest.mark.parametrize(("keys", "expected", "why"), WORDS, ids=[row[0] or "empty" for row in WORDS])
def test_the_composer_shows_the_same_key_by_key(keys: str, expected: str, why: str) -> None:
    composer = TelexComposer()
    for key in keys:
        composer.feed(key)
    assert composer.text == expected, why


# Every vowel with every tone: (keys of the vowel, its five toned forms for s f r x j).
VOWELS = [
    ("a", "áàảãạ"),
    ("aw", "ắằẳẵặ"),
    ("aa", "ấầẩẫậ"),
    ("e", "éèẻẽẹ"),
    ("ee", "ếềểễệ"),
    ("i", "íìỉĩị"),
    ("o", "óòỏõọ"),
    ("oo", "ốồổỗộ"),
    ("ow", "ớờởỡợ"),
    ("u", "úùủũụ"),
    ("uw", "ứừửữự"),
    ("y", "ýỳỷỹỵ"),
]
TONED = [(v + t, form) for v, forms in VOWELS for t, form in zip("sfrxj", forms, strict=True)]


@pytest.mark.parametrize(("keys", "expected"), TONED, ids=[k for k, _ in TONED])
def test_every_tone_on_every_vowel(keys: str, expected: str) -> None:
    assert telex_to_vietnamese("t" + keys + "n") == "t" + expected + "n"
    assert telex_to_vietnamese(keys.upper()) == expected.upper()


@pytest.mark.parametrize(
    ("keys", "modern", "traditional"),
    [
        ("hoaf", "hoà", "hòa"),
        ("Khoer", "Khoẻ", "Khỏe"),
        ("thuyr", "thuỷ", "thủy"),
        ("hoanf", "hoàn", "hoàn"),
        ("quys", "quý", "quý"),
        ("Nguyeenx", "Nguyễn", "Nguyễn"),
    ],
)
def test_tone_styles(keys: str, modern: str, traditional: str) -> None:
    assert telex_to_vietnamese(keys) == modern
    assert telex_to_vietnamese(keys, style=ToneStyle.MODERN) == modern
    assert telex_to_vietnamese(keys, style=ToneStyle.TRADITIONAL) == traditional


def test_output_is_nfc_and_decomposed_input_is_composed() -> None:
    assert telex_to_vietnamese("Vieetj") == unicodedata.normalize("NFC", "Vie\u0323\u0302t")
    assert telex_to_vietnamese("Vie\u0302t Nam") == "Viêt Nam"  # what came in decomposed leaves composed


# --- the composer: backspace, the Telex switch, keys from a Vietnamese keyboard -----------------------------

COMPOSED = [
    ("Vieetj\b", "Việ", "backspace removes the last letter shown, not the last key"),
    ("Vieetj\bt", "Việt", "and typing goes on"),
    ("Vieetj \bs", "Viết", "backspace into the word before makes it editable again"),
    ("as\b", "", "one letter, one backspace"),
    ("Nguyeenx\b\beenx", "Nguyễn", "retype the end of a word"),
    ("mass\bs", "má", "a word undone becomes Telex again once edited"),
    ("Thij Huwowngf\b\b\b\b\b", "Thị ", "a whole word away"),
    ("Lawrenc\bce", "Lawrence", "a foreign word stays as typed"),
    ("ww\bw", "ư", "the undone w removed, then a new one"),
    ("\b\ba", "a", "backspace on nothing does nothing"),
    ("Trươn\bng", "Trương", "Vietnamese letters from the keyboard join the word"),
    ("Vieetjk", "Vieetjk", "a slip: the word cannot be Vietnamese, so it shows as typed"),
    ("Vieetjk\b", "Việt", "and backspace takes the slip back"),
    ("Vieetj \bk\b", "Việt", "a word edited again shows as it was shown, not as keys"),
    ("Trươnn", "Trươnn", "Vietnamese letters are shown as typed too"),
    ("đi\bif", "đì", "and take a tone"),
    ("12\b3", "13", "digits"),
]


@pytest.mark.parametrize(("keys", "expected", "why"), COMPOSED, ids=[row[0] for row in COMPOSED])
def test_composer(keys: str, expected: str, why: str) -> None:
    composer = TelexComposer()
    for key in keys:
        composer.feed(key)
    assert composer.text == expected, why


def test_composer_switched_off_types_keys_literally() -> None:
    composer = TelexComposer(enabled=False)
    assert composer.enabled is False
    for key in "Vieetj":
        composer.feed(key)
    assert composer.text == "Vieetj"
    composer.feed("\b")
    assert composer.text == "Vieet"


def test_switching_commits_the_word_being_typed() -> None:
    composer = TelexComposer()
    for key in "Vie":
        composer.feed(key)
    composer.enabled = False
    for key in "ej":
        composer.feed(key)
    assert composer.text == "Vieej"  # the ee made while off is not turned into ê afterwards
    composer.enabled = True
    for key in " Vieetj":
        composer.feed(key)
    assert composer.text == "Vieej Việt"


def test_clear() -> None:
    composer = TelexComposer()
    for key in "Nguyeenx Th":
        composer.feed(key)
    composer.clear()
    assert composer.text == ""
    composer.feed("s")
    assert composer.text == "s"


def test_one_key_at_a_time() -> None:
    with pytest.raises(ValueError, match="one key at a time"):
        TelexComposer().feed("aa")


letters = st.text(st.sampled_from("aAdDeEoOuUwWsfrxjzinghtqyc ,"), max_size=30)


@given(letters)
def test_composer_agrees_with_the_function(keys: str) -> None:
    composer = TelexComposer()
    for key in keys:
        composer.feed(key)
    assert composer.text == telex_to_vietnamese(keys)
    assert unicodedata.is_normalized("NFC", composer.text)


@given(st.lists(st.sampled_from([*"aAdeowWsfrjzngk ", "\b", "\b", *"đươ"]), max_size=40))
def test_backspace_removes_the_last_character_shown_or_takes_back_a_slip(keys: list[str]) -> None:
    composer = TelexComposer()
    shown = {""}  # every text shown so far
    for key in keys:
        before = composer.text
        composer.feed(key)
        if key == "\b" and before:
            # one character less, or a slip taken back: a shorter text that was on screen before
            assert composer.text == before[:-1] or composer.text in shown
            assert len(composer.text) < len(before)
        elif key == "\b":
            assert composer.text == ""
        assert unicodedata.is_normalized("NFC", composer.text)
        shown.add(composer.text)
