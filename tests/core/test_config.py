"""The one schema of the settings: every key declared once, with its help; what reads it agrees."""

import dataclasses

import pytest

from netstudio.core.config import (
    DataConfig,
    EarlyStopping,
    TrainConfig,
    data_defaults,
    default_training,
    settings,
    validate_data,
    validate_training,
)
from netstudio.core.design.losses import LossPlan, make_loss
from netstudio.core.errors import ProjectError
from netstudio.core.training.optimizers import OPTIMIZERS, SCHEDULERS


@pytest.mark.parametrize("section", [DataConfig, TrainConfig, EarlyStopping])
def test_every_key_has_one_line_of_help_and_labelled_choices(section):
    for name, spec in settings(section).items():
        assert spec.help and "\n" not in spec.help, name
        assert all(isinstance(label, str) and label for label in spec.choices.values()), name


def test_a_new_project_holds_the_schemas_defaults():
    training = default_training()
    assert validate_training({}) == training
    typed = TrainConfig.from_dict({})
    assert typed == TrainConfig() and typed.early_stopping == EarlyStopping()
    assert list(training) == [f.name for f in dataclasses.fields(TrainConfig)]


def test_the_trainers_dispatch_covers_every_choice_of_the_schema():
    spec = settings(TrainConfig)
    assert set(OPTIMIZERS) == set(spec["optimizer"].choices)
    assert set(SCHEDULERS) == set(spec["scheduler"].choices)
    for loss in spec["loss"].choices:
        if loss != "auto":
            assert make_loss(LossPlan(loss, "float", "identity")) is not None


@pytest.mark.parametrize("source, keys", [
    ("csv", {"task", "validation_split", "test_split", "normalize", "seed", "target", "exclude", "features",
             "sequence", "text", "tokenizer"}),
    ("images", {"task", "validation_split", "test_split", "normalize", "seed", "image_size", "color", "augment"}),
    ("synthetic", {"task", "validation_split", "test_split", "normalize", "seed", "kind", "samples", "noise",
                   "classes"}),
    ("sample", {"task", "validation_split", "test_split", "normalize", "seed", "augment"}),
])
def test_each_source_reads_its_own_keys(source, keys):
    assert set(data_defaults(source)) == keys


def test_keys_a_source_does_not_read_are_kept_as_they_are():
    data = validate_data({"source": "csv", "path": "t.csv", "kind": 3, "notes": {"by": "me"}})
    assert data["kind"] == 3 and data["notes"] == {"by": "me"}
    with pytest.raises(ProjectError, match=r"data\.kind: must be one of moons, circles"):
        validate_data({"source": "synthetic", "kind": 3})


def test_bounds_and_choices_come_out_in_the_messages():
    with pytest.raises(ProjectError, match=r"^training\.gamma: must be a number > 0 and ≤ 1$"):
        validate_training({"gamma": 0})
    with pytest.raises(ProjectError, match=r"^training\.early_stopping\.patience: must be a positive integer or null$"):
        validate_training({"early_stopping": {"patience": 0}})
    with pytest.raises(ProjectError, match=r"^data\.samples: must be at most 10,000,000$"):
        validate_data({"source": "synthetic", "samples": 10**8})
