"""Parameter schemas: what a layer setting may hold, checked without PyTorch.

A :class:`Param` describes one constructor argument of a layer (its PyTorch name, kind, default,
bounds or choices and a one-line doc). The inspector builds its form from it, the project loader
checks files against it, and :meth:`Param.check` says in words what is wrong with a value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: The kinds of value a parameter can hold.
KINDS = ("int", "float", "bool", "choice", "size", "ints")
#: Largest integer any layer setting may hold (the largest a JSON number keeps exactly everywhere):
#: no real layer needs more, and a file may hold 4,000-digit numbers.
MAX_INT = 2**53 - 1
#: Most dimensions a sample may have (the batch not counted), and so most entries a list of sizes
#: (``ints``) may hold: torch's kernels index at most 25 dimensions, no real design uses more than
#: 5, and each size is drawn in the window and written out by the exports (an Unflatten of a
#: million sizes asked Qt for an 8-million-pixel label and took minutes to export).
MAX_RANK = 8
#: Largest magnitude a float layer setting may hold when its own bounds say nothing: a slope or
#: scale of 1e308 is valid JSON that turns every activation into inf (an internal error in train).
MAX_FLOAT = 1e6


@dataclass(frozen=True)
class Param:
    """One layer parameter.

    Parameters
    ----------
    name : str
        The PyTorch constructor argument name (``out_features``, ``kernel_size``...).
    kind : str
        ``int``, ``float``, ``bool``, ``choice`` (one of ``choices``), ``size`` (an int, or a list of
        ``arity`` ints, as PyTorch accepts for kernel sizes) or ``ints`` (a list of ints of any length).
    default : Any
        The value a new layer starts with.
    doc : str
        One line for tooltips and the layer reference.
    minimum, maximum : float, optional
        Inclusive bounds of a number (each element of a size).
    exclusive_maximum, exclusive_minimum : bool
        The bound itself is not allowed (Dropout's ``p < 1``, a norm's ``eps > 0``).
    choices : tuple
        The allowed strings of a ``choice``.
    arity : int
        How many ints a ``size`` holds when given as a list (1 for 1-D layers, 2 for 2-D ones).
    allow_none : bool
        ``None`` is allowed (a pooling stride of ``None`` means "the kernel size").
    allow_auto : bool
        ``"auto"`` is allowed (the last Linear's ``out_features``: the data's output width).
    strings : tuple
        Strings a ``size`` also accepts (a convolution's ``"same"`` and ``"valid"`` padding).
    """

    name: str
    kind: str
    default: Any
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_maximum: bool = False
    exclusive_minimum: bool = False
    choices: tuple = ()
    arity: int = 1
    allow_none: bool = False
    allow_auto: bool = False
    strings: tuple = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r}")
        problem = self.check(self.default)
        if problem:
            raise ValueError(f"default of {self.name} {problem}")

    def check(self, value: Any) -> str | None:
        """Return why *value* is not allowed (a phrase like ``must be ≥ 1``), or ``None``."""
        if value is None:
            return None if self.allow_none else f"must be {self.expected()}"
        if value == "auto" and self.allow_auto:
            return None
        if self.kind == "bool":
            return None if isinstance(value, bool) else "must be true or false"
        if self.kind == "choice":
            if value in self.choices:
                return None
            return "must be one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "float":
            if not _is_number(value):
                return f"must be {self.expected()}"
            return self._check_bounds(float(value))
        if self.kind == "int":
            if not _is_int(value):
                return f"must be {self.expected()}"
            return self._check_bounds(value)
        if self.kind == "size":
            if isinstance(value, str):
                return None if value in self.strings else f"must be {self.expected()}"
            if _is_int(value):
                return self._check_bounds(value)
            if isinstance(value, (list, tuple)) and len(value) == self.arity and all(_is_int(v) for v in value):
                return self._check_each(value)
            return f"must be {self.expected()}"
        # kind == "ints"
        if isinstance(value, (list, tuple)) and len(value) > MAX_RANK:
            return f"must hold at most {MAX_RANK} sizes (it holds {len(value):,})"
        if isinstance(value, (list, tuple)) and value and all(_is_int(v) for v in value):
            return self._check_each(value)
        return f"must be {self.expected()}"

    def _check_each(self, values) -> str | None:
        return next((p for p in (self._check_bounds(v) for v in values) if p), None)

    def expected(self) -> str:
        """Describe the allowed values in words, for error messages."""
        if self.kind == "int":
            text = "a positive integer" if self.minimum == 1 else "an integer"
            if self.minimum == 0:
                text = "a non-negative integer"
        elif self.kind == "float":
            text = "a number"
        elif self.kind == "bool":
            text = "true or false"
        elif self.kind == "choice":
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind == "size":
            unit = "a positive integer" if self.minimum == 1 else "a non-negative integer"
            text = unit if self.arity == 1 else f"{unit} or a list of {self.arity} of them"
            if self.strings:
                text += " or " + " or ".join(f'"{s}"' for s in self.strings)
        else:
            text = (f"a non-empty list of at most {MAX_RANK} "
                    f"{'non-negative' if self.minimum == 0 else 'positive'} integers")
        if self.allow_auto:
            text += ' or "auto"'
        if self.allow_none:
            text += " or null"
        return text

    def _check_bounds(self, value: float) -> str | None:
        if isinstance(value, float) and not math.isfinite(value):
            return "must be a finite number"
        if isinstance(value, int) and abs(value) > MAX_INT:
            return f"must be at most {MAX_INT:,}" if value > 0 else f"must be at least {-MAX_INT:,}"
        if isinstance(value, float) and abs(value) > MAX_FLOAT:
            return f"must be between {-MAX_FLOAT:g} and {MAX_FLOAT:g}"
        if self.minimum is not None:
            if self.exclusive_minimum and value <= self.minimum:
                return f"must be > {_fmt(self.minimum)}"
            if value < self.minimum:
                return f"must be ≥ {_fmt(self.minimum)}"
        if self.maximum is not None:
            if self.exclusive_maximum and value >= self.maximum:
                return f"must be < {_fmt(self.maximum)}"
            if value > self.maximum:
                return f"must be ≤ {_fmt(self.maximum)}"
        return None

    def normalise(self, value: Any) -> Any:
        """Return *value* in its canonical JSON form (lists, not tuples; floats for floats)."""
        if isinstance(value, tuple):
            value = list(value)
        if self.kind == "float" and _is_number(value):
            return float(value)
        return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def as_tuple(value: Any, n: int) -> tuple[int, ...]:
    """Expand an int or list *value* to an *n*-tuple, as PyTorch does for kernel sizes."""
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,) * n
