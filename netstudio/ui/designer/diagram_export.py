"""A diagram written to a file: SVG as the core writes it, PNG rendered from that SVG by Qt.

:func:`write_diagram` is what File › Export Diagram… and ``netstudio diagram`` call. The PNG is
the very SVG of :func:`netstudio.core.design.diagram_svg.diagram_svg`, drawn by QtSvg's
``QSvgRenderer`` into a ``QImage`` of the requested width (the height follows the picture), so
the two files always show the same thing. Headless callers get a ``QGuiApplication`` on the
offscreen platform (:func:`ensure_gui_application`).
"""

from __future__ import annotations

import os
from pathlib import Path

from netstudio.core.design.diagram import Diagram
from netstudio.core.design.diagram_svg import diagram_svg
from netstudio.core.fileio import atomic_write_bytes, atomic_write_text

#: The file types a diagram is written as, by suffix.
SUFFIXES = (".svg", ".png")
#: Widest PNG written, in pixels (a 200-layer design at this width is still a few megabytes).
MAX_PNG_WIDTH = 16_000


def ensure_gui_application():
    """The running Qt application, or a new ``QGuiApplication`` (offscreen unless the caller's
    environment picked a platform) for a command line without a window."""
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance()
    if app is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QGuiApplication(["netstudio"])
    return app


def png_bytes(svg: str, width: int) -> bytes:
    """*svg* drawn at *width* pixels (height in proportion), as PNG bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    ensure_gui_application()
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    if not renderer.isValid():
        raise ValueError("the diagram's SVG could not be read back")
    size = renderer.defaultSize()
    height = max(1, round(width * size.height() / max(1, size.width())))
    image = QImage(width, height, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def write_diagram(path: str | os.PathLike, diagram: Diagram, theme: str = "light", width: int | None = None) -> Path:
    """Write *diagram* to *path* (``.svg`` or ``.png``, by its suffix) in *theme*; *width* in
    pixels (default: the diagram's own width). ``ValueError`` for another suffix or a bad width."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{path.name}: a diagram is written as .svg or .png, not {path.suffix or 'no extension'}")
    if width is not None and not 1 <= width <= MAX_PNG_WIDTH:
        raise ValueError(f"the width must be between 1 and {MAX_PNG_WIDTH:,} pixels, not {width:,}")
    if suffix == ".svg":
        atomic_write_text(path, diagram_svg(diagram, theme, width))
    else:
        pixels = width or round(diagram.width)
        atomic_write_bytes(path, png_bytes(diagram_svg(diagram, theme), pixels))
    return path


def export_diagram_dialog(parent, name: str, diagram: Diagram, folder: Path, dark: bool) -> str | None:
    """File › Export Diagram…: ask where, then write *diagram* as SVG or PNG (twice its size, so
    that it stays sharp on slides). Returns the path, or ``None`` if cancelled or not written
    (then a message box says why)."""
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    path, chosen = QFileDialog.getSaveFileName(parent, "Export Diagram", str(folder / f"{name}-diagram.svg"),
                                               "SVG image (*.svg);;PNG image (*.png)")
    if not path:
        return None
    if Path(path).suffix.lower() not in SUFFIXES:
        path += ".png" if chosen.startswith("PNG") else ".svg"
    png = path.lower().endswith(".png")
    try:
        write_diagram(path, diagram, "dark" if dark else "light",
                      min(MAX_PNG_WIDTH, round(2 * diagram.width)) if png else None)
    except (OSError, ValueError) as exc:
        QMessageBox.critical(parent, "Cannot Export Diagram", f"{path}: {getattr(exc, 'strerror', None) or exc}")
        return None
    return path
