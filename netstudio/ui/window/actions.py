"""The main window's actions, menus and toolbar.

Kept apart from :mod:`main_window` so that the window's file reads as behaviour, not as a list
of labels. Every action has a status-bar hint; standard shortcuts come from QKeySequence so that
they follow the platform's conventions.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar

from netstudio.core.design.templates import TEMPLATES
from netstudio.ui.icons import icon
from netstudio.ui.theme import THEME_LABELS, THEMES

Key = QKeySequence.StandardKey


class Actions:
    """Every action of the main window, as attributes (``actions.save``, ``actions.undo``...).

    *window* is the :class:`~netstudio.ui.window.main_window.MainWindow` whose slots they trigger.
    """

    def __init__(self, window: QMainWindow):
        self.window = window
        w = window
        self.new = self._make("new", "&New", "Start a new, empty design", w.new_project, Key.New)
        self.templates = [
            self._make("template", t.title, t.description, lambda _=False, k=t.key: w.new_from_template(k))
            for t in TEMPLATES]
        for action, template in zip(self.templates, TEMPLATES):
            action.setData(template.key)
            action.setObjectName(f"template_{template.key}")
        self.open = self._make("open", "&Open…", "Open a NetStudio project (.nsproj)", w.open_dialog, Key.Open)
        self.save = self._make("save", "&Save", "Save the project", w.save, Key.Save)
        self.save_as = self._make("save-as", "Save &As…", "Save the project under a new name", w.save_as, Key.SaveAs)
        self.export_summary = self._make("export", "&Export Summary…",
                                         "Write the layer table (shapes, parameters, issues) as text or JSON",
                                         w.export_summary, "Ctrl+E")
        self.export_diagram = self._make("export", "Export &Diagram…",
                                         "Save the design's diagram (shapes on every edge) as SVG or PNG",
                                         w.export_diagram)
        self.quit = self._make(None, "&Quit", "Quit NetStudio", w.close, Key.Quit)
        self.quit.setMenuRole(QAction.MenuRole.QuitRole)

        self.undo = w.design.undo_stack.createUndoAction(w, "&Undo")
        self.undo.setIcon(icon("undo"))
        self.undo.setShortcuts(QKeySequence.keyBindings(Key.Undo))
        self.undo.setStatusTip("Undo the last change")
        self.redo = w.design.undo_stack.createRedoAction(w, "&Redo")
        self.redo.setIcon(icon("redo"))
        self.redo.setShortcuts(QKeySequence.keyBindings(Key.Redo))
        self.redo.setStatusTip("Redo the change just undone")
        self.delete = self._make("delete", "&Delete Layer", "Remove the selected layers", w.delete_selected, Key.Delete)
        self.duplicate = self._make("duplicate", "D&uplicate Layer", "Insert a copy of the selected layers below them",
                                    w.duplicate_selected, "Ctrl+D")
        self.move_up = self._make("move-up", "Move &Up", "Move the selected layers one place up", w.move_selected_up, "Alt+Up")
        self.move_down = self._make("move-down", "Move Do&wn", "Move the selected layers one place down",
                                    w.move_selected_down, "Alt+Down")
        self.wrap_residual = self._make("blocks", "Wrap in &Residual",
                                        "Put the selected layers inside a Residual block (a skip connection)",
                                        lambda: w.wrap_selected("Residual"), "Ctrl+G")
        self.wrap_parallel = self._make("blocks", "Wrap in &Parallel",
                                        "Put the selected layers in branch 1 of a new Parallel block",
                                        lambda: w.wrap_selected("Parallel"), "Ctrl+Shift+P")
        self.wrap_repeat = self._make("blocks", "Wrap in Re&peat",
                                      "Put the selected layers inside a Repeat block (copies in a row)",
                                      lambda: w.wrap_selected("Repeat"), "Ctrl+Shift+R")
        self.unwrap = self._make(None, "U&nwrap Block", "Replace the selected block by the layers it holds",
                                 w.unwrap_selected, "Ctrl+Shift+G")
        self.add_branch = self._make(None, "Add &Branch", "Add an empty branch to the selected Parallel block",
                                     w.add_branch_to_selected, "Ctrl+B")
        self.remove_branch = self._make(None, "Remove Branc&h", "Remove the selected branch and its layers",
                                        w.remove_selected_branch)
        self.input_shape = self._make("input-shape", "&Input Shape…", "Set the shape of one input sample",
                                      w.edit_input_shape, "Ctrl+I")

        self.reset_layout = self._make(None, "&Reset Layout", "Put the panels back where they started", w.reset_layout)
        self.theme_group = QActionGroup(w)
        self.themes = {}
        for name in THEMES:
            action = QAction(THEME_LABELS[name], w, checkable=True)
            action.setStatusTip(f"Use the {THEME_LABELS[name].lower()} colours" if name != "system"
                                else "Follow the desktop's light or dark setting")
            action.setData(name)
            action.triggered.connect(lambda _=False, n=name: w.set_theme(n))
            self.theme_group.addAction(action)
            self.themes[name] = action

        self.reference = self._make("reference", "&Layer Reference", "Every layer, its PyTorch class and its settings",
                                    lambda: w.show_reference(), Key.HelpContents)
        self.shortcuts = self._make("keyboard", "&Keyboard Shortcuts", "List the keyboard shortcuts",
                                    w.show_shortcuts, "Ctrl+/")
        self.about = self._make("about", "&About NetStudio", "Version and licence", w.show_about)
        self.about.setMenuRole(QAction.MenuRole.AboutRole)

    def _make(self, icon_name: str | None, text: str, tip: str, slot: Callable, shortcut=None) -> QAction:
        action = QAction(text, self.window)
        if icon_name:
            action.setIcon(icon(icon_name))
            action.setProperty("icon_name", icon_name)
        action.setStatusTip(tip)
        action.setToolTip(f"{text.replace('&', '').rstrip('…')}: {tip}")
        if shortcut is not None:
            if isinstance(shortcut, QKeySequence.StandardKey):
                action.setShortcuts(QKeySequence.keyBindings(shortcut))
            else:
                action.setShortcut(QKeySequence(shortcut))
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys:
                action.setToolTip(f"{action.toolTip()} ({keys})")
        action.triggered.connect(lambda _=False: slot())  # triggered(bool) must not reach the slot
        return action

    def all(self) -> list[QAction]:
        """Every action with a shortcut or a menu entry, in menu order."""
        return [self.new, self.open, self.save, self.save_as, self.export_summary, self.export_diagram, self.quit,
                self.undo, self.redo, self.delete, self.duplicate, self.move_up, self.move_down, *self.block_edits(),
                self.input_shape, self.reference, self.shortcuts, self.about]

    def design_edits(self) -> list[QAction]:
        """The actions that change the design: what a running training locks."""
        return [self.undo, self.redo, self.delete, self.duplicate, self.move_up, self.move_down, *self.block_edits(),
                self.input_shape]

    def block_edits(self) -> list[QAction]:
        """Wrap in Residual / Parallel / Repeat, Unwrap, Add / Remove Branch."""
        return [self.wrap_residual, self.wrap_parallel, self.wrap_repeat, self.unwrap, self.add_branch,
                self.remove_branch]

    def refresh_icons(self) -> None:
        """Render the icons again in the current theme's text colour."""
        for action in self.all() + self.templates:
            name = action.property("icon_name")
            if name:
                action.setIcon(icon(name))
        self.undo.setIcon(icon("undo"))
        self.redo.setIcon(icon("redo"))


