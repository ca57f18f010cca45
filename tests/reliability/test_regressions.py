"""One test for each bug the fuzzers found, each failing on the code before its fix."""

from __future__ import annotations

import functools
import io
import json
import logging
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.core.errors import (
    DataError,
    ExportError,
    NetStudioError,
    NewerProjectError,
    ProjectError,
)
from netstudio.core.project import CURRENT_VERSION, load_project, project_from_json
from tests.reliability.catalogue import IRIS, png, project_doc, write_project
from tests.reliability.conftest import REPO, netstudio, one_error_line, tally

# The module fixture (a trained run) is built once: every test that uses it runs in the same
# xdist process. The other tests are in no group, so they run on whichever process is free.
shares_the_module_fixture = pytest.mark.xdist_group("test_regressions")

S = LayerSpec.create


@pytest.fixture(autouse=True)
def count():
    tally("inputs")


# -- layer arithmetic ----------------------------------------------------------------------------------


def test_recurrent_parameter_count_is_closed_form_and_matches_torch():
    """LSTM num_layers = 2**31 - 1 looped that many times in validation (2**63 before MAX_INT): a hang."""
    from netstudio.core.design.builder import build_model

    started = time.perf_counter()
    validation = LayerStack([S("LSTM", hidden_size=8, num_layers=2**31 - 1)]).validate((5, 7))
    assert time.perf_counter() - started < 1.0 and not validation.valid
    for kind in ("LSTM", "GRU"):
        for layers, bidirectional, bias in ((1, False, True), (3, True, False), (2, True, True)):
            stack = LayerStack([S(kind, hidden_size=5, num_layers=layers, bidirectional=bidirectional, bias=bias)])
            model = build_model(stack, (4, 7))
            assert stack.validate((4, 7)).total_parameters == sum(p.numel() for p in model.parameters())


def test_groupnorm_fix_search_is_bounded():
    """GroupNorm after 10**12 channels searched every divisor below num_groups: a hang."""
    started = time.perf_counter()
    stack = LayerStack([S("Conv2d", out_channels=2_000_000_000, kernel_size=1), S("GroupNorm", num_groups=1_999_999_999)])
    result = stack.validate((3, 8, 8)).layers[1]
    assert time.perf_counter() - started < 1.0
    fix = next(i.fix for i in result.issues if i.fix is not None)
    assert fix.value == 1  # no divisor nearby: the gcd, which always divides
    stack = LayerStack([S("Conv2d", out_channels=2_000_000_000, kernel_size=1), S("GroupNorm", num_groups=1_000_004_000)])
    fix = next(i.fix for i in stack.validate((3, 8, 8)).layers[1].issues if i.fix is not None)
    assert fix.value == 1_000_000_000
    small = LayerStack([S("Conv2d", out_channels=12, kernel_size=1), S("GroupNorm", num_groups=5)]).validate((3, 8, 8))
    assert small.layers[1].issues[0].fix.value == 4  # still the nearest divisor when it is near


@pytest.mark.parametrize("value", [10**400, 10**4000, -(2**60)])
def test_integers_beyond_any_layer_are_refused_on_load(tmp_path, value):
    """out_features 10**400 reached format_bytes, whose float division overflowed: an internal error."""
    write_project(tmp_path, project_doc(layers=[{"type": "Linear", "params": {"out_features": value}}]))
    with pytest.raises(ProjectError, match=r"out_features: must be at (most 9,007,199,254,740,991|least)"):
        load_project(tmp_path / "p.nsproj")


def test_shapes_beyond_any_machine_stop_instead_of_overflowing():
    stack = LayerStack([S("Linear", out_features=2**31 - 1), S("Linear", out_features=2**31 - 1),
                        S("Linear", out_features=2**31 - 1)])
    validation = stack.validate((2**31 - 1,))
    messages = [i.message for r in validation.layers for i in r.issues]
    assert any("far more than any machine holds" in m for m in messages)
    json.dumps(validation.to_json(), allow_nan=False)
    from netstudio.core.design.report import format_table

    format_table("huge", validation)


# -- project documents ---------------------------------------------------------------------------------


