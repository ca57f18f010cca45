"""Blocks (issue 19): Residual, Parallel and Repeat in the project file, validation, shapes, the
builder and every export format (.pt2, TorchScript, ONNX, safetensors, the python export's model.py)."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from torch import nn

from netstudio.core.design.blocks import MAX_LAYERS, MAX_NESTING
from netstudio.core.design.builder import build_model
from netstudio.core.design.operators import ALLOWED_OPERATORS
from netstudio.core.design.report import format_table
from netstudio.core.design.stack import LayerStack
from netstudio.core.errors import ProjectError
from netstudio.core.export import formats
from netstudio.core.export.code import model_source
from netstudio.core.export.common import METADATA_KEY
from netstudio.core.export.exporter import export_metadata
from netstudio.core.export.model import ExportedModel, OutputTransform
from netstudio.core.export.python import check_folder
from netstudio.core.project import CURRENT_VERSION, load_project, project_from_json


def conv(out, k=3, **params):
    return {"type": "Conv2d", "params": {"out_channels": out, "kernel_size": k, **params}}


def layer(kind, **params):
    return {"type": kind, "params": params}


#: One design per block kind (and the shortcut kinds), for images [3, 8, 8] or vectors [6].
DESIGNS = {
    "residual-identity": ((3, 8, 8), [
        conv(4, padding=1),
        {"type": "Residual", "params": {"shortcut": "auto"}, "layers": [conv(4, padding=1), layer("BatchNorm2d"),
                                                                          layer("ReLU")]},
        layer("Flatten"), layer("Linear", out_features="auto")]),
    "residual-projection": ((3, 8, 8), [
        {"type": "Residual", "params": {"shortcut": "auto"}, "layers": [conv(6, padding=1, stride=2), layer("ReLU")]},
        {"type": "Residual", "params": {"shortcut": "projection"}, "layers": [conv(6, padding=1)]},
        layer("Flatten"), layer("Linear", out_features="auto")]),
    "residual-vector": ((6,), [
        {"type": "Residual", "params": {"shortcut": "auto"}, "layers": [layer("Linear", out_features=5), layer("Tanh")]},
        layer("Linear", out_features="auto")]),
    "parallel-concat": ((3, 8, 8), [
        {"type": "Parallel", "params": {"merge": "concat"},
         "branches": [[conv(4, k=1)], [conv(2, padding=1), layer("ReLU")], []]},
        layer("AdaptiveAvgPool2d", output_size=2), layer("Flatten"), layer("Linear", out_features="auto")]),
    "parallel-add": ((6,), [
        {"type": "Parallel", "params": {"merge": "add"},
         "branches": [[layer("Linear", out_features=6)], [layer("Linear", out_features=6), layer("ReLU")], []]},
        layer("Linear", out_features="auto")]),
    "repeat": ((6,), [
        {"type": "Repeat", "params": {"times": 3}, "layers": [layer("Linear", out_features=4), layer("ReLU")]},
        layer("Linear", out_features="auto")]),
    "nested": ((3, 8, 8), [
        {"type": "Repeat", "params": {"times": 2}, "layers": [
            {"type": "Residual", "params": {"shortcut": "auto"}, "layers": [
                {"type": "Parallel", "params": {"merge": "concat"},
                 "branches": [[conv(2, padding=1)], [conv(2, k=1)]]},
                layer("BatchNorm2d")]}]},
        layer("Flatten"), layer("Linear", out_features="auto")]),
}


def stack_of(name):
    shape, layers = DESIGNS[name]
    return shape, LayerStack.from_config(copy.deepcopy(layers))


def torch_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# -- project file -----------------------------------------------------------------------------------


def project_doc(layers, version=CURRENT_VERSION):
    return {"format": "netstudio-project", "version": version, "name": "b",
            "data": {"source": "synthetic", "kind": "moons"}, "model": {"layers": layers}}


@pytest.mark.parametrize("name", list(DESIGNS))
def test_every_block_round_trips_through_the_project_file(name, tmp_path):
    layers = copy.deepcopy(DESIGNS[name][1])
    layers[0]["note"] = "kept"  # unknown keys stay, on blocks too
    project = project_from_json(project_doc(layers))
    project.save(tmp_path / "p.nsproj")
    saved = json.loads((tmp_path / "p.nsproj").read_text())
    assert saved["version"] == 2 and saved["model"]["layers"][0]["note"] == "kept"
    again = load_project(tmp_path / "p.nsproj")
    assert again.stack.to_config() == project.stack.to_config()
    assert json.loads((tmp_path / "p.nsproj").read_text()) == saved


def test_a_version_1_file_loads_unchanged_and_saves_as_version_2(tmp_path):
    layers = [layer("Linear", out_features=8), layer("ReLU"), layer("Linear", out_features="auto")]
    (tmp_path / "old.nsproj").write_text(json.dumps(project_doc(layers, version=1)), encoding="utf-8")
    project = load_project(tmp_path / "old.nsproj")
    before = build_model(project.stack, (2,), 2, seed=0)
    project.save(tmp_path / "old.nsproj", overwrite_newer=True)
    saved = json.loads((tmp_path / "old.nsproj").read_text())
    assert saved["version"] == 2
    after = build_model(load_project(tmp_path / "old.nsproj").stack, (2,), 2, seed=0)
    assert [k for k in before.state_dict()] == [k for k in after.state_dict()] == [
        "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert all(torch.equal(a, b) for a, b in zip(before.state_dict().values(), after.state_dict().values()))


@pytest.mark.parametrize("bad, message", [
    ({"type": "Residual", "params": {}, "layers": [{"type": "Conv9d"}]}, r"model\.layers\[0\]\.layers\[0\]\.type"),
    ({"type": "Parallel", "params": {}, "branches": [[], [{"type": "Linear", "params": {"out_features": -1}}]]},
     r"model\.layers\[0\]\.branches\[1\]\[0\]\.params\.out_features"),
    ({"type": "Parallel", "params": {}, "branches": "x"}, r"model\.layers\[0\]\.branches"),
    ({"type": "Repeat", "params": {"times": 0}, "layers": []}, r"model\.layers\[0\]\.params\.times"),
])
def test_a_bad_block_is_a_one_line_error_at_its_path(bad, message):
    with pytest.raises(ProjectError, match=message):
        project_from_json(project_doc([bad]))


def test_nesting_past_the_limit_is_a_clear_error_not_a_recursion_error():
    inner: dict = layer("ReLU")
    for _ in range(MAX_NESTING + 1):
        inner = {"type": "Residual", "params": {}, "layers": [inner]}
    with pytest.raises(ProjectError, match=f"more than {MAX_NESTING}"):
        project_from_json(project_doc([inner]))


def test_too_many_layers_is_an_issue_of_the_design_not_an_exception():
    stack = LayerStack.from_config([{"type": "Repeat", "params": {"times": MAX_LAYERS}, "layers": [
        {"type": "Repeat", "params": {"times": MAX_LAYERS}, "layers": [layer("ReLU")]}]}])
    validation = stack.validate((4,))
    assert not validation.valid and f"more than {MAX_LAYERS:,} layers" in validation.first_error()


# -- validation and shapes --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(DESIGNS))
def test_shapes_and_parameter_counts_inside_blocks_equal_torchs(name):
    shape, stack = stack_of(name)
    validation = stack.validate(shape, 3)
    assert validation.valid, validation.first_error()
    net = build_model(stack, shape, 3, seed=0)
    assert validation.total_parameters == torch_parameters(net)
    x = torch.randn(2, *shape)
    for result, (_, module) in zip(validation.layers, net.named_children()):
        x = module.eval()(x)
        assert tuple(x.shape[1:]) == result.output_shape, result.type
        assert result.parameters == torch_parameters(module), result.type
    for result in validation.walk():  # the tree's own entries have their parameters and shapes too
        assert result.output_shape is not None


def test_builder_names_read_like_hand_written_pytorch():
    shape, stack = stack_of("residual-projection")
    keys = list(build_model(stack, shape, 3, seed=0).state_dict())
    assert "res1.body.conv1.weight" in keys and "res1.shortcut.0.weight" in keys
    assert "res2.shortcut.1.running_mean" in keys
    shape, stack = stack_of("repeat")
    keys = list(build_model(stack, shape, 3, seed=0).state_dict())
    assert keys[:4] == ["repeat1.copy1.fc1.weight", "repeat1.copy1.fc1.bias", "repeat1.copy2.fc1.weight",
                        "repeat1.copy2.fc1.bias"]


def test_a_concat_mismatch_names_the_branch_and_offers_the_padding_fix():
    stack = LayerStack.from_config([{"type": "Parallel", "params": {"merge": "concat"},
                                     "branches": [[conv(8, padding=1)], [conv(8)]]}])
    validation = stack.validate((3, 16, 16))
    (index, issue), = validation.errors()
    assert index == 0
    assert issue.message == ("branches give [8, 16, 16] and [8, 14, 14]: concat needs equal sizes except channels "
                             "(branch 2 differs) — add padding=1 to the Conv2d in branch 2")
    assert issue.fix.path == (1, 0) and issue.fix.param == "padding" and issue.fix.value == 1
    from netstudio.core.design.stack import fixed_block

    fixed = LayerStack([fixed_block(stack[0], issue.fix)])
    assert fixed.validate((3, 16, 16)).valid


def test_an_issue_inside_a_block_is_reported_at_its_path():
    stack = LayerStack.from_config([{"type": "Residual", "params": {}, "layers": [
        layer("Linear", out_features=4), {"type": "Conv2d", "params": {"out_channels": 2, "kernel_size": 3}}]}])
    validation = stack.validate((6,))
    assert not validation.valid
    entry = validation.to_json()["layers"][0]
    assert entry["path"] == "model.layers[0]" and entry["layers"][1]["path"] == "model.layers[0].layers[1]"
    assert entry["layers"][1]["issues"][0]["severity"] == "error"
    assert "model.layers[0].layers[1] (Conv2d)" in format_table("t", validation)


def test_the_summary_json_has_layers_and_branches_as_the_contract_says():
    shape, stack = stack_of("parallel-concat")
    doc = stack.validate(shape, 3).to_json()
    block = doc["layers"][0]
    assert block["type"] == "Parallel" and len(block["branches"]) == 3 and block["branches"][2] == []
    assert block["branches"][1][1]["path"] == "model.layers[0].branches[1][1]"
    assert block["output_shape"] == [9, 8, 8]
    assert block["parameters"] == sum(e["parameters"] for b in block["branches"] for e in b)


def test_the_summary_table_indents_the_tree():
    shape, stack = stack_of("nested")
    text = format_table("t", stack.validate(shape, 3))
    lines = text.splitlines()
    assert any(line.startswith("1  Repeat") for line in lines)
    assert any("    1. Residual" in line for line in lines)
    assert any("branch 2" in line for line in lines)


def test_resnet18_for_cifar_has_torchs_parameter_count():
    """A ResNet-18-shaped design (3x3 stem, four stages of two basic blocks) against the same network
    written by hand in torch: 11,173,962 parameters for 10 classes."""
    stack = LayerStack.from_config(resnet18_layers())
    validation = stack.validate((3, 32, 32), 10)
    assert validation.valid, validation.first_error()
    assert validation.total_parameters == torch_parameters(hand_written_resnet18()) == 11_173_962


def resnet18_layers() -> list[dict]:
    layers = [conv(64, padding=1, bias=False), layer("BatchNorm2d"), layer("ReLU")]
    for stage, width in enumerate((64, 128, 256, 512)):
        for block in range(2):
            stride = 2 if stage and not block else 1
            layers.append({"type": "Residual", "params": {"shortcut": "auto"}, "layers": [
                conv(width, padding=1, stride=stride, bias=False), layer("BatchNorm2d"), layer("ReLU"),
                conv(width, padding=1, bias=False), layer("BatchNorm2d")]})
            layers.append(layer("ReLU"))
    return layers + [layer("AdaptiveAvgPool2d", output_size=1), layer("Flatten"), layer("Linear", out_features="auto")]


def hand_written_resnet18() -> nn.Module:
    class Basic(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.down = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                         if stride != 1 or cin != cout else nn.Identity())

        def forward(self, x):
            return torch.relu(self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))) + self.down(x))

    blocks, cin = [], 64
    for stage, width in enumerate((64, 128, 256, 512)):
        for block in range(2):
            blocks.append(Basic(cin, width, 2 if stage and not block else 1))
            cin = width
    return nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(), *blocks,
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 10))


# -- export -----------------------------------------------------------------------------------------


def exported(name):
    shape, stack = stack_of(name)
    net = build_model(stack, shape, 3, seed=0)
    with torch.no_grad():  # non-trivial weights and statistics
        for p in net.parameters():
            p.add_(torch.rand_like(p) * 0.1)
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
    for p in net.parameters():
        p.requires_grad_(False)
    metadata = {"name": name, "task": "multiclass", "classes": ["a", "b", "c"], "input_shape": list(shape),
                "output_transform": "softmax", "preprocessing": None, "layers": stack.to_config(),
                "torch_version": torch.__version__}
    types = [spec.type for spec in stack]
    model = ExportedModel(net.eval(), None, OutputTransform("softmax", "multiclass"), shape, types).eval()
    torch.manual_seed(1)
    return model, metadata, torch.randn(5, *shape).numpy(), stack.validate(shape, 3)


@pytest.mark.parametrize("name", list(DESIGNS))
def test_every_block_exports_to_every_format_with_parity(name, tmp_path):
    model, metadata, inputs, validation = exported(name)
    for fmt, writer in (("pt2", formats.write_pt2), ("torchscript", formats.write_torchscript),
                        ("onnx", formats.write_onnx), ("safetensors", formats.write_safetensors)):
        result = writer(model, export_metadata(metadata, fmt), tmp_path / f"model.{fmt}", inputs)
        assert result.parity_max_abs_diff is not None and result.parity_max_abs_diff <= 1e-4, (fmt, result)
    from tests.core.test_operators import pt2_operators, torchscript_operators

    called = pt2_operators((tmp_path / "model.pt2").read_bytes()) | torchscript_operators(
        (tmp_path / "model.torchscript").read_bytes())
    assert called <= ALLOWED_OPERATORS, sorted(called - ALLOWED_OPERATORS)
    folder = tmp_path / "python"
    folder.mkdir()
    source = model_source(model, export_metadata(metadata, "python"), list(validation.layers))
    (folder / "model.py").write_text(source, encoding="utf-8")
    from safetensors.torch import save_file

    save_file(formats.state_tensors(model), str(folder / "weights.safetensors"), metadata={METADATA_KEY: "{}"})
    assert check_folder(model, folder, inputs) <= 1e-4
    assert "netstudio" not in source.split('"""', 2)[2].lower().replace("netstudio model", "")


