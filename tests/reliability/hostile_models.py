"""Hostile model files, crafted the way the hostile-input review crafted them (no tests here).

* Models that write files: a real NetStudio model with one more module that calls
  ``torch.from_file(path, shared=True)`` (which creates the file and maps it read-write), exported
  with NetStudio's metadata exactly as the exporters do, so that it passes every other check; and a
  TorchScript model whose ``__setstate__`` calls it, which runs while the file loads.
* Zip bombs: archives whose members declare small tensors (or small metadata) and inflate to a
  gigabyte, written by hand (:func:`zip_archive`) from deflate segments that are computed once,
  so a bomb takes a fraction of a second to build.
* Duplicate member names: the copy a reader takes differs between Python's zipfile (the last) and
  torch (the first, names compared ignoring case).
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch
from torch import Tensor, nn

from netstudio.core.export import formats as export_formats
from netstudio.core.export.exporter import export_metadata
from netstudio.core.export.model import build_exported_model
from netstudio.core.export.safe_load import METADATA_FILE
from netstudio.core.runs.folder import load_run

GiB = 2**30
_CHUNK = 16 * 2**20


class FromFile(nn.Module):
    """Maps *path* read-write (``aten::from_file(path, shared=True)``: the file is created) and adds
    nothing to its input."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def forward(self, x: Tensor) -> Tensor:
        mapped = torch.from_file(self.path, shared=True, size=64, dtype=torch.uint8)
        return x + mapped[:1].to(x.dtype) * 0


class Stateful(nn.Module):
    """A scripted module with ``__getstate__``/``__setstate__``: torch.jit.load runs the latter."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.ones(1)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale

    @torch.jit.export
    def __getstate__(self) -> tuple[Tensor, bool]:
        return (self.scale, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[Tensor, bool]) -> None:
        self.scale = state[0]
        self.training = state[1]


class Payload:
    """Unpickling this runs ``os.system`` (it creates the marker file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def pickled_payload(marker: Path) -> bytes:
    """A ``torch.save`` file whose loading (without ``weights_only``) creates *marker*."""
    buffer = io.BytesIO()
    torch.save((Payload(marker),), buffer)
    return buffer.getvalue()


def _model_with(run_dir: Path, extra: nn.Module):
    run = load_run(run_dir)
    model = build_exported_model(run.load_model(), run.metadata, run.preprocessor())
    model.net.add_module("extra", extra)
    return model, run.metadata


def _metadata(metadata: dict, fmt: str) -> str:
    return export_formats.metadata_text(export_metadata(metadata, fmt))


@cache
def _traceable_from_file() -> torch.library.Library:
    """torch.export traces on meta tensors, and aten::from_file has no meta kernel: give it one (in
    the crafting process only; the model file then holds a plain aten::from_file node)."""
    library = torch.library.Library("aten", "IMPL")

    def meta(filename, shared=None, size=0, *, dtype=None, layout=None, device=None, pin_memory=None):
        return torch.empty(size, dtype=dtype, device="meta")

    library.impl("from_file", meta, "Meta")
    return library


def from_file_pt2(run_dir: Path, decoy: Path, target: Path) -> bytes:
    """A .pt2 of *run_dir*'s model plus :class:`FromFile`, its path changed from *decoy* (where the
    export itself may create it) to *target*."""
    _traceable_from_file()
    model, metadata = _model_with(run_dir, FromFile(str(decoy)))
    buffer = io.BytesIO()
    with export_formats.quiet():
        torch.export.save(export_formats.exported_program(model), buffer,
                          extra_files={METADATA_FILE: _metadata(metadata, "pt2")})
    return replace_in_members(buffer.getvalue(), "models/model.json", json.dumps(str(decoy)), json.dumps(str(target)))


def from_file_torchscript(run_dir: Path, decoy: Path, target: Path) -> bytes:
    """The same as a traced TorchScript model (the path is a constant of its code)."""
    model, metadata = _model_with(run_dir, FromFile(str(decoy)))
    traced = export_formats._trace(model, export_formats.example_input(model))
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer, _extra_files={METADATA_FILE: _metadata(metadata, "torchscript")})
    return replace_in_members(buffer.getvalue(), ".py", json.dumps(str(decoy)), json.dumps(str(target)))


def setstate_torchscript(run_dir: Path, target: Path) -> bytes:
    """A TorchScript model whose :class:`Stateful` module's ``__setstate__`` maps *target*: it runs
    inside ``torch.jit.load``, before anything can look at the loaded model."""
    model, metadata = _model_with(run_dir, torch.jit.script(Stateful()))
    traced = export_formats._trace(model, export_formats.example_input(model))
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer, _extra_files={METADATA_FILE: _metadata(metadata, "torchscript")})
    payload = f"torch.add((state)[0], torch.sum(torch.from_file({json.dumps(str(target))}, True, 16)))"
    data = replace_in_members(buffer.getvalue(), ".py", "self.scale = (state)[0]", f"self.scale = {payload}")
    assert payload.encode() in data
    return data


def replace_in_members(data: bytes, suffix: str, old: str, new: str) -> bytes:
    """The zip *data* again, *old* replaced by *new* in every member whose name ends with *suffix*."""
    members = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            body = archive.read(info)
            if info.filename.endswith(suffix):
                body = body.replace(old.encode(), new.encode())
            members.append((info.filename, body))
    return zip_archive(members)


