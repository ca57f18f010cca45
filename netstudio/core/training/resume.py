"""What a run folder keeps so that training can go on later: ``resume.safetensors`` + ``resume.json``.

``resume.safetensors`` holds tensors only (never pickle): ``model.*`` the weights at the end of the
run (the ones training goes on from), ``best.*`` the best epoch's weights, ``optimizer.<i>.<name>``
the optimizer's per-parameter state, and ``rng.*`` the random generators (torch's global one,
which draws dropout masks; the epoch-order generator; the augmenter's; CUDA's when used).
``resume.json`` holds the rest: the epochs done, the best epoch and score, the epochs since it,
the optimizer's parameter groups and non-tensor state, the scheduler's state, and every epoch's
metrics, so that a resumed run's ``metrics.csv`` starts with them and continues the numbering.

:func:`write_resume` saves a trainer's state into a folder; :func:`read_resume` reads it back as a
:class:`ResumePoint`, which ``Trainer.fit(..., resume=point)`` applies. With the same seed, device
and settings, N epochs and then M resumed ones give the same losses as N + M epochs in one go
(cosine and one-cycle schedules excepted: like Continue, they restart from the configured rate
over the new epochs, because the first run's schedule was shaped for its own epoch count: a
10-epoch cosine has reached only half of its fall at epoch 5, a 5-epoch one has reached 0).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from netstudio.core.errors import ConfigError

FORMAT = "netstudio-resume"
FILES = ("resume.safetensors", "resume.json")
#: Schedules that are rebuilt for the resumed epochs instead of continued.
RESTARTED_SCHEDULES = ("cosine", "onecycle")


@dataclass
class ResumePoint:
    """A saved training state: tensors by name and the JSON document."""

    tensors: dict
    doc: dict

    @property
    def epochs_done(self) -> int:
        return int(self.doc["epochs_done"])

    def prefixed(self, prefix: str) -> dict:
        return {k[len(prefix):]: v for k, v in self.tensors.items() if k.startswith(prefix)}


def write_resume(trainer, folder: Path) -> None:
    """Save what resuming *trainer*'s run needs into *folder* (nothing if it never trained)."""
    import torch
    from safetensors.torch import save_file

    if trainer.optimizer is None or trainer.model is None:
        return
    cpu = lambda t: t.detach().to("cpu").contiguous()  # noqa: E731
    tensors = {f"model.{k}": cpu(v) for k, v in trainer.model.state_dict().items()}
    tensors.update({f"best.{k}": cpu(v) for k, v in trainer._best_state.items()})
    optimizer = trainer.optimizer.state_dict()
    state_doc = {}
    for index, entries in optimizer["state"].items():
        plain = {}
        for name, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{name}"] = cpu(value)
            else:
                plain[name] = value
        state_doc[str(index)] = plain
    tensors["rng.torch"] = torch.get_rng_state()
    tensors["rng.order"] = trainer._generator.get_state()
    if trainer.augmenter is not None:
        tensors["rng.augment"] = trainer.augmenter.generator.get_state().cpu()
    if trainer.device.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(trainer.device)
    doc = {
        "format": FORMAT, "version": 1,
        "epochs_done": len(trainer.history),
        "best_epoch": trainer.best_epoch,
        "best_score": trainer._best_score if trainer._best_score != float("inf") else None,
        "since_best": trainer._since_best,
        "optimizer": {"param_groups": optimizer["param_groups"], "state": state_doc},
        "scheduler": trainer.scheduler.state_dict() if trainer.scheduler is not None else None,
        "history": [dict(m.row(), best_epoch=m.best_epoch) for m in trainer.history],
    }
    save_file(tensors, str(folder / "resume.safetensors"))
    (folder / "resume.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def read_resume(folder: str | Path) -> ResumePoint:
    """The saved state of the run in *folder*; a clear :class:`ConfigError` when it has none."""
    from safetensors.torch import load_file

    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"--resume {folder}: not a run folder")
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise ConfigError(f"--resume {folder}: the run has no {missing[0]} (runs saved before NetStudio kept "
                          "what resuming needs cannot be resumed)")
    try:
        doc = json.loads((folder / "resume.json").read_text(encoding="utf-8"))
        tensors = load_file(str(folder / "resume.safetensors"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--resume {folder}: cannot read its saved state: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != 1:
        raise ConfigError(f"--resume {folder}: resume.json is not a NetStudio resume file of version 1")
    return ResumePoint(tensors, doc)


def apply_resume(trainer, point: ResumePoint) -> None:
    """Put a fitted-up trainer (model, optimizer, scheduler, generators made) where *point* left off."""
    import torch

    from netstudio.core.training.states import EpochMetrics

    doc = point.doc
    try:
        trainer.model.load_state_dict(point.prefixed("model."))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ConfigError(f"--resume: the run's weights do not fit this project's model ({first})") from None
    best = point.prefixed("best.")
    trainer._best_state = {k: v.clone() for k, v in best.items()}
    saved = doc["optimizer"]
    state = {}
    for index, plain in saved["state"].items():
        entries = dict(plain)
        entries.update(point.prefixed(f"optimizer.{index}."))
        state[int(index)] = entries
    try:
        trainer.optimizer.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"--resume: the run's optimizer state does not fit this project ({exc}); "
                          "resume with the optimizer the run used") from None
    if trainer.config.scheduler in RESTARTED_SCHEDULES:
        # Built for the new epochs after the optimizer's state is in: that state holds the rate
        # the old schedule ended on, and a schedule made before it would start from there.
        trainer.scheduler = trainer._make_scheduler(trainer.config.epochs)
    elif trainer.scheduler is not None and doc.get("scheduler"):
        trainer.scheduler.load_state_dict(doc["scheduler"])
    torch.set_rng_state(point.tensors["rng.torch"])
    trainer._generator.set_state(point.tensors["rng.order"])
    if trainer.augmenter is not None and "rng.augment" in point.tensors:
        trainer.augmenter.generator.set_state(point.tensors["rng.augment"])
    if trainer.device.type == "cuda" and "rng.cuda" in point.tensors:
        torch.cuda.set_rng_state(point.tensors["rng.cuda"], trainer.device)
    trainer.best_epoch = doc.get("best_epoch")
    trainer._best_score = doc["best_score"] if doc.get("best_score") is not None else float("inf")
    trainer._since_best = int(doc.get("since_best", 0))
    fixed = {"epoch", "train_loss", "val_loss", "learning_rate", "samples_per_second", "seconds", "best_epoch"}
    trainer.history = [EpochMetrics(int(row["epoch"]), row["train_loss"], row.get("val_loss"),
                                    {k: v for k, v in row.items() if k not in fixed}, row["learning_rate"],
                                    row["samples_per_second"], row["seconds"], int(row["best_epoch"]))
                       for row in doc["history"]]
