"""The layer catalog's entries, a module per group of palette categories; each holds its ``LAYERS``
in palette order (:mod:`netstudio.core.design.layers` registers them)."""
