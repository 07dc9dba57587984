"""The touchscreen app's words (issue 8, items 3, 9, 10): a text for every reason and hint in both
languages, translation files complete and compiled, and every text colour pair at WCAG AA contrast."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from kiosk.hints import Hint
from kiosk.model import Direction, Kind, Outcome, Reason
from ui import theme
from ui.language import LANGUAGES, LanguageSwitcher
from ui.texts import direction_word, hint_text, outcome_word, reason_text, result_sentence
from ui.viewmodel import VerdictView

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def languages(qapp: object) -> Iterator[LanguageSwitcher]:
    switcher = LanguageSwitcher(qapp)  # type: ignore[arg-type]
    yield switcher
    switcher.close()


@pytest.mark.parametrize("reason", list(Reason))
def test_every_reason_has_words_in_both_languages(languages: LanguageSwitcher, reason: Reason) -> None:
    texts = {}
    for language in LANGUAGES:
        languages.set_language(language)
        texts[language] = reason_text(reason)
        assert texts[language].strip(), (language, reason)
        assert "_" not in texts[language]  # plain words, never the reason code
    assert texts["vi"] != texts["en"], "the Vietnamese text is still the English source"


def test_the_reasons_the_issue_names_say_what_it_asks(languages: LanguageSwitcher) -> None:
    languages.set_language("en")
    assert "place's code" in reason_text(Reason.LOCATION_CODE)
    assert "personal code or ID card" in reason_text(Reason.LOCATION_CODE)
    assert "expired" in reason_text(Reason.DCC_EXPIRED)
    assert "guard" in reason_text(Reason.NOT_RECORDED)
    languages.set_language("vi")
    assert "mã của địa điểm" in reason_text(Reason.LOCATION_CODE)
    assert "hết hạn" in reason_text(Reason.DCC_EXPIRED)
    assert "bảo vệ" in reason_text(Reason.NOT_RECORDED)


def test_hints_outcomes_and_directions_in_both_languages(languages: LanguageSwitcher) -> None:
    for language in LANGUAGES:
        languages.set_language(language)
        assert hint_text(Hint.NONE) == ""
        for hint in set(Hint) - {Hint.NONE}:
            assert hint_text(hint).strip()
        for outcome in Outcome:
            assert outcome_word(outcome).strip()
            view = VerdictView(outcome, Reason.OK, Kind.CCCD)
            assert result_sentence(view).strip()
    languages.set_language("vi")
    assert (direction_word(Direction.IN), direction_word(Direction.OUT)) == ("VÀO", "RA")
    languages.set_language("en")
    assert (direction_word(Direction.IN), direction_word(Direction.OUT)) == ("IN", "OUT")


def test_translation_files_are_complete_and_compiled() -> None:
    """lupdate finds no string missing from either .ts file, every message has a finished non-empty
    translation, and the committed .qm files are what lrelease makes of the .ts files."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "i18n"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("foreground", "background"), theme.TEXT_PAIRS)
def test_text_colours_meet_wcag_aa(foreground: str, background: str) -> None:
    assert theme.contrast_ratio(foreground, background) >= 4.5


def test_contrast_ratio_matches_the_wcag_examples() -> None:
    assert theme.contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert theme.contrast_ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)
