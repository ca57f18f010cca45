"""How a delimited text file is written, found out from its first lines: the delimiter, the header,
comment lines, decimal and thousands marks, which columns hold numbers (:func:`sniff_format`)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from netstudio.core.data.model_inputs import MISSING_TOKENS
from netstudio.core.errors import DataError
from netstudio.core.strings import plural

#: Preferred delimiter when several split the prefix equally well (a comma is also a decimal mark);
#: spaces last, so only a file that no other delimiter splits is read as space-separated.
PREFERENCE = ("\t", ";", "|", ",", " ")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", " ": "space"}
SAMPLE_ROWS = 200
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$", re.IGNORECASE)
_COMMA_DECIMAL = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+$")
_DOT_DECIMAL = re.compile(r"^[+-]?\d*\.\d+$")
_DOT_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")
_COMMA_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


@dataclass
class TableFormat:
    """How a delimited file is written, as :func:`read_table` found out."""

    delimiter: str = ","
    encoding: str = "utf-8"
    decimal: str = "."
    thousands: str | None = None
    columns: list[str] = field(default_factory=list)
    skip_rows: int = 0
    spaces_after_delimiter: bool = False
    compression: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def number_format(self) -> dict:
        return {"decimal": self.decimal, "thousands": self.thousands}


def _skip_preamble(text: str, fmt: TableFormat) -> tuple[str, str | None]:
    """Drop leading blank and ``#`` comment lines and Excel's ``sep=;`` hint line.

    Returns the rest of the text and the hinted delimiter; ``fmt.skip_rows`` counts the lines.
    """
    hinted, skip, start, comments = None, 0, 0, False
    for line in _lines(text, complete_only=True):
        bare = line.strip().strip('"')
        if bare.lower().startswith("sep=") and len(bare) == 5 and hinted is None:
            hinted = bare[4]
        elif bare and not bare.startswith("#"):
            break
        comments = comments or line.strip().startswith("#")
        skip += 1
        start += len(line)
    if skip:
        fmt.skip_rows = skip
        if comments:
            fmt.notes.append(f"{plural(skip, 'comment line')} before the header skipped")
    return text[start:], hinted


def _lines(text: str, complete_only: bool = False):
    """The lines of *text*, each with its ``\n``, one at a time (the text may be a megabyte and
    the caller needs its first few hundred lines); with *complete_only*, not a last line
    without ``\n``."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        if end < 0:
            if not complete_only:
                yield text[start:]
            return
        yield text[start:end + 1]
        start = end + 1


def _parse_rows(text: str, delimiter: str, limit: int = SAMPLE_ROWS) -> list[list[str]]:
    rows = []
    try:
        for row in csv.reader(_lines(text), delimiter=delimiter, quotechar='"', skipinitialspace=True):
            if row and any(cell.strip() for cell in row):
                rows.append(row)
                if len(rows) >= limit:
                    break
    except csv.Error:
        pass  # an unterminated quote in the prefix: the rows so far are enough to sniff
    return rows


