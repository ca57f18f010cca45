"""The Data panel: loading a dataset in the background, its preview and settings."""
