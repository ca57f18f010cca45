"""The optimizer and the learning-rate schedule a training section asks for.

Each choice of ``training.optimizer`` and ``training.scheduler`` (the schema,
:class:`~netstudio.core.config.TrainConfig`) has one entry here; ``tests/core/test_training.py``
trains with every one of them, so a choice without an entry fails there.
"""

from __future__ import annotations

from netstudio.core.config import TrainConfig
from netstudio.core.errors import ConfigError

#: ``training.optimizer`` -> the ``torch.optim`` class.
OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad"}


def make_optimizer(config: TrainConfig, model):
    """The optimizer of *model*'s trainable parameters (fused kernels where the device has them)."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError("the model has no trainable parameters: add a Linear or convolution layer")
    cls = getattr(torch.optim, OPTIMIZERS[config.optimizer])
    kwargs = {"momentum": config.momentum, "nesterov": config.nesterov and config.momentum > 0} \
        if config.optimizer == "sgd" else {}
    kwargs.update(lr=config.learning_rate, weight_decay=config.weight_decay)
    # The fused kernels update every parameter in one call: 10-50 % faster on small models, where
    # per-parameter Python overhead dominates. Not every optimizer/device has them.
    try:
        return cls(params, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):
        return cls(params, **kwargs)


def make_scheduler(config: TrainConfig, optimizer, epochs: int, steps_per_epoch: int):
    """The learning-rate scheduler for *epochs* epochs, or None (``scheduler: none``)."""
    return SCHEDULERS[config.scheduler](config, optimizer, epochs, steps_per_epoch)


def _step(c: TrainConfig, opt, epochs: int, steps: int):
    import torch

    return torch.optim.lr_scheduler.StepLR(opt, step_size=c.step_size, gamma=c.gamma)


def _cosine(c: TrainConfig, opt, epochs: int, steps: int):
    import torch

    # Each schedule starts from the configured rate. A schedule built again for more epochs
    # (Continue, --resume) would otherwise start from where the last one ended, 0, and
    # CosineAnnealingLR's step scales the current rate, so it would stay 0: nothing would train.
    for group in opt.param_groups:
        group["lr"] = c.learning_rate
    return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)


def _one_cycle(c: TrainConfig, opt, epochs: int, steps: int):
    import torch

    for group in opt.param_groups:  # OneCycle sets its own lr; start each cycle from the configured one
        group["lr"] = c.learning_rate
    has_momentum = "betas" in opt.defaults or "momentum" in opt.defaults  # Adagrad has neither
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=c.learning_rate, epochs=epochs, steps_per_epoch=steps,
                                               cycle_momentum=has_momentum)


def _plateau(c: TrainConfig, opt, epochs: int, steps: int):
    import torch

    return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=c.gamma, patience=max(1, c.step_size // 2))


#: ``training.scheduler`` -> how to build it from (config, optimizer, epochs, steps per epoch).
SCHEDULERS = {"none": lambda c, opt, epochs, steps: None, "step": _step, "cosine": _cosine, "onecycle": _one_cycle,
              "plateau": _plateau}
