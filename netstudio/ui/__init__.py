"""NetStudio's Qt widgets: they observe and edit core objects, and never train or parse files."""
