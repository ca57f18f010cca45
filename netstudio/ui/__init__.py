"""NetStudio's window (PySide6): Qt widgets that observe and edit core objects, and never train
or parse files themselves.

``window`` (the main window, top) builds the ``designer`` and the ``training`` workflow, which
brings the ``data`` panel and the ``plots``; beside them ``tasks`` (background work), ``widgets``,
``theme``, ``icons``, ``settings``, ``errors`` and ``recovery``. docs/architecture.md has the map.
"""
