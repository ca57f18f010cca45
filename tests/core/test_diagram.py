"""The design's diagram (issue 21): its nodes are the design's layers, inside blocks too, its
edges carry the shapes validate() gives, drops on edges name the right insert path, and the SVG
parses and names every layer."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from netstudio.core.design import paths
from netstudio.core.design.diagram import layout_diagram, shape_text
from netstudio.core.design.diagram_svg import THEMES, diagram_svg
from netstudio.core.design.results import Issue
from netstudio.core.design.stack import LayerSpec, LayerStack

SVG = "{http://www.w3.org/2000/svg}"


def conv(out, k=3, **params):
    return {"type": "Conv2d", "params": {"out_channels": out, "kernel_size": k, **params}}


def layer(kind, **params):
    return {"type": kind, "params": params}


#: Every kind of block, nested, with an empty branch and a projection shortcut.
MIXED = [
    conv(8, padding=1),
    {"type": "Residual", "params": {"shortcut": "auto"}, "layers": [conv(8, padding=1), layer("ReLU")]},
    {"type": "Parallel", "params": {"merge": "concat"},
     "branches": [[conv(4, padding=1)], [], [conv(4, k=1), layer("ReLU")]]},
    {"type": "Repeat", "params": {"times": 3}, "layers": [
        {"type": "Residual", "params": {"shortcut": "auto"}, "layers": [conv(16, padding=1, stride=2)]}]},
    layer("Flatten"),
    {"type": "Parallel", "params": {"merge": "add"}, "branches": [[layer("Linear", out_features=6)],
                                                                   [layer("Linear", out_features=6)]]},
    layer("Linear", out_features=3),
]


def all_paths(specs, prefix=()):
    found = []
    for index, spec in enumerate(specs):
        path = prefix + (index,)
        found.append(path)
        for number, child in enumerate(spec.children):
            found += all_paths(child, path + (number,))
    return found


def diagram_of(config, shape=(3, 8, 8)):
    stack = LayerStack.from_config(config)
    validation = stack.validate(shape)
    return stack, validation, layout_diagram(stack, validation)


def test_the_nodes_are_the_design_layers_in_tree_order():
    stack, validation, diagram = diagram_of(MIXED)
    nodes = diagram.layer_nodes()
    assert [n.path for n in nodes] == all_paths(stack.layers)
    assert [n.type for n in nodes] == [stack.node(p).type for p in all_paths(stack.layers)]
    results = {r.path: r for r in validation.walk()}
    for node in nodes:
        assert node.parameters == results[node.path].parameters
        assert node.path_text == stack.path_text(node.path)
    assert sum(n.parameters for n in nodes if len(n.path) == 1) == validation.total_parameters


def test_every_edge_carries_the_shape_validate_gives():
    stack, validation, diagram = diagram_of(MIXED)
    results = {r.path: r for r in validation.walk()}
    exits = {}  # node key -> the result whose output leaves it
    for node in diagram.nodes:
        if node.kind == "layer" or node.kind in ("merge", "repeat"):
            exits[node.key] = results[node.path]
    flows = [e for e in diagram.edges if e.kind == "flow"]
    for edge in flows:
        if edge.source == "input":
            assert edge.label == shape_text(validation.input_shape)
        elif edge.source.endswith(".fork"):  # into a block's inner list: the block's input
            fork = next(n for n in diagram.nodes if n.key == edge.source)
            block = results[fork.path]
            assert edge.label == shape_text(block.input_shape)
        else:
            assert edge.label == shape_text(exits[edge.source].output_shape), edge
    # an edge leaves every layer and every block
    sources = {e.source for e in flows}
    assert all(key in sources for key in exits)
    assert [e for e in flows if e.target == "output"][0].label == shape_text(validation.output_shape)
    assert shape_text(validation.output_shape) == "3"
    # the skip edges say which shortcut the validation chose; the Repeat loops
    skips = [e for e in diagram.edges if e.kind == "skip"]
    assert sorted(e.label for e in skips) == ["identity", "projection"]
    assert [e.label for e in diagram.edges if e.kind == "loop"] == ["× 3"]


def test_a_layer_dropped_on_any_edge_lands_between_its_two_ends():
    stack, _, diagram = diagram_of(MIXED)
    flows = [e for e in diagram.edges if e.kind == "flow"]
    assert all(e.insert_path is not None for e in flows)
    assert len({e.insert_path for e in flows}) == len(flows)
    for edge in flows:
        specs = [spec.copy() for spec in stack.layers]
        marker = LayerSpec.create("Identity")
        paths.insert_node(specs, edge.insert_path, marker)
        assert paths.path_of(specs, marker) == edge.insert_path
        target = next(n for n in diagram.nodes if n.key == edge.target)
        if target.kind in ("layer", "fork"):  # the layer or block the edge led to comes right after
            assert paths.node_at(specs, edge.insert_path[:-1] + (edge.insert_path[-1] + 1,)).type == target.type


def test_errors_and_warnings_colour_their_nodes():
    config = [layer("Linear", out_features=4), conv(4),
              {"type": "Residual", "params": {}, "layers": []}]
    _, validation, diagram = diagram_of(config, (6,))
    by_path = {n.path: n for n in diagram.layer_nodes()}
    assert by_path[(1,)].status == "error" and by_path[(1,)].message
    assert by_path[(1,)].message in by_path[(1,)].tooltip()
    assert by_path[(2,)].status == "warning"
    # after the error the shapes are unknown
    assert [e.label for e in diagram.edges_from("n1")] == ["?"]


def test_an_empty_design_is_input_to_output():
    _, _, diagram = diagram_of([], (4,))
    assert [n.kind for n in diagram.nodes] == ["input", "output"]
    assert diagram.nodes[0].status == "error"
    assert [(e.source, e.target, e.insert_path) for e in diagram.edges] == [("input", "output", (0,))]


def test_branches_sit_side_by_side_and_series_top_to_bottom():
    _, _, diagram = diagram_of(MIXED)
    node = {n.path: n for n in diagram.layer_nodes()}
    first, second = node[(2, 0, 0)], node[(2, 2, 0)]
    assert first.y == second.y and first.x + first.width < second.x
    assert node[(2, 2, 0)].y + node[(2, 2, 0)].height < node[(2, 2, 1)].y
    block = node[(2,)]
    for inner in (first, second, node[(2, 2, 1)]):
        assert block.x < inner.x and inner.x + inner.width < block.x + block.width
        assert block.y < inner.y and inner.y + inner.height < block.y + block.height
    tops = [node[(i,)].y for i in range(len(MIXED))]
    assert tops == sorted(tops)
    assert all(0 <= n.x and n.x + n.width <= diagram.width and n.y + n.height <= diagram.height
               for n in diagram.nodes)


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_the_svg_parses_and_names_every_layer(theme):
    config = MIXED + [{"type": "Residual", "params": {}, "layers": [layer("Identity")]}]
    stack, _, diagram = diagram_of(config)
    text = diagram_svg(diagram, theme, width=400)
    root = ET.fromstring(text)
    assert root.get("width") == "400"
    groups = [g for g in root.iter(f"{SVG}g") if g.get("class") in ("layer", "block")]
    named = {g.get("data-path"): "".join(g.itertext()) for g in groups}
    assert len(named) == len(groups)
    assert sorted(named) == sorted(stack.path_text(p) for p in all_paths(stack.layers))
    for path in all_paths(stack.layers):
        assert stack.node(path).type in named[stack.path_text(path)]
    assert THEMES[theme]["background"] in text


def test_svg_text_is_escaped():
    stack, validation, _ = diagram_of([layer("Linear", out_features=4)], (4,))
    validation.layers[0].issues.append(Issue("warning", 'a <b> & "c"'))
    diagram = layout_diagram(stack, validation)
    text = diagram_svg(diagram)
    ET.fromstring(text)
    assert 'a <b>' not in text and "a &lt;b&gt; &amp;" in text


def test_an_unknown_theme_is_refused():
    _, _, diagram = diagram_of([layer("ReLU")], (4,))
    with pytest.raises(ValueError, match="unknown theme"):
        diagram_svg(diagram, "sepia")


def test_a_drop_finds_the_nearest_edge_or_the_end_of_the_frame_under_it():
    _, _, diagram = diagram_of(MIXED)
    for edge in (e for e in diagram.edges if e.insert_path is not None):
        (ax, ay), (bx, by) = edge.points[-2], edge.points[-1]
        assert diagram.drop_target((ax + bx) / 2 + 3, (ay + by) / 2).insert_path == edge.insert_path
    residual = diagram.node_for((1,))
    # inside the Residual's frame, away from its edges: the end of its layers
    target = diagram.drop_target(residual.x + 6, residual.y + residual.height - 6)
    assert target.insert_path == (1, 0, 2)
    parallel = diagram.node_for((2,))
    left = diagram.drop_target(parallel.x + 6, parallel.y + parallel.height - 6)
    right = diagram.drop_target(parallel.x + parallel.width - 6, parallel.y + parallel.height - 6)
    assert (left.insert_path, right.insert_path) == ((2, 0, 1), (2, 2, 2))
    assert diagram.drop_target(1, 1) is None
