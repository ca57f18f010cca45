"""Reading model files within bounds: nothing is read larger than the file's own records need.

A small archive can make a careless reader allocate gigabytes: a member that deflates a thousand
times over (a 2 MB file holding a "2 GiB" metadata file), tensor data padded far beyond the tensor
its records describe (torch reads a record whole), a record of zero bytes whose tensor torch then
fills with zeros of the declared shape, members that share their bytes. And two members of the
same name are read differently by different readers (Python's zipfile takes the last, torch the
first, and torch compares names ignoring case): NetStudio would check one copy and torch load the
other. So before anything in a model archive is read:

* :func:`check_archive`: no two members whose names are equal ignoring case; at most
  :data:`MAX_MEMBERS` of them; tensor data never compressed (it cannot expand when read); the other
  members (the records: metadata, program, code, pickles) together at most :data:`RECORDS_LIMIT`;
  and the members account for the file's bytes: they claim no more than the file holds (members do
  not overlap) and the file holds little more than they claim (no unused bytes read into memory);
* :func:`read_record` reads a record through a stream that stops at the limit;
* :func:`check_payload_sizes`: every ``.pt2`` weight or constant file is exactly as large as the
  tensors its configuration describes (TorchScript storages: :mod:`netstudio.core.export.archive`).

:func:`read_model_file` applies the archive checks to the file on disk before reading it whole; a
file that is no archive may hold an ONNX model, at most :data:`ONNX_LIMIT` bytes (protobuf's limit:
NetStudio never writes ONNX weights outside the file).
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from netstudio.core.errors import ExportError

#: What reading a damaged zip member raises: a bad header or CRC, a broken deflate stream, an
#: unknown compression method.
ZIP_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, NotImplementedError)

#: More members than any NetStudio model has (one per tensor, a dozen records, a code file per class).
MAX_MEMBERS = 100_000
#: All records of an archive together (everything but tensor data). NetStudio's are kilobytes to a
#: few megabytes (the program grows by about a kilobyte per operation).
RECORDS_LIMIT = 64 * 2**20
#: Largest file that is not an archive (a single-file ONNX model: protobuf's 2 GiB).
ONNX_LIMIT = 2 * 2**30
#: How an ONNX model starts: field 1 of its ModelProto (``ir_version``), a varint.
ONNX_START = b"\x08"
#: Bytes enough to tell what a file that is neither an archive nor ONNX is.
_HEAD = 64
#: Bytes a member may take beyond its data and twice its name: local header (30), central entry (46),
#: alignment padding (torch aligns data to 64 bytes), data descriptor and zip64 fields.
_MEMBER_OVERHEAD = 30 + 46 + 128
#: The end of an archive: end records (zip64 too) and the longest comment a zip can hold.
_ARCHIVE_OVERHEAD = 22 + 56 + 20 + 65_535
#: Bytes per element of each dtype code a .pt2 tensor description uses (torch's ScalarType).
_PT2_ITEM_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 2, 7: 4, 8: 8, 9: 4, 10: 8, 11: 16, 12: 1, 13: 2, 28: 2,
                   34: 4, 35: 8}


def read_model_file(path: Path, name: str) -> bytes:
    """The bytes of a model file, read only after its size is accounted for (see module docstring).

    A file that is neither an archive nor ONNX is no model: only its first bytes are returned, which
    say what it is (a pickle, text...). OSError as ``open`` raises it; ExportError for an archive
    that fails :func:`check_layout` or an ONNX file larger than :data:`ONNX_LIMIT`.
    """
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        head = file.read(_HEAD)
        if head.startswith(b"PK\x03\x04"):
            file.seek(0)
            check_layout(open_archive(file, name), size, name)
        elif not head.startswith(ONNX_START):
            return head  # no model: its first bytes say what it is (a pickle, text...) for the refusal
        elif size > ONNX_LIMIT:
            raise ExportError(f"{name} is {_size(size)}: more than a model file that is not an archive can hold "
                              f"(an ONNX model holds at most {_size(ONNX_LIMIT)})")
        file.seek(0)
        data = file.read(size + 1)
    if len(data) != size:
        raise ExportError(f"{name} changed while it was read: try again")
    return data


def open_archive(source, name: str) -> zipfile.ZipFile:
    """``zipfile.ZipFile(source)`` after checking the member count its end record declares."""
    try:
        end = zipfile._EndRecData(source)  # reads the end record only, not the directory it describes
        if end is not None and end[zipfile._ECD_ENTRIES_TOTAL] > MAX_MEMBERS:
            raise ExportError(f"{name}: the archive holds {end[zipfile._ECD_ENTRIES_TOTAL]:,} members, more than "
                              f"a NetStudio model ever has ({MAX_MEMBERS:,})")
        source.seek(0)
        return zipfile.ZipFile(source)
    except ZIP_ERRORS as exc:
        raise ExportError(f"{name} is a damaged archive ({exc})") from None


def check_archive(archive: zipfile.ZipFile, size: int, name: str, root: str,
                  is_tensor: Callable[[str], bool]) -> None:
    """Refuse an archive of *size* bytes whose members break the rules of the module docstring.

    *is_tensor(rel)* says whether a member (its name below *root*) is tensor data.
    """
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ExportError(f"{name}: the archive holds {len(infos):,} members, more than a NetStudio model ever "
                          f"has ({MAX_MEMBERS:,})")
    seen: set[str] = set()
    records: list[zipfile.ZipInfo] = []
    for info in infos:
        rel = _rel(info.filename, root)
        key = info.filename.casefold()
        if key in seen:
            raise ExportError(f"{name}: the archive holds {rel} twice (refused: readers differ on which "
                              "copy they read)")
        seen.add(key)
        if not is_tensor(rel):
            records.append(info)
        elif info.file_size > info.compress_size:
            raise ExportError(f"{name}: tensor data {rel} is compressed ({info.compress_size:,} bytes that expand "
                              f"to {_size(info.file_size)}); NetStudio writes tensor data as it is")
    total = sum(info.file_size for info in records)
    if total > RECORDS_LIMIT:
        largest = max(records, key=lambda info: info.file_size)
        raise ExportError(f"{name}: {_rel(largest.filename, root)} declares {_size(largest.file_size)}, more than "
                          f"a NetStudio model's records ever need ({_size(RECORDS_LIMIT)} in all)")
    check_layout(archive, size, name)


def check_layout(archive: zipfile.ZipFile, size: int, name: str) -> None:
    """The members claim no more bytes than the file holds, and the file little more than they claim."""
    infos = archive.infolist()
    claimed = sum(info.compress_size for info in infos)
    if claimed > size:
        raise ExportError(f"{name}: its members claim {_size(claimed)} but the file holds {_size(size)} "
                          "(members that share their bytes)")
    accounted = claimed + _ARCHIVE_OVERHEAD + len(archive.comment) + sum(
        _MEMBER_OVERHEAD + 2 * len(info.orig_filename.encode("utf-8")) + len(info.extra) + len(info.comment)
        for info in infos)
    if size > accounted:
        raise ExportError(f"{name} is {_size(size)} but its members account for {_size(accounted)} at most "
                          "(refused: bytes that nothing in the archive uses)")


def read_record(archive: zipfile.ZipFile, member: str, name: str, limit: int = RECORDS_LIMIT) -> bytes | None:
    """A record's bytes, streamed and cut at *limit* (ExportError past it); None if absent."""
    try:
        info = archive.getinfo(member)
    except KeyError:
        return None
    rel = member.split("/", 1)[-1]
    if info.file_size > limit:
        raise ExportError(f"{name}: {rel} declares {_size(info.file_size)}, more than a NetStudio model's "
                          f"records ever need ({_size(limit)})")
    try:
        with archive.open(info) as stream:
            data = stream.read(limit + 1)
    except ZIP_ERRORS as exc:
        raise ExportError(f"{name}: the archive member {rel} is damaged ({exc})") from None
    if len(data) > limit:
        raise ExportError(f"{name}: {rel} holds more than {_size(limit)}")
    return data


