"""Checks of a TorchScript archive before ``torch.jit.load`` reads it, and of the model it loads.

``torch.jit.load`` trusts the archive: a tensor storage shorter than its pickle declares is read
past its end, a longer one is read whole however long, a damaged debug record (``*.debug_pkl``,
only used to point at source lines in error messages) crashed the whole process in fuzzing
(SIGSEGV) when the model's code failed to compile, and a class of the archive's code that defines
``__setstate__`` has that method *run while the file loads* (it can call ``aten::from_file`` and
write any file). NetStudio reads model files from anywhere, so before torch sees one:

* the archive's sizes are checked (:func:`netstudio.core.export.bounds.check_archive`);
* the two records ``torch.jit.load`` unpickles (``data.pkl``, ``constants.pkl``) are walked by
  :func:`pickle_calls`, a symbolic reader of the pickle opcodes that never imports or calls
  anything: they may build only the archive's own module classes, tensors and ordered dicts
  (:data:`PICKLE_GLOBALS`; never torch's C++ classes, whose state is restored by their own code);
  every storage they reference must exist with exactly the bytes it declares, every tensor view
  must lie inside its storage;
* no code file may define ``__setstate__`` (NetStudio's traced modules never do);
* only what ``torch.jit.load`` reads is passed on (:func:`loaded_records_only`): not the debug
  records, the traced example inputs or extra files. The model loads and runs the same.

After the load, :func:`check_script_module` checks every method of every submodule (its graph,
blocks included) against the operator allow-list of :mod:`netstudio.core.design.operators`, and every
attribute's type. :func:`check_tensor_archive` applies the storage checks to a ``torch.save``
archive of tensors (the example inputs inside a ``.pt2``).
"""

from __future__ import annotations

import io
import pickletools
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from netstudio.core.design.operators import ALLOWED_OPERATORS
from netstudio.core.errors import ExportError
from netstudio.core.export.bounds import ZIP_ERRORS, check_archive, read_record

#: Bytes per element of each storage type a TorchScript archive may name.
ITEM_SIZES = {
    "FloatStorage": 4, "DoubleStorage": 8, "HalfStorage": 2, "BFloat16Storage": 2, "LongStorage": 8,
    "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1,
    "ComplexFloatStorage": 8, "ComplexDoubleStorage": 16,
}
#: The records torch.jit.load unpickles; their tensors live in the folder of the same name.
LOADED_RECORDS = ("data.pkl", "constants.pkl")
#: The other records torch.jit.load reads (besides ``code/**.py``); everything else is left out.
READ_RECORDS = ("version", ".data/version", "byteorder", ".data/serialization_id")
#: Members that are tensor data (storages named by the records above, or traced example inputs).
TENSOR_MEMBER = re.compile(r"^(data|constants|traced_inputs)/[^/]+$")
#: Deepest nesting a record may build (tuples in tuples...); NetStudio's own use a handful.
MAX_STACK = 10_000
#: What a NetStudio model's records may call besides the archive's own classes (``__torch__.*``).
PICKLE_GLOBALS = {("torch._utils", "_rebuild_tensor_v2"), ("collections", "OrderedDict")}
#: Types a TorchScript module's attributes may hold (besides its submodules).
_PLAIN_ATTRIBUTES = (bool, int, float, str, type(None))


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


def is_tensor_member(rel: str) -> bool:
    """Whether an archive member (its name below the root folder) is tensor data."""
    return TENSOR_MEMBER.match(rel) is not None


def check_torchscript_archive(archive: zipfile.ZipFile, root: str, name: str) -> None:
    """Refuse an archive that breaks the rules of the module docstring (its sizes checked already,
    by :func:`~netstudio.core.export.bounds.check_archive` with :func:`is_tensor_member`)."""
    for rel in LOADED_RECORDS:
        if root + rel not in archive.NameToInfo:
            raise ExportError(f"{name}: the archive holds no {rel} (not a TorchScript model)")
        for call in check_storages(archive, root, rel, name):
            func = call.func
            if not isinstance(func, Global) or not (
                    (func.module, func.name) in PICKLE_GLOBALS
                    or (func.module.partition(".")[0] == "__torch__"
                        and not func.module.startswith("__torch__.torch.classes"))):
                raise ExportError(f"{name}: {rel} builds {_global_name(func)}, which a NetStudio model never does")
    for info in archive.infolist():
        rel = info.filename[len(root):]
        if _code_file(rel) and b"__setstate__" in read_record(archive, info.filename, name):
            raise ExportError(f"{name}: the TorchScript code defines __setstate__ ({rel}), code that runs while "
                              "the file loads, which a NetStudio model never has")


