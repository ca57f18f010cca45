"""The search space: settings named by their path in the project file, and their ranges.

A path is the place of a value in the ``.nsproj`` document, as ``summary --json`` and error
messages write it: ``training.learning_rate``, ``model.layers[0].params.out_features``, inside a
block ``model.layers[2].layers[0].params.out_channels`` or ``model.layers[3].branches[1][0].params.p``.
:func:`with_values` puts a trial's values into a copy of the project (which is then validated
as any project file is); :func:`suggested_range` is the range "Sweep this" starts from.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any

from netstudio.core.config import (
    SweepConfig,
    TrainConfig,
    check_parameter,
    settings,
    validate_sweep,
)
from netstudio.core.errors import ProjectError
from netstudio.core.project import Project, project_from_json

#: The key of the project file that holds the sweep section.
SECTION = "sweep"
_STEP = re.compile(r"\.?([A-Za-z_]\w*)|\[(\d+)\]")


def parse_path(path: str) -> list[str | int]:
    """The steps of *path*: names (``str``) and list positions (``int``).

    Raises
    ------
    ProjectError
        *path* is not a path (``training..x``, ``model.layers[a]``).
    """
    steps: list[str | int] = []
    pos = 0
    while pos < len(path):
        match = _STEP.match(path, pos)
        if match is None or (pos == 0 and path.startswith(".")):
            raise ProjectError(f"sweep.parameters: {path!r} is not a setting's path (like training.learning_rate)")
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    if len(steps) < 2 or not isinstance(steps[0], str):
        raise ProjectError(f"sweep.parameters: {path!r} is not a setting's path (like training.learning_rate)")
    return steps


def _parent(doc: dict, path: str) -> tuple[Any, str | int]:
    """The container of *path*'s value in *doc* and the last step (ProjectError if absent)."""
    steps = parse_path(path)
    node: Any = doc
    for step in steps[:-1]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            node = None
        if not isinstance(node, (dict, list)):
            raise ProjectError(f"sweep.parameters.{path}: the project has no such setting")
    last = steps[-1]
    if isinstance(node, list) != isinstance(last, int) or (isinstance(last, int) and last >= len(node)):
        raise ProjectError(f"sweep.parameters.{path}: the project has no such setting")
    return node, last


def get_value(project: Project, path: str) -> Any:
    """The value at *path* in *project* (None for a layer setting left at its default)."""
    node, last = _parent(project.to_json(), path)
    return node[last] if isinstance(node, list) else node.get(last)


def with_values(project: Project, values: dict[str, Any]) -> Project:
    """A copy of *project* with *values* (path -> value) put in, validated like a loaded file.

    Raises
    ------
    ProjectError
        A path the project lacks, or a value the project does not allow (the message says which).
    """
    doc = project.to_json()
    for path, value in values.items():
        node, last = _parent(doc, path)
        node[last] = copy.deepcopy(value)
    return project_from_json(doc, project.path)


def sweep_section(project: Project) -> dict:
    """The project's sweep section as written (``{}`` when it has none)."""
    section = project.extra.get(SECTION)
    return copy.deepcopy(section) if isinstance(section, dict) else {}


def sweep_config(project: Project) -> SweepConfig:
    """The project's sweep section, typed; every parameter's path checked against the project.

    Raises
    ------
    ProjectError
        A bad value, a path the project lacks, or no parameters to sweep.
    """
    config = SweepConfig.from_dict(sweep_section(project))
    if not config.parameters:
        raise ProjectError('sweep.parameters: the project sweeps nothing: add a setting, like '
                           '"training.learning_rate": {"type": "float", "low": 0.0001, "high": 0.1, "log": true}')
    doc = project.to_json()
    for path in config.parameters:
        _parent(doc, path)
    return config


def set_parameter(project: Project, path: str, spec: dict | None) -> None:
    """Add *path* with range *spec* to *project*'s sweep section (None: remove it); validated."""
    section = sweep_section(project)
    parameters = dict(section.get("parameters") or {})
    if spec is None:
        parameters.pop(path, None)
    else:
        _parent(project.to_json(), path)
        parameters[path] = check_parameter(spec, f"sweep.parameters.{path}")
    section["parameters"] = parameters
    validate_sweep(section)
    project.extra[SECTION] = section


