"""The raw columns of a table as the preprocessing knows them, and finding them in a new table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netstudio.core.errors import DataError
from netstudio.core.strings import plural


@dataclass
class Column:
    """One raw feature column and how it is encoded.

    ``kind`` is ``numeric`` (one input, the number), ``bool`` (one input, 1 for yes/true, 0 for
    no/false) or ``categorical`` (one input per category, one-hot; all zero when the value is
    missing or was not seen in training).
    """

    name: str
    kind: str = "numeric"
    categories: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        return len(self.categories) if self.kind == "categorical" else 1

    @property
    def output_names(self) -> list[str]:
        if self.kind == "categorical":
            return [f"{self.name}={c}" for c in self.categories]
        return [self.name]

    def to_json(self) -> dict:
        doc: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.kind == "categorical":
            doc["categories"] = list(self.categories)
        return doc

    @classmethod
    def from_json(cls, doc: dict) -> Column:
        return cls(str(doc["name"]), str(doc.get("kind", "numeric")), [str(c) for c in doc.get("categories", [])])


def locate_columns(frame, names: list[str]) -> list:
    """The frame's column label for each of *names* (exact, else ignoring surrounding spaces)."""
    exact = {str(label): label for label in frame.columns}
    stripped = {str(label).strip(): label for label in frame.columns}
    labels, missing = [], []
    for name in names:
        label = exact.get(name, stripped.get(name.strip()))
        if label is None:
            missing.append(name)
        labels.append(label)
    if missing:
        shown = ", ".join(repr(m) for m in missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise DataError(f"the data lacks {plural(len(missing), 'column')} the model needs: {shown}")
    return labels