def build_menus(window: QMainWindow, actions: Actions) -> dict[str, QMenu]:
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(actions.new)
    templates = file_menu.addMenu(icon("template"), "New from &Template")
    templates.setObjectName("templatesMenu")
    templates.addActions(actions.templates)
    file_menu.addAction(actions.open)
    recent = file_menu.addMenu("Open &Recent")
    recent.setObjectName("recentMenu")
    recent.aboutToShow.connect(lambda: window.fill_recent_menu(recent))
    window.fill_recent_menu(recent)
    file_menu.addSeparator()
    file_menu.addActions([actions.save, actions.save_as])
    file_menu.addSeparator()
    file_menu.addActions([actions.export_summary, actions.export_diagram])
    file_menu.addSeparator()
    file_menu.addAction(actions.quit)

    edit = bar.addMenu("&Edit")
    edit.addActions([actions.undo, actions.redo])
    edit.addSeparator()
    edit.addActions([actions.delete, actions.duplicate, actions.move_up, actions.move_down])
    edit.addSeparator()
    edit.addActions(actions.block_edits())
    edit.addSeparator()
    edit.addAction(actions.input_shape)

    view = bar.addMenu("&View")
    view.setObjectName("viewMenu")
    window.panels_menu = view  # later panels add their toggle here (MainWindow.add_panel)
    view.addSeparator()
    theme_menu = view.addMenu("&Theme")
    theme_menu.addActions(list(actions.themes.values()))
    view.addAction(actions.reset_layout)

    help_menu = bar.addMenu("&Help")
    help_menu.addActions([actions.reference, actions.shortcuts])
    help_menu.addSeparator()
    help_menu.addAction(actions.about)
    return {"file": file_menu, "edit": edit, "view": view, "help": help_menu, "recent": recent, "templates": templates}


def build_toolbar(window: QMainWindow, actions: Actions) -> QToolBar:
    toolbar = QToolBar("Main Toolbar", window)
    toolbar.setObjectName("mainToolbar")
    toolbar.setIconSize(QSize(20, 20))
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    toolbar.addActions([actions.new, actions.open, actions.save])
    toolbar.addSeparator()
    toolbar.addActions([actions.undo, actions.redo])
    toolbar.addSeparator()
    toolbar.addActions([actions.delete, actions.duplicate, actions.move_up, actions.move_down])
    toolbar.addSeparator()
    toolbar.addAction(actions.input_shape)
    toolbar.addAction(actions.reference)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
    return toolbar
