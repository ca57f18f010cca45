"""NetStudio: build, train and export PyTorch neural networks visually."""

__version__ = "0.1.0"
