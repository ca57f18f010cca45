"""Model files are untrusted: nothing that would run code when loaded gets loaded.

Each attack writes a marker file if its payload ever runs; the test asserts the loader refuses the
file with a clear ExportError and that the marker was not created.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from pathlib import Path

import pytest

from netstudio.core.errors import ExportError
from netstudio.core.export.safe_load import load_model_file
from tests.core.test_export_support import MLP, netstudio, train_run


class Payload:
    """Unpickling this runs ``os.system`` (it creates the marker file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def genuine(tmp_path_factory) -> Path:
    """A real run folder (its model.pt2 is the base of the crafted archives)."""
    folder = tmp_path_factory.mktemp("genuine")
    return train_run(folder, "moons", {"source": "synthetic", "kind": "moons", "samples": 120}, MLP,
                     {"epochs": 1})


def _rewrite(source: Path, target: Path, replace: dict[str, bytes | None], add: dict[str, bytes] | None = None):
    """Copy the zip *source* to *target*, replacing (or, with None, dropping) members by suffix."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        root = zin.namelist()[0].split("/")[0]
        for info in zin.infolist():
            key = next((k for k in replace if info.filename.endswith(k)), None)
            if key is None:
                zout.writestr(info, zin.read(info))
            elif replace[key] is not None:
                zout.writestr(info, replace[key])
        for name, data in (add or {}).items():
            zout.writestr(f"{root}/{name}", data)
    return target


def _evil_torch_save(marker: Path) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save((Payload(marker),), buffer)
    return buffer.getvalue()


def _refused(path: Path, marker: Path, words: str) -> None:
    with pytest.raises(ExportError) as info:
        load_model_file(path)
    message = str(info.value)
    assert words in message and "\n" not in message, message
    assert not marker.exists(), "the payload ran"


def test_torch_save_pickle_is_refused_without_running(tmp_path):
    import torch

    marker = tmp_path / "ran"
    for name in ("model.pt", "model.pt2"):
        torch.save({"weights": Payload(marker)}, tmp_path / name)
        _refused(tmp_path / name, marker, "torch.save pickle")


def test_plain_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "model.pt").write_bytes(pickle.dumps(Payload(marker)))
    _refused(tmp_path / "model.pt", marker, "pickle")
    (tmp_path / "model.pt2").write_bytes(pickle.dumps(Payload(marker), protocol=0))
    _refused(tmp_path / "model.pt2", marker, "not a NetStudio model")


def test_pt2_with_pickled_example_inputs_is_refused(genuine, tmp_path):
    # torch.export.load falls back to torch.load(weights_only=False) on example inputs it cannot
    # read with weights_only=True: this archive would run the payload there.
    marker = tmp_path / "ran"
    crafted = _rewrite(genuine / "model.pt2", tmp_path / "crafted.pt2",
                       {"data/sample_inputs/model.pt": _evil_torch_save(marker)})
    _refused(crafted, marker, "example inputs")


def test_pt2_with_pickled_weights_is_refused(genuine, tmp_path):
    marker = tmp_path / "ran"
    with zipfile.ZipFile(genuine / "model.pt2") as archive:
        name = next(n for n in archive.namelist() if n.endswith("model_weights_config.json"))
        config = json.loads(archive.read(name))
    first = next(iter(config["config"]))
    config["config"][first]["use_pickle"] = True
    weight = config["config"][first]["path_name"]
    crafted = _rewrite(genuine / "model.pt2", tmp_path / "crafted.pt2",
                       {"model_weights_config.json": json.dumps(config).encode(),
                        f"data/weights/{weight}": _evil_torch_save(marker)})
    _refused(crafted, marker, "pickled data")


def test_pt2_with_extra_pickled_objects_or_libraries_is_refused(genuine, tmp_path):
    marker = tmp_path / "ran"
    for member in ("data/constants/opaque_obj_0", "data/aotinductor/model/model.so"):
        crafted = _rewrite(genuine / "model.pt2", tmp_path / "crafted.pt2", {},
                           {member: pickle.dumps(Payload(marker))})
        _refused(crafted, marker, "unexpected archive member")


def test_pt2_whose_graph_calls_python_functions_is_refused(genuine, tmp_path):
    # The deserializer resolves any "torch.<attr>..." target: torch.os.system would be callable.
    with zipfile.ZipFile(genuine / "model.pt2") as archive:
        name = next(n for n in archive.namelist() if n.endswith("models/model.json"))
        program = archive.read(name).decode()
    assert "torch.ops.aten.linear.default" in program
    crafted = _rewrite(genuine / "model.pt2", tmp_path / "crafted.pt2",
                       {"models/model.json": program.replace("torch.ops.aten.linear.default", "torch.os.system").encode()})
    _refused(crafted, tmp_path / "ran", "torch.os.system")


def test_files_that_are_not_netstudio_models_are_refused(genuine, tmp_path):
    import torch

    marker = tmp_path / "ran"
    plain = torch.export.export(torch.nn.Linear(2, 2), (torch.zeros(1, 2),))
    torch.export.save(plain, tmp_path / "plain.pt2")
    _refused(tmp_path / "plain.pt2", marker, "not a NetStudio model")
    torch.jit.save(torch.jit.trace(torch.nn.Linear(2, 2), torch.zeros(1, 2)), tmp_path / "plain.pt")
    _refused(tmp_path / "plain.pt", marker, "not a NetStudio model")
    (tmp_path / "noise.onnx").write_bytes(b"\x08\x07garbage that is no protobuf")
    _refused(tmp_path / "noise.onnx", marker, "not a NetStudio model")
    (tmp_path / "notes.txt").write_text("hello")
    _refused(tmp_path / "notes.txt", marker, "not a NetStudio model")
    _refused(tmp_path / "missing.pt2", marker, "no such model file")


def test_predict_refuses_a_malicious_pickle_with_exit_2(genuine, tmp_path):
    import torch

    marker = tmp_path / "ran"
    torch.save({"weights": Payload(marker)}, tmp_path / "model.pt")
    (tmp_path / "rows.csv").write_text("x1,x2\n0.1,0.2\n")
    result = netstudio("predict", tmp_path / "model.pt", tmp_path / "rows.csv")
    assert result.returncode == 2
    assert result.stderr.startswith("netstudio: error: ") and len(result.stderr.strip().splitlines()) == 1
    assert "never unpickles" in result.stderr
    assert not marker.exists()
    assert result.stdout == ""
