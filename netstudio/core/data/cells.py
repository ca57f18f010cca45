"""What the loaders ask of a column's cells: the spellings pandas reads as missing, yes/no columns.

Reading the cells themselves (missing words, numbers with local marks, yes/no words) is
:mod:`netstudio.core.data.model_inputs`, which the python export ships too.
"""

from __future__ import annotations

from netstudio.core.data.model_inputs import FALSE_WORDS, MISSING_TOKENS, TRUE_WORDS


def na_strings() -> list[str]:
    """Every spelling of :data:`MISSING_TOKENS` that pandas should read as NaN."""
    words = set()
    for token in MISSING_TOKENS:
        words.update({token, token.upper(), token.title()})
    return sorted(words)


def is_bool_like(values) -> bool:
    """Whether every (lower-cased) distinct value is a yes/no word of one true and one false kind."""
    words = {str(v).lower() for v in values}
    return bool(words) and words <= (TRUE_WORDS | FALSE_WORDS) and len(words) <= 2 and (
        len(words) == 1 or (len(words & TRUE_WORDS) == 1 and len(words & FALSE_WORDS) == 1))
