"""NetStudio's main window: palette, layer stack and inspector around one design.

The window owns the open :class:`Project`, the :class:`Design` being edited (its layer stack,
input shape and the one QUndoStack), the panels, the settings and the file handling. The data,
training, plot and runs panels are the :class:`~netstudio.ui.training.workflow.TrainingWorkflow`'s:
they join the window through its small public API (:meth:`MainWindow.add_panel`,
:meth:`~MainWindow.add_menu`, :meth:`~MainWindow.set_editing_locked`, ``project_changed``), and
the window asks the workflow only what its own public methods say (``confirm_idle``,
``is_running``, ``accepts_data``, ``open_data_path``, ``shutdown``).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QStackedWidget,
    QTabBar,
    QTabWidget,
    QWidget,
)

from netstudio.core.design.layers import Shape, fmt_shape
from netstudio.core.design.templates import suggest_input_shape
from netstudio.core.project import (
    Project,
    new_project,
    read_input_shape,
)
from netstudio.ui import theme
from netstudio.ui.designer.design import Design
from netstudio.ui.designer.diagram_view import DiagramView
from netstudio.ui.designer.inspector import Inspector
from netstudio.ui.designer.palette import LayerPalette
from netstudio.ui.designer.stack_editor import StackEditor
from netstudio.ui.designer.stack_model import project_urls
from netstudio.ui.icons import app_icon
from netstudio.ui.settings import Settings
from netstudio.ui.tasks import TaskRunner
from netstudio.ui.training.workflow import TrainingWorkflow
from netstudio.ui.widgets import run_modal
from netstudio.ui.window.actions import Actions, build_menus, build_toolbar
from netstudio.ui.window.dialogs import (
    InputShapeDialog,
    LayerReferenceDialog,
    ShortcutsDialog,
    export_summary,
    show_about,
)
from netstudio.ui.window.files import ProjectFiles
from netstudio.ui.window.status_bar import BoundedStatusBar, DesignStatus

#: What the banner over the locked design says while a run trains.
LOCK_MESSAGE = "Training is running: the design is locked until the run ends (Stop to edit)."


class MainWindow(ProjectFiles, QMainWindow):
    """The designer window.

    Parameters
    ----------
    project : Project, optional
        The project to show (default: a new, empty one).
    settings : Settings or QSettings, optional
        Where layout, recent files, last folder and theme are remembered (default: the user's).

    Attributes
    ----------
    design : Design
        The layer stack being edited, its input shape, validation and ``undo_stack``.
    stack_model : LayerStackModel
        The Qt model of the stack (row 0 is the input).

    Signals
    -------
    project_changed(Project)
        Another project was opened or created (the design was replaced).
    project_opened(str)
        A project file was opened from disk (File > Open, recent files): its path.
    project_saved(str)
        The project was written to this path (Save, Save As).
    closed()
        The window closed cleanly (the user saved or discarded the changes; threads are joined).
    """

    project_changed = Signal(object)
    project_opened = Signal(str)
    project_saved = Signal(str)
    closed = Signal()

    def __init__(self, project: Project | None = None, settings: Settings | QSettings | None = None,
                 parent: QWidget | None = None):
        settings = settings if isinstance(settings, Settings) else Settings(settings)
        theme.apply_theme(settings.theme)  # before any widget exists, so that all start in its colours
        super().__init__(parent)
        self.settings = settings
        self.project = new_project()
        self.design = Design(parent=self)
        self.undo_stack = self.design.undo_stack
        self.setWindowIcon(app_icon())
        self.setObjectName("mainWindow")
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        # The side panels run the full height; the plots sit under the design only.
        for corner, area in ((Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea),
                             (Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)):
            self.setCorner(corner, area)
        self.panels_menu: QMenu | None = None
        self._layout_restored = False

        self.stack_editor = StackEditor(self.design, self)
        self.stack_model = self.stack_editor.model
        self.diagram_view = DiagramView(self.design)
        self.design_tabs = QTabWidget()  # the stack and the diagram of the same design
        self.design_tabs.setObjectName("designTabs")
        self.design_tabs.setDocumentMode(True)
        self.design_tabs.addTab(self.stack_editor, "Stack")
        self.design_tabs.addTab(self.diagram_view, "Diagram")
        self.design_tabs.setTabToolTip(0, "The layers as a table: settings, output shapes, parameters, issues")
        self.design_tabs.setTabToolTip(1, "The layers drawn, the shape on every edge: drop a layer on an edge to "
                                          "insert it (Ctrl+wheel zooms, Ctrl+0 fits)")
        self.design_tabs.setCurrentIndex(1 if settings.design_view == "diagram" else 0)
        self.centre = QStackedWidget()  # the design, or the start page over it on a launch without a project
        self.centre.addWidget(self.design_tabs)
        self.start_page = None
        self.setCentralWidget(self.centre)
        self.layer_palette = LayerPalette()
        self.inspector = Inspector(self.design)
        self.window_actions = Actions(self)
        self.menus = build_menus(self, self.window_actions)
        self.toolbar = build_toolbar(self, self.window_actions)
        self.palette_dock = self.add_panel(self.layer_palette, "Layers", Qt.DockWidgetArea.LeftDockWidgetArea, "layerPaletteDock")
        self.inspector_dock = self.add_panel(self.inspector, "Inspector", Qt.DockWidgetArea.RightDockWidgetArea,
                                             "inspectorDock")
        self._add_view_toggle(self.toolbar.toggleViewAction())
        self.setStatusBar(BoundedStatusBar(self))
        self.status = DesignStatus(self.statusBar())
        self.window_actions.themes[self.settings.theme].setChecked(True)
        a = self.window_actions
        self.stack_editor.context_actions = [a.duplicate, a.delete, None, a.move_up, a.move_down, None,
                                             *a.block_edits()]
        self._connect()
        self._default_state = self.saveState()
        self._restore_layout()
        self.setAcceptDrops(True)
        self.lock_banner = QLabel(LOCK_MESSAGE)
        self.lock_banner.setObjectName("designLockBanner")
        self.lock_banner.setWordWrap(True)  # a long line would widen the middle and squeeze the side panels
        self.lock_banner.setStyleSheet("QLabel { background: #fdebd0; color: #7e5109; padding: 4px 8px; }")
        self.lock_banner.hide()
        self.stack_editor.layout().insertWidget(0, self.lock_banner)
        # Data, training, plots and runs: their docks join the layout restored above.
        self._after_first_paint: list | None = []  # None once the window has painted
        self.workflow = TrainingWorkflow(self)
        self.set_project(project if project is not None else new_project())

    def _connect(self) -> None:
        d, editor = self.design, self.stack_editor
        d.validation_changed.connect(self.status.show_validation)
        d.modified_changed.connect(lambda _m: self._update_title())
        self.layer_palette.layer_activated.connect(self.add_layer)
        editor.path_selected.connect(self._on_path_selected)
        editor.input_selected.connect(self.inspector.show_input)
        editor.input_selected.connect(self._show_inspector)
        editor.input_shape_requested.connect(self.edit_input_shape)
        editor.layer_opened.connect(lambda _i: self._show_inspector())
        editor.reference_requested.connect(self.show_reference)
        editor.view.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.stack_model.rowsMoved.connect(lambda *_: self._update_actions())
        self.stack_model.modelReset.connect(self._update_actions)
        editor.view.selectionModel().currentChanged.connect(lambda *_: self._update_actions())
        self.stack_model.project_dropped.connect(self._on_project_dropped)
        editor.path_selected.connect(self.diagram_view.select_path)
        self.diagram_view.path_selected.connect(self._on_diagram_selected)
        self.diagram_view.layers_dropped.connect(self._on_diagram_selected)
        self.diagram_view.node_activated.connect(self._on_diagram_activated)
        self.design_tabs.currentChanged.connect(self._on_design_tab_changed)
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_system_scheme_changed)
        self._update_actions()

    # -- panels ----------------------------------------------------------------------------------
    def add_panel(self, widget: QWidget, title: str, area: Qt.DockWidgetArea, object_name: str,
                  tabify_with: QDockWidget | None = None) -> QDockWidget:
        """Put *widget* in a dock (named *object_name*, so the layout is remembered) and list it in View.

        A panel added after the window was built gets its remembered place back at once; one
        with no remembered place goes to *area*, as a tab beside *tabify_with* if given.
        """
        dock = QDockWidget(title, self)
        dock.setObjectName(object_name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        # Qt keeps the place of a dock saved in the state but missing when the state was restored
        if not (self._layout_restored and self._remembers(object_name) and self.restoreDockWidget(dock)):
            self.addDockWidget(area, dock)
            if tabify_with is not None:
                self.tabifyDockWidget(tabify_with, dock)
                tabify_with.raise_()
        toggle = dock.toggleViewAction()
        toggle.setStatusTip(f"Show or hide the {title} panel")
        self._add_view_toggle(toggle)
        return dock

    def add_menu(self, menu: QMenu) -> None:
        """Put *menu* in the menu bar, before Help."""
        self.menuBar().insertMenu(self.menus["help"].menuAction(), menu)

    def set_editing_locked(self, locked: bool, message: str | None = None) -> None:
        """Grey out every way of editing the design, and say why (a run trains a copy of it).

        *message* replaces the banner's usual words (a paused run says it is paused).
        """
        self.lock_banner.setText(message or LOCK_MESSAGE)
        for widget in (self.layer_palette, self.stack_editor.view, self.inspector):
            widget.setEnabled(not locked)
        self.diagram_view.set_locked(locked)
        for action in self.window_actions.design_edits():
            action.setEnabled(not locked)
        self.design.undo_stack.setActive(not locked)
        self.lock_banner.setVisible(locked)
        if not locked:
            self._update_actions()

    def _remembers(self, object_name: str) -> bool:
        """Whether the saved window state has a place for the dock named *object_name*."""
        state = self.settings.window_state()
        return state is not None and object_name.encode("utf-16-be") in bytes(state)

    def _add_view_toggle(self, action) -> None:
        """List *action* in the View menu, above the theme entries."""
        separator = next((a for a in self.panels_menu.actions() if a.isSeparator()), None)
        self.panels_menu.insertAction(separator, action)

    def _restore_layout(self) -> None:
        geometry, state = self.settings.window_geometry(), self.settings.window_state()
        if geometry is None or not self.restoreGeometry(geometry):
            screen = self.screen().availableGeometry()
            self.resize(min(1280, int(screen.width() * 0.9)), min(800, int(screen.height() * 0.9)))
            self._default_sizes_pending = True
        if state is not None:
            self.restoreState(state)
        self._layout_restored = True

    def reset_layout(self) -> None:
        """View › Reset Layout: the panels where a fresh start puts them, the design in the middle."""
        self.restoreState(self._default_state)
        for dock in self.findChildren(QDockWidget):
            dock.setFloating(False)
            dock.show()
        self.toolbar.show()
        self.apply_default_sizes()

    def apply_default_sizes(self) -> None:
        """The default proportions: side panels at a readable width, the plots a third of the height."""
        self._default_sizes_pending = False
        widths = {Qt.DockWidgetArea.LeftDockWidgetArea: 260, Qt.DockWidgetArea.RightDockWidgetArea: 340}
        for dock in self.findChildren(QDockWidget):  # wide enough that no panel scrolls sideways
            area = self.dockWidgetArea(dock)
            needed = getattr(dock.widget(), "needed_width", None)
            if area in widths and needed is not None:
                widths[area] = max(widths[area], needed() + 4)
        self.resizeDocks([self.palette_dock, self.inspector_dock],
                         [widths[Qt.DockWidgetArea.LeftDockWidgetArea], widths[Qt.DockWidgetArea.RightDockWidgetArea]],
                         Qt.Orientation.Horizontal)
        bottom = [d for d in self.findChildren(QDockWidget)
                  if self.dockWidgetArea(d) == Qt.DockWidgetArea.BottomDockWidgetArea and not d.isFloating()]
        if bottom:
            self.resizeDocks(bottom[:1], [max(220, self.height() // 3)], Qt.Orientation.Vertical)
        for dock in (self.palette_dock, self.inspector_dock):
            dock.raise_()

    @property
    def first_paint_pending(self) -> bool:
        """Whether the window has yet to paint for the first time (start-up)."""
        return self._after_first_paint is not None

    def after_first_paint(self, callback) -> None:
        """Call *callback* once the window has painted (at once if it has): start-up work that can
        wait, such as reading the project's data and runs, does not hold up the first sight."""
        if self._after_first_paint is None:
            callback()
        else:
            self._after_first_paint.append(callback)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        if self._after_first_paint is not None:
            pending, self._after_first_paint = self._after_first_paint, None
            QTimer.singleShot(0, lambda: [callback() for callback in pending])

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if getattr(self, "_default_sizes_pending", False):  # sizes take only once the docks are laid out
            self.apply_default_sizes()
        if not getattr(self, "_tab_bars_settled", False):
            self._tab_bars_settled = True
            self._hide_stray_tab_bars()

    def _hide_stray_tab_bars(self) -> None:
        """Qt leaves a spare, visible tab bar behind for each dock group tabified before the window
        is shown; it sits under the docks at the size the window first had, and its text showed
        through the gap between two docks (a clipped "ni" beside the loss plot). Hide every dock
        tab bar, and let a round trip of the layout show again the ones it uses."""
        for bar in self.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
            bar.hide()
        self.restoreState(self.saveState())

    # -- the start page ------------------------------------------------------------------------
    def show_start_page(self) -> None:
        """Offer a sample, a template, a recent project or the user's own files in the middle."""
        from netstudio.ui.window.start_page import StartPage

        if self.start_page is None:
            page = StartPage(self.settings.recent_files())
            page.sample_chosen.connect(self.open_sample)
            page.template_chosen.connect(self.new_from_template)
            page.recent_chosen.connect(self.open_recent)
            page.open_project_requested.connect(self.open_dialog)
            page.open_data_requested.connect(lambda: self._leave_start_page() or self.workflow.data_panel.open_file_dialog())
            page.open_images_requested.connect(
                lambda: self._leave_start_page() or self.workflow.data_panel.open_folder_dialog())
            self.centre.addWidget(page)
            self.start_page = page
            self.project_changed.connect(lambda _p: self._leave_start_page())
        self.centre.setCurrentWidget(self.start_page)

    def _leave_start_page(self) -> None:
        self.centre.setCurrentWidget(self.design_tabs)

    def _on_design_tab_changed(self, index: int) -> None:
        self.settings.design_view = "diagram" if self.design_tabs.widget(index) is self.diagram_view else "stack"

    def _on_diagram_selected(self, path) -> None:
        """A node was selected in the diagram: its row in the stack tree (opened to it, inside
        blocks too), and the inspector follows."""
        if path is None:
            self.stack_editor.view.clearSelection()
        else:
            self.stack_editor.select_paths([tuple(path)])

    def _on_diagram_activated(self, path) -> None:
        """Enter on a diagram node: the inspector shows it, brought forward."""
        self._on_diagram_selected(path)
        self.inspector.show_path(tuple(path))
        self._show_inspector()

    def _on_path_selected(self, path) -> None:
        self.inspector.show_path(path)
        if path is not None:  # adding or selecting a layer brings its settings forward (not Training's)
            self._show_inspector()

    def _show_inspector(self) -> None:
        self.inspector_dock.show()
        self.inspector_dock.raise_()

    # -- the project -----------------------------------------------------------------------------
    def set_project(self, project: Project) -> str:
        """Show *project*: its layers, its input shape, a fresh undo history.

        Returns a note for the status bar when the input shape had to be assumed, else ``""``.
        """
        note = ""
        try:
            shape = read_input_shape(project)
        except ValueError as exc:
            shape, note = None, f"{exc}; "
        if shape is None:
            shape = suggest_input_shape(project.stack)
            note += f"input shape {fmt_shape(shape)} assumed: change it with Edit > Input Shape…"
        self.project = project
        self.design.load(project.stack.layers, shape, project.training.get("batch_size", 32))
        project.stack = self.design.stack
        self.inspector.show_layer(None)
        self._update_title()
        self._update_actions()
        self.project_changed.emit(project)
        return note if len(project.stack) else ""

    def set_input_shape(self, shape: Shape, output_width: int | None = None) -> None:
        """Check the design against the data's sample *shape* and output width (not an undo step)."""
        self.design.set_input_shape(shape, output_width)

    def mark_modified(self) -> None:
        """Tell the window that something outside the undo stack (a data setting...) changed."""
        self.design.mark_modified()

    def _update_title(self) -> None:
        modified = self.design.modified
        self.setWindowTitle(f"{self.project.name}{'*' if modified else ''} — NetStudio")

    def export_summary(self) -> None:
        """Write the layer table as text (like ``netstudio summary``) or JSON (like ``--json``)."""
        path = export_summary(self, self.project.name, self.design.validation, Path(self.settings.last_folder))
        if path:
            self.statusBar().showMessage(f"Summary written to {path}", 5000)

    def export_diagram(self) -> None:
        """Write the design's diagram as SVG or PNG, in the window's light or dark colours."""
        from netstudio.ui.designer.diagram_export import export_diagram_dialog

        path = export_diagram_dialog(self, self.project.name, self.diagram_view.diagram,
                                     Path(self.settings.last_folder), theme.is_dark(self.palette()))
        if path:
            self.statusBar().showMessage(f"Diagram written to {path}", 5000)

    # -- editing ---------------------------------------------------------------------------------
    def add_layer(self, type_name: str) -> None:
        """Append a *type_name* layer (the palette's double-click) and select it."""
        index = self.design.append_layer(type_name)
        self.stack_editor.select_layers([index])
        self.statusBar().showMessage(f"Added {type_name}", 3000)

    def delete_selected(self) -> None:
        """Delete the selected layers and blocks (one undo step); a branch row alone: that branch."""
        editor = self.stack_editor
        selected = editor.selected_paths()
        if not selected:
            branch = editor.current_branch()
            if branch is not None:
                self.design.remove_branch(*branch)
                editor.select_paths([branch[0]])
            return
        self.design.remove_at(selected)
        first = selected[0]
        if len(first) > 1:  # inside a block: select what now sits there, else the block
            try:
                self.design.stack.node(first)
                editor.select_paths([first])
            except IndexError:
                editor.select_paths([first[:-2]])
        elif len(self.design.stack):
            editor.select_layers([min(first[0], len(self.design.stack) - 1)])

    def duplicate_selected(self) -> None:
        editor = self.stack_editor
        selected = editor.selected_paths()
        if selected and all(len(p) == 1 for p in selected):
            copies = self.design.duplicate_layers([p[0] for p in selected])
            if copies:
                editor.select_layers(copies)
        elif selected and all(p[:-1] == selected[0][:-1] for p in selected):  # siblings inside a block
            specs = [self.design.stack.node(p).copy() for p in selected]
            editor.select_paths(self.design.insert_at(selected[-1][:-1] + (selected[-1][-1] + 1,), specs,
                                                      f"Duplicate {specs[0].type if len(specs) == 1 else f'{len(specs)} Layers'}"))

    def _sibling_selection(self) -> list | None:
        """The selected paths when they are next to each other in one list, else None."""
        selected = self.stack_editor.selected_paths()
        if not selected or any(p[:-1] != selected[0][:-1] for p in selected):
            return None
        indices = [p[-1] for p in selected]
        return selected if indices == list(range(indices[0], indices[0] + len(indices))) else None

    def move_selected_up(self) -> None:
        selected = self.stack_editor.selected_paths()
        if selected and all(len(p) == 1 for p in selected):
            self.stack_editor.select_layers(self.design.move_up([p[0] for p in selected]))
            return
        siblings = self._sibling_selection()
        if siblings and siblings[0][-1] > 0:
            self.stack_editor.select_paths(self.design.move_to(siblings, siblings[0][:-1] + (siblings[0][-1] - 1,)))

    def move_selected_down(self) -> None:
        selected = self.stack_editor.selected_paths()
        if selected and all(len(p) == 1 for p in selected):
            self.stack_editor.select_layers(self.design.move_down([p[0] for p in selected]))
            return
        siblings = self._sibling_selection()
        if siblings and siblings[-1][-1] < len(self.design.stack.node(siblings[-1][:-2]).children[siblings[-1][-2]]) - 1:
            self.stack_editor.select_paths(self.design.move_to(siblings, siblings[0][:-1] + (siblings[-1][-1] + 2,)))

    def wrap_selected(self, type_name: str) -> None:
        """Put the selected layers inside a new *type_name* block (one undo step) and select it."""
        try:
            block = self.design.wrap(self.stack_editor.selected_paths(), type_name)
        except (ValueError, IndexError) as exc:
            self.statusBar().showMessage(f"Cannot wrap: {exc}", 5000)
            return
        self.stack_editor.select_paths([block])
        self.statusBar().showMessage(f"Wrapped in {type_name}: undo with Ctrl+Z", 3000)

    def unwrap_selected(self) -> None:
        path = self.stack_editor.current_path()
        if path is None or not self.design.stack.node(path).is_block:
            self.statusBar().showMessage("Cannot unwrap: select a Residual, Parallel or Repeat block", 5000)
            return
        inner = self.design.unwrap(path)
        self.stack_editor.select_paths(inner or ([path] if len(path) > 1 else []))

    def add_branch_to_selected(self) -> None:
        parallel = self.stack_editor.current_parallel()
        if parallel is None:
            self.statusBar().showMessage("Cannot add a branch: select a Parallel block or one of its branches", 5000)
            return
        number = self.design.add_branch(parallel)
        index = self.stack_model.branch_index(parallel, number)
        self.stack_editor.view.setCurrentIndex(index)

    def remove_selected_branch(self) -> None:
        branch = self.stack_editor.current_branch()
        if branch is None:
            self.statusBar().showMessage("Cannot remove a branch: select a branch row of a Parallel", 5000)
            return
        self.design.remove_branch(*branch)
        self.stack_editor.select_paths([branch[0]])

    def edit_input_shape(self) -> None:
        dialog = InputShapeDialog(self.design.input_shape, self)
        if run_modal(dialog) == QDialog.DialogCode.Accepted and dialog.shape() is not None:
            self.design.set_input_shape(dialog.shape(), self.design.output_width, undoable=True)

    def _update_actions(self) -> None:
        editor, a = self.stack_editor, self.window_actions
        selected = editor.selected_paths()
        branch = editor.current_branch()
        top = bool(selected) and all(len(p) == 1 for p in selected)
        siblings = self._sibling_selection()
        n = len(self.design.stack)
        if top:
            first, last = selected[0][0], selected[-1][0]
            up, down = first > 0, last < n - 1
        elif siblings:
            holder = self.design.stack.node(siblings[0][:-2]).children[siblings[0][-2]]
            up, down = siblings[0][-1] > 0, siblings[-1][-1] < len(holder) - 1
        else:
            up = down = False
        a.delete.setEnabled(bool(selected) or branch is not None)
        a.duplicate.setEnabled(top or siblings is not None)
        a.move_up.setEnabled(up)
        a.move_down.setEnabled(down)
        for action in (a.wrap_residual, a.wrap_parallel, a.wrap_repeat):
            action.setEnabled(siblings is not None)
        current = editor.current_path()
        a.unwrap.setEnabled(current is not None and self.design.stack.node(current).is_block)
        a.add_branch.setEnabled(editor.current_parallel() is not None)
        a.remove_branch.setEnabled(branch is not None)

    # -- appearance and help -----------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        """Switch to the ``system``, ``light`` or ``dark`` theme and remember it."""
        theme.apply_theme(name)
        self.settings.theme = name
        self.window_actions.themes[name].setChecked(True)

    def _on_system_scheme_changed(self, *_args) -> None:
        if self.settings.theme == "system":
            self.set_theme("system")

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.PaletteChange:  # a theme switch: icons are drawn in the text colour
            self.window_actions.refresh_icons()
            self.status.show_validation(self.design.validation)
        super().changeEvent(event)

    def show_reference(self, layer: str | None = None) -> None:
        run_modal(LayerReferenceDialog(self, layer))

    def show_shortcuts(self) -> None:
        run_modal(ShortcutsDialog(self.window_actions.all(), self))

    def show_about(self) -> None:
        show_about(self)

    def set_device(self, text: str, tooltip: str = "") -> None:
        """Show the training device in the status bar (the app fills it in once PyTorch is loaded)."""
        self.status.set_device(text, tooltip)

    # -- window events ---------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if not self.maybe_save():
            event.ignore()
            return
        self.settings.save_window(self.saveGeometry(), self.saveState())
        self.settings.sync()
        self.workflow.shutdown()
        for runner in self.findChildren(TaskRunner):  # an export dialog's too: it finishes, never half-writes
            runner.shutdown()
        event.accept()
        self.closed.emit()

    def _dropped_data(self, event) -> str | None:
        """The data file or image folder being dropped, if that is what it is."""
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if len(urls) == 1 and self.workflow.accepts_data(urls[0]) and not self.workflow.is_running:
            return urls[0]
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if project_urls(event.mimeData()) or self._dropped_data(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        files = project_urls(event.mimeData())
        if files:
            event.acceptProposedAction()
            self._on_project_dropped(files[0])
        elif (data := self._dropped_data(event)) is not None:
            event.acceptProposedAction()
            self.workflow.open_data_path(data)

    def _on_project_dropped(self, path: str) -> None:
        if self.maybe_save():
            self.open_project(path)
