"""The one schema of a project's settings: every key of the ``data`` and ``training`` sections.

Each key is one field of a frozen dataclass, declared with :func:`setting`: its default, what it
may hold (bounds, choices with their labels, null or not) and one line of help. Everything else
reads it from here: the project file's validation (:func:`validate_data`,
:func:`validate_training`, with messages that name the JSON path), the trainer (a typed
:class:`TrainConfig`), the data loaders (:func:`data_defaults`), the Training and Data panels
(their widgets' ranges, choices and tooltips) and the command line's help.

Adding a key is one line in its section::

    test_split: float = setting(0.0, "Share of the rows held out for a final test", minimum=0.0, maximum=0.5)

A key some data sources do not read names the ones that do (``sources=("csv",)``); a group of
keys is a section of its own (:class:`EarlyStopping`, declared with :func:`subsection`). Keys a
section does not declare are kept as they are (a newer NetStudio's, a user's notes).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from netstudio.core.errors import ProjectError

#: The kinds of value a setting holds (see :class:`Setting`).
KINDS = ("int", "float", "bool", "choice", "text", "path", "names", "device", "custom", "section")
#: What a training device setting may say.
DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
#: Largest side of an image the data section may ask for.
MAX_IMAGE_SIDE = 4096
#: Largest share of the rows validation and test may hold out together.
MAX_HELD_OUT = 0.9
#: Largest seed: what torch, NumPy and the window's spin boxes (a C int) all hold exactly.
MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class Setting:
    """One key of a section: its default, the values it may hold, and one line of help.

    Attributes
    ----------
    kind : str
        ``int``, ``float``, ``bool``, ``choice`` (a key of ``choices``), ``text`` (a non-empty
        string), ``path`` (text without NUL characters), ``names`` (a list of strings),
        ``device`` (:data:`DEVICE_PATTERN`), ``custom`` (``check`` decides) or ``section``.
    default : Any
        The value a new project starts with (``None`` where the key is required).
    help : str
        One line for tooltips and the command line's help.
    minimum, maximum : float, optional
        Inclusive bounds of a number, unless ``low_open`` / ``high_open`` exclude them.
    choices : Mapping[str, str]
        The allowed values of a ``choice``, in menu order, each with its label.
    nullable : bool
        ``null`` is allowed.
    required : str, optional
        The key must be given; the phrase saying so (``{source}`` becomes the data source).
    sources : tuple of str
        Data section: the sources that read this key (empty: every source).
    fill : bool
        Write the default into a section that lacks the key (else the key stays absent and the
        reader takes the default).
    deferred : bool
        Checked when the data loads, not when the project opens.
    message : str, optional
        The whole ``must be ...`` phrase, when the generic one does not say it well.
    check : callable, optional
        ``check(value) -> bool``: whether a ``custom`` value is allowed.
    section : type, optional
        The dataclass of a nested section (``kind == "section"``).
    """

    kind: str
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: Mapping[str, str] = field(default_factory=dict)
    nullable: bool = False
    required: str | None = None
    sources: tuple[str, ...] = ()
    fill: bool = True
    deferred: bool = False
    message: str | None = None
    check: Callable[[Any], bool] | None = None
    section: type | None = None

    def applies_to(self, source: str | None) -> bool:
        return not self.sources or source in self.sources

    def label(self, value: str) -> str:
        """What a menu shows for the choice *value*."""
        return self.choices.get(value, str(value))

    def problem(self, value: Any) -> str | None:
        """Why *value* is not allowed (``must be ...``), or ``None`` if it is."""
        if value is None and self.nullable:
            return None
        if self.kind == "int":
            return self._int_problem(value)
        if self.kind == "float":
            return self._float_problem(value)
        ok = {
            "bool": lambda v: isinstance(v, bool),
            "choice": lambda v: v in tuple(self.choices),
            "text": _is_text,
            "path": _is_text,
            "names": lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v),
            "device": lambda v: isinstance(v, str) and bool(DEVICE_PATTERN.match(v)),
            "custom": lambda v: self.check(v),
        }[self.kind](value)
        if not ok:
            return self.message or self._expected()
        if self.kind == "path" and "\x00" in value:
            return "must not contain NUL characters"
        return None

    def _expected(self) -> str:
        nullable = " or null" if self.nullable else ""
        return {
            "bool": "must be true or false",
            "choice": "must be one of " + ", ".join(self.choices),
            "text": "must be a non-empty string" + nullable,
            "path": "must be a non-empty string" + nullable,
        }[self.kind]

    def _int_problem(self, value: Any) -> str | None:
        low = int(self.minimum) if self.minimum is not None else 0
        if not _is_int(value) or value < low:
            word = {0: "a non-negative integer", 1: "a positive integer"}.get(low, f"an integer ≥ {low}")
            return self.message or f"must be {word}" + (" or null" if self.nullable else "")
        if self.maximum is not None and value > self.maximum:
            return self.message or f"must be at most {int(self.maximum):,}"
        return None

    def _float_problem(self, value: Any) -> str | None:
        low, high = self.minimum, self.maximum
        ok = _is_number(value) and (value > low if self.low_open else value >= low)
        if ok and high is not None:
            ok = value < high if self.high_open else value <= high
        if ok:
            return None
        text = f"a number {'>' if self.low_open else '≥'} {low:g}"
        if high is not None:
            text += f" and {'<' if self.high_open else '≤'} {high:g}"
        return f"must be {text}" + (" or null" if self.nullable else "")


def setting(default: Any, help: str, *, kind: str | None = None, **rules: Any):
    """A dataclass field holding its :class:`Setting`: the one line that declares a key.

    The kind follows from the rules and the default when not given: ``choices`` make a choice,
    a bool default a bool, an int default an int, a float default a float.
    """
    if kind is None:
        kind = ("choice" if "choices" in rules else "bool" if isinstance(default, bool)
                else "int" if isinstance(default, int) else "float" if isinstance(default, float) else "text")
    spec = Setting(kind, default, help, **rules)
    value = copy.deepcopy(default)
    if isinstance(value, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(value), metadata={"setting": spec})
    return field(default=value, metadata={"setting": spec})


def subsection(section: type, help: str, *, message: str, **rules: Any):
    """A field holding a nested section (a dataclass of settings) with its defaults."""
    spec = Setting("section", None, help, section=section, message=message, **rules)
    return field(default_factory=section, metadata={"setting": spec})


@functools.cache
def settings(section: type) -> dict[str, Setting]:
    """The :class:`Setting` of every key of *section* (a config dataclass), in file order."""
    return {f.name: f.metadata["setting"] for f in dataclasses.fields(section)}


def defaults(section: type) -> dict:
    """A fresh dict of the defaults of *section*'s keys (nested sections as dicts), in file order."""
    out = {}
    for name, spec in settings(section).items():
        if spec.kind == "section" and spec.fill:
            out[name] = defaults(spec.section)
        elif spec.required is None and spec.fill:
            out[name] = copy.deepcopy(spec.default)
    return out


