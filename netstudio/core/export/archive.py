"""Static checks of a TorchScript archive before ``torch.jit.load`` reads it.

``torch.jit.load`` trusts the archive's bookkeeping: a tensor storage shorter than its pickle
declares is read past its end, and a damaged debug record (``*.debug_pkl``, only used to point at
source lines in error messages) crashed the whole process in fuzzing (SIGSEGV) when the model's
code failed to compile. NetStudio reads model files from anywhere, so before torch sees one:

* the two records ``torch.jit.load`` unpickles (``data.pkl``, ``constants.pkl``) are walked by
  :func:`pickle_calls`, a symbolic reader of the pickle opcodes that never imports or calls
  anything, and every storage they reference must exist with at least the bytes it declares,
  every tensor view must lie inside its storage;
* every other record is dropped (:func:`loaded_records_only`): the debug records, only used to
  point at source lines in torch's error messages, and the traced example inputs, which
  ``torch.jit.load`` does not read. The model loads and runs the same.
"""

from __future__ import annotations

import io
import pickletools
import zipfile
import zlib
from dataclasses import dataclass

from netstudio.core.errors import ExportError

#: Bytes per element of each storage type a TorchScript archive may name.
ITEM_SIZES = {
    "FloatStorage": 4, "DoubleStorage": 8, "HalfStorage": 2, "BFloat16Storage": 2, "LongStorage": 8,
    "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1,
    "ComplexFloatStorage": 8, "ComplexDoubleStorage": 16,
}
#: What reading a damaged zip member raises: a bad header or CRC, a broken deflate stream, an
#: unknown compression method.
ZIP_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, NotImplementedError)
#: The records torch.jit.load unpickles; their tensors live in the folder of the same name.
LOADED_RECORDS = ("data.pkl", "constants.pkl")
#: Deepest nesting a record may build (tuples in tuples...); NetStudio's own use a handful.
MAX_STACK = 10_000


@dataclass(frozen=True)
class Global:
    module: str
    name: str


@dataclass(frozen=True)
class Storage:
    type_name: str
    key: str
    numel: int


@dataclass(frozen=True)
class Call:
    func: object
    args: object


class _Opaque:
    """A value the symbolic reader does not model (an object under construction)."""


_MARK = object()
_ARG = object()
#: Instructions that push one constant: the instruction's argument, or a fixed value.
_CONSTANTS = {
    **{name: _ARG for name in ("INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "STRING",
                               "BINSTRING", "SHORT_BINSTRING", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8",
                               "BYTEARRAY8", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8",
                               "FLOAT", "BINFLOAT")},
    "NONE": None, "NEWTRUE": True, "NEWFALSE": False,
}


