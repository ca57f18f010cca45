"""Exporting a run: exporter.export_run() for every format, the model module, the python export, safe loading of untrusted files, predict."""