def test_deeply_nested_documents_are_refused_not_a_recursion_error(tmp_path):
    value: object = 0
    for _ in range(900):  # json.loads accepts it; copying it recursed past Python's limit
        value = {"k": value}
    doc = project_doc()
    doc["model"]["notes"] = value
    (tmp_path / "deep.nsproj").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ProjectError, match=r"model\.notes(\.k)+: nested more than \d+ levels deep"):
        load_project(tmp_path / "deep.nsproj")


@pytest.mark.parametrize("value, needle", [(float("nan"), "nan is not a number JSON can hold"),
                                           (float("inf"), "inf is not a number JSON can hold"),
                                           ({1: "x"}, "keys must be strings"), (b"bytes", "a bytes is not JSON data"),
                                           ({"a\nb": [float("nan")]}, "future.'a\\nb'[0]: nan")])
def test_documents_built_in_memory_must_be_plain_json(tmp_path, value, needle):
    """A NaN kept among unknown keys loaded fine and then made Save raise ValueError."""
    doc = project_doc()
    doc["future"] = value
    with pytest.raises(ProjectError) as info:
        project_from_json(doc, tmp_path / "p.nsproj")
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_a_parameter_name_with_a_line_break_stays_one_line(tmp_path):
    write_project(tmp_path, project_doc(layers=[{"type": "Linear", "params": {"out\nfeatures": 3}}]))
    with pytest.raises(ProjectError) as info:
        load_project(tmp_path / "p.nsproj")
    assert "\n" not in str(info.value) and "'out\\nfeatures'" in str(info.value)


def test_saving_an_invalid_project_is_a_project_error_and_writes_nothing(tmp_path):
    project = load_project(tmp_path / write_project(tmp_path, project_doc()))
    before = (tmp_path / "p.nsproj").read_bytes()
    project.training["learning_rate"] = float("nan")
    with pytest.raises(ProjectError, match="cannot save .*the project is not valid"):
        project.save()
    assert (tmp_path / "p.nsproj").read_bytes() == before


def test_saving_over_a_newer_project_needs_consent(tmp_path):
    newer = project_doc()
    newer["version"] = 7
    write_project(tmp_path, newer, "newer.nsproj")
    before = (tmp_path / "newer.nsproj").read_bytes()
    project = load_project(tmp_path / write_project(tmp_path, project_doc()))
    with pytest.raises(NewerProjectError, match="written by a newer NetStudio \\(project version 7"):
        project.save(tmp_path / "newer.nsproj")
    assert (tmp_path / "newer.nsproj").read_bytes() == before
    project.save(tmp_path / "newer.nsproj", overwrite_newer=True)
    assert json.loads((tmp_path / "newer.nsproj").read_text())["version"] == CURRENT_VERSION


# -- data files ----------------------------------------------------------------------------------------


def _npz(tmp_path, data: bytes):
    (tmp_path / "a.npz").write_bytes(data)
    return {"source": "npz", "path": "a.npz"}


def _valid_npz(compressed: bool = False) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, X=np.ones((6, 2), np.float32), y=np.arange(6) % 2)
    return buffer.getvalue()


@pytest.mark.parametrize("damage", ["not-a-zip", "bad-crc", "bad-deflate", "unknown-method"])
def test_damaged_npz_files_are_data_errors(tmp_path, damage):
    """zipfile.BadZipFile, zlib.error and NotImplementedError escaped the .npz readers."""
    from netstudio.core.data.load import describe_data, load_dataset
    from netstudio.core.export.predict import _npz_inputs

    data = bytearray(_valid_npz(compressed=damage == "bad-deflate"))
    if damage == "not-a-zip":
        data[:4] = b"PK\x05\x06"
    elif damage == "bad-crc":
        data[data.index(b"\x93NUMPY") + 140] ^= 0xFF  # array bytes: the CRC no longer matches
    elif damage == "bad-deflate":
        data[60] ^= 0xFF
    else:
        at = data.index(b"PK\x01\x02")  # the central directory's first entry: its compression method
        data[at + 10] = 99
    config = _npz(tmp_path, bytes(data))
    for call in (describe_data, load_dataset):
        with pytest.raises(DataError, match="a.npz"):
            call(config, tmp_path)
    with pytest.raises(DataError, match="a.npz"):
        _npz_inputs(tmp_path / "a.npz")


def test_npz_header_rows_must_match_y_in_describe_too(tmp_path):
    from netstudio.core.data.load import describe_data
    from tests.reliability.catalogue import _huge_shape

    config = _huge_shape(tmp_path)
    with pytest.raises(DataError, match="X has 10,000,000,000,000 rows but y has 8"):
        describe_data(config, tmp_path)


