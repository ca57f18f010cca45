"""Training: ``trainer.Trainer(config).fit(model, data, callbacks)``.

``states`` holds what callbacks receive (``FitStart``, ``BatchState``, ``EpochMetrics``,
``FitSummary``, ``FitStatus``, ``Callback``); ``session.prepare_session(project)`` goes from a
project to a model ready to train (the CLI and the window both); ``optimizers``, ``metrics``,
``failures``, ``devices``, ``distributed`` (torchrun) and ``evaluation`` (the window's probes).
"""