# ------------------------------------------------------------------------------------------------
# Hand-written archives


@dataclass(frozen=True)
class Deflated:
    """A member's deflate stream with the CRC and size of what it inflates to."""

    stream: bytes
    crc: int
    size: int


def _segment(data: bytes) -> bytes:
    """Raw deflate of *data* that stands on its own (no back-references before it), not final."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


@cache
def _filler_segment(fill: bytes) -> bytes:
    return _segment(fill * _CHUNK)


def inflating(prefix: bytes, fill: bytes, count: int) -> Deflated:
    """*prefix* followed by *count* copies of the byte *fill*, deflated (about 1 KB per MB)."""
    whole, rest = divmod(count, _CHUNK)
    stream = _segment(prefix) + _filler_segment(fill) * whole + _segment(fill * rest)
    stream += zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # the final, empty block
    crc = zlib.crc32(prefix)
    chunk = fill * _CHUNK
    for _ in range(whole):
        crc = zlib.crc32(chunk, crc)
    return Deflated(stream, zlib.crc32(fill * rest, crc), len(prefix) + count)


def zip_archive(members: list[tuple[str, bytes | Deflated]]) -> bytes:
    """A zip of *members*, in order (names may repeat): bytes are stored, :class:`Deflated` deflated."""
    out = io.BytesIO()
    central = []
    for name, body in members:
        raw = name.encode("utf-8")
        method, data, crc, size = ((8, body.stream, body.crc, body.size) if isinstance(body, Deflated)
                                   else (0, body, zlib.crc32(body), len(body)))
        offset = out.tell()
        fields = (20, 0x800, method, 0, 0x21, crc, len(data), size, len(raw))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, 0) + raw + data)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0, 0, 0, offset) + raw)
    start = out.tell()
    for entry in central:
        out.write(entry)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), out.tell() - start, start, 0))
    return out.getvalue()


def members_of(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def swap(data: bytes, suffix: str, make) -> bytes:
    """The zip *data* with the member ending in *suffix* replaced by ``make(old body)``."""
    members = members_of(data)
    assert sum(name.endswith(suffix) for name, _ in members) == 1, suffix
    return zip_archive([(name, make(body) if name.endswith(suffix) else body) for name, body in members])


# ------------------------------------------------------------------------------------------------
# The hostile files, each from a genuine model file


def padded_weight(pt2: bytes) -> bytes:
    """A .pt2 whose first weight (a few bytes of tensor) is followed by 1 GiB of zeros, deflated."""
    return swap(pt2, "data/weights/weight_0", lambda body: inflating(body, b"\0", GiB))


def empty_weight_declared_huge(pt2: bytes) -> bytes:
    """A .pt2 whose first weight is an empty record that its configuration says holds a
    65536 x 65536 float tensor (16 GiB): torch fills such a record with zeros of that shape."""
    def huge(body: bytes) -> bytes:
        config = json.loads(body)
        entry = next(e for e in config["config"].values() if e["path_name"] == "weight_0")
        entry["tensor_meta"]["sizes"] = [{"as_int": 65536}, {"as_int": 65536}]
        entry["tensor_meta"]["strides"] = [{"as_int": 65536}, {"as_int": 1}]
        return json.dumps(config).encode()

    return swap(swap(pt2, "data/weights/weight_0", lambda body: b""), "model_weights_config.json", huge)


def inflated_metadata(model: bytes) -> bytes:
    """The NetStudio metadata (valid JSON) followed by 1 GiB of spaces, deflated."""
    return swap(model, "extra/netstudio.json", lambda body: inflating(body, b" ", GiB))


def padded_storage(pt: bytes) -> bytes:
    """A TorchScript model whose first tensor storage is followed by 1 GiB of zeros, deflated."""
    return swap(pt, "/data/0", lambda body: inflating(body, b"\0", GiB))


def duplicate_weights_config(pt2: bytes, payload: bytes) -> bytes:
    """model_weights_config.json twice: the first copy (torch's) says the first weight is a pickle
    (*payload*, stored as that weight), the second (the one zipfile reads) is the genuine one."""
    members = members_of(pt2)
    name, genuine = next((n, b) for n, b in members if n.endswith("model_weights_config.json"))
    config = json.loads(genuine)
    for entry in config["config"].values():
        if entry["path_name"] == "weight_0":
            entry["use_pickle"] = True
    crafted = []
    for member, body in members:
        if member == name:
            crafted += [(name, json.dumps(config).encode()), (name, body)]
        else:
            crafted.append((member, payload if member.endswith("data/weights/weight_0") else body))
    return zip_archive(crafted)


def case_twin_record(pt: bytes) -> bytes:
    """A TorchScript model holding ``DATA.pkl`` beside ``data.pkl``: one record to torch, which
    compares names ignoring case, two to Python's zipfile."""
    members = members_of(pt)
    name, body = next((n, b) for n, b in members if n.endswith("/data.pkl"))
    return zip_archive([(name[: -len("data.pkl")] + "DATA.pkl", body), *members])


def write_sparse(path: Path, head: bytes, size: int, tail: bytes = b"") -> Path:
    """*head*, then a hole (zeros that take no disk) up to *size* bytes, then *tail*."""
    with open(path, "wb") as file:
        file.write(head)
        file.truncate(size)
        file.seek(size)
        file.write(tail)
    return path
