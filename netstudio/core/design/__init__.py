"""The design: what a network is, checked without PyTorch.

``layers`` (the catalog: ``get_layer_type``, ``layer_types``; entries in ``catalog/``), ``params``
(a layer setting's schema), ``stack`` (``LayerSpec``, the evented ``LayerStack``), ``validation``
(``LayerStack.validate`` -> ``Validation``), ``losses`` (the loss plan and its checks),
``builder`` (``build_model`` -> ``nn.Sequential``), ``templates``, ``report`` (the layer table).
"""
