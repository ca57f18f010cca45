"""The designer: the design and its undo commands, the stack model and editor, the palette, the inspector."""