def test_the_python_export_writes_blocks_as_small_classes():
    model, metadata, _, validation = exported("residual-projection")
    source = model_source(model, export_metadata(metadata, "python"), list(validation.layers))
    assert "class Res1(nn.Module):" in source and "class Res1Body(nn.Module):" in source
    assert "        self.body = Res1Body()" in source
    assert "        return self.body(x) + self.shortcut(x)" in source
    assert "self.shortcut = nn.Sequential(nn.Conv2d(3, 6, 1, stride=2, bias=False), nn.BatchNorm2d(6))" in source
    assert "        self.res1 = Res1()" in source and "class Residual(" not in source
    model, metadata, _, validation = exported("repeat")
    source = model_source(model, export_metadata(metadata, "python"), list(validation.layers))
    # copies that see other input sizes get their own class; equal ones share it
    assert "self.copy1 = Repeat1Copy1()" in source and "self.copy3 = Repeat1Copy2()" in source
    model, metadata, _, validation = exported("parallel-concat")
    source = model_source(model, export_metadata(metadata, "python"), list(validation.layers))
    assert "torch.cat([branch(x) for branch in self.branches], dim=1)" in source
    assert "nn.ModuleList([Parallel1Branch1(), Parallel1Branch2(), nn.Identity()])" in source


def test_with_three_branches_the_fix_changes_the_odd_one_out():
    stack = LayerStack.from_config([{"type": "Parallel", "params": {"merge": "concat"},
                                     "branches": [[conv(4)], [conv(2, padding=1)], []]}])
    validation = stack.validate((3, 8, 8))
    issue = validation.row_issues(0)[0]
    assert issue.message.endswith("add padding=1 to the Conv2d in branch 1") and issue.fix.path == (0, 0)
    from netstudio.core.design.stack import fixed_block

    assert LayerStack([fixed_block(stack[0], issue.fix)]).validate((3, 8, 8)).valid
