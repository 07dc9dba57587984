"""Layer: ui. The screen language: Qt translators loaded from ``ui/i18n/kiosk_<lang>.qm``.

Source strings are English; ``kiosk_vi.qm`` makes them Vietnamese (the default) and ``kiosk_en.qm`` supplies
the English plural forms. Switching installs the other translator; Qt then sends every widget a
``LanguageChange`` event and each screen re-reads its texts (``retranslate()``).

The ``.ts`` files are maintained with ``scripts/i18n`` (``pyside6-lupdate``, then ``pyside6-lrelease``); the
compiled ``.qm`` files are committed next to them, and a test fails when they are out of date.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTranslator

I18N_DIR = Path(__file__).resolve().parent / "i18n"
LANGUAGES = ("vi", "en")
#: The language names on the switch, each in its own language (never translated, so anyone finds theirs).
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}


def qm_path(language: str) -> Path:
    return I18N_DIR / f"kiosk_{language}.qm"


def ts_path(language: str) -> Path:
    return I18N_DIR / f"kiosk_{language}.ts"


class LanguageSwitcher:
    """Owns the app's translator. Use on the GUI thread."""

    def __init__(self, app: QCoreApplication) -> None:
        self._app = app
        self._translator: QTranslator | None = None
        self.language = ""

    def set_language(self, language: str) -> None:
        """Switch every screen to ``language`` (``vi`` or ``en``)."""
        if language not in LANGUAGES:
            raise ValueError(f"{language!r} is not a screen language; allowed: {', '.join(LANGUAGES)}")
        if language == self.language:
            return
        translator = QTranslator(self._app)
        if not translator.load(str(qm_path(language))):
            raise FileNotFoundError(f"cannot load the {language} translation {qm_path(language)}")
        if self._translator is not None:
            self._app.removeTranslator(self._translator)
            self._translator.deleteLater()
        self._app.installTranslator(translator)
        self._translator = translator
        self.language = language

    def toggle(self) -> str:
        """Vietnamese ↔ English; returns the new language."""
        self.set_language("en" if self.language == "vi" else "vi")
        return self.language

    def close(self) -> None:
        if self._translator is not None:
            self._app.removeTranslator(self._translator)
            self._translator = None
            self.language = ""
