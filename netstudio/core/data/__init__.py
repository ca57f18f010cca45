"""Loading data: ``load.load_dataset(data_section, base_dir)`` for every source -> a ``Dataset``.

Sources: ``csv`` + ``csv_format`` + ``tabular`` (tables), ``images``, ``arrays`` (npz,
synthetic, with ``synthetic``); what they share is ``common`` (progress, split, assembly) and
``target``; ``preprocess`` is the fitted, JSON-serialisable preprocessing (``preprocess_module``
its torch module); ``model_inputs`` reads raw cells and image files (and ships with the python
export); ``preview`` is what the window's Data panel loads.
"""
