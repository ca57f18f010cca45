"""Model files are untrusted: nothing that would run code when loaded gets loaded.

Each attack writes a marker file if its payload ever runs; the test asserts the loader refuses the
file with a clear ExportError and that the marker was not created. The same for what a model could
do besides computing (operators off the allow-list, in any TorchScript method; objects; hooks) and
for sizes the archive's own records do not account for. ``tests/reliability/test_model_attacks.py``
runs the heavier attacks (files written, zip bombs) through ``netstudio predict`` under a memory
limit.
"""

from __future__ import annotations

import io
import json
import pickle
import re
import zipfile
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from netstudio.core.errors import ExportError
from netstudio.core.export.safe_load import load_model_bytes, load_model_file
from tests.core.test_export_support import MLP, netstudio, train_run
from tests.reliability import hostile_models as hostile
from tests.reliability.hostile_models import Payload

# The module fixture (a trained run) is built once: every test of this file runs in the same
# xdist process.
pytestmark = pytest.mark.xdist_group("test_export_security")


@pytest.fixture(scope="module")
def genuine(tmp_path_factory) -> Path:
    """A real run folder (its model.pt2 and model.onnx are the bases of the crafted files)."""
    folder = tmp_path_factory.mktemp("genuine")
    return train_run(folder, "moons", {"source": "synthetic", "kind": "moons", "samples": 120}, MLP,
                     {"epochs": 1}, onnx=True)


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
                       {"data/sample_inputs/model.pt": hostile.pickled_payload(marker)})
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
                        f"data/weights/{weight}": hostile.pickled_payload(marker)})
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


# -- TorchScript: every method, every attribute ------------------------------------------------------


class Spill(nn.Module):
    """Computes nothing in forward; another method maps a file (predict never calls it)."""

    def forward(self, x: Tensor) -> Tensor:
        return x

    @torch.jit.export
    def spill(self) -> Tensor:
        return torch.from_file("spilled", True, 16)


@torch.jit.script
class Box:
    def __init__(self, value: Tensor) -> None:
        self.value = value


class Holder(nn.Module):
    """Holds an object of a TorchScript class (not a tensor, a plain value or a submodule)."""

    def __init__(self) -> None:
        super().__init__()
        self.box = Box(torch.zeros(1))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.box.value


class Hooked(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x


def _pass_inputs(module: Hooked, inputs: tuple[Tensor]) -> tuple[Tensor]:
    return inputs


def _hooked() -> nn.Module:
    module = Hooked()
    module.register_forward_pre_hook(_pass_inputs)
    return module


def _torchscript_with(genuine: Path, extra: nn.Module) -> bytes:
    """The genuine model plus *extra* (scripted), traced and saved with its metadata as NetStudio does."""
    from netstudio.core.export import formats as export_formats

    model, metadata = hostile._model_with(genuine, torch.jit.script(extra))
    traced = export_formats._trace(model, export_formats.example_input(model))
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer, _extra_files={"netstudio.json": hostile._metadata(metadata, "torchscript")})
    return buffer.getvalue()


@pytest.mark.parametrize("extra, words", [
    (Spill, "the TorchScript model calls aten::from_file (in net.extra.spill), which a NetStudio model never does"),
    (Holder, "holds an object of type"),
    (_hooked, "net.extra of the TorchScript model has forward hooks"),
], ids=["another-method", "object-attribute", "forward-hook"])
def test_torchscript_methods_attributes_and_hooks_are_checked(genuine, extra, words):
    data = _torchscript_with(genuine, extra())
    with pytest.raises(ExportError, match=re.escape(words)) as info:
        load_model_bytes(data, "model.pt")
    assert "\n" not in str(info.value)


def test_torchscript_records_build_only_the_archives_own_module_classes(genuine, tmp_path):
    from netstudio.core.export.exporter import export_run

    data = export_run(genuine, "torchscript", tmp_path / "model.pt").path.read_bytes()
    # a module class's GLOBAL (its name may be mangled, after other models in this process)
    crafted = hostile.swap(data, "/data.pkl", lambda body: re.sub(
        rb"c__torch__\.torch\.nn\.modules\.activation[^\n]*\nReLU\n",
        b"c__torch__.torch.classes.quantized\nLinearPackedParamsBase\n", body, count=1))
    assert b"LinearPackedParamsBase" in crafted
    with pytest.raises(ExportError, match="data.pkl builds __torch__.torch.classes.quantized.LinearPackedParamsBase"):
        load_model_bytes(crafted, "model.pt")


# -- sizes: tensor data exactly as large as its records say; the file's bytes accounted for ---------


def test_tensor_data_longer_than_its_records_declare_is_refused(genuine, tmp_path):
    from netstudio.core.export.exporter import export_run

    pt = export_run(genuine, "torchscript", tmp_path / "model.pt").path.read_bytes()
    with pytest.raises(ExportError, match="tensor data '0' is 12 bytes, longer than the 8 its record declares"):
        load_model_bytes(hostile.swap(pt, "/data/0", lambda body: body + bytes(4)), "model.pt")
    pt2 = (genuine / "model.pt2").read_bytes()
    with pytest.raises(ExportError, match="tensor data weight_0 is 132 bytes but its tensors need 128 bytes"):
        load_model_bytes(hostile.swap(pt2, "data/weights/weight_0", lambda body: body + bytes(4)), "model.pt2")


def test_members_that_share_their_bytes_are_refused():
    from netstudio.core.export.bounds import check_layout

    data = hostile.zip_archive([("archive/a", bytes(1000)), ("archive/b", bytes(10))])
    archive = zipfile.ZipFile(io.BytesIO(data))
    check_layout(archive, len(data), "model.pt2")
    archive.infolist()[1].compress_size = 1000  # b claims a's bytes too
    with pytest.raises(ExportError, match="members that share their bytes"):
        check_layout(archive, len(data), "model.pt2")


# -- ONNX: weights inside the file, standard operators --------------------------------------------------


def test_onnx_models_reading_other_files_or_calling_custom_operators_are_refused(genuine):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    original = (genuine / "model.onnx").read_bytes()

    model = onnx.load_model_from_string(original)
    tensor = max(model.graph.initializer, key=lambda t: len(t.raw_data))
    tensor.ClearField("raw_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value="/etc/passwd")
    with pytest.raises(ExportError, match="reads its weights from other files"):
        load_model_bytes(model.SerializeToString(), "model.onnx")

    model = onnx.load_model_from_string(original)
    model.graph.node[0].domain = "com.microsoft"
    with pytest.raises(ExportError, match=f"calls com.microsoft::{model.graph.node[0].op_type}"):
        load_model_bytes(model.SerializeToString(), "model.onnx")
