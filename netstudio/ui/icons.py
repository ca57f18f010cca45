"""SVG icons from ``resources/``, tinted to the theme.

Action icons draw with ``currentColor``; :func:`icon` replaces it with the palette's text colour
so that they stay readable in a dark theme. Category and status icons carry their own colours.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QImage, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

#: Sizes rendered into each action icon: the widgets ask for 14-20 px (rows, buttons, the 20 px
#: toolbar) and 28 px (the inspector's picture); Qt scales the closest. Fewer sizes start faster:
#: every size is an SVG rendering, and the window makes some 30 icons before it shows.
SIZES = (16, 20, 32)
#: The application icon also serves the window manager and the About box.
APP_SIZES = (16, 20, 24, 32, 48, 64, 128)


def resources_dir() -> Path:
    """Where ``icons/`` and ``netstudio.svg`` live: inside the installed package or the checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "resources", package.parent / "resources"):
        if (candidate / "icons").is_dir():
            return candidate
    raise FileNotFoundError(f"NetStudio's resources/ folder is missing (looked beside {package})")


def icon_path(name: str) -> Path:
    """The SVG file of icon *name* (``resources/icons/<name>.svg``)."""
    path = resources_dir() / "icons" / f"{name}.svg"
    if not path.is_file():
        raise FileNotFoundError(f"no icon {name!r} in {path.parent}")
    return path


def text_colour() -> str:
    """The colour action icons are drawn in: the application's current text colour."""
    app = QGuiApplication.instance()
    colour = app.palette().color(QPalette.ColorRole.WindowText) if app else QColor("#202020")
    return colour.name()


def icon(name: str) -> QIcon:
    """Icon *name*, with ``currentColor`` in the theme's text colour (cached per colour)."""
    return _render(name, text_colour())


def app_icon() -> QIcon:
    """The application icon (``resources/netstudio.svg``)."""
    return _render_file(str(resources_dir() / "netstudio.svg"), "", APP_SIZES)


@lru_cache(maxsize=256)
def _render(name: str, colour: str) -> QIcon:
    return _render_file(str(icon_path(name)), colour)


def _render_file(path: str, colour: str, sizes: tuple[int, ...] = SIZES) -> QIcon:
    if QGuiApplication.instance() is None:  # QPixmap without an application aborts the process
        raise RuntimeError("create the QApplication before loading icons")
    svg = Path(path).read_text(encoding="utf-8")
    if colour:
        svg = svg.replace("currentColor", colour)
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    result = QIcon()
    disabled = QColor(colour or "#808080")
    disabled.setAlphaF(0.35)
    for size in sizes:
        for scale in _scales():
            image = _image(renderer, size * scale)
            result.addPixmap(_pixmap(image, scale), QIcon.Mode.Normal)
            if colour:  # a faded copy for disabled actions
                result.addPixmap(_pixmap(_tinted(image, disabled), scale), QIcon.Mode.Disabled)
    return result


def _scales() -> range:
    """Device pixel ratios to render for: 1, and 2 (or more) when a screen is high-DPI."""
    ratio = max((screen.devicePixelRatio() for screen in QGuiApplication.screens()), default=1.0)
    return range(1, max(1, math.ceil(ratio)) + 1)


def _image(renderer: QSvgRenderer, pixels: int) -> QImage:
    image = QImage(pixels, pixels, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, pixels, pixels))
    painter.end()
    return image


def _tinted(image: QImage, tint: QColor) -> QImage:
    """*image*'s shape filled with *tint*."""
    copy = image.copy()
    painter = QPainter(copy)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
    painter.fillRect(copy.rect(), tint)
    painter.end()
    return copy


def _pixmap(image: QImage, scale: int) -> QPixmap:
    pixmap = QPixmap.fromImage(image)
    pixmap.setDevicePixelRatio(scale)
    return pixmap


def category_icon(category: str) -> QIcon:
    """The palette category's icon (``Normalization`` -> ``normalization.svg``)."""
    return icon(category.lower())
