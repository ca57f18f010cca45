"""``netstudio diagram`` in a subprocess: an SVG that parses and names every layer (blocks too),
a PNG of the requested width, one-line errors for a bad project or file name."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from netstudio.core.design.stack import LayerStack
from tests.cli.test_summary_cli import netstudio
from tests.core.test_diagram import MIXED, all_paths
from tests.core.test_project import CONTRACT_EXAMPLE


@pytest.fixture
def project_file(tmp_path):
    doc = copy.deepcopy(CONTRACT_EXAMPLE)
    doc["data"] = None
    doc["model"] = {"layers": MIXED, "input_shape": [3, 8, 8]}
    path = tmp_path / "mixed.nsproj"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_the_svg_names_every_layer(project_file, tmp_path):
    out = tmp_path / "net.svg"
    result = netstudio("diagram", project_file, "--out", out, "--theme", "dark")
    assert result.returncode == 0, result.stderr
    stack = LayerStack.from_config(MIXED)
    root = ET.parse(out).getroot()
    named = {g.get("data-path"): "".join(g.itertext()) for g in root.iter("{http://www.w3.org/2000/svg}g")
             if g.get("class") in ("layer", "block")}
    assert sorted(named) == sorted(stack.path_text(p) for p in all_paths(stack.layers))
    for path in all_paths(stack.layers):
        assert stack.node(path).type in named[stack.path_text(path)]
    assert "3×8×8" in out.read_text(encoding="utf-8")  # the stored input shape was used
    assert f"{len(all_paths(stack.layers))} layers" in result.stdout


def test_the_png_has_the_requested_width(project_file, tmp_path):
    out = tmp_path / "net.png"
    result = netstudio("diagram", project_file, "--out", out, "--width", "320")
    assert result.returncode == 0, result.stderr
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width == 320 and image.height > 320
        # drawn, not blank: the background and the node colours both appear
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 16) or []) > 10


@pytest.mark.parametrize(("args", "message"), [
    (["missing.nsproj", "--out", "{tmp}/x.svg"], "no such project file"),
    (["{project}", "--out", "{tmp}/x.pdf"], "give a .svg or .png file name"),
    (["{project}", "--out", "{tmp}/none/x.svg"], "does not exist"),
    (["{project}", "--out", "{tmp}/x.png", "--width", "0"], "not a positive integer"),
    (["{project}", "--out", "{tmp}/x.svg", "--theme", "sepia"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(project_file, tmp_path, args, message):
    args = [a.format(tmp=tmp_path, project=project_file) for a in args]
    result = netstudio("diagram", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("netstudio: error:")
    assert message in result.stderr
