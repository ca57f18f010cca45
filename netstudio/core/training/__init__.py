"""Training: the Trainer and its callback states, metrics, devices, torchrun support, the session a run trains in, evaluation probes."""
