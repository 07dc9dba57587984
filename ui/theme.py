"""Layer: ui. Colours, sizes and type for every screen, in one place so a test can check them.

Sizes assume a touchscreen of at most about 170 pixels per inch (the 7" 1024×600 panels; the official 7"
800×480 display is about 133 ppi): 9 mm is then at most 60 px, so every touch target is at least
``MIN_TOUCH_PX`` = 60 px. Text sizes follow the window (``Metrics``), so one layout serves 800×480 up to
1920×1080 and 720×1280 portrait.

Every foreground/background pair the screens use is listed in ``TEXT_PAIRS``; a test checks each against
WCAG 2.x AA (contrast ratio at least 4.5:1, also for large text, where AA asks only 3:1).
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.model import Outcome

MIN_TOUCH_PX = 60
ASSUMED_MAX_PPI = 170

# Scan screen
BACKGROUND = "#F4F6F8"
TEXT = "#111827"
MUTED_TEXT = "#374151"
ACCENT = "#0B5394"  # direction badge, buttons
ON_ACCENT = "#FFFFFF"
PREVIEW_BACKGROUND = "#1F2933"
ON_PREVIEW = "#FFFFFF"
HINT_BACKGROUND = "#FFD54F"
ON_HINT = "#111827"
ALERT_BACKGROUND = "#B71C1C"  # camera lost
ON_ALERT = "#FFFFFF"
GUIDE = "#FFFFFF"  # the framing guide's corners (not text)

# Result screen, by outcome: (background, foreground)
RESULT_COLOURS: dict[Outcome, tuple[str, str]] = {
    Outcome.GRANTED: ("#1B5E20", "#FFFFFF"),
    Outcome.REFUSED: ("#B71C1C", "#FFFFFF"),
    Outcome.NEEDS_GUARD: ("#FFB300", "#111827"),
}

#: Every (foreground, background) pair that carries text.
TEXT_PAIRS: tuple[tuple[str, str], ...] = (
    (TEXT, BACKGROUND),
    (MUTED_TEXT, BACKGROUND),
    (ON_ACCENT, ACCENT),
    (ON_PREVIEW, PREVIEW_BACKGROUND),
    (ON_HINT, HINT_BACKGROUND),
    (ON_ALERT, ALERT_BACKGROUND),
    (TEXT, "#FFFFFF"),  # the location QR's caption card, the PIN pad's keys
    *((fg, bg) for bg, fg in RESULT_COLOURS.values()),
)


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of ``#RRGGBB``."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio of two ``#RRGGBB`` colours (1 to 21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@dataclass(frozen=True, slots=True)
class Metrics:
    """Pixel sizes for a window of ``width`` × ``height``."""

    width: int
    height: int

    @property
    def portrait(self) -> bool:
        return self.height > self.width

    @property
    def unit(self) -> float:
        """The base length: the short side, capped so that a 1920×1080 screen is not comically large."""
        return float(min(self.width, self.height, 900))

    def text_px(self, scale: float = 1.0) -> int:
        """Body text: 22 px on an 800×480 screen, never below 18 px."""
        return max(18, round(self.unit * 0.046 * scale))

    @property
    def touch_px(self) -> int:
        return max(MIN_TOUCH_PX, round(self.unit * 0.125))

    @property
    def margin_px(self) -> int:
        return max(8, round(self.unit * 0.025))
