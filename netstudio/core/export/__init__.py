"""Exporting a run: ``exporter.export_run(run, format, out)`` for every format of ``common.FORMATS``.

``model`` is the exported module (raw inputs -> probabilities or values), ``formats`` the
single-file writers, ``python`` and ``code`` the plain-PyTorch folder, ``safe_load`` and
``archive`` the checks of untrusted model files, ``predict`` predictions from a model file;
``exporter.write_run_models`` is what ``save_run`` is handed for a run's model.pt2/model.onnx.
"""
