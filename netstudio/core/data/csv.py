"""Reading a delimited text file (CSV, TSV, semicolon or pipe separated) into a pandas DataFrame.

:func:`read_table` finds out how the file is written from a small prefix (delimiter, quoting,
header, decimal and thousands marks), checks the encoding (UTF-8 with or without BOM, UTF-16 with
BOM, else Windows-1252/Latin-1) and then lets pandas' C parser read the whole file in chunks (for
progress and cancellation). Columns that look numeric in the prefix are parsed straight to float32,
the rest are read as text and typed later (``data_tabular``), so a 1,000,000-row numeric file costs
about what ``pandas.read_csv`` alone does. Every failure is a one-line
:class:`~netstudio.core.errors.DataError` naming the file and the line.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import lzma
import re
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from netstudio.core.data.cells import na_strings
from netstudio.core.data.model_inputs import MISSING_TOKENS
from netstudio.core.errors import DataError

DELIMITERS = (",", ";", "\t", "|")
#: Preferred delimiter when several split the prefix equally well (a comma is also a decimal mark).
PREFERENCE = ("\t", ";", "|", ",")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
PREFIX_BYTES = 1 << 20
MAX_PREFIX_BYTES = 16 << 20
SAMPLE_ROWS = 200
#: Files above this size are read through a progress-reporting, cancellable file object when
#: someone watches (pandas then parses serially, about half as fast): below it a load takes a
#: second or two and is not worth slowing down.
WATCHED_BYTES = 256 << 20

_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz"}
_MAGIC = [
    (b"PK\x03\x04", "a zip archive or an Excel workbook: save the sheet as CSV"),
    (b"\xd0\xcf\x11\xe0", "an old Excel or Office file: save the sheet as CSV"),
    (b"PAR1", "a Parquet file, not CSV"),
    (b"%PDF", "a PDF document, not CSV"),
    (b"\x89PNG", "a PNG image, not CSV"),
    (b"\xff\xd8\xff", "a JPEG image, not CSV"),
    (b"SQLite format 3", "an SQLite database, not CSV"),
    (b"\x93NUMPY", "a NumPy .npy file: use an .npz with arrays X and y"),
]
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$", re.IGNORECASE)
_COMMA_DECIMAL = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+$")
_DOT_DECIMAL = re.compile(r"^[+-]?\d*\.\d+$")
_DOT_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")
_COMMA_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_LINE = re.compile(r"line (\d+)")
_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


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


def read_table(path: Path, monitor=None, numeric_hints: bool = True, target: str | None = None):
    """Read the delimited file at *path*.

    Parameters
    ----------
    path : Path
    monitor : netstudio.core.data.common.Monitor, optional
        Gets progress in bytes and may cancel between chunks.
    numeric_hints : bool
        Parse the columns that look numeric in the prefix straight to float32.
    target : str, optional
        A column to parse as float64 instead (a regression target keeps its precision).

    Returns
    -------
    frame : pandas.DataFrame
        Numeric-looking columns as float32 (float64 for *target*), all others as text.
    fmt : TableFormat
    """

    size = _check_file(path)
    suffix = path.suffix.lower()
    opener = _OPENERS.get(suffix, open)
    prefix, complete = _read_prefix(path, opener)
    if not prefix.strip(b"\r\n\t \x00"):
        raise DataError(f"{path} is empty")
    fmt = TableFormat(compression=_COMPRESSION.get(suffix))
    fmt.encoding = _detect_encoding(path, opener, prefix, complete)
    if fmt.encoding not in ("utf-8", "utf-8-sig"):
        fmt.notes.append(f"read as {fmt.encoding} text (the file is not valid UTF-8)")
    text = prefix.decode(fmt.encoding, errors="replace")
    if not complete:
        cut = text.rfind("\n")
        text = text[:cut + 1] if cut > 0 else text
    text = text.lstrip("\ufeff")
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
    dtypes: dict[str, object] = {name: "str" for name in fmt.columns}
    if numeric_hints:
        for j in numeric:
            name = fmt.columns[j]
            dtypes[name] = np.float64 if name == target else np.float32
    while True:
        try:
            frame = _read_all(path, size, fmt, dtypes, monitor)
            break
        except UnicodeDecodeError as exc:
            if not fmt.encoding.startswith("utf-8"):
                raise DataError(f"{path}: cannot be decoded as {fmt.encoding} ({_one_line(exc)})") from None
            # valid UTF-8 at the start, not further on: read it all as a one-byte encoding
            fmt.encoding = _fallback_encoding(path, opener)
            fmt.notes.append(f"read as {fmt.encoding} text (the file is not valid UTF-8)")
        except ValueError as exc:
            if all(d == "str" for d in dtypes.values()):
                raise DataError(f"{path}: cannot be read as CSV ({_one_line(exc)})") from None
            # a column numeric in the prefix holds text further down: read everything as text
            dtypes = {name: "str" for name in fmt.columns}
    if len(frame) == 0:
        raise DataError(f"{path} has a header but no data rows")
    return frame, fmt


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
            fmt.notes.append(f"{skip} comment line{'s' if skip != 1 else ''} before the header skipped")
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


def _check_file(path: Path) -> int:
    try:
        if path.is_dir():
            raise DataError(f"{path} is a folder, not a CSV file")
        size = path.stat().st_size
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except PermissionError:
        raise DataError(f"{path}: permission denied") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if size == 0:
        raise DataError(f"{path} is empty")
    return size


def _read_prefix(path: Path, opener) -> tuple[bytes, bool]:
    """The file's first bytes (at least a few lines) and whether that is the whole file."""
    try:
        with opener(path, "rb") as handle:
            raw = handle.read(PREFIX_BYTES)
            complete = len(raw) < PREFIX_BYTES
            while not complete and raw.count(b"\n") < 20 and len(raw) < MAX_PREFIX_BYTES:
                more = handle.read(PREFIX_BYTES)
                raw += more
                complete = len(more) < PREFIX_BYTES
            complete = complete or not handle.read(1)
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        raise DataError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            raise DataError(f"{path} is {what}")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw, complete
    head = raw[:65536]
    if b"\x00" in head:
        raise DataError(f"{path} is a binary file, not CSV text (byte {head.index(0)} is NUL)")
    controls = sum(head.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13))
    if controls > max(8, len(head) // 100):
        raise DataError(f"{path} is a binary file, not CSV text ({controls} control characters in its first {len(head):,} bytes)")
    return raw, complete


def _detect_encoding(path: Path, opener, prefix: bytes, complete: bool) -> str:
    """UTF-16 (with BOM), UTF-8 (with or without BOM), else Windows-1252, else Latin-1.

    A prefix that is valid UTF-8 means UTF-8 for now: pandas decodes strictly, and a bad byte
    further on sends :func:`read_table` to :func:`_fallback_encoding` (so a clean file is never
    read twice). Otherwise the whole file decides between Windows-1252 and Latin-1.
    """
    if prefix.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(prefix, final=complete)
    except UnicodeDecodeError:
        return _fallback_encoding(path, opener)
    return "utf-8-sig" if prefix.startswith(codecs.BOM_UTF8) else "utf-8"


def _fallback_encoding(path: Path, opener) -> str:
    """Windows-1252 when every byte of the file means something in it, else Latin-1."""
    decoder = codecs.getincrementaldecoder("cp1252")()
    try:
        with opener(path, "rb") as handle:
            while chunk := handle.read(8 << 20):
                decoder.decode(chunk)
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        raise DataError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None


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


class _CountingReader(io.RawIOBase):
    """A binary file that reports its read position (progress) and can be cancelled mid-parse."""

    def __init__(self, path: Path, size: int, monitor) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._size = size
        self._monitor = monitor
        self.position = 0
        self.stopped: BaseException | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            self._monitor.step(min(self.position, self._size), self._size)
        except BaseException as exc:  # pandas would bury it in a ParserError: keep it for later
            self.stopped = exc
            raise
        n = self._file.readinto(buffer)
        self.position += n or 0
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


def _read_all(path: Path, size: int, fmt: TableFormat, dtypes: dict, monitor):
    """The whole file through pandas' C parser.

    pandas parses a path about twice as fast as a Python file object, so a file is read from
    its path unless someone watches a large one (progress or cancel, over 256 MiB): then it goes
    through a file object that reports progress and can stop the parse.
    """
    import pandas as pd

    watched = monitor is not None and (monitor.progress or monitor.cancel) and size > WATCHED_BYTES
    source = io.BufferedReader(_CountingReader(path, size, monitor), 1 << 20) if watched else path
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught, np.errstate(over="ignore", invalid="ignore"):
            warnings.simplefilter("always")
            frame = pd.read_csv(
                source, sep=fmt.delimiter, header=0, names=fmt.columns, index_col=False, dtype=dtypes,
                encoding=fmt.encoding, quotechar='"', skipinitialspace=fmt.spaces_after_delimiter, na_values=na_strings(),
                keep_default_na=True, decimal=fmt.decimal, thousands=fmt.thousands, skip_blank_lines=True,
                skiprows=fmt.skip_rows or None, engine="c", compression=fmt.compression,
                encoding_errors="strict")
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty") from None
    except UnicodeDecodeError:
        if watched and source.raw.stopped is not None:
            raise source.raw.stopped from None
        raise  # read_table falls back to a one-byte encoding
    except (pd.errors.ParserError, csv.Error, UnicodeError, OverflowError, EOFError, lzma.LZMAError,
            zlib.error, OSError) as exc:
        stopped = source.raw.stopped if watched else None
        if stopped is not None:
            raise stopped from None
        if isinstance(exc, pd.errors.ParserError):
            raise DataError(f"{path}: {_parser_message(str(exc))}") from None
        raise DataError(f"{path}: cannot be read as CSV ({_one_line(exc)})") from None
    finally:
        if watched:
            source.close()
    if any("Length of header or names does not match" in str(w.message) for w in caught):
        fmt.notes.append("some lines have more fields than the header: the extra fields were ignored")
    if monitor is not None:
        monitor.step(size, size)
    return frame


def _parser_message(text: str) -> str:
    fields = _FIELDS.search(text)
    if fields:
        expected, line, saw = fields.groups()
        return f"line {line} has {saw} fields, expected {expected} (a stray delimiter or quote?)"
    line = _LINE.search(text)
    if "EOF inside string" in text:
        return f"a quote opened on line {line.group(1) if line else '?'} is never closed"
    return _one_line(text) if not line else f"line {line.group(1)}: {_one_line(text)}"


def _one_line(exc) -> str:
    return " ".join(str(exc).split())[:300]