def suggest(trial, config: SweepConfig) -> dict[str, Any]:
    """Ask an Optuna trial for a value of every parameter of *config* (path -> value)."""
    values = {}
    for path, spec in config.parameters.items():
        kind = spec["type"]
        if kind == "categorical":
            values[path] = trial.suggest_categorical(path, spec["choices"])
        elif kind == "int":
            values[path] = trial.suggest_int(path, spec["low"], spec["high"], step=spec.get("step", 1),
                                             log=spec["log"])
        else:
            values[path] = trial.suggest_float(path, float(spec["low"]), float(spec["high"]),
                                               step=spec.get("step"), log=spec["log"])
    return values


def grid(config: SweepConfig) -> dict[str, list]:
    """Every value of every parameter, for the grid sampler.

    Raises
    ------
    ProjectError
        A float parameter without a ``step``, or a grid of more than ``MAX_GRID`` points.
    """
    from netstudio.core.config import MAX_GRID

    space, points = {}, 1
    for path, spec in config.parameters.items():
        if spec["type"] == "categorical":
            values = list(spec["choices"])
        elif spec.get("step") is None:
            raise ProjectError(f"sweep.parameters.{path}.step: a grid sweep needs a step for every float range")
        else:
            count = int(math.floor((spec["high"] - spec["low"]) / spec["step"] + 1e-9)) + 1
            values = [spec["low"] + i * spec["step"] for i in range(min(count, MAX_GRID + 1))]
            if spec["type"] == "float":
                values = [round(v, 12) for v in values]
        points *= len(values)
        if points > MAX_GRID:
            raise ProjectError(f"sweep.parameters: the grid has more than {MAX_GRID:,} points: use fewer values "
                               "or the tpe sampler")
        space[path] = values
    return space


# ------------------------------------------------------------------------------------------------
# "Sweep this": a sensible first range for a setting


def suggested_range(project: Project, path: str) -> dict:
    """A first range for the setting at *path*, around its value and within what it may hold.

    Learning rates and other positive floats get a log range a decade either side; sizes half to
    twice the value; batch sizes powers of two around it; choices and switches every value.

    Raises
    ------
    ProjectError
        The project has no setting at *path*, or it is not a number, a choice or a switch.
    """
    value = get_value(project, path)
    steps = parse_path(path)
    low = high = None
    high_open = False
    choices: tuple = ()
    kind = None
    if steps[0] == "training" and len(steps) == 2 and steps[1] in settings(TrainConfig):
        spec = settings(TrainConfig)[steps[1]]
        kind, low, high, high_open, choices = spec.kind, spec.minimum, spec.maximum, spec.high_open, tuple(spec.choices)
        if spec.low_open and low is not None:
            low = None if low == 0 else low
    elif steps[0] == "model" and len(steps) >= 3 and steps[-2] == "params":
        param = _layer_param(project, path)
        if param is not None:
            kind, low, high, high_open, choices = (param.kind, param.minimum, param.maximum,
                                                   param.exclusive_maximum, tuple(param.choices))
    if kind is None:
        kind = "bool" if isinstance(value, bool) else "int" if isinstance(value, int) else (
            "float" if isinstance(value, float) else None)
    if kind == "bool":
        return {"type": "categorical", "choices": [True, False]}
    if kind == "choice" and choices:
        return {"type": "categorical", "choices": list(choices)}
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        if steps[-1] == "batch_size":
            base = max(1, value)
            return {"type": "categorical", "choices": sorted({max(1, base // 2), base, base * 2})}
        lo, hi = (max(1, value // 2), max(2, value * 2)) if value > 0 else (0, 10)
        lo = max(lo, int(low)) if low is not None else lo
        hi = min(hi, int(high) - (1 if high_open else 0)) if high is not None else hi
        return {"type": "int", "low": lo, "high": max(lo, hi)}
    if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        if value > 0:
            lo, hi, log = value / 10, value * 10, True
        else:
            lo, hi, log = 0.0, 0.1, False
        if low is not None:
            lo = max(lo, low)
        if high is not None:
            hi = min(hi, high * 0.99 if high_open else high)
        if log and lo <= 0:
            lo = value / 10
        return {"type": "float", "low": _round(lo), "high": _round(max(lo, hi)), "log": log}
    raise ProjectError(f"{path}: only a number, a choice or a switch can be swept")


def _layer_param(project: Project, path: str):
    from netstudio.core.design.layers import get_layer_type

    doc = project.to_json()
    layer_path = path[: path.rindex(".params.")]
    node, last = _parent(doc, layer_path + ".type")
    try:
        return get_layer_type(node[last]).param_index.get(parse_path(path)[-1])
    except (KeyError, ValueError):
        return None


def _round(value: float) -> float:
    """*value* to 3 significant digits (a range a person reads)."""
    return float(f"{value:.3g}")
