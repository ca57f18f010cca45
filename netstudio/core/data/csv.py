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
from pathlib import Path

import numpy as np

from netstudio.core.data.cells import na_strings
from netstudio.core.data.csv_format import TableFormat, pandas_separator, sniff_format
from netstudio.core.errors import DataError
from netstudio.core.fileio import read_failure

PREFIX_BYTES = 1 << 20
MAX_PREFIX_BYTES = 16 << 20
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
_LINE = re.compile(r"line (\d+)")
_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


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
    numeric = sniff_format(path, text, fmt)
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


def _check_file(path: Path) -> int:
    try:
        if path.is_dir():
            raise DataError(f"{path} is a folder, not a CSV file")
        size = path.stat().st_size
    except OSError as exc:
        raise DataError(read_failure(path, exc)) from None
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
                source, sep=pandas_separator(fmt.delimiter), header=0, names=fmt.columns, index_col=False,
                dtype=dtypes,
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
        # pandas would read the first columns only: values fall under the wrong names, so refuse,
        # as a ragged file is refused
        raise DataError(f"{path}: some lines have more fields than the header's {len(fmt.columns)} "
                        "(a missing column name, or a stray delimiter?)")
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