def pandas_separator(delimiter: str) -> str:
    """What ``pandas.read_csv`` is given for *delimiter*: a space-separated file aligns its columns
    with runs of spaces, so any run of blanks is one separator."""
    return r"\s+" if delimiter == " " else delimiter


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the prefix's lines into the most consistent number of fields."""
    best, best_score = ",", (0.0, 0)
    for delimiter in PREFERENCE:
        rows = _parse_rows(text, delimiter, 60)
        if len(rows) > 1:
            rows = rows[:-1] if len(rows) == 60 else rows
        counts = [len(r) for r in rows]
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        if delimiter == " " and counts[0] != mode:
            # a header of other width: one column of sentences (texts to predict on), not a table
            continue
        consistency = counts.count(mode) / len(counts)
        score = (1.0 if consistency >= 0.95 else consistency, 0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _plain(cell: str, fmt: TableFormat) -> str:
    if fmt.thousands:
        cell = cell.replace(fmt.thousands, "")
    return cell.replace(",", ".") if fmt.decimal == "," else cell


def _detect_numbers(body: list[list[str]], fmt: TableFormat) -> None:
    """Decimal comma and thousands marks, from the cells of the sample rows."""
    cells = [c.strip() for row in body for c in row]
    if not any("," in c for c in cells):
        return  # both a decimal comma and a thousands comma need one
    comma_decimal = sum(1 for c in cells if _COMMA_DECIMAL.match(c))
    dot_decimal = sum(1 for c in cells if _DOT_DECIMAL.match(c) and not _DOT_THOUSANDS.match(c))
    if fmt.delimiter != "," and comma_decimal and comma_decimal >= dot_decimal:
        fmt.decimal = ","
        if any(_DOT_THOUSANDS.match(c) for c in cells) and not dot_decimal:
            fmt.thousands = "."
    elif any(_COMMA_THOUSANDS.match(c) for c in cells) and not any(
            _COMMA_DECIMAL.match(c) and not _COMMA_THOUSANDS.match(c) for c in cells):
        fmt.thousands = ","  # "1,234.5" (quoted in a comma-separated file)


def _is_number(cell: str, fmt: TableFormat) -> bool:
    return bool(_FLOAT.match(_plain(cell.strip(), fmt)))


def _numeric_columns(rows: list[list[str]], fmt: TableFormat) -> list[int]:
    """The columns (of the first row's) whose sampled cells below it are all numbers or missing,
    and not all missing."""
    numeric = []
    for j in range(len(rows[0])):
        cells = [r[j].strip() for r in rows[1:] if j < len(r)]
        cells = [c for c in cells if c and c.lower() not in MISSING_TOKENS]
        if cells and all(_is_number(c, fmt) for c in cells):
            numeric.append(j)
    return numeric


def _detect_header(path: Path, rows: list[list[str]], fmt: TableFormat, numeric_columns: list[int]) -> list[str]:
    """The header row; a first row that looks like data is an error (the columns need names).

    *numeric_columns* are those whose sampled cells are numbers (:func:`_numeric_columns`).
    """
    first, body = rows[0], rows[1:]
    if not body:
        return first
    if numeric_columns:
        named = any(first[j].strip() and not _is_number(first[j], fmt) for j in numeric_columns)
    else:
        named = not any(first[j].strip() and first[j].strip() in {r[j].strip() for r in body if j < len(r)}
                        for j in range(len(first)))
    if not named:
        shown = fmt.delimiter.join(cell.strip() for cell in first[:6])
        raise DataError(f"{path}: line 1 ({shown[:60]!r}) looks like data, not a header: add a first line "
                        "with the column names")
    return first


def _clean_names(header: list[str], fmt: TableFormat) -> list[str]:
    """Stripped names; blanks become "column N"; repeats get " (2)", " (3)"..."""
    names, seen = [], {}
    for j, raw in enumerate(header):
        name = raw.strip().lstrip("\ufeff").strip() or f"column {j + 1}"
        base = name
        if name in seen:
            seen[base] += 1
            name = f"{base} ({seen[base]})"
            while name in seen:
                seen[base] += 1
                name = f"{base} ({seen[base]})"
            fmt.notes.append(f"column name {base!r} appears more than once: the repeat is called {name!r}")
        seen.setdefault(name, 1)
        names.append(name)
    return names


def sniff_format(path: Path, text: str, fmt: TableFormat) -> list[int]:
    """Fill *fmt* in from *text*, the first lines of the file at *path* (decoded, without a BOM);
    returns the columns whose sampled cells are numbers."""
    text, hinted = _skip_preamble(text, fmt)
    fmt.delimiter = hinted or _sniff_delimiter(text)
    # pandas tokenises much slower with skipinitialspace: ask for it only when the file needs it
    # (numbers parse with spaces around them anyway; text is stripped later)
    fmt.spaces_after_delimiter = '"' in text and bool(re.search(re.escape(fmt.delimiter) + r"[ \t]+\"", text))
    rows = _parse_rows(text, fmt.delimiter)
    if not rows:
        raise DataError(f"{path} is empty")
    _detect_numbers(rows[1:], fmt)
    numeric = _numeric_columns(rows, fmt)
    header = _detect_header(path, rows, fmt, numeric)
    fmt.columns = _clean_names(header, fmt)
    if len(rows) > 1:
        delimiter_name = DELIMITER_NAMES.get(fmt.delimiter, repr(fmt.delimiter))
        fmt.notes.insert(0, f"{delimiter_name}-separated, {len(fmt.columns)} columns"
                         + (", decimal comma" if fmt.decimal == "," else "")
                         + (f", thousands mark {fmt.thousands!r}" if fmt.thousands else ""))
    return numeric
