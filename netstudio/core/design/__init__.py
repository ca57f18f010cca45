"""The design: layer catalog and parameter schemas, the layer stack and its validation, losses, the model builder, templates."""
