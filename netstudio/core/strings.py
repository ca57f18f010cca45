"""Little text helpers every layer shares: file-name-safe names (a leaf module)."""

from __future__ import annotations

import re


def slug(name: str) -> str:
    """A file-name-safe version of a project name."""
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-.")
    return text[:60] or "project"


def plural(count: int, word: str) -> str:
    """``"1 row"``, ``"2 rows"``, ``"1,000 rows"``: a count and its noun (plural by adding s)."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"