# ------------------------------------------------------------------------------------------------
# The training section


@dataclass(frozen=True)
class EarlyStopping:
    """``training.early_stopping``: stop when the validation loss stops improving."""

    patience: int | None = setting(None, "Stop after this many epochs without improvement (null: never)",
                                   kind="int", minimum=1, nullable=True)
    min_delta: float = setting(0.0, "The least decrease of the loss that counts as an improvement", minimum=0.0)


OPTIMIZER_LABELS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad"}
LOSS_LABELS = {"auto": "Auto (from the task)", "mse": "MSE", "l1": "L1 (MAE)", "smooth_l1": "Smooth L1",
               "huber": "Huber", "bce": "BCE (after Sigmoid)", "bce_with_logits": "BCE with logits",
               "cross_entropy": "Cross-entropy", "nll": "NLL (after LogSoftmax)"}
SCHEDULER_LABELS = {"none": "None", "step": "Step decay", "cosine": "Cosine", "onecycle": "One-cycle",
                    "plateau": "Reduce on plateau"}


@dataclass(frozen=True)
class TrainConfig:
    """The ``training`` section, typed: what the :class:`~netstudio.core.training.trainer.Trainer` reads."""

    optimizer: str = setting("adam", "How the weights are updated from the gradients", choices=OPTIMIZER_LABELS)
    learning_rate: float = setting(0.001, "Step size of each update: lower it if the loss jumps around or diverges",
                                   minimum=0.0, low_open=True, maximum=10.0)
    weight_decay: float = setting(0.0, "L2 penalty on the weights", minimum=0.0, maximum=1.0)
    momentum: float = setting(0.9, "SGD momentum", minimum=0.0, maximum=1.0, high_open=True)
    nesterov: bool = setting(False, "Nesterov momentum (SGD with a momentum above 0)")
    batch_size: int = setting(32, "Samples per update step", minimum=1, maximum=2**24)
    epochs: int = setting(30, "Passes over the training data", minimum=1, maximum=1_000_000)
    loss: str = setting("auto", "The loss function; Auto picks it from the task and the last layer",
                        choices=LOSS_LABELS)
    class_weights: str | None = setting(None, "auto: weight each class in the loss inverse to its share of the "
                                              "training rows, so rare classes count as much as common ones "
                                              "(classification; null: every row counts the same)",
                                        choices={"auto": "Inverse class frequency"}, nullable=True,
                                        message="must be \"auto\" or null")
    device: str = setting("auto", "Where to train: auto (a CUDA GPU, then Apple's MPS, then the CPU), cpu, cuda, "
                                  "cuda:N or mps",
                          kind="device", message="must be auto, cpu, cuda, cuda:N or mps")
    seed: int = setting(0, "Seed of the initial weights and the batch order: same seed, device and settings, "
                           "same run", minimum=0, maximum=MAX_SEED)
    scheduler: str = setting("none", "How the learning rate changes during training", choices=SCHEDULER_LABELS)
    step_size: int = setting(10, "Epochs between two learning-rate steps (step decay; plateau waits half as long)",
                             minimum=1, maximum=1_000_000)
    gamma: float = setting(0.1, "Factor the learning rate is multiplied by at each step", minimum=0.0, low_open=True,
                           maximum=1.0)
    gradient_clip: float | None = setting(None, "Largest gradient norm (null: no clipping)", kind="float",
                                          minimum=0.0, low_open=True, nullable=True)
    early_stopping: EarlyStopping = subsection(EarlyStopping, "Stop when the validation loss stops improving",
                                               message='must be an object like {"patience": 5}')

    @staticmethod
    def cross_check(values: dict) -> tuple[str, str] | None:
        """A rule between keys: ``(key, problem)``, or None."""
        if values["nesterov"] and values["optimizer"] == "sgd" and values["momentum"] == 0:
            return "nesterov", "needs a momentum above 0"
        return None

    @classmethod
    def from_dict(cls, training: dict) -> TrainConfig:
        """Build from a project's training section (validated; ProjectError on a bad value)."""
        t = validate_training(training)
        names = settings(cls)
        values = {k: t[k] for k in names if k != "early_stopping"}
        stopping = t["early_stopping"]
        return cls(**values, early_stopping=EarlyStopping(**{k: stopping[k] for k in settings(EarlyStopping)}))