def test_a_damaged_gzip_csv_is_a_data_error(tmp_path):
    import gzip

    from netstudio.core.data.load import load_dataset

    packed = bytearray(gzip.compress(IRIS.encode() * 30))
    packed[len(packed) // 2] ^= 0xFF
    (tmp_path / "t.csv.gz").write_bytes(bytes(packed))
    with pytest.raises(DataError, match=r"t.csv.gz: (cannot read|cannot be read as CSV)"):
        load_dataset({"source": "csv", "path": "t.csv.gz", "target": "species"}, tmp_path)


def test_image_headers_claiming_giant_sizes_are_refused_before_allocating(tmp_path, capfd):
    """A 13000 x 13000 header made the loader allocate 120 x 507 MB (MemoryError, or swapping)."""
    from netstudio.core.data.load import describe_data, load_dataset

    for name in ("a", "b"):
        (tmp_path / "img" / name).mkdir(parents=True)
        for i in range(40):
            (tmp_path / "img" / name / f"{i}.png").write_bytes(png(13000, 13000))
    config = {"source": "images", "path": "img"}
    for call in (describe_data, load_dataset):
        with pytest.raises(DataError, match=r"most images are 13000x13000 pixels .* set data.image_size"):
            call(config, tmp_path)
    assert "DecompressionBomb" not in capfd.readouterr().err  # PIL's warning stays off the console
    with pytest.raises(DataError, match="need about .* of memory, more than this machine has"):
        load_dataset({**config, "image_size": [4096, 4096]}, tmp_path)


# -- model files ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from netstudio.core.export.exporter import export_run, write_run_models
    from netstudio.core.runs.folder import save_run
    from netstudio.core.training.session import prepare_session

    folder = tmp_path_factory.mktemp("models")
    write_project(folder, project_doc())
    session = prepare_session(load_project(folder / "p.nsproj"), device="cpu")
    run = save_run(session, session.fit(), folder / "run", write_models=functools.partial(write_run_models, onnx=True))
    export_run(run, "torchscript", folder / "m.pt")
    return {"pt2": run / "model.pt2", "pt": folder / "m.pt", "onnx": run / "model.onnx", "folder": folder}


def _rezip(source, target, change):
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = change(info.filename, old.read(info))
            if data is not None:
                new.writestr(info.filename, data)
    return target


@shares_the_module_fixture
def test_a_damaged_pt2_is_one_line_without_torch_logging_a_traceback(models, tmp_path, caplog):
    from netstudio.core.export.safe_load import load_model_file

    bad = _rezip(models["pt2"], tmp_path / "bad.pt2", lambda n, d: b"\n" if n.endswith(".data/version") else d)
    with caplog.at_level(logging.WARNING):
        with pytest.raises(ExportError) as info:
            load_model_file(bad)
    assert "cannot load the .pt2 program" in str(info.value) and "Couldn't parse the version" in str(info.value)
    assert not [r for r in caplog.records if r.name.startswith("torch")], "torch logged a traceback"


@shares_the_module_fixture
def test_a_torchscript_file_that_crashed_the_process_is_refused(models, tmp_path):
    """Code that cannot compile plus damaged debug records: torch.jit.load died with SIGSEGV."""
    from tests.reliability.catalogue import crashing_torchscript

    bad = crashing_torchscript(models["pt"], tmp_path / "bad.pt")
    raw = subprocess.run([sys.executable, "-c", "import sys, torch\ntry:\n    torch.jit.load(sys.argv[1])\n"
                          "except Exception:\n    pass\n", str(bad)], capture_output=True, timeout=300)
    print(f"torch.jit.load on its own: exit {raw.returncode}")  # -11 with torch 2.13: the crash
    code = ("import sys\nfrom netstudio.core.export.safe_load import load_model_file\n"
            "try:\n    load_model_file(sys.argv[1])\nexcept Exception as exc:\n    print(type(exc).__name__, exc)\n")
    result = subprocess.run([sys.executable, "-c", code, str(bad)], capture_output=True, text=True, timeout=300,
                            cwd=REPO)
    assert result.returncode == 0, f"the process crashed: {result.returncode} {result.stderr[-500:]}"
    assert result.stdout.startswith("ExportError") and "bad.pt: cannot load the TorchScript model" in result.stdout


@shares_the_module_fixture
def test_torchscript_tensor_data_shorter_than_declared_is_refused(models, tmp_path):
    from netstudio.core.export.safe_load import load_model_file

    bad = _rezip(models["pt"], tmp_path / "short.pt", lambda n, d: d[:1] if n.endswith("/data/0") else d)
    with pytest.raises(ExportError, match="tensor data '0' is missing or shorter than declared"):
        load_model_file(bad)
    drop = _rezip(models["pt"], tmp_path / "drop.pt", lambda n, d: None if n.endswith("/data/0") else d)
    with pytest.raises(ExportError, match="tensor data '0' is missing"):
        load_model_file(drop)


@shares_the_module_fixture
def test_a_genuine_torchscript_export_still_loads_without_its_debug_records(models):
    from netstudio.core.export.safe_load import load_model_file

    model = load_model_file(models["pt"])
    out = model.run(np.zeros((3, 2), np.float32))
    assert out.shape == (3, 2) and np.allclose(out.sum(axis=1), 1.0, atol=1e-5)


def test_symbolic_pickle_reader_never_imports(tmp_path):
    import pickle

    from netstudio.core.export.archive import Global, pickle_calls

    class Marker:
        def __reduce__(self):
            return (subprocess.call, (["false"],))

    storages, calls = pickle_calls(pickle.dumps(Marker(), protocol=4), "x")
    assert calls and calls[0].func == Global("subprocess", "call") and not storages
    with pytest.raises(ExportError, match="unexpected pickle instruction EXT1"):
        pickle_calls(b"\x80\x02\x82\x01.", "x")  # the copyreg extension registry: never in TorchScript


@shares_the_module_fixture
def test_onnx_with_damaged_metadata_is_one_line_and_prints_nothing(models, capfd):
    pytest.importorskip("onnxruntime")
    import onnx

    from netstudio.core.export.safe_load import load_model_bytes

    model = onnx.load(str(models["onnx"]))
    for prop in model.metadata_props:
        if prop.key == "netstudio":
            prop.value = "ok"
    data = model.SerializeToString().replace(b"ok", b"\xb3\xb3", 1)
    with pytest.raises(ExportError, match="metadata"):
        load_model_bytes(data, "bad.onnx")
    out = capfd.readouterr()
    assert "EP Error" not in out.out + out.err, "onnxruntime's fallback banner reached stdout"


# -- the command line's one line -----------------------------------------------------------------------


def test_internal_errors_and_multi_line_messages_are_one_line(tmp_path):
    prelude = ("import netstudio.commands.summary as s\n"
               "def boom(args):\n    raise RuntimeError('first line\\nsecond line\\n  third')\n"
               "s.run = boom\n")
    line = one_error_line(netstudio("summary", "x.nsproj", prelude=prelude, cwd=tmp_path), 1)
    assert line == ("netstudio: error: internal error: RuntimeError: first line second line third "
                    "(run with --debug for details)")
    prelude = ("import netstudio.commands.summary as s\nfrom netstudio.core.errors import DataError\n"
               "def boom(args):\n    raise DataError('/data/odd\\nname.csv: no such file')\ns.run = boom\n")
    line = one_error_line(netstudio("summary", "x.nsproj", prelude=prelude, cwd=tmp_path), 2)
    assert line == "netstudio: error: /data/odd name.csv: no such file"


def test_running_out_of_host_memory_is_exit_1_not_an_internal_error(tmp_path):
    prelude = "import netstudio.commands.summary as s\ndef boom(args):\n    raise MemoryError()\ns.run = boom\n"
    line = one_error_line(netstudio("summary", "x.nsproj", prelude=prelude, cwd=tmp_path), 1)
    assert "out of memory" in line and "internal error" not in line


def test_errors_of_every_kind_reach_the_cli_as_one_line():
    from netstudio.core.errors import describe, one_line

    assert one_line("a\n b\r\n\tc") == "a b c"
    assert describe(DataError("")) == "DataError"
    assert describe(KeyError("x\ny")) == "internal error: KeyError: 'x\\ny'"
    assert isinstance(NewerProjectError("x"), ProjectError) and issubclass(NewerProjectError, NetStudioError)
