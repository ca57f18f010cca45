"""NetStudio's Qt-free core: the design, the data, training, run folders and exports.

Sub-packages by concern, each importing only those below it (``design`` -> ``data`` ->
``training`` -> ``runs`` -> ``export``; ``config``, ``project``, ``errors``, ``fileio`` and
``strings`` beside them): see docs/architecture.md. Nothing in this package imports PySide6,
pyqtgraph or ``netstudio.ui``; import-linter enforces both (tests/test_architecture.py), so the
core runs on a headless server. PyTorch itself is imported lazily, only where a model is built
or trained, so that shape checking and project files stay instant.
"""
