"""Light, dark or the system's colours, as a QPalette on the Fusion style.

The choice (``system``, ``light``, ``dark``) is remembered in the settings by the main window.
Issue colours come from :func:`issue_colours` so that red and amber stay readable on either
background.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("system", "light", "dark")
THEME_LABELS = {"system": "System", "light": "Light", "dark": "Dark"}
#: One colour per class, the same in every panel that draws classes (in order, then round again).
CLASS_COLORS = [QColor(c) for c in ("#3478f6", "#eb6e14", "#28a05a", "#c0392b", "#8e44ad", "#16a085", "#d4ac0d",
                                     "#7f8c8d")]

_LIGHT = {
    "Window": "#f3f4f6", "WindowText": "#1f2328", "Base": "#ffffff", "AlternateBase": "#f6f8fa",
    "ToolTipBase": "#ffffff", "ToolTipText": "#1f2328", "PlaceholderText": "#8c959f",
    "Text": "#1f2328", "Button": "#eceef1", "ButtonText": "#1f2328", "BrightText": "#ffffff",
    "Light": "#ffffff", "Midlight": "#e4e7eb", "Mid": "#c4c9d0", "Dark": "#9aa1ab", "Shadow": "#6b7280",
    "Highlight": "#2f6fdb", "HighlightedText": "#ffffff", "Link": "#1f5fc9", "LinkVisited": "#7b3fc9",
}
_DARK = {
    "Window": "#202225", "WindowText": "#e3e5e8", "Base": "#16171a", "AlternateBase": "#1c1d21",
    "ToolTipBase": "#2b2d31", "ToolTipText": "#e3e5e8", "PlaceholderText": "#7d828a",
    "Text": "#e3e5e8", "Button": "#2b2d31", "ButtonText": "#e3e5e8", "BrightText": "#ffffff",
    "Light": "#3a3c42", "Midlight": "#313338", "Mid": "#26282c", "Dark": "#121316", "Shadow": "#000000",
    "Highlight": "#3d7be0", "HighlightedText": "#ffffff", "Link": "#7aa7ff", "LinkVisited": "#b794f6",
}


def _palette(colours: dict[str, str]) -> QPalette:
    palette = QPalette()
    for role_name, value in colours.items():
        palette.setColor(getattr(QPalette.ColorRole, role_name), QColor(value))
    disabled = QColor(colours["WindowText"])
    disabled.setAlphaF(0.4)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return palette


def system_is_dark() -> bool:
    """Whether the desktop asks for dark colours (unknown counts as light)."""
    app = QGuiApplication.instance()
    return bool(app) and app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def resolve(theme: str) -> str:
    """``light`` or ``dark`` for a theme setting (an unknown setting means ``system``)."""
    if theme in ("light", "dark"):
        return theme
    return "dark" if system_is_dark() else "light"


def apply_theme(theme: str, app: QApplication | None = None) -> str:
    """Colour *app* (default: the running one) for *theme*; returns ``light`` or ``dark``."""
    app = app or QApplication.instance()
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    shade = resolve(theme)
    app.setPalette(_palette(_DARK if shade == "dark" else _LIGHT))
    app.setProperty("netstudio_theme", theme)
    return shade


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


def issue_colours(palette: QPalette) -> dict[str, QColor]:
    """Text and background colours for ``error`` / ``warning`` rows that suit *palette*."""
    if is_dark(palette):
        return {"error": QColor("#ff7b7b"), "warning": QColor("#f5b94a"),
                "error_bg": QColor(229, 72, 77, 48), "warning_bg": QColor(245, 165, 36, 36)}
    return {"error": QColor("#b3261e"), "warning": QColor("#8a5300"),
            "error_bg": QColor(229, 72, 77, 30), "warning_bg": QColor(245, 165, 36, 40)}


def muted(palette: QPalette) -> QColor:
    """A secondary text colour: halfway between text and background."""
    text, base = palette.color(QPalette.ColorRole.Text), palette.color(QPalette.ColorRole.Base)
    return QColor((text.red() + base.red()) // 2, (text.green() + base.green()) // 2, (text.blue() + base.blue()) // 2)


def blend(colour: QColor, base: QColor) -> QColor:
    """*colour* (with its alpha) painted over *base*, as an opaque colour."""
    a = colour.alphaF()
    return QColor.fromRgbF(*(a * c + (1 - a) * b for c, b in zip(colour.getRgbF()[:3], base.getRgbF()[:3])))


def class_color(index: int) -> QColor:
    """The colour of class *index* wherever classes are drawn (the data preview, the evaluation)."""
    return CLASS_COLORS[index % len(CLASS_COLORS)]
