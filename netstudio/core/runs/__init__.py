"""The run folder: saving a trained run, reading it back, and the history of a project's runs."""
