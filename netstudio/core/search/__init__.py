"""Hyper-parameter sweeps on Optuna (Qt-free).

``space`` names settings by their path in the project file and puts a trial's values into a
project; ``study`` opens the Optuna study (storage, sampler, pruner); ``sweep`` runs the trials,
each a normal training run, and ranks them. The command line (``netstudio sweep``) and the
window's Sweep panel both drive :class:`netstudio.core.search.sweep.Sweep`.
"""
