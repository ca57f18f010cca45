"""The catalogue of bad inputs: every case writes its files into a fresh folder and says what the
command line must answer (exit status, words of the one-line error, new files it may leave).

The same builders serve the command-line suite (``test_catalogue_cli.py``, subprocesses) and the
in-process one (``test_catalogue_core.py``).
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import shutil
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IRIS = "sepal,petal,species\n" + "".join(
    f"{5 + i % 7 * 0.1:.1f},{1 + i % 5 * 0.3:.1f},{['setosa', 'versicolor', 'virginica'][i % 3]}\n" for i in range(30))
LAYERS = [{"type": "Linear", "params": {"out_features": 8}}, {"type": "ReLU"},
          {"type": "Linear", "params": {"out_features": "auto"}}]
SYNTHETIC = {"source": "synthetic", "kind": "moons", "samples": 60}


@dataclass
class Case:
    """One bad input and the answer it must get.

    ``setup(folder, shared)`` writes the files (``shared`` holds a trained run and its model
    files) and returns the command line's arguments, run with *folder* as working directory.
    """

    id: str
    setup: Callable[[Path, dict], list]
    code: int
    needles: tuple[str, ...]
    new: tuple[str, ...] = ()
    prelude: str | None = None
    readonly: str | None = None  # a folder (relative) that must not be writable while the command runs


def project_doc(data: dict | None = None, layers: list | None = None, training: dict | None = None,
                name: str = "p") -> dict:
    """A fresh document each call: tests change its parts in place (a shared SYNTHETIC once carried
    one test's seed of 10**30 into the next test of the same process)."""
    return copy.deepcopy({"format": "netstudio-project", "version": 1, "name": name,
                          "data": data if data is not None else SYNTHETIC,
                          "model": {"layers": layers if layers is not None else LAYERS},
                          "training": {"epochs": 1, "batch_size": 16, **(training or {})}})


def write_project(folder: Path, doc, name: str = "p.nsproj") -> str:
    text = doc if isinstance(doc, (str, bytes)) else json.dumps(doc)
    (folder / name).write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return name


def png(width: int = 4, height: int = 4, value: int = 128) -> bytes:
    """A valid RGB PNG, or (for huge sizes) one whose header claims that size over almost no data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes([value]) * (3 * width) for _ in range(height)) if width * height < 10**6 else b""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows or b"\x00"))
            + chunk(b"IEND", b""))


def image_folder(folder: Path, classes: list[str], per_class: int = 3, size: int = 4) -> Path:
    root = folder / "images"
    root.mkdir()
    for name in classes:
        (root / name).mkdir()
        for i in range(per_class):
            (root / name / f"{i}.png").write_bytes(png(size, size, 40 * i))
    return root


# ------------------------------------------------------------------------------------------------
# Bad data (the datasets issue's list, and what fuzzing found)


def _data(write: Callable[[Path], dict]) -> Callable[[Path], str]:
    """A project whose data section *write* returns (after writing its files)."""
    def make(folder: Path) -> str:
        return write_project(folder, project_doc(write(folder)))
    return make


def _csv(name: str, content: bytes | str, **data) -> Callable[[Path], dict]:
    def write(folder: Path) -> dict:
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return {"source": "csv", "path": name, **data}
    return write


def _missing(folder: Path) -> dict:
    return {"source": "csv", "path": "missing.csv"}


def _corrupt_gzip(folder: Path) -> dict:
    packed = bytearray(gzip.compress(IRIS.encode() * 20))
    packed[len(packed) // 2] ^= 0xFF
    (folder / "table.csv.gz").write_bytes(bytes(packed))
    return {"source": "csv", "path": "table.csv.gz", "target": "species"}


def _npz(mutate: Callable[[bytes], bytes]) -> Callable[[Path], dict]:
    def write(folder: Path) -> dict:
        buffer = io.BytesIO()
        np.savez(buffer, X=np.ones((8, 3), np.float32), y=np.arange(8) % 2)
        (folder / "arrays.npz").write_bytes(mutate(buffer.getvalue()))
        return {"source": "npz", "path": "arrays.npz"}
    return write


def _flip_middle(data: bytes) -> bytes:
    data = bytearray(data)
    data[len(data) // 3] ^= 0xFF
    return bytes(data)


def _huge_shape(folder: Path) -> dict:
    """An .npz whose X header claims 10**13 rows over 96 bytes of data: must not be allocated."""
    import zipfile

    def npy(shape: str, body: bytes, descr: str) -> bytes:
        header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
        header += " " * (63 - (10 + len(header)) % 64) + "\n"
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin-1") + body

    with zipfile.ZipFile(folder / "arrays.npz", "w") as archive:
        archive.writestr("X.npy", npy("(10000000000000, 3)", np.ones((8, 3), "<f4").tobytes(), "<f4"))
        archive.writestr("y.npy", npy("(8,)", (np.arange(8) % 2).astype("<i8").tobytes(), "<i8"))
    return {"source": "npz", "path": "arrays.npz"}


def _images(classes: list[str]) -> Callable[[Path], dict]:
    def write(folder: Path) -> dict:
        if classes:
            image_folder(folder, classes)
        else:
            (folder / "images").mkdir()
            for i in range(3):
                (folder / "images" / f"{i}.png").write_bytes(png())
        return {"source": "images", "path": "images"}
    return write


def _giant_images(folder: Path) -> dict:
    root = folder / "images"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(3):  # headers claim 13000 x 13000 pixels (169 MB each), the files hold ~100 bytes
            (root / name / f"{i}.png").write_bytes(png(13000, 13000))
    return {"source": "images", "path": "images"}


DATA = [
    ("missing-file", _missing, ("missing.csv: no such file",)),
    ("empty-file", _csv("empty.csv", b"", target="species"), ("empty.csv is empty",)),
    ("binary-file", _csv("blob.csv", bytes(range(256)) * 8, target="species"), ("binary file",)),
    ("excel-file", _csv("sheet.csv", b"PK\x03\x04" + b"\x00" * 200, target="species"), ("Excel",)),
    ("no-header", _csv("nohead.csv", "5.1,3.5,setosa\n4.9,3.0,setosa\n6.2,2.9,virginica\n", target="species"),
     ("nohead.csv", "looks like data, not a header")),
    ("target-not-found", _csv("iris.csv", IRIS, target="Species"),
     ("target column 'Species' not found", "did you mean 'species'")),
    ("single-class-target", _csv("one.csv", "x,species\n1,a\n2,a\n3,a\n4,a\n", target="species"),
     ("single class ('a')",)),
    ("regression-on-text", _csv("iris.csv", IRIS, target="species", task="regression"),
     ("target column 'species' is not numeric",)),
    ("no-usable-feature", _csv("ids.csv", "id,y\n" + "".join(f"k{i},{i % 2}\n" for i in range(12)), target="y"),
     ("no usable feature column",)),
    ("images-no-class-folders", _images([]), ("no class sub-folders",)),
    ("images-one-class-folder", _images(["cats"]), ("only one class sub-folder", "'cats'")),
    ("ragged-csv", _csv("ragged.csv", "a,b,species\n1,2,x\n3,4,y,5,6\n", target="species"), ("line 3 has 5 fields",)),
    # found by fuzzing
    ("corrupt-gzip-csv", _corrupt_gzip, ("table.csv.gz",)),
    ("corrupt-npz", _npz(_flip_middle), ("arrays.npz",)),
    ("npz-header-claims-huge-array", _huge_shape, ("arrays.npz",)),
    ("truncated-npz", _npz(lambda b: b[: len(b) // 2]), ("arrays.npz",)),
    ("image-headers-claim-giant-size", _giant_images, ("13000x13000", "data.image_size")),
]


# ------------------------------------------------------------------------------------------------
# Bad project files and training settings


def _deep(levels: int):
    value: object = 0
    for _ in range(levels):
        value = [value]
    return value


def _doc(**changes) -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        doc = project_doc()
        for dotted, value in changes.items():
            *parents, key = dotted.split("__")
            target = doc
            for p in parents:
                target = target[p]
            target[key] = value
        return write_project(folder, doc)
    return make


def _layers(*layers) -> Callable[[Path], str]:
    return lambda folder: write_project(folder, project_doc(layers=list(layers)))


def _text(text: str | bytes) -> Callable[[Path], str]:
    return lambda folder: write_project(folder, text)


def _truncated(folder: Path) -> str:
    text = json.dumps(project_doc(), indent=2)
    return write_project(folder, text[: len(text) // 2])


def _folder_project(folder: Path) -> str:
    (folder / "p.nsproj").mkdir()
    return "p.nsproj"


PROJECTS = [
    ("truncated-json", _truncated, ("p.nsproj is not valid JSON",)),
    ("empty-project", _text(""), ("p.nsproj is empty",)),
    ("binary-project", _text(b"\xff\xfe\x00\x01" * 20), ("not",)),
    ("not-a-project", _text('{"hello": 1}'), ("not a NetStudio project",)),
    ("missing-project", lambda folder: "absent.nsproj", ("absent.nsproj: no such project file",)),
    ("project-is-a-folder", _folder_project, ("is a folder",)),
    ("nan-in-project", _text(json.dumps(project_doc()).replace('"epochs": 1', '"epochs": NaN')), ("NaN",)),
    ("wrong-type-batch", _doc(training__batch_size="32"), ("training.batch_size: must be a positive integer",)),
    ("wrong-type-layers", _doc(model__layers={"type": "Linear"}), ("model.layers: must be a list",)),
    ("wrong-type-data", _doc(data=["csv"]), ("data: must be an object",)),
    ("unknown-layer", _layers({"type": "Linaer", "params": {"out_features": 4}}),
     ("unknown layer type 'Linaer'", "did you mean Linear")),
    ("unknown-parameter", _layers({"type": "Linear", "params": {"units": 4}}), ("has no parameter 'units'",)),
    ("negative-size", _layers({"type": "Linear", "params": {"out_features": -3}}),
     ("model.layers[0].params.out_features", "≥ 1")),
    ("zero-kernel", _layers({"type": "Conv1d", "params": {"out_channels": 4, "kernel_size": 0}}), ("kernel_size",)),
    ("size-never-allocatable", _layers({"type": "Linear", "params": {"out_features": 2**31 - 1}},
                                       {"type": "Linear", "params": {"out_features": 2**20}}),
     ("the model does not fit the data", "to train", "more than the")),
    ("size-beyond-any-machine", _layers({"type": "Linear", "params": {"out_features": 2**31 - 1}},
                                        {"type": "Linear", "params": {"out_features": 2**31 - 1}}),
     ("the model does not fit the data", "more than")),
    ("4000-digit-size", _layers({"type": "Linear", "params": {"out_features": 10**4000}}),
     ("must be at most 9,007,199,254,740,991",)),
    ("lstm-2-billion-layers", _layers({"type": "Unflatten", "params": {"dim": 0, "unflattened_size": [2, 1]}},
                                        {"type": "LSTM", "params": {"hidden_size": 4, "num_layers": 2**31 - 1}}),
     ("the model does not fit the data",)),
    ("deep-nesting", _doc(model__notes=_deep(500)), ("nested more than", "levels deep")),
    ("newer-version", _doc(version=99), ("written by a newer NetStudio", "project version 99")),
    ("hostile-name", _doc(name="../../../../etc/x\nnewline"), ()),  # trains fine: see test_files_security
    # training settings
    ("zero-batch", _doc(training__batch_size=0), ("training.batch_size: must be a positive integer",)),
    ("negative-learning-rate", _doc(training__learning_rate=-0.1), ("training.learning_rate: must be a number > 0",)),
    ("unknown-optimizer", _doc(training__optimizer="adamax"), ("training.optimizer: must be one of sgd, adam",)),
    ("unknown-device", _doc(training__device="tpu"), ("training.device: must be auto, cpu, cuda",)),
]
#: Cases that are not errors (kept in the table so that their neighbours' counts stay honest).
SUCCEEDS = {"hostile-name"}


# ------------------------------------------------------------------------------------------------
# Failed runs, exports and predictions

#: Python run before the command, in its process: the first training step on the CPU raises the
#: allocator's out-of-memory error (PyTorch's own exception type), as a too-large batch would.
OOM_IN_TRAINING = """
import torch
_forward = torch.nn.Linear.forward
def _out_of_memory(self, x):
    if self.training and torch.is_grad_enabled():  # training steps only, not the exports' tracing
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (injected)")
    return _forward(self, x)
torch.nn.Linear.forward = _out_of_memory
"""
#: ... or the CPU allocator's own words, in a plain RuntimeError (a real host out-of-memory).
CPU_OOM_IN_TRAINING = OOM_IN_TRAINING.replace(
    'torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (injected)")',
    'RuntimeError("[enforce fail at alloc_cpu.cpp:118] data. DefaultCPUAllocator: can\'t allocate memory: '
    'you tried to allocate 21474836480 bytes. Error code 12 (Cannot allocate memory)")')
#: The CSV reader runs out of host memory part-way through a load.
OOM_IN_LOADING = """
import netstudio.core.data.tabular as tabular
def _out_of_memory(*args, **kwargs):
    raise MemoryError()
tabular.load_csv = _out_of_memory
"""


def _diverging(folder: Path) -> str:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32) * 100
    np.savez(folder / "big.npz", X=X, y=(X.sum(axis=1) * 1000).astype(np.float32))
    return write_project(folder, project_doc({"source": "npz", "path": "big.npz", "task": "regression",
                                              "normalize": False},
                                             training={"optimizer": "sgd", "learning_rate": 5.0, "epochs": 3}))


def _table_project(folder: Path) -> str:
    (folder / "table.csv").write_text(TABLE, encoding="utf-8")
    return write_project(folder, project_doc({"source": "csv", "path": "table.csv", "target": "label"}))


TABLE = "a,b,colour,label\n" + "".join(
    f"{i % 7 * 0.5},{(i * 3) % 11},{['red', 'green', 'blue'][i % 3]},{['no', 'yes'][(i % 7 + i % 3) % 2]}\n"
    for i in range(48))


def _with_run(folder: Path, shared: dict) -> None:
    shutil.copytree(shared["run"], folder / "run")


def _under_a_file(folder: Path) -> str:
    (folder / "notes.txt").write_text("a regular file, not a folder\n", encoding="utf-8")
    return "notes.txt/out"


def _locked(folder: Path) -> str:
    (folder / "locked").mkdir()
    return "locked"


def _copy(shared: dict, key: str, folder: Path, name: str) -> str:
    shutil.copy(shared[key], folder / name)
    return name


def _damaged_pt2(folder: Path, shared: dict) -> str:
    import zipfile

    with zipfile.ZipFile(shared["pt2"]) as source, zipfile.ZipFile(folder / "damaged.pt2", "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info.filename, b"\n" if info.filename.endswith(".data/version") else data)
    return "damaged.pt2"


def crashing_torchscript(source: Path, target: Path) -> Path:
    """What crashed ``torch.jit.load`` (SIGSEGV) in fuzzing: model code that does not compile, and
    debug records whose frame lists point past their string table (torch reads them unchecked to
    print the compile error)."""
    import pickletools
    import zipfile

    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if "/code/" in info.filename and info.filename.endswith(".py"):
                data = data.replace(b"__parameters__ = []", b"__parameters__ = 0]", 1)
            elif info.filename.endswith(".debug_pkl"):
                data = bytearray(data)
                ops = list(pickletools.genops(bytes(data)))
                for i in range(3, len(ops)):
                    names = [op.name for op, _, _ in ops[i - 3:i + 1]]
                    if names == ["MARK", "EMPTY_LIST", "MARK", "BININT1"]:  # an int list's first element
                        data[ops[i][2] + 1] = 250
                data = bytes(data)
            new.writestr(info.filename, data)
    return target


def _damaged_pt(folder: Path, shared: dict) -> str:
    return crashing_torchscript(shared["pt"], folder / "damaged.pt").name


def _short_storage_pt(folder: Path, shared: dict) -> str:
    """Tensor data shorter than the archive declares: torch.jit.load would read past its end."""
    import zipfile

    with zipfile.ZipFile(shared["pt"]) as source, zipfile.ZipFile(folder / "short.pt", "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info.filename, data[:1] if info.filename.endswith("/data/0") else data)
    return "short.pt"


def _pickle(folder: Path) -> str:
    import pickle

    (folder / "evil.pt").write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    return "evil.pt"


def _csv_without(columns: list[str]) -> Callable[[Path], str]:
    def write(folder: Path) -> str:
        header, *rows = TABLE.splitlines()[:6]
        names = header.split(",")
        keep = [i for i, n in enumerate(names) if n not in columns]
        lines = [",".join(line.split(",")[i] for i in keep) for line in [header, *rows]]
        (folder / "new.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return "new.csv"
    return write


def cli_cases() -> list[Case]:
    """Every case as a command line (data and project cases through both ``train`` and ``summary``)."""
    cases = []
    for name, write, needles in DATA:
        make = _data(write)
        cases.append(Case(f"train/{name}", lambda f, s, m=make: ["train", m(f)], 2, needles))
        summary_ok = name == "npz-header-claims-huge-array"
        if not summary_ok:
            cases.append(Case(f"summary/{name}", lambda f, s, m=make: ["summary", m(f)], 2, needles))
    for name, make, needles in PROJECTS:
        if name in SUCCEEDS:
            continue
        cases.append(Case(f"train/{name}", lambda f, s, m=make: ["train", m(f)], 2, needles))
        if name in ("truncated-json", "unknown-layer", "negative-size", "4000-digit-size", "deep-nesting",
                    "newer-version", "lstm-2-billion-layers", "size-beyond-any-machine"):
            summary_code = 0 if name in ("lstm-2-billion-layers", "size-beyond-any-machine") else 2
            cases.append(Case(f"summary/{name}", lambda f, s, m=make: ["summary", m(f)], summary_code,
                              () if summary_code == 0 else needles))
    cases += [
        Case("train/unavailable-device-flag", lambda f, s: ["train", _table_project(f), "--device", "cuda:7"], 2,
             ("device cuda:7 is not available",)),
        Case("train/zero-epochs-flag", lambda f, s: ["train", _table_project(f), "--epochs", "0"], 2,
             ("'0' is not a positive integer",)),
        Case("train/unavailable-device-in-project", lambda f, s: ["train", _doc(training__device="cuda:7")(f)], 2,
             ("device cuda:7 is not available",)),
        Case("train/diverging-run", lambda f, s: ["train", _diverging(f)], 1,
             ("training diverged at epoch", "lower the learning rate"), new=("runs/*/*",)),
        Case("train/out-of-memory-in-training", lambda f, s: ["train", _table_project(f)], 1,
             ("out of memory on cpu with batch size 16",), new=("runs/*/*",), prelude=OOM_IN_TRAINING),
        Case("train/cpu-allocator-out-of-memory-in-training", lambda f, s: ["train", _table_project(f)], 1,
             ("out of memory on cpu with batch size 16",), new=("runs/*/*",), prelude=CPU_OOM_IN_TRAINING),
        Case("train/out-of-memory-while-loading", lambda f, s: ["train", _table_project(f)], 1,
             ("out of memory",), prelude=OOM_IN_LOADING),
        Case("train/out-folder-under-a-file", lambda f, s: ["train", _table_project(f), "--out", _under_a_file(f)], 2,
             ("cannot write the run folder",)),
        Case("train/out-folder-not-empty", lambda f, s: ["train", _table_project(f), "--out", "."], 2,
             ("already exists and is not empty",)),
        Case("train/out-folder-read-only", lambda f, s: ["train", _table_project(f), "--out", _locked(f) + "/run"], 2,
             ("cannot write the run folder",), readonly="locked"),
        # export
        Case("export/into-a-path-under-a-file",
             lambda f, s: (_with_run(f, s), ["export", "run", "--out", _under_a_file(f) + "/m.pt2"])[1], 2,
             ("cannot write", "notes.txt")),
        Case("export/into-a-read-only-folder",
             lambda f, s: (_with_run(f, s), ["export", "run", "--out", _locked(f) + "/m.pt2"])[1], 2,
             ("cannot write", "locked"), readonly="locked"),
        Case("export/python-into-a-read-only-folder",
             lambda f, s: (_with_run(f, s), ["export", "run", "--format", "python", "--out", _locked(f) + "/py"])[1],
             2, ("cannot write", "locked"), readonly="locked"),
        Case("export/default-path-in-a-read-only-run",
             lambda f, s: (_with_run(f, s), ["export", "run", "--format", "torchscript"])[1], 2,
             ("cannot write",), readonly="run"),
        Case("export/not-a-run-folder", lambda f, s: (Path(_locked(f)), ["export", "locked"])[1], 2,
             ("not a complete NetStudio run",)),
        Case("export/run-without-weights",
             lambda f, s: (_with_run(f, s), (f / "run" / "weights.safetensors").unlink(), ["export", "run"])[2], 2,
             ("missing weights.safetensors",)),
        Case("export/unknown-format", lambda f, s: (_with_run(f, s), ["export", "run", "--format", "keras"])[1], 2,
             ("invalid choice: 'keras'",)),
        # predict
        Case("predict/data-lacks-the-model-columns",
             lambda f, s: ["predict", _copy(s, "pt2", f, "model.pt2"), _csv_without(["b", "colour"])(f)], 2,
             ("new.csv", "b", "colour")),
        Case("predict/a-pickle-as-model", lambda f, s: ["predict", _pickle(f), _csv_without([])(f)], 2,
             ("never unpickles",)),
        Case("predict/damaged-pt2", lambda f, s: ["predict", _damaged_pt2(f, s), _csv_without([])(f)], 2,
             ("damaged.pt2: cannot load the .pt2 program",)),
        Case("predict/damaged-torchscript-crashed-torch", lambda f, s: ["predict", _damaged_pt(f, s),
                                                                        _csv_without([])(f)], 2, ("damaged.pt",)),
        Case("predict/torchscript-with-short-tensor-data", lambda f, s: ["predict", _short_storage_pt(f, s),
                                                                         _csv_without([])(f)], 2,
             ("short.pt", "shorter than declared")),
        Case("predict/missing-data", lambda f, s: ["predict", _copy(s, "pt2", f, "model.pt2"), "absent.csv"], 2,
             ("absent.csv: no such file",)),
        Case("predict/out-under-a-file", lambda f, s: ["predict", _copy(s, "pt2", f, "model.pt2"),
                                                       _csv_without([])(f), "--out", _under_a_file(f) + "/p.csv"], 2,
             ("cannot write",)),
        Case("predict/images-into-a-table-model", lambda f, s: (image_folder(f, ["a", "b"]),
                                                                ["predict", _copy(s, "pt2", f, "model.pt2"), "images"])[1],
             2, ("takes table rows, not images",)),
    ]
    return cases
