"""The main window: its actions, menus and toolbar, dialogs and status bar."""
