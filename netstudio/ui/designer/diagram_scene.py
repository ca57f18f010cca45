"""The Diagram view's graphics: a :class:`DiagramScene` of one item per node and edge.

Each item paints itself from its :class:`~netstudio.core.design.diagram.Node` or
:class:`~netstudio.core.design.diagram.Edge` (colours from the core's category, status and theme
tables, the same ones the SVG writer uses), so rebuilding the scene for a 200-layer design takes
a few milliseconds (``benchmarks/diagram.py``). The view around it is
:mod:`netstudio.ui.designer.diagram_view`.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QStyleOptionGraphicsItem, QWidget

from netstudio.core.design.diagram import (
    CATEGORY_COLOURS,
    STATUS_COLOURS,
    Diagram,
    Edge,
    Node,
    count_text,
)
from netstudio.core.design.diagram_svg import THEMES
from netstudio.core.design.paths import Path

#: The colour of the selection and of the drop target.
ACCENT = QColor("#2f80ed")
#: Below this zoom the texts would be under 5 pixels high: boxes and lines only (fast to draw).
TEXT_ZOOM = 0.4
#: A live badge's colours: (fill, text) for a plain reading and for an alert.
BADGE_COLOURS = {False: ("#5b6675", "#ffffff"), True: ("#f0b030", "#2b1d00")}


def _shows_text(painter: QPainter, option: QStyleOptionGraphicsItem) -> bool:
    return option.levelOfDetailFromTransform(painter.worldTransform()) >= TEXT_ZOOM


def _fonts() -> tuple[QFont, QFont, QFont]:
    title, small, bold_small = QFont(), QFont(), QFont()
    title.setPixelSize(13)
    title.setBold(True)
    small.setPixelSize(11)
    bold_small.setPixelSize(11)
    bold_small.setBold(True)
    return title, small, bold_small


class _Look:
    """The colours and fonts of one theme, shared by every item of a scene."""

    def __init__(self, dark: bool):
        self.which = 1 if dark else 0
        self.colours = {k: QColor(v) for k, v in THEMES["dark" if dark else "light"].items()}
        self.title, self.small, self.bold_small = _fonts()
        self.title_metrics, self.small_metrics = QFontMetricsF(self.title), QFontMetricsF(self.small)
        self.bold_metrics = QFontMetricsF(self.bold_small)

    def fill(self, category: str) -> QColor:
        return QColor(CATEGORY_COLOURS.get(category, CATEGORY_COLOURS["Core"])[self.which])

    def status(self, status: str) -> QColor:
        return QColor(STATUS_COLOURS[status][self.which])


class NodeItem(QGraphicsItem):
    """A node of the diagram (a layer, a block's frame, input, output, a fork or exit)."""

    def __init__(self, node: Node, look: _Look):
        super().__init__()
        self.node, self.look = node, look
        self.badge = None  # a live reading while training (netstudio.core.training.badges.Badge)
        self._rect = QRectF(node.x, node.y, node.width, node.height)
        if node.kind in ("layer", "block"):
            self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
            self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(node.tooltip() if node.kind not in ("fork",) else "")
        self.setZValue(-len(node.path or ()) - 100 if node.kind == "block" else 1)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return self._rect.adjusted(-3, -9, 3, 3)  # the badge sits on the top edge

    def set_badge(self, badge) -> None:
        """Show *badge* (or none) on the node's top-right corner; its tooltip joins the node's."""
        self.badge = badge
        tip = self.node.tooltip()
        self.setToolTip(f"{tip}\nlive: {badge.tooltip}" if badge is not None else tip)
        self.update()

    def badge_rect(self) -> QRectF:
        width = self.look.bold_metrics.horizontalAdvance(self.badge.text) + 10 if self.badge else 0
        r = self._rect
        return QRectF(r.right() - width - 8, r.top() - 8, width, 15)

    def _paint_badge(self, painter: QPainter) -> None:
        fill, ink = BADGE_COLOURS[bool(self.badge.alert)]
        rect = self.badge_rect()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(fill))
        painter.drawRoundedRect(rect, 7, 7)
        painter.setFont(self.look.bold_small)
        painter.setPen(QColor(ink))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.badge.text)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(self._rect)
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        node, look, c = self.node, self.look, self.look.colours
        selected = self.isSelected()
        outline = look.status(node.status)
        width = 2.4 if node.status != "ok" else 1.0
        if selected:
            outline, width = ACCENT, 2.6
        r = self._rect
        if node.kind == "fork":
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(c["edge"])
            painter.drawEllipse(r)
            return
        if node.kind == "block":
            pen = QPen(outline if selected or node.status != "ok" else c["frame_line"], width, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(c["frame"])
            painter.drawRoundedRect(r, 10, 10)
            if not _shows_text(painter, option):
                return
            caption = " · ".join(p for p in (node.type, node.detail,
                                             f"{node.parameters:,} params" if node.parameters else "") if p)
            if node.status != "ok":
                caption = f"{node.type} · {node.message}"
            painter.setFont(look.bold_small)
            painter.setPen(c["text"] if node.status == "ok" else look.status(node.status))
            room = r.width() - 24 - (self.badge_rect().width() + 8 if self.badge is not None else 0)
            text = look.bold_metrics.elidedText(caption, Qt.TextElideMode.ElideRight, room)
            painter.drawText(QRectF(r.x() + 10, r.y() + 3, r.width() - 20, 16), Qt.AlignmentFlag.AlignLeft, text)
            if self.badge is not None:
                self._paint_badge(painter)
            return
        if node.kind in ("merge", "repeat"):
            stroke = look.status(node.status) if node.status != "ok" else c["skip"]
            painter.setPen(QPen(stroke, 1.8))
            painter.setBrush(c["background"])
            if node.width == node.height:
                painter.drawEllipse(r)
                centre = r.center()
                painter.setPen(QPen(stroke, 2))
                painter.drawLine(QPointF(centre.x() - 7, centre.y()), QPointF(centre.x() + 7, centre.y()))
                painter.drawLine(QPointF(centre.x(), centre.y() - 7), QPointF(centre.x(), centre.y() + 7))
            else:
                painter.drawRoundedRect(r, r.height() / 2, r.height() / 2)
                painter.setFont(look.bold_small)
                painter.setPen(c["text"])
                painter.drawText(r, Qt.AlignmentFlag.AlignCenter, node.title)
            return
        if node.kind in ("input", "output"):
            painter.setPen(QPen(outline if selected or node.status != "ok" else c["io_line"], 1.6))
            painter.setBrush(c["io"])
            painter.drawRoundedRect(r, r.height() / 2, r.height() / 2)
            painter.setFont(look.small)
            painter.setPen(c["text"])
            text = look.small_metrics.elidedText(f"{node.title}  {node.detail}", Qt.TextElideMode.ElideRight,
                                                 r.width() - 16)
            painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
            return
        painter.setPen(QPen(outline, width))
        painter.setBrush(look.fill(node.category))
        painter.drawRoundedRect(r, 6, 6)
        if not _shows_text(painter, option):
            return
        count = f"{count_text(node.parameters)} · {node.share:.0%}" if node.parameters else ""
        painter.setFont(look.small)
        painter.setPen(c["muted"])
        count_width = look.small_metrics.horizontalAdvance(count) + 8 if count else 0
        if count:
            painter.drawText(QRectF(r.x() + 10, r.y() + 5, r.width() - 20, 18),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, count)
        second = node.message if node.status != "ok" else node.detail
        if second:
            painter.setPen(look.status(node.status) if node.status != "ok" else c["muted"])
            painter.drawText(QRectF(r.x() + 10, r.y() + 25, r.width() - 20, 16),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             look.small_metrics.elidedText(second, Qt.TextElideMode.ElideRight, r.width() - 20))
        painter.setFont(look.title)
        painter.setPen(c["text"])
        painter.drawText(QRectF(r.x() + 10, r.y() + 5, r.width() - 20 - count_width, 18),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         look.title_metrics.elidedText(node.type, Qt.TextElideMode.ElideRight,
                                                       r.width() - 20 - count_width))
        if self.badge is not None:
            self._paint_badge(painter)


class EdgeItem(QGraphicsItem):
    """An edge with its arrowhead and its shape label; highlighted while a drop aims at it."""

    def __init__(self, edge: Edge, look: _Look):
        super().__init__()
        self.edge, self.look = edge, look
        self.highlighted = False
        self._path = QPainterPath(QPointF(*edge.points[0]))
        for x, y in edge.points[1:]:
            self._path.lineTo(x, y)
        label_width = look.small_metrics.horizontalAdvance(edge.label) + 8
        x, y = edge.label_at
        self._label = QRectF(x - 2, y - 8, label_width, 16)
        self._bounds = self._path.boundingRect().adjusted(-8, -8, 8, 8).united(self._label)
        self.setToolTip(edge.tooltip)

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self._bounds

    def shape(self) -> QPainterPath:
        path = QPainterPath(self._path)
        path.addRect(self._label)
        return path

    def set_highlighted(self, on: bool) -> None:
        if on != self.highlighted:
            self.highlighted = on
            self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        c = self.look.colours
        colour = ACCENT if self.highlighted else (c["edge"] if self.edge.kind == "flow" else c["skip"])
        pen = QPen(colour, 3.2 if self.highlighted else 1.6)
        if self.edge.kind == "loop":
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        (x0, y0), (x1, y1) = self.edge.points[-2], self.edge.points[-1]
        length = max(1e-6, ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5)
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        bx, by = x1 - 8 * ux, y1 - 8 * uy
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(colour))
        painter.drawPolygon([QPointF(x1, y1), QPointF(bx - 4 * uy, by + 4 * ux), QPointF(bx + 4 * uy, by - 4 * ux)])
        if self.edge.label and _shows_text(painter, option):
            painter.setFont(self.look.small)
            painter.setPen(c["muted"] if self.edge.kind == "flow" else c["skip"])
            painter.drawText(self._label.adjusted(2, 0, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             self.edge.label)


class DiagramScene(QGraphicsScene):
    """The items of one :class:`Diagram`; :meth:`show_diagram` replaces them."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)  # rebuilt whole on every change
        self.diagram: Diagram | None = None
        self.nodes: dict[Path, NodeItem] = {}
        self.edges: list[EdgeItem] = []
        self.badges: dict = {}  # path -> Badge, kept across redraws of the same design (a theme switch)

    def show_diagram(self, diagram: Diagram, dark: bool = False) -> None:
        """Draw *diagram* in the light or *dark* theme, keeping the selected layer selected."""
        kept = [item.node.path for item in self.selectedItems() if isinstance(item, NodeItem)]
        blocked = self.blockSignals(True)
        self.clear()
        look = _Look(dark)
        self.setBackgroundBrush(look.colours["background"])
        self.diagram, self.nodes, self.edges = diagram, {}, []
        for node in diagram.nodes:
            item = NodeItem(node, look)
            self.addItem(item)
            if node.kind in ("layer", "block"):
                self.nodes[node.path] = item
        for edge in diagram.edges:
            item = EdgeItem(edge, look)
            self.addItem(item)
            self.edges.append(item)
        self.setSceneRect(0, 0, diagram.width, diagram.height)
        self.show_badges(self.badges)
        for path in kept:
            if path in self.nodes:
                self.nodes[path].setSelected(True)
        # No selectionChanged, even when the kept node is gone: the design is still changing (the
        # stack's tree model has not caught up yet), and the stack's own selection, which the
        # window mirrors here, says what is selected once it has.
        self.blockSignals(blocked)

    def show_badges(self, badges: dict) -> None:
        """Put each node's live badge on it (*badges*: path -> Badge; nodes not named show none)."""
        self.badges = dict(badges)
        for path, item in self.nodes.items():
            badge = self.badges.get(path)
            if badge is not item.badge:
                item.set_badge(badge)

    def selected_path(self) -> Path | None:
        paths = [item.node.path for item in self.selectedItems() if isinstance(item, NodeItem)]
        return max(paths, key=len) if paths else None