def pickle_calls(data: bytes, where: str) -> tuple[list[Storage], list[Call]]:
    """Every storage reference and every call (``REDUCE``/``NEWOBJ``) a pickle would make.

    Nothing is imported or called: globals stay names. ExportError for a malformed record.
    """
    stack: list = []
    memo: dict = {}
    storages: list[Storage] = []
    calls: list[Call] = []

    def pop_mark() -> list:
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is _MARK:
                items = stack[i + 1:]
                del stack[i:]
                return items
        raise ExportError(f"{where}: a malformed record (no mark)")

    try:
        for opcode, arg, _pos in pickletools.genops(data):
            name = opcode.name
            if len(stack) > MAX_STACK:
                raise ExportError(f"{where}: a record nested too deeply")
            if name in ("PROTO", "FRAME", "STOP"):
                continue
            if name == "MARK":
                stack.append(_MARK)
            elif name in ("GLOBAL", "STACK_GLOBAL"):
                if name == "GLOBAL":
                    module, _, attr = arg.partition(" ")
                else:
                    attr, module = stack.pop(), stack.pop()
                stack.append(Global(str(module), str(attr)))
            elif name in _CONSTANTS:
                stack.append(_CONSTANTS[name] if _CONSTANTS[name] is not _ARG else arg)
            elif name == "EMPTY_TUPLE":
                stack.append(())
            elif name in ("EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET"):
                stack.append(_Opaque())
            elif name == "TUPLE":
                stack.append(tuple(pop_mark()))
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                n = int(name[-1])
                items = tuple(stack[-n:])
                del stack[-n:]
                stack.append(items)
            elif name in ("APPEND", "SETITEM"):
                del stack[-(1 if name == "APPEND" else 2):]
            elif name in ("APPENDS", "SETITEMS", "ADDITEMS"):
                pop_mark()
            elif name in ("LIST", "DICT", "FROZENSET"):
                pop_mark()
                stack.append(_Opaque())
            elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
                memo[arg] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in ("BINGET", "LONG_BINGET", "GET"):
                stack.append(memo[arg])
            elif name == "BINPERSID":
                stack.append(_storage(stack.pop(), where, storages))
            elif name in ("REDUCE", "NEWOBJ"):
                args, func = stack.pop(), stack.pop()
                call = Call(func, args)
                calls.append(call)
                stack.append(call)
            elif name == "BUILD":
                stack.pop()
            elif name == "POP":
                stack.pop()
            elif name == "POP_MARK":
                pop_mark()
            elif name == "DUP":
                stack.append(stack[-1])
            else:
                raise ExportError(f"{where}: unexpected pickle instruction {name} (not a TorchScript model)")
    except ExportError:
        raise
    except (ValueError, IndexError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise ExportError(f"{where}: a damaged record ({type(exc).__name__})") from None
    return storages, calls


def _storage(pid, where: str, storages: list[Storage]) -> Storage:
    if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], Global)
            and isinstance(pid[2], str) and isinstance(pid[4], int) and not isinstance(pid[4], bool)):
        raise ExportError(f"{where}: a damaged tensor reference")
    type_name = pid[1].name
    if pid[1].module != "torch" or type_name not in ITEM_SIZES or pid[4] < 0:
        raise ExportError(f"{where}: a tensor of unknown type {pid[1].module}.{type_name}")
    storage = Storage(type_name, pid[2], pid[4])
    storages.append(storage)
    return storage


def check_torchscript_archive(archive: zipfile.ZipFile, root: str, name: str) -> None:
    """Refuse an archive whose records reference storages it lacks or views outside them."""
    sizes = {info.filename: info.file_size for info in archive.infolist()}
    for rel in LOADED_RECORDS:
        member = root + rel
        if member not in sizes:
            raise ExportError(f"{name}: the archive holds no {rel} (not a TorchScript model)")
        try:
            record = archive.read(member)
        except ZIP_ERRORS as exc:
            raise ExportError(f"{name}: the archive member {rel} is damaged ({exc})") from None
        where = f"{name}: {rel}"
        storages, calls = pickle_calls(record, where)
        folder = root + rel[: -len(".pkl")] + "/"
        for storage in storages:
            have = sizes.get(folder + storage.key)
            need = storage.numel * ITEM_SIZES[storage.type_name]
            if have is None or have < need:
                raise ExportError(f"{where}: tensor data {storage.key!r} is missing or shorter than declared "
                                  f"({have or 0} of {need} bytes)")
        for call in calls:
            if call.func == Global("torch._utils", "_rebuild_tensor_v2"):
                _check_view(call.args, where)


def _check_view(args, where: str) -> None:
    """A tensor (storage, offset, size, stride, ...) must lie inside its storage."""
    if not (isinstance(args, tuple) and len(args) >= 4 and isinstance(args[0], Storage)):
        raise ExportError(f"{where}: a damaged tensor record")
    storage, offset, size, stride = args[:4]
    ints = (offset, *size, *stride) if isinstance(size, tuple) and isinstance(stride, tuple) else None
    if ints is None or len(size) != len(stride) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                                           for v in ints):
        raise ExportError(f"{where}: a damaged tensor record")
    if any(s == 0 for s in size):
        return
    last = offset + sum((s - 1) * st for s, st in zip(size, stride))
    if last >= storage.numel:
        raise ExportError(f"{where}: a tensor reaches past the end of its data")


def loaded_records_only(archive: zipfile.ZipFile, root: str) -> bytes:
    """The archive again without the records torch.jit.load does not need (see the module docstring)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as copy:
        for info in archive.infolist():
            rel = info.filename[len(root):]
            record = rel.endswith((".pkl", ".debug_pkl"))
            unused = (record and rel not in LOADED_RECORDS) or rel.startswith("traced_inputs/")
            if not unused:
                copy.writestr(info.filename, archive.read(info))
    return out.getvalue()
