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


#: The most characters one line of text shown in the window holds (a label, a table cell).
SHOWN_CHARS = 200
#: The most a tooltip holds: lines, and characters a line.
TOOLTIP_LINES, TOOLTIP_CHARS = 40, 1000


def shorten(text: str, limit: int = SHOWN_CHARS) -> str:
    """*text* cut to *limit* characters, its middle replaced by ``…`` (a million-size shape asked
    Qt for an 8-million-pixel label and crashed its raster engine)."""
    text = str(text)
    if len(text) <= limit:
        return text
    head = (limit - 1) * 2 // 3
    return text[:head] + "…" + text[len(text) - (limit - 1 - head):]


#: Longest run of characters without a space that a wrapped label keeps unbroken.
UNBROKEN_CHARS = 40


def breakable(text: str, run: int = UNBROKEN_CHARS) -> str:
    """*text* with a zero-width space after every *run* characters of an unbroken word, so that a
    word-wrapped label wraps it instead of asking for the whole word's width."""
    return re.sub(rf"(\S{{{run}}})(?=\S)", "\\1\u200b", str(text))


def tooltip_text(text: str) -> str:
    """*text* bounded for a tooltip: each line shortened, at most :data:`TOOLTIP_LINES` of them."""
    lines = str(text).split("\n")
    shown = [shorten(line, TOOLTIP_CHARS) for line in lines[:TOOLTIP_LINES]]
    if len(lines) > TOOLTIP_LINES:
        shown.append(f"… and {len(lines) - TOOLTIP_LINES:,} more lines")
    return "\n".join(shown)
