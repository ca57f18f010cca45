"""The Diagram view: the design drawn as nodes and shape-labelled edges, beside the stack.

:class:`DiagramView` draws :func:`netstudio.core.design.diagram.layout_diagram` of the window's
:class:`~netstudio.ui.designer.design.Design` (the same object the stack edits, never a copy) and
draws it again on ``validation_changed``, which follows every edit, undo and input-shape change.
It edits only through the design's undo commands: a palette layer dropped onto an edge is
inserted there (onto a block's frame: at the end of what it holds) as one undo step, a node
dragged onto an edge moves there (``Design.move_to``, one undo step; not onto the edges beside
it or inside itself); the window deletes the selected node. Selecting a node says its path (``path_selected``); the window keeps
the stack's selection and the inspector in step. Ctrl+wheel or Ctrl+= / Ctrl+- zoom, Ctrl+0 fits
the whole design, dragging the background pans, Up/Down walk the layers in tree order, Left/Right
go between a Parallel's branches (and into and out of a block), Enter opens the inspector on the
node; a node's right-click menu offers its issue's fix (the tooltip says the issue and the fix) and Delete.

:class:`~netstudio.ui.designer.diagram_scene.DiagramScene` turns a layout into graphics items
(one per node and edge, each painting itself).
"""

from __future__ import annotations

import dataclasses
import json

from PySide6.QtCore import QEvent, QMimeData, Qt, Signal
from PySide6.QtGui import QDrag, QKeySequence, QPainter, QShortcut
from PySide6.QtWidgets import QApplication, QGraphicsView, QMenu

from netstudio.core.design.diagram import Diagram, layout_diagram
from netstudio.core.design.paths import Path
from netstudio.core.design.stack import LayerSpec
from netstudio.core.training.badges import live_badges
from netstudio.ui.designer.design import Design
from netstudio.ui.designer.diagram_scene import DiagramScene, EdgeItem, NodeItem
from netstudio.ui.designer.stack_model import LAYER_MIME
from netstudio.ui.theme import is_dark

#: Zoom limits and the step of one wheel notch.
MIN_ZOOM, MAX_ZOOM, ZOOM_STEP = 0.02, 4.0, 1.15
#: A node dragged inside the diagram: ``{"view": id of the view, "paths": [[...]]}``.
NODE_MIME = "application/x-netstudio-diagram-nodes"


def dropped_layers(data: QMimeData) -> list[LayerSpec]:
    """The layers a palette drag carries (``LAYER_MIME``: a JSON list of configs); [] if none."""
    try:
        configs = json.loads(bytes(data.data(LAYER_MIME).data()).decode("utf-8"))
        return [LayerSpec.from_config(c) for c in configs] if isinstance(configs, list) else []
    except (UnicodeDecodeError, TypeError, ValueError):
        return []