def check_storages(archive: zipfile.ZipFile, root: str, rel: str, name: str) -> list[Call]:
    """Walk the pickle *rel*: every storage it names lies in its folder with exactly the bytes it
    declares, every tensor view inside its storage. Returns the calls it would make."""
    record = read_record(archive, root + rel, name)
    where = f"{name}: {rel}"
    storages, calls = pickle_calls(record, where)
    folder = root + rel[: -len(".pkl")] + "/"
    for storage in storages:
        info = archive.NameToInfo.get(folder + storage.key)
        have = info.file_size if info is not None else None
        need = storage.numel * ITEM_SIZES[storage.type_name]
        if have is None or have < need:
            raise ExportError(f"{where}: tensor data {storage.key!r} is missing or shorter than declared "
                              f"({have or 0} of {need} bytes)")
        if have > need:
            raise ExportError(f"{where}: tensor data {storage.key!r} is {have:,} bytes, longer than the "
                              f"{need:,} its record declares")
    for call in calls:
        if call.func == Global("torch._utils", "_rebuild_tensor_v2"):
            _check_view(call.args, where)
    return calls


def check_tensor_archive(data: bytes, name: str) -> None:
    """Refuse a ``torch.save`` archive of tensors (*data*) whose sizes break the rules above."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except ZIP_ERRORS as exc:
        raise ExportError(f"{name} is a damaged archive ({exc})") from None
    roots = {n.split("/", 1)[0] for n in archive.namelist()}
    if len(roots) != 1:
        raise ExportError(f"{name} is not a torch.save archive (unexpected layout)")
    root = roots.pop() + "/"
    check_archive(archive, len(data), name, root, lambda rel: rel.startswith("data/"))
    if root + "data.pkl" not in archive.NameToInfo:
        raise ExportError(f"{name} is not a torch.save archive (no data.pkl)")
    check_storages(archive, root, "data.pkl", name)


def _code_file(rel: str) -> bool:
    return rel.startswith("code/") and rel.endswith(".py")


def _global_name(func) -> str:
    return f"{func.module}.{func.name}" if isinstance(func, Global) else "a computed object"


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
    """The archive again with only what torch.jit.load reads (see the module docstring); the rest is
    never read."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as copy:
        for info in archive.infolist():
            rel = info.filename[len(root):]
            read = (rel in LOADED_RECORDS or rel in READ_RECORDS or _code_file(rel)
                    or (TENSOR_MEMBER.match(rel) is not None and not rel.startswith("traced_inputs/")))
            if read:
                copy.writestr(info.filename, archive.read(info))
    return out.getvalue()


# ------------------------------------------------------------------------------------------------
# The loaded model


def check_script_module(module, name: str) -> None:
    """Refuse a loaded TorchScript model that calls an operator off the allow-list (in any method of
    any submodule, nested blocks included), has hooks, or holds an attribute that is neither a
    tensor, a plain value nor a submodule (an object of a TorchScript or C++ class)."""
    import torch

    for path, sub in module.named_modules():
        where = path or "the model"
        if sub._c._get_forward_hooks() or sub._c._get_forward_pre_hooks():
            raise ExportError(f"{name}: {where} of the TorchScript model has forward hooks, which a NetStudio "
                              "model never has")
        iterators = torch._C._jit_debug_module_iterators(sub._c)
        children = {child for child, _ in iterators["named_children"]}
        for attribute, value in iterators["named_attributes"]:
            if attribute in children or isinstance(value, (torch.Tensor, *_PLAIN_ATTRIBUTES)):
                continue
            kind = value._type().qualified_name() if isinstance(value, torch.ScriptObject) else type(value).__name__
            at = f"{path}.{attribute}" if path else attribute
            raise ExportError(f"{name}: the TorchScript model holds an object of type {kind} (attribute {at}), "
                              "which a NetStudio model never does")
    for where, kind in script_operators(module):
        if kind not in ALLOWED_OPERATORS:
            raise ExportError(f"{name}: the TorchScript model calls {kind} (in {where}), which a NetStudio model "
                              "never does")


def script_operators(module) -> Iterator[tuple[str, str]]:
    """``(submodule.method, node kind)`` for every node of every method of every submodule."""
    for path, sub in module.named_modules():
        for method in sub._c._method_names():
            for kind in _node_kinds(sub._c._get_method(method).graph):
                yield f"{path}.{method}" if path else method, kind


def _node_kinds(graph):
    for node in graph.nodes():
        yield node.kind()
        for block in node.blocks():
            yield from _node_kinds(block)
