"""The Optuna study of a sweep: its storage, sampler, pruner and direction.

A study lives in memory, in a JournalFile (a file path: one machine, or many sharing a
filesystem) or in a database (an SQLAlchemy URL: ``sqlite:///sweep.db`` on one machine,
``postgresql://...`` or ``mysql+pymysql://...`` for a cluster). Processes that open the same
storage and study name share its trials: each asks the study for its next trial, so none is
run twice and none is lost.
"""

from __future__ import annotations

import os
import socket
import zlib
from pathlib import Path

from netstudio.core.config import SweepConfig
from netstudio.core.errors import ConfigError
from netstudio.core.search.space import grid


def quiet_optuna() -> None:
    """Optuna logs every trial at INFO; NetStudio prints its own line per trial."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)


def open_storage(url: str | os.PathLike | None):
    """The Optuna storage *url* names: None (in memory), an SQLAlchemy URL or a JournalFile path.

    Raises
    ------
    ConfigError
        The database cannot be reached or its driver is missing, or the file cannot be written.
    """
    if url is None:
        return None
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    text = str(url)
    if "://" in text:
        kwargs = {"connect_args": {"timeout": 60}} if text.startswith("sqlite") else {}
        try:
            return _rdb_storage(text, kwargs)
        except ImportError as exc:
            raise ConfigError(f"--storage {text}: the database driver is not installed ({exc.name or exc})") from None
        except Exception as exc:  # sqlalchemy's errors: bad URL, unreachable server, refused login
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(f"--storage {text}: cannot open the study database ({first})") from None
    path = Path(text).expanduser().absolute()
    if path.is_dir():
        raise ConfigError(f"--storage {text} is a folder: give a journal file's path (or an SQLAlchemy URL)")
    if not path.parent.is_dir():
        raise ConfigError(f"--storage {text}: the folder {path.parent} does not exist")
    try:
        return JournalStorage(JournalFileBackend(str(path)))
    except OSError as exc:
        raise ConfigError(f"--storage {text}: cannot open the journal file ({exc.strerror or exc})") from None


def _rdb_storage(url: str, engine_kwargs: dict, attempts: int = 5):
    """An RDBStorage; retried when workers started together race to create the tables (the
    loser's insert of the schema version fails, and the tables are there a moment later)."""
    import time

    import optuna
    from sqlalchemy.exc import IntegrityError, OperationalError

    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
        except (IntegrityError, OperationalError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def make_sampler(config: SweepConfig, shared: bool):
    """The sampler *config* names, seeded; a worker sharing a study mixes in its host and process,
    so that two workers started together do not propose the same values."""
    import optuna

    seed = config.seed
    if shared:
        seed = (seed + zlib.crc32(f"{socket.gethostname()}:{os.getpid()}".encode())) % 2**31
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if config.sampler == "grid":
        return optuna.samplers.GridSampler(grid(config), seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(2, config.trials // 3)),
                                      constant_liar=shared)


def make_pruner(config: SweepConfig, epochs: int):
    """The pruner *config* names, fed the validation metric after each epoch."""
    import optuna

    if config.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=config.startup_trials, n_warmup_steps=0)
    if config.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(1, epochs), reduction_factor=3)
    return optuna.pruners.NopPruner()


def open_study(config: SweepConfig, name: str, *, storage=None, epochs: int = 1):
    """Create the study *name* in *storage*, or join it if it exists there.

    Raises
    ------
    ConfigError
        The study exists with the other direction (it optimises another metric).
    """
    import optuna

    quiet_optuna()
    direction = "maximize" if config.maximize else "minimize"
    sampler, pruner = make_sampler(config, shared=storage is not None), make_pruner(config, epochs)
    try:
        study = optuna.create_study(storage=storage, study_name=name, direction=direction, load_if_exists=True,
                                    sampler=sampler, pruner=pruner)
    except Exception as exc:  # the storage failed under us (a database gone, a locked journal)
        raise ConfigError(f"cannot open the study {name!r}: {type(exc).__name__}: {exc}") from None
    if study.direction.name.lower() != direction:
        raise ConfigError(f"the study {name!r} in this storage is set to {study.direction.name.lower()}, not "
                          f"{direction} {config.metric}: give another --study name")
    return study
