"""NetStudio's Qt-free core: layers, stacks, data, training and export.

Nothing in this package imports PySide6, pyqtgraph or ``netstudio.ui``; a test enforces it, so
the core runs on a headless server. PyTorch itself is imported lazily, only where a model is
built or trained, so that shape checking and project files stay instant.
"""
