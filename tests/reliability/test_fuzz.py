"""Fuzzing (hypothesis): mutated project documents and data files either load or raise the
project's own error type (a NetStudioError) with a one-line message, never another exception and
never a hang. What loads must also save, read back the same, validate and summarise.

The documents are structure-aware: valid projects (the samples, the templates, the contract
example) with values swapped for wrong types, huge and negative numbers, NaN, unicode, deep
nesting, keys removed or added. Data files are valid CSV/.npz/image folders with bytes flipped,
cut, inserted, or headers rewritten. ``FUZZ_EXAMPLES`` scales every test (default 100).
"""

from __future__ import annotations

import bz2
import copy
import gzip
import io
import json
import lzma
import math
import os
import signal
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netstudio.core.errors import NetStudioError
from tests.reliability.catalogue import IRIS, TABLE, png
from tests.reliability.conftest import REPO, tally

# The module fixture (a trained run) is built once: every test that uses it runs in the same
# xdist process. The other tests are in no group, so they run on whichever process is free.
shares_the_module_fixture = pytest.mark.xdist_group("test_fuzz")

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 100))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


@contextmanager
def no_hang(seconds: int = 30):
    """Fail (TimeoutError) instead of hanging: validation once looped 2**63 times on a bad file."""
    def expire(*_):
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def one_line(exc: NetStudioError) -> None:
    message = str(exc)
    assert message and "\n" not in message and "\r" not in message, repr(message)


# ------------------------------------------------------------------------------------------------
# Project documents


def base_documents() -> list[dict]:
    from netstudio.core.design.templates import TEMPLATES
    from netstudio.core.project import project_from_template

    docs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((REPO / "samples").glob("*.nsproj"))]
    docs += [project_from_template(t).to_json() for t in TEMPLATES]
    return docs


BASES = base_documents()
SPECIAL_STRINGS = ["", " ", "auto", "same", "valid", "cuda:99", "mps", "NaN", "../../etc/passwd", "\x00", "a\nb",
                   "é", "\U0001f600", "Linear", "Conv2d", "x" * 300]


def deep(levels: int):
    value: object = 0
    for _ in range(levels):
        value = [value]
    return value


LEAVES = st.one_of(
    st.none(), st.booleans(),
    st.integers(-3, 300),
    st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**63, 10**30, -10**30, 10**4000]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(SPECIAL_STRINGS), st.text(max_size=12),
)
VALUES = st.recursive(LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)
MUTATIONS = st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(["set", "delete", "add", "deep"]), VALUES),
                     min_size=1, max_size=4)


def paths(doc, prefix=()):
    yield prefix
    if len(prefix) >= 12:  # a deeply nested value already inserted: mutate around it, not inside
        return
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from paths(value, prefix + (key,))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from paths(value, prefix + (i,))


def mutate(doc, mutations):
    for pick, op, value in mutations:
        places = [p for p in paths(doc) if p]
        where = places[pick % len(places)]
        parent = doc
        for step in where[:-1]:
            parent = parent[step]
        if op == "set":
            parent[where[-1]] = value
        elif op == "deep":
            parent[where[-1]] = deep(40 + pick % 2000)
        elif op == "delete":
            del parent[where[-1]]
        elif isinstance(parent, dict):
            parent[["params", "type", "x", "in_features", "path", "kind", "features", "input_shape"][pick % 8]] = value
        else:
            parent.append(value)
    return doc


def check_loaded(project, tmp_path) -> None:
    """A project that loaded saves, reads back the same, validates and summarises without raising."""
    from netstudio.core.config import TrainConfig
    from netstudio.core.design.report import format_table
    from netstudio.core.project import load_project

    again = load_project(project.save(tmp_path / "again.nsproj"))
    assert again.to_json() == project.to_json()
    for shape in [(4,), (3, 8, 8), (5, 7)]:
        validation = project.stack.validate(shape, 3, batch_size=project.training["batch_size"])
        json.dumps(validation.to_json(), allow_nan=False)
        format_table(project.name, validation)
        assert validation.valid or "\n" not in validation.first_error()
    TrainConfig.from_dict(project.training)