def check_payload_sizes(archive: zipfile.ZipFile, folder: str, entries: list, name: str, what: str) -> None:
    """Each ``.pt2`` weight (constant) file in *folder* is exactly as large as its tensors need.

    *entries* are the values of ``model_weights_config.json``'s ``config`` (already checked to be
    raw, unpickled data): tensors sharing a file (views of one storage) need the largest extent.
    """
    need: dict[str, int] = {}
    for entry in entries:
        path_name = entry["path_name"]
        need[path_name] = max(need.get(path_name, 0), _tensor_bytes(entry.get("tensor_meta"), name, what))
    for path_name, needed in need.items():
        try:
            have = archive.getinfo(folder + path_name).file_size
        except KeyError:
            raise ExportError(f"{name}: {what} names tensor data {path_name}, which the archive lacks") from None
        if have != needed:
            raise ExportError(f"{name}: tensor data {path_name} is {_size(have)} but its tensors need "
                              f"{needed:,} bytes")


def _tensor_bytes(meta, name: str, what: str) -> int:
    """Bytes of storage a serialized tensor description (sizes, strides, offset, dtype) reaches."""
    try:
        item = _PT2_ITEM_SIZES[meta["dtype"]]
        sizes = [_nonnegative(s["as_int"]) for s in meta["sizes"]]
        strides = [_nonnegative(s["as_int"]) for s in meta["strides"]]
        offset = _nonnegative(meta["storage_offset"]["as_int"])
    except (KeyError, TypeError, ValueError):
        raise ExportError(f"{name}: {what} describes a tensor NetStudio cannot read (damaged or of an unknown "
                          "type)") from None
    if len(sizes) != len(strides):
        raise ExportError(f"{name}: {what} describes a damaged tensor")
    if 0 in sizes:
        return 0
    return (offset + sum((s - 1) * st for s, st in zip(sizes, strides)) + 1) * item


def _nonnegative(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(value)
    return value


def _rel(filename: str, root: str) -> str:
    return filename[len(root):] if root and filename.startswith(root) else filename


def _size(n: int) -> str:
    """``1,234 bytes``, ``2.0 MiB``, ``2.0 GiB``."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:,} bytes"
