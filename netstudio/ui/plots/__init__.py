"""Plots: the live loss plot, its fast drawing helpers, the evaluation view."""