class DiagramView(QGraphicsView):
    """The design drawn, editable by drops and the window's Delete; see the module docstring.

    Signals
    -------
    path_selected(object)
        The user selected a layer or block node: its path (a tuple), or ``None`` for none.
    layers_dropped(object)
        Layers were dropped and inserted, or a dragged node moved: the path of the first.
    node_activated(object)
        Enter on the selected node: its path (the window opens the inspector on it).
    """

    path_selected = Signal(object)
    layers_dropped = Signal(object)
    node_activated = Signal(object)

    def __init__(self, design: Design, parent=None):
        super().__init__(parent)
        self.setObjectName("diagramView")
        self.design = design
        self.diagram_scene = DiagramScene(self)
        self.setScene(self.diagram_scene)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip("")
        self.setStatusTip("Drop a layer on an edge to insert it there; Ctrl+wheel zooms, Ctrl+0 fits")
        self.locked = False
        self._syncing = False
        self._target: EdgeItem | None = None
        self._press = None  # (position, path) of a press on a node: a drag may start from it
        for keys, slot in (("Ctrl+0", self.fit), ("Ctrl+=", lambda: self.zoom(ZOOM_STEP)),
                           ("Ctrl++", lambda: self.zoom(ZOOM_STEP)), ("Ctrl+-", lambda: self.zoom(1 / ZOOM_STEP))):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self.diagram_scene.selectionChanged.connect(self._on_scene_selection_changed)
        design.validation_changed.connect(lambda _v: self._on_design_changed())
        self.rebuild()

    @property
    def diagram(self) -> Diagram:
        return self.diagram_scene.diagram

    def rebuild(self) -> None:
        """Lay the design out again and redraw it (the design changed, or the theme)."""
        diagram = layout_diagram(self.design.stack, self.design.validation)
        self.diagram_scene.show_diagram(diagram, is_dark(self.palette()))

    def _on_design_changed(self) -> None:
        self.diagram_scene.badges = {}  # the readings were of the design before the edit
        self.rebuild()

    # -- live badges -----------------------------------------------------------------------------
    def show_snapshot(self, snapshot, specs=None) -> None:
        """Badge every node with its reading in an inspection *snapshot* of the model built from
        *specs* (default: the design's layers); ignored when *specs* is no longer the design."""
        layers = list(self.design.stack)
        if specs is not None and [s.get_config() for s in specs] != [s.get_config() for s in layers]:
            return
        self.diagram_scene.show_badges(live_badges(snapshot, layers))

    def clear_badges(self) -> None:
        """No live readings (a new run starts)."""
        self.diagram_scene.show_badges({})

    def badge_text(self, path: Path) -> str | None:
        """The text of the live badge on the node at *path*, or None."""
        item = self.diagram_scene.nodes.get(tuple(path))
        return item.badge.text if item is not None and item.badge is not None else None

    def set_locked(self, locked: bool) -> None:
        """While a run trains: still shown and selectable, but drops are refused."""
        self.locked = locked

    # -- selection -------------------------------------------------------------------------------
    def selected_path(self) -> Path | None:
        return self.diagram_scene.selected_path()

    def select_path(self, path: Path | None) -> None:
        """Select the node at *path* (``None``: nothing); a node inside it stays selected."""
        current = self.selected_path()
        if path is not None and current is not None and tuple(current[:len(path)]) == tuple(path):
            return
        item = self.diagram_scene.nodes.get(tuple(path)) if path is not None else None
        self._syncing = True
        try:
            self.diagram_scene.clearSelection()
            if item is not None:
                item.setSelected(True)
                self.ensureVisible(item, 40, 40)
        finally:
            self._syncing = False

    def _on_scene_selection_changed(self) -> None:
        if not self._syncing:
            self.path_selected.emit(self.selected_path())

    def neighbour(self, path: Path, step: int) -> Path | None:
        """The node Left (*step* -1) or Right (+1) of *path*: the same place in the Parallel's
        previous or next non-empty branch; Right on a block goes into what it holds, Left from
        a block's first list out to its frame. None where there is none."""
        stack = self.design.stack
        spec = stack.node(path)
        parent = stack.node(path[:-2]) if len(path) >= 3 else None
        if step > 0 and spec.children:
            inside = next((number for number, layers in enumerate(spec.children) if layers), None)
            if inside is not None:
                return tuple(path) + (inside, 0)
        if parent is not None and parent.type == "Parallel":
            branches = range(path[-2] + step, len(parent.children) if step > 0 else -1, step)
            branch = next((b for b in branches if parent.children[b]), None)
            if branch is not None:
                return tuple(path[:-2]) + (branch, min(path[-1], len(parent.children[branch]) - 1))
        return tuple(path[:-2]) if step < 0 and parent is not None else None

    def _select_item(self, path: Path) -> None:
        item = self.diagram_scene.nodes.get(tuple(path))
        if item is not None:
            self.diagram_scene.clearSelection()
            item.setSelected(True)
            self.ensureVisible(item, 40, 40)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        key, current = event.key(), self.selected_path()
        order = list(self.diagram_scene.nodes)
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and order:
            index = order.index(current) + (1 if key == Qt.Key.Key_Down else -1) if current in order else 0
            self._select_item(order[max(0, min(index, len(order) - 1))])
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and current is not None:
            target = self.neighbour(current, 1 if key == Qt.Key.Key_Right else -1)
            if target is not None:
                self._select_item(target)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and current is not None:
            self.node_activated.emit(current)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    # -- fixes and the context menu ------------------------------------------------------------
    def fix_for(self, path: Path):
        """The one-click fix of the issue the node at *path* shows, aimed from its top-level row
        (as :meth:`Design.apply_fix` takes it), or None."""
        result = next((r for r in self.design.validation.walk() if r.path == tuple(path)), None)
        if result is None:
            return None
        for severity in ("error", "warning"):
            for issue in result.issues:
                if issue.severity == severity:
                    if issue.fix is None:
                        return None
                    return dataclasses.replace(issue.fix, path=tuple(path[1:]) + tuple(issue.fix.path))
        return None

    def apply_fix_at(self, path: Path) -> bool:
        """Apply the fix of the node at *path* (one undo step); False if it has none."""
        fix = self.fix_for(path)
        if fix is None or self.locked:
            return False
        self.design.apply_fix(path[0], fix)
        return True

    def build_context_menu(self, path: Path) -> QMenu:
        """The node's menu: its fix (if its issue has one), Delete, Fit."""
        menu = QMenu(self)
        fix = self.fix_for(path)
        if fix is not None:
            action = menu.addAction(f"Fix: {fix.label}")
            action.setEnabled(not self.locked)
            action.triggered.connect(lambda _=False, p=tuple(path): self.apply_fix_at(p))
            menu.addSeparator()
        delete = menu.addAction(f"Delete {self.design.stack.node(path).type}")
        delete.setEnabled(not self.locked)
        delete.triggered.connect(lambda _=False, p=tuple(path): self.design.remove_at([p]))
        menu.addSeparator()
        menu.addAction("Fit the Design (Ctrl+0)").triggered.connect(lambda _=False: self.fit())
        return menu

    def contextMenuEvent(self, event) -> None:  # noqa: N802 - Qt's name
        item = self.itemAt(event.pos())
        if isinstance(item, NodeItem) and item.node.kind in ("layer", "block"):
            if not item.isSelected():
                self.diagram_scene.clearSelection()
                item.setSelected(True)
            self.build_context_menu(item.node.path).popup(event.globalPos())
            event.accept()
            return
        super().contextMenuEvent(event)

    # -- zoom ------------------------------------------------------------------------------------
    def zoom_factor(self) -> float:
        return self.transform().m11()

    def zoom(self, factor: float) -> None:
        target = max(MIN_ZOOM, min(MAX_ZOOM, self.zoom_factor() * factor))
        self.scale(target / self.zoom_factor(), target / self.zoom_factor())

    def fit(self) -> None:
        """Show the whole design (Ctrl+0), at most at its natural size."""
        self.resetTransform()
        rect = self.diagram_scene.sceneRect()
        view = self.viewport().rect()
        if rect.width() > 0 and rect.height() > 0:
            factor = min(1.0, view.width() / rect.width(), view.height() / rect.height())
            self.scale(max(MIN_ZOOM, factor), max(MIN_ZOOM, factor))
        self.centerOn(rect.center())

    def wheelEvent(self, event) -> None:  # noqa: N802
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(ZOOM_STEP ** (event.angleDelta().y() / 120))
            event.accept()
            return
        super().wheelEvent(event)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        if event.type() == QEvent.Type.PaletteChange:  # a theme switch
            self.rebuild()
        super().changeEvent(event)

    # -- dragging a node ----------------------------------------------------------------------
    def node_mime(self, paths: list[Path]) -> QMimeData:
        """What dragging the nodes at *paths* carries (only this view takes it)."""
        mime = QMimeData()
        mime.setData(NODE_MIME, json.dumps({"view": id(self), "paths": [list(p) for p in paths]}).encode("utf-8"))
        return mime

    def dragged_paths(self, data: QMimeData) -> list[Path]:
        """The paths a node drag from this view carries; [] for anything else."""
        if not data.hasFormat(NODE_MIME):
            return []
        try:
            carried = json.loads(bytes(data.data(NODE_MIME).data()).decode("utf-8"))
            if carried.get("view") != id(self):
                return []
            return [tuple(int(i) for i in p) for p in carried["paths"]]
        except (UnicodeDecodeError, TypeError, ValueError, KeyError, AttributeError):
            return []

    @staticmethod
    def refuses_move(sources: list[Path], destination: Path) -> bool:
        """Whether moving *sources* to *destination* (an edge's insert path) goes nowhere or into
        itself: the edges just before and after a node, and any place inside it."""
        for source in sources:
            source, after = tuple(source), tuple(source[:-1]) + (source[-1] + 1,)
            if destination in (source, after) or destination[:len(source)] == source:
                return True
        return False

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        item = self.itemAt(event.position().toPoint())
        self._press = None
        if event.button() == Qt.MouseButton.LeftButton and isinstance(item, NodeItem) \
                and item.node.kind in ("layer", "block"):
            self._press = (event.position(), item.node.path)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._press is not None and event.buttons() & Qt.MouseButton.LeftButton and not self.locked \
                and (event.position() - self._press[0]).manhattanLength() >= QApplication.startDragDistance():
            path, self._press = self._press[1], None
            drag = QDrag(self)
            drag.setMimeData(self.node_mime([path]))
            drag.exec(Qt.DropAction.MoveAction)
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._press = None
        super().mouseReleaseEvent(event)

    # -- drops -----------------------------------------------------------------------------------
    def _takes(self, data: QMimeData) -> bool:
        return not self.locked and (data.hasFormat(LAYER_MIME) or bool(self.dragged_paths(data)))

    def _aim(self, position) -> EdgeItem | None:
        point = self.mapToScene(position.toPoint())
        diagram = self.diagram
        edge = diagram.drop_target(point.x(), point.y(), reach=14 / max(0.2, self.zoom_factor()))
        target = next((item for item in self.diagram_scene.edges if item.edge is edge), None)
        if target is not self._target:
            if self._target is not None:
                self._target.set_highlighted(False)
            if target is not None:
                target.set_highlighted(True)
            self._target = target
        return target

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if self._takes(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        target = self._aim(event.position()) if self._takes(event.mimeData()) else None
        moving = self.dragged_paths(event.mimeData())
        if target is not None and moving and self.refuses_move(moving, target.edge.insert_path):
            target.set_highlighted(False)  # not a place it can go: no highlight, no drop
            self._target = None
            target = None
        if target is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802
        if self._target is not None:
            self._target.set_highlighted(False)
            self._target = None
        event.accept()

    def dropEvent(self, event) -> None:  # noqa: N802
        target = self._aim(event.position()) if not self.locked else None
        if self._target is not None:
            self._target.set_highlighted(False)
            self._target = None
        moving = self.dragged_paths(event.mimeData())
        if moving:
            self._drop_nodes(event, moving, target)
            return
        specs = dropped_layers(event.mimeData())
        if target is None or not specs:
            event.ignore()
            return
        event.acceptProposedAction()
        names = specs[0].type if len(specs) == 1 else f"{len(specs)} Layers"
        placed = self.design.insert_at(target.edge.insert_path, specs, f"Insert {names}")
        if placed:
            self.select_path(placed[0])
            self.layers_dropped.emit(placed[0])

    def _drop_nodes(self, event, moving: list[Path], target: EdgeItem | None) -> None:
        """A node dragged inside the diagram is moved to the edge it was dropped on (one undo step)."""
        if target is None or self.refuses_move(moving, target.edge.insert_path):
            event.ignore()
            return
        try:
            placed = self.design.move_to(moving, target.edge.insert_path)
        except ValueError:  # a block into itself: refused above, the command checks it again
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.MoveAction)
        event.accept()
        if placed:
            self.select_path(placed[0])
            self.layers_dropped.emit(placed[0])