def default_training() -> dict:
    """A fresh training section with every default (as a new project holds it)."""
    return defaults(TrainConfig)


def validate_training(training: dict) -> dict:
    """Check the training section; returns it with every default filled in.

    Keys come in the schema's order (then any this version does not know); each error names the
    JSON path of the bad value (``training.learning_rate: must be a number > 0 and ≤ 10``).
    """
    merged = default_training()
    merged.update(copy.deepcopy(training))
    return _check(TrainConfig, merged, "training")


# ------------------------------------------------------------------------------------------------
# The data section

SOURCE_LABELS = {"csv": "CSV file", "images": "Image folder", "npz": "NumPy arrays", "synthetic": "Synthetic 2-D",
                 "sample": "Bundled sample"}
TASK_LABELS = {"auto": "Detect automatically", "binary": "Binary", "multiclass": "Multiclass",
               "regression": "Regression"}
SYNTHETIC_LABELS = {"moons": "Moons", "circles": "Circles", "spiral": "Spiral", "xor": "Xor", "gaussians": "Gaussians"}
FILE_SOURCES = ("csv", "images", "npz")


def _image_size(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(_is_int(v) and 1 <= v <= MAX_IMAGE_SIDE for v in value)


@dataclass(frozen=True)
class Augment:
    """``data.augment``: random changes to each training batch of images (never validation or test)."""

    hflip: bool = setting(False, "Flip half the images left to right")
    vflip: bool = setting(False, "Flip half the images upside down")
    rotate: float = setting(0.0, "Rotate each image by a random angle up to this many degrees either way",
                            minimum=0.0, maximum=180.0)
    shift: float = setting(0.0, "Move each image by up to this many pixels in each direction", minimum=0.0,
                           maximum=MAX_IMAGE_SIDE)
    brightness: float = setting(0.0, "Scale each image's pixels by a random factor within 1 ± this", minimum=0.0,
                                maximum=1.0)
    contrast: float = setting(0.0, "Stretch or flatten each image around its mean by a factor within 1 ± this",
                              minimum=0.0, maximum=1.0)


#: The tokenizers a text column may be split with (Hugging Face ``tokenizers`` models).
TOKENIZER_LABELS = {"wordpiece": "WordPiece (sub-words)", "bpe": "BPE (byte-pair merges)", "word": "Whole words"}
#: Most tokens a text input holds (the sequence length the network sees).
MAX_TEXT_LENGTH = 4096


@dataclass(frozen=True)
class Tokenizer:
    """``data.tokenizer``: how a text column becomes token ids (fitted on the training split)."""

    kind: str = setting("wordpiece", "How text is split into tokens: sub-words (WordPiece, BPE) or whole words",
                        choices=TOKENIZER_LABELS)
    vocab_size: int = setting(8000, "Most distinct tokens kept (padding and unknown included; sub-word "
                                    "tokenizers also keep every character seen)", minimum=3,
                              maximum=2**24)
    max_length: int = setting(64, "Tokens per text: longer texts are cut, shorter ones padded", minimum=1,
                              maximum=MAX_TEXT_LENGTH)
    lowercase: bool = setting(True, "Lower-case the text before splitting it")


@dataclass(frozen=True)
class Sequence:
    """``data.sequence``: a CSV read as a time series, each sample the ``window`` rows before a point."""

    target: str = setting(None, "The column to forecast", required="is required for a time series")
    window: int = setting(24, "Rows of history in each sample (the input is [window, features])",
                          minimum=1, maximum=100_000)
    horizon: int = setting(1, "How many rows after a window's last row its target lies", minimum=1,
                           maximum=100_000)
    order_by: str | None = setting(None, "The column that orders the rows: a date or a number (null: the file's "
                                         "order)", nullable=True)
    features: list | None = setting(None, "The columns each time step holds (null: every numeric column, the "
                                          "target's own past included)", kind="names", nullable=True, fill=False,
                                    message="must be a list of column names or null")


@dataclass(frozen=True)
class DataConfig:
    """The ``data`` section: where the dataset is and how to prepare it (keys by source)."""

    source: str = setting(None, "Where the data comes from", choices=SOURCE_LABELS, fill=False)
    task: str = setting("auto", "A text or yes/no target is classification; numbers with many values, regression",
                        choices=TASK_LABELS)
    validation_split: float = setting(0.2, "Share of the rows held out for validation (stratified by class)",
                                      minimum=0.0, maximum=0.9)
    test_split: float = setting(0.0, "Share of the rows held out for a final test, scored once after training and "
                                     "never used to choose the weights (stratified by class)",
                                minimum=0.0, maximum=0.5)
    normalize: bool = setting(True, "Subtract the training mean and divide by the standard deviation")
    seed: int = setting(0, "Seed of the train/validation split", minimum=0, maximum=MAX_SEED)
    path: str = setting(None, "The data file or image folder (relative to the project's folder)", kind="path",
                        required="is required for a {source} dataset", sources=FILE_SOURCES)
    target: str | None = setting(None, "The column to predict (null: guessed: a column named like a label, else one of classes, never an id, year or date)", nullable=True,
                                 sources=("csv",))
    exclude: list = setting([], "Columns to leave out", kind="names", message="must be a list of column names",
                            sources=("csv",))
    features: list | None = setting(None, "The feature columns (null: every column but the target and the excluded)",
                                    kind="names", nullable=True, fill=False, sources=("csv",),
                                    message="must be a list of column names or null")
    image_size: list | None = setting(None, "[height, width] every image is resized to (null: the most common size)",
                                      kind="custom", check=_image_size, nullable=True, sources=("images",),
                                      message=f"must be [height, width] with sizes from 1 to {MAX_IMAGE_SIDE}, or null")
    color: str | None = setting(None, "grayscale or rgb (null: grayscale when every image is)",
                                choices={"grayscale": "Grayscale", "rgb": "RGB"}, nullable=True, sources=("images",),
                                message="must be grayscale, rgb or null")
    kind: str = setting("moons", "The shape of the two-feature set", choices=SYNTHETIC_LABELS, sources=("synthetic",))
    samples: int = setting(500, "Number of points", minimum=10, maximum=10_000_000, sources=("synthetic",))
    noise: float = setting(0.1, "Standard deviation of the noise added to each point", minimum=0.0, maximum=10.0,
                           sources=("synthetic",))
    classes: int = setting(2, "Number of classes (spiral and gaussians)", minimum=2, maximum=10, fill=False,
                           deferred=True, sources=("synthetic",), message="must be an integer from 2 to 10")
    name: str = setting(None, "The bundled sample's name", required="is required for a bundled sample",
                        sources=("sample",))
    augment: Augment = subsection(Augment, "Random flips, rotations, shifts, brightness and contrast of the "
                                           "training images", message="must be an object of augment settings",
                                  sources=("images", "sample"), fill=False)
    sequence: Sequence | None = subsection(Sequence, "Read the CSV as a time series: windows of rows, each "
                                                     "forecasting a later row's target (null: a plain table)",
                                           message='must be an object like {"target": "load", "window": 24} or '
                                                   'null', sources=("csv",), fill=False, nullable=True)
    text: str | None = setting(None, "A column of free text to classify from: the input becomes its token ids "
                                     "(null: detected when no other column is usable)", nullable=True,
                               sources=("csv",), fill=False)
    tokenizer: Tokenizer = subsection(Tokenizer, "How the text column is split into tokens",
                                      message='must be an object like {"kind": "wordpiece", "max_length": 64}',
                                      sources=("csv",), fill=False)

    @staticmethod
    def cross_check(values: dict) -> tuple[str, str] | None:
        """A rule between keys: ``(key, problem)``, or None."""
        if values.get("validation_split", 0.0) + values.get("test_split", 0.0) > MAX_HELD_OUT + 1e-9:
            return "test_split", (f"together with validation_split ({values['validation_split']:g}) it holds out "
                                  f"more than {MAX_HELD_OUT:.0%} of the rows: lower one of them")
        return None


def data_defaults(source: str | None) -> dict:
    """The default of every key *source* reads (what a loader takes for a key a section lacks)."""
    return {name: (None if spec.nullable else defaults(spec.section)) if spec.kind == "section"
            else copy.deepcopy(spec.default)
            for name, spec in settings(DataConfig).items()
            if spec.applies_to(source) and spec.required is None and name != "source"}


def validate_data(data: dict) -> dict:
    """Check the data section's types and values; returns it with defaults filled in.

    An empty section means "no dataset chosen yet" and is returned as is. Keys keep the file's
    order; missing defaults are added after them.
    """
    if not data:
        return {}
    data = copy.deepcopy(data)
    source_problem = settings(DataConfig)["source"].problem(data.get("source"))
    if source_problem:
        _fail("data.source", source_problem)
    return _check(DataConfig, data, "data", source=data["source"])


# ------------------------------------------------------------------------------------------------
# The sweep section (hyper-parameter search, netstudio.core.search)

#: Validation metrics a sweep may optimise, and whether a higher value is better.
SWEEP_METRICS = {"val_loss": False, "val_accuracy": True, "val_auc": True, "val_r2": True, "val_mae": False}
SAMPLER_LABELS = {"tpe": "TPE (Bayesian)", "random": "Random", "grid": "Grid (every combination)"}
PRUNER_LABELS = {"median": "Median (stop below-median trials)", "hyperband": "Hyperband", "none": "None"}
PARAMETER_TYPES = ("float", "int", "categorical")
#: Most choices of one categorical parameter, and most points of one grid.
MAX_CHOICES = 1000
MAX_GRID = 100_000


@dataclass(frozen=True)
class SweepConfig:
    """The ``sweep`` section: which settings a hyper-parameter search varies, and how it searches.

    ``parameters`` maps a setting's path in the project file (``training.learning_rate``,
    ``model.layers[0].params.out_features``) to its range: ``{"type": "float", "low": 1e-4,
    "high": 0.1, "log": true}``, ``{"type": "int", "low": 8, "high": 64, "step": 8}`` or
    ``{"type": "categorical", "choices": [16, 32, 64]}``.
    """

    trials: int = setting(20, "Trials to run (each one a training run)", minimum=1, maximum=100_000)
    timeout_s: float | None = setting(None, "Start no new trial after this many seconds (null: no limit)",
                                      kind="float", minimum=0.0, low_open=True, nullable=True)
    metric: str = setting("val_loss", "The validation metric to optimise (loss and MAE: lower is better)",
                          choices={k: k for k in SWEEP_METRICS})
    sampler: str = setting("tpe", "How the next trial's values are chosen", choices=SAMPLER_LABELS)
    pruner: str = setting("median", "Stop a trial early when its validation metric falls behind the others",
                          choices=PRUNER_LABELS)
    startup_trials: int = setting(3, "Trials that always run to the end before pruning starts", minimum=0,
                                  maximum=100_000)
    seed: int = setting(0, "Seed of the sampler: same seed, same trials (on one worker)", minimum=0)
    parameters: dict = setting({}, "The settings to vary, by their path in the project, with their ranges",
                               kind="custom", check=lambda v: isinstance(v, dict),
                               message='must be an object like {"training.learning_rate": {"type": "float", '
                                       '"low": 0.0001, "high": 0.1, "log": true}}')

    @property
    def maximize(self) -> bool:
        return SWEEP_METRICS[self.metric]

    @classmethod
    def from_dict(cls, sweep: dict) -> SweepConfig:
        """Build from a project's sweep section (validated; ProjectError on a bad value)."""
        s = validate_sweep(sweep)
        return cls(**{k: s[k] for k in settings(cls)})


def default_sweep() -> dict:
    """A fresh sweep section with every default (no parameters yet)."""
    return defaults(SweepConfig)


def validate_sweep(sweep: Any) -> dict:
    """Check the sweep section and each parameter's range; returns it with defaults filled in."""
    if not isinstance(sweep, dict):
        _fail("sweep", "must be an object")
    merged = default_sweep()
    merged.update(copy.deepcopy(sweep))
    merged = _check(SweepConfig, merged, "sweep")
    for path, spec in merged["parameters"].items():
        merged["parameters"][path] = check_parameter(spec, f"sweep.parameters.{path}")
    return merged


def check_parameter(spec: Any, where: str) -> dict:
    """Check one parameter's range (see :class:`SweepConfig`); returns it with ``log``/``step`` filled in."""
    if not isinstance(spec, dict):
        _fail(where, 'must be an object like {"type": "float", "low": 0.001, "high": 0.1}')
    kind = spec.get("type")
    if kind not in PARAMETER_TYPES:
        _fail(f"{where}.type", "must be one of " + ", ".join(PARAMETER_TYPES))
    spec = copy.deepcopy(spec)
    if kind == "categorical":
        choices = spec.get("choices")
        if (not isinstance(choices, list) or not choices or len(choices) > MAX_CHOICES
                or not all(c is None or isinstance(c, (str, bool)) or _is_number(c) for c in choices)):
            _fail(f"{where}.choices", f"must be a list of 1 to {MAX_CHOICES} numbers, strings, booleans or nulls")
        if len({(type(c).__name__, c) for c in choices}) != len(choices):
            _fail(f"{where}.choices", "must not repeat a value")
        return spec
    number = _is_int if kind == "int" else _is_number
    for key in ("low", "high"):
        if not number(spec.get(key)):
            _fail(f"{where}.{key}", "must be an integer" if kind == "int" else "must be a number")
    if spec["low"] > spec["high"]:
        _fail(f"{where}.high", "must be at least low")
    spec.setdefault("log", False)
    if not isinstance(spec["log"], bool):
        _fail(f"{where}.log", "must be true or false")
    if spec["log"] and spec["low"] <= 0:
        _fail(f"{where}.low", "must be above 0 on a log scale")
    step = spec.get("step", 1 if kind == "int" else None)
    if step is not None:
        if not number(step) or step <= 0:
            _fail(f"{where}.step", "must be a positive " + ("integer" if kind == "int" else "number") + " or null")
        if spec["log"] and step != 1:
            _fail(f"{where}.step", "cannot be used with log (leave it out)")
    if step is not None:
        spec["step"] = step
    return spec


# ------------------------------------------------------------------------------------------------
# Checking a section


def _check(section: type, values: dict, prefix: str, source: str | None = None) -> dict:
    """Fill the defaults of *values* (in place) and check every key; nested sections come last."""
    specs = {k: s for k, s in settings(section).items() if s.applies_to(source) and k != "source"}
    nested = []
    for key, spec in specs.items():
        if spec.kind == "section":
            nested.append((key, spec))
            continue
        if key not in values:
            if spec.required is not None:
                _fail(f"{prefix}.{key}", spec.required.format(source=source))
            if spec.fill:
                values[key] = copy.deepcopy(spec.default)
        if key in values and not spec.deferred:
            problem = spec.problem(values[key])
            if problem:
                _fail(f"{prefix}.{key}", problem)
    rule = getattr(section, "cross_check", None)
    broken = rule(values) if rule is not None else None
    if broken:
        _fail(f"{prefix}.{broken[0]}", broken[1])
    for key, spec in nested:
        if key not in values and not spec.fill:  # an optional section: checked when given
            continue
        if values.get(key) is None and spec.nullable:  # an optional section switched off
            continue
        inner = values.get(key)
        if inner is None:
            inner = {}
        if not isinstance(inner, dict):
            _fail(f"{prefix}.{key}", spec.message)
        merged = defaults(spec.section)
        merged.update(inner)
        values[key] = _check(spec.section, merged, f"{prefix}.{key}")
    return values


def _fail(path: str, message: str) -> None:
    raise ProjectError(f"{path}: {message}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())