@FUZZ
@given(base=st.sampled_from(range(len(BASES))), mutations=MUTATIONS)
def test_mutated_project_files_load_or_raise_a_one_line_project_error(tmp_path, base, mutations):
    from netstudio.core.project import load_project

    doc = mutate(copy.deepcopy(BASES[base]), mutations)
    try:
        text = json.dumps(doc)  # NaN and Infinity come out as tokens the loader must refuse
    except (ValueError, RecursionError):
        return
    path = tmp_path / "fuzz.nsproj"
    path.write_text(text, encoding="utf-8")
    tally("inputs")
    tally("files_fuzzed")
    with no_hang():
        try:
            project = load_project(path)
        except NetStudioError as exc:
            one_line(exc)
            return
        check_loaded(project, tmp_path)


@FUZZ
@given(base=st.sampled_from(range(len(BASES))), mutations=MUTATIONS)
def test_mutated_documents_in_memory_never_break_project_from_json(tmp_path, base, mutations):
    """The window's recovery copy is built in memory: NaN, odd objects, huge depth are refused too."""
    from netstudio.core.project import project_from_json

    doc = mutate(copy.deepcopy(BASES[base]), mutations)
    tally("inputs")
    with no_hang():
        try:
            project = project_from_json(doc, tmp_path / "memory.nsproj")
        except NetStudioError as exc:
            one_line(exc)
            return
        check_loaded(project, tmp_path)


@FUZZ
@given(data=st.binary(max_size=600))
def test_random_bytes_as_a_project_file(tmp_path, data):
    from netstudio.core.project import load_project

    (tmp_path / "bytes.nsproj").write_bytes(data)
    tally("inputs")
    tally("files_fuzzed")
    with pytest.raises(NetStudioError) as info:
        load_project(tmp_path / "bytes.nsproj")
    one_line(info.value)


# ------------------------------------------------------------------------------------------------
# Data files

EDITS = st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert"]), st.integers(0, 10**9),
                           st.sampled_from([b'"', b",", b";", b"\n", b"\r", b"\x00", b"\t", b"#", b"\xef\xbb\xbf",
                                            b"\xff\xfe", b"NA", b"1e999", b"-", b"\xc3"])),
                 max_size=6)


def edit(data: bytes, edits) -> bytes:
    data = bytearray(data)
    for op, at, token in edits:
        i = at % (len(data) + 1)
        if op == "flip" and data:
            data[i % len(data)] ^= 1 + at % 255
        elif op == "cut":
            del data[i:]
        else:
            data[i:i] = token
    return bytes(data)


def load_or_refuse(config: dict, folder: Path) -> None:
    from netstudio.core.data.load import describe_data, load_dataset

    for call in (describe_data, load_dataset):
        tally("inputs")
        with no_hang():
            try:
                data = call(config, folder)
            except NetStudioError as exc:
                one_line(exc)
                continue
        if call is load_dataset:
            assert np.isfinite(data.X_train).all() and np.isfinite(data.X_val).all()
            json.dumps(data.preprocessor.to_json(), allow_nan=False)


COMPRESS = {".csv": lambda b: b, ".csv.gz": gzip.compress, ".csv.bz2": bz2.compress, ".csv.xz": lzma.compress}


@FUZZ
@given(source=st.sampled_from([IRIS, TABLE]), suffix=st.sampled_from(sorted(COMPRESS)), edits=EDITS,
       after=st.booleans(), target=st.sampled_from([None, "species", "label", "colour"]),
       task=st.sampled_from(["auto", "binary", "multiclass", "regression"]),
       encoding=st.sampled_from(["utf-8", "utf-16", "cp1252"]))
def test_mutated_csv_files_load_or_raise_data_error(tmp_path, source, suffix, edits, after, target, task, encoding):
    raw = source.encode(encoding)
    # edits before compressing damage the table, after it the compressed stream
    data = COMPRESS[suffix](raw if after else edit(raw, edits))
    data = edit(data, edits) if after else data
    (tmp_path / f"data{suffix}").write_bytes(data)
    tally("files_fuzzed")
    load_or_refuse({"source": "csv", "path": f"data{suffix}", "target": target, "task": task,
                    "validation_split": 0.25}, tmp_path)


def npy(array: np.ndarray, shape: bytes | None = None, descr: bytes | None = None) -> bytes:
    """An .npy file for *array*, its header's shape or dtype optionally replaced (length kept right)."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    raw = buffer.getvalue()
    length = int.from_bytes(raw[8:10], "little")
    header, body = raw[10:10 + length], raw[10 + length:]
    if shape is not None:
        start = header.index(b"'shape': (") + len(b"'shape': ")
        header = header[:start] + shape + header[header.index(b")", start) + 1:]
    if descr is not None:
        start = header.index(b"'descr': '") + len(b"'descr': '")
        header = header[:start] + descr + header[header.index(b"'", start):]
    header = header.rstrip(b" \n")
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return raw[:8] + len(header).to_bytes(2, "little") + header + body


@FUZZ
@given(rows=st.integers(1, 12), shape=st.sampled_from([(3,), (2, 2), (1, 3, 3)]), kind=st.sampled_from(["f4", "i8"]),
       edits=EDITS, header=st.sampled_from([None, b"(9999999999999, 3)", b"(-1, 3)", b"()", b"(0, 3)", b"(4,)"]),
       descr=st.sampled_from([None, b"|O", b"<U5", b"<c16", b"|V8", b"<M8[s]", b">f8"]),
       compressed=st.booleans())
def test_mutated_npz_files_load_or_raise_data_error(tmp_path, rows, shape, kind, edits, header, descr, compressed):
    X = np.arange(rows * math.prod(shape), dtype=np.float64).reshape(rows, *shape).astype(kind)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED) as archive:
        archive.writestr("X.npy", npy(X, header, descr))
        archive.writestr("y.npy", npy(np.arange(rows) % 2))
    (tmp_path / "arrays.npz").write_bytes(edit(buffer.getvalue(), edits))
    tally("files_fuzzed")
    load_or_refuse({"source": "npz", "path": "arrays.npz", "validation_split": 0.25}, tmp_path)


@FUZZ
@given(files=st.lists(st.tuples(st.sampled_from(["a", "b", "c/d"]), st.sampled_from(["png", "bytes", "huge", "cut"]),
                                st.binary(max_size=40)), min_size=1, max_size=6),
       size=st.sampled_from([None, [4, 4], [1, 1]]), color=st.sampled_from([None, "grayscale", "rgb"]))
def test_mutated_image_folders_load_or_raise_data_error(tmp_path, files, size, color):
    tmp_path = Path(tempfile.mkdtemp(dir=tmp_path))  # hypothesis runs every example in the same tmp_path
    root = tmp_path / "images"
    root.mkdir()
    for i, (folder, kind, noise) in enumerate(files):
        (root / folder).mkdir(parents=True, exist_ok=True)
        data = {"png": png(3 + i, 4, 30 * i), "bytes": noise, "huge": png(20000, 9000),
                "cut": png(5, 5)[: 20 + len(noise)]}[kind]
        (root / folder / f"{i}.png").write_bytes(data)
        tally("files_fuzzed")
    load_or_refuse({"source": "images", "path": "images", "image_size": size, "color": color,
                    "validation_split": 0.25}, tmp_path)


@pytest.fixture(scope="module")
def table_model(tmp_path_factory):
    """What predict knows of a model trained on TABLE: its metadata (the network is not needed to
    turn a table into the model's raw input)."""
    from netstudio.core.data.load import load_dataset
    from netstudio.core.export.safe_load import LoadedModel

    folder = tmp_path_factory.mktemp("table")
    (folder / "table.csv").write_text(TABLE, encoding="utf-8")
    dataset = load_dataset({"source": "csv", "path": "table.csv", "target": "label"}, folder)
    metadata = {"preprocessing": dataset.preprocessor.to_json(), "input_shape": list(dataset.input_shape),
                "task": dataset.task, "classes": dataset.classes}
    return LoadedModel("pt2", "model.pt2", metadata, None)


@shares_the_module_fixture
@FUZZ
@given(edits=EDITS, drop=st.sets(st.sampled_from(["a", "b", "colour", "label"])))
def test_mutated_csv_files_given_to_predict(tmp_path, table_model, edits, drop):
    """Turning a CSV into a model's raw input: the table either encodes or is refused in one line."""
    from netstudio.core.export.predict import raw_inputs

    header, *rows = TABLE.splitlines()
    keep = [i for i, name in enumerate(header.split(",")) if name not in drop] or [0]
    text = "\n".join(",".join(line.split(",")[i] for i in keep) for line in [header, *rows[:8]])
    (tmp_path / "new.csv").write_bytes(edit(text.encode(), edits))
    tally("inputs")
    tally("files_fuzzed")
    with no_hang():
        try:
            raw, files = raw_inputs(table_model, tmp_path / "new.csv")
        except NetStudioError as exc:
            one_line(exc)
            return
    assert raw.dtype == np.float32 and raw.shape[1:] == tuple(table_model.metadata["input_shape"])


# ------------------------------------------------------------------------------------------------
# Model files, in a child process: a loader that crashes (torch.jit.load did, SIGSEGV) must fail
# this test, not take the whole test run down with it.

MODEL_FUZZ = r'''
import io, random, sys, zipfile, json
import numpy as np
from netstudio.core.errors import NetStudioError
from netstudio.core.export.safe_load import load_model_bytes

path, seed, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
base = open(path, "rb").read()

def member_edit(data):
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in zin.infolist():
            body = bytearray(zin.read(info))
            if rng.random() < 0.35 and body:
                for _ in range(rng.randint(1, 4)):
                    body[rng.randrange(len(body))] = rng.randrange(256)
                if rng.random() < 0.3:
                    del body[rng.randrange(len(body)):]
            if rng.random() > 0.04:
                z.writestr(info.filename, bytes(body))
    return out.getvalue()

def byte_edit(data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if rng.random() < 0.85 or len(data) < 2:
            data[rng.randrange(len(data))] = rng.randrange(256)
        else:
            del data[rng.randrange(1, len(data)):]
    return bytes(data)

bad = []
for i in range(count):
    data = member_edit(base) if base[:2] == b"PK" and rng.random() < 0.7 else byte_edit(base)
    try:
        model = load_model_bytes(data, "fuzzed")
        model.run(np.zeros((2, *model.metadata["input_shape"]), np.float32))
    except NetStudioError as exc:
        if "\n" in str(exc) or not str(exc):
            bad.append(repr(str(exc)))
    except Exception as exc:
        bad.append(f"{type(exc).__name__}: {str(exc)[:200]}")
print(json.dumps(bad))
'''


@pytest.mark.parametrize("fmt", ["pt2", "torchscript", "onnx"])
def test_mutated_model_files_are_refused_in_one_line_without_crashing(tmp_path_factory, fmt):
    import subprocess
    import sys

    from tests.reliability.conftest import REPO as root

    model = model_file(tmp_path_factory, fmt)
    count = max(10, EXAMPLES // (2 if fmt == "pt2" else 1))
    env = dict(os.environ, PYTHONPATH=str(root))
    result = subprocess.run([sys.executable, "-c", MODEL_FUZZ, str(model), "7", str(count)], capture_output=True,
                            text=True, timeout=900, env=env)
    tally("inputs", count)
    tally("files_fuzzed", count)
    assert result.returncode == 0, f"the loader crashed (exit {result.returncode}): {result.stderr[-2000:]}"
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, f"a loader printed on stdout (where predict writes its CSV): {lines[:-1]}"
    assert json.loads(lines[0]) == []


_MODELS: dict = {}


def model_file(factory, fmt: str) -> Path:
    """A model exported in *fmt* from a small trained run (made once)."""
    if fmt not in _MODELS:
        if "run" not in _MODELS:
            from netstudio.core.export.exporter import write_run_models
            from netstudio.core.project import load_project
            from netstudio.core.runs.folder import save_run
            from netstudio.core.training.session import prepare_session
            from tests.reliability.catalogue import project_doc, write_project

            folder = factory.mktemp("models")
            (folder / "table.csv").write_text(TABLE, encoding="utf-8")
            write_project(folder, project_doc({"source": "csv", "path": "table.csv", "target": "label"}))
            session = prepare_session(load_project(folder / "p.nsproj"), device="cpu")
            _MODELS["run"] = save_run(session, session.fit(), folder / "run", write_models=write_run_models)
        from netstudio.core.export.exporter import export_run

        run = _MODELS["run"]
        _MODELS[fmt] = export_run(run, fmt, run / {"pt2": "m.pt2", "torchscript": "m.pt", "onnx": "m.onnx"}[fmt]).path
    return _MODELS[fmt]


def test_zip_bombs_and_archives_are_not_models(tmp_path):
    """Archives that are no model: one line each, nothing extracted to disk."""
    from netstudio.core.export.safe_load import load_model_file

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        archive.writestr("archive/big", b"\x00" * (64 << 20))
    (tmp_path / "bomb.pt").write_bytes(buffer.getvalue())
    before = sorted(tmp_path.iterdir())
    tally("inputs")
    with pytest.raises(NetStudioError) as info:
        load_model_file(tmp_path / "bomb.pt")
    one_line(info.value)
    assert sorted(tmp_path.iterdir()) == before
