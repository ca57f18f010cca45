"""The stack model mirrors the core LayerStack; drops, moves, fixes and undo go through the Design."""

import pytest
from PySide6.QtCore import QMimeData, QModelIndex, QPoint, Qt, QUrl
from PySide6.QtTest import QAbstractItemModelTester, QTest

from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.ui.designer.design import Design
from netstudio.ui.designer.palette import LayerPaletteModel
from netstudio.ui.designer.stack_editor import StackEditor
from netstudio.ui.designer.stack_model import (
    FIX,
    FIX_ROLE,
    ISSUES_ROLE,
    LAYER_MIME,
    OUTPUT,
    PARAMETERS,
    SETTINGS,
    SEVERITY_ROLE,
    LayerStackModel,
)
from netstudio.ui.theme import issue_colours

COPY, MOVE = Qt.DropAction.CopyAction, Qt.DropAction.MoveAction


def types(design):
    return [spec.type for spec in design.stack]


def letters_design(n=5):
    """A stack whose layers are told apart by their out_features: 1, 2, 3..."""
    return Design(LayerStack([LayerSpec.create("Linear", out_features=i + 1) for i in range(n)]), (4,))


def order(design):
    return [spec.params["out_features"] for spec in design.stack]


@pytest.fixture
def model(design):
    model = LayerStackModel(design)
    model.tester = QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Warning)
    return model


def palette_mime(palette, name):
    return palette.mimeData([palette.type_index(name)])


def test_rows_mirror_the_stack(model, design):
    assert model.rowCount() == 4 and model.columnCount() == 5
    assert model.index(0, 0).data() == "Input" and model.index(0, OUTPUT).data() == "[4]"
    assert [model.index(r, 0).data() for r in range(1, 4)] == ["Linear", "ReLU", "Linear"]
    assert model.index(1, SETTINGS).data() == "8 units"
    assert model.index(1, OUTPUT).data() == "[8]"
    assert model.index(1, PARAMETERS).data() == "40"  # 4 × 8 weights + 8 biases
    assert model.index(3, OUTPUT).data() == "[2]"
    design.stack.append(LayerSpec.create("Softmax"))  # a direct core edit shows up too
    assert model.rowCount() == 5 and model.index(4, 0).data() == "Softmax"
    design.stack.remove(0)
    assert [model.index(r, 0).data() for r in range(1, model.rowCount())] == ["ReLU", "Linear", "Softmax"]


@pytest.mark.parametrize("row, expected", [
    (0, ["Dropout", "Linear", "ReLU", "Linear"]),   # above the input row: still the first layer
    (1, ["Dropout", "Linear", "ReLU", "Linear"]),
    (2, ["Linear", "Dropout", "ReLU", "Linear"]),
    (3, ["Linear", "ReLU", "Dropout", "Linear"]),
    (4, ["Linear", "ReLU", "Linear", "Dropout"]),
    (-1, ["Linear", "ReLU", "Linear", "Dropout"]),  # on the empty area below the rows
])
def test_palette_drop_inserts_at_the_indicated_row(model, design, row, expected):
    palette = LayerPaletteModel()
    mime = palette_mime(palette, "Dropout")
    assert LAYER_MIME in mime.formats()
    assert model.canDropMimeData(mime, COPY, row, 0, QModelIndex())
    assert model.dropMimeData(mime, COPY, row, 0, QModelIndex())
    assert types(design) == expected
    assert model.rowCount() == 5
    assert model.index(expected.index("Dropout") + 1, 0).data() == "Dropout"
    design.undo_stack.undo()
    assert types(design) == ["Linear", "ReLU", "Linear"]


def test_several_drops_then_undo_all(model, design):
    palette = LayerPaletteModel()
    original = design.stack.to_config()
    model.dropMimeData(palette_mime(palette, "BatchNorm1d"), COPY, 2, 0, QModelIndex())
    model.dropMimeData(palette_mime(palette, "Dropout"), COPY, -1, 0, QModelIndex())
    model.dropMimeData(palette_mime(palette, "Identity"), COPY, 1, 0, QModelIndex())
    assert types(design) == ["Identity", "Linear", "BatchNorm1d", "ReLU", "Linear", "Dropout"]
    assert design.stack[5].params == {"p": 0.5}  # dropped layers carry their defaults
    while design.undo_stack.canUndo():
        design.undo_stack.undo()
    assert design.stack.to_config() == original


#: (layers dragged, row dropped at, resulting order): shared by the model test and the design test.
MOVES = [
    ([0], 3, [2, 1, 3, 4, 5]),
    ([4], 1, [5, 1, 2, 3, 4]),
    ([1, 3], -1, [1, 3, 5, 2, 4]),
    ([0, 1], 6, [3, 4, 5, 1, 2]),
    ([2, 4], 2, [1, 3, 5, 2, 4]),
    ([3], 0, [4, 1, 2, 3, 5]),
]


@pytest.mark.parametrize("dragged, row, expected", MOVES)
def test_move_action_reorders(qapp, dragged, row, expected):
    design = letters_design()
    model = LayerStackModel(design)
    QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Warning)
    original = design.stack.to_config()
    mime = model.mimeData([model.index(i + 1, 0) for i in dragged])
    assert model.dropMimeData(mime, MOVE, row, 0, QModelIndex())
    assert order(design) == expected
    assert [model.index(r, SETTINGS).data() for r in range(1, 6)] == [f"{v} unit{'s' if v > 1 else ''}" for v in expected]
    assert design.undo_stack.count() == 1
    design.undo_stack.undo()
    assert design.stack.to_config() == original
    design.undo_stack.redo()
    assert order(design) == expected


@pytest.mark.parametrize("dragged, row, expected", MOVES)
def test_design_moves_match_the_model_table(qapp, dragged, row, expected):
    design = letters_design()
    destination = len(design.stack) if row < 0 else max(0, row - 1)
    design.move_layers(dragged, destination)
    assert order(design) == expected


def test_a_move_onto_itself_changes_nothing(qapp):
    design = letters_design()
    model = LayerStackModel(design)
    model.dropMimeData(model.mimeData([model.index(3, 0)]), MOVE, 3, 0, QModelIndex())
    assert order(design) == [1, 2, 3, 4, 5] and design.undo_stack.count() == 0


def test_copy_of_own_rows_duplicates_at_the_drop(qapp):
    design = letters_design(3)
    model = LayerStackModel(design)
    model.dropMimeData(model.mimeData([model.index(1, 0)]), COPY, -1, 0, QModelIndex())
    assert order(design) == [1, 2, 3, 1]
    assert design.stack[3] is not design.stack[0]


def test_a_foreign_row_move_inserts_copies(qapp):
    source, target = letters_design(2), letters_design(2)
    source_model, target_model = LayerStackModel(source), LayerStackModel(target)
    mime = source_model.mimeData([source_model.index(2, 0)])
    target_model.dropMimeData(mime, MOVE, 1, 0, QModelIndex())
    assert order(target) == [2, 1, 2] and order(source) == [1, 2]


def test_bad_drops_are_refused(model, design):
    junk = QMimeData()
    junk.setData(LAYER_MIME, b"not json")
    assert not model.dropMimeData(junk, COPY, 1, 0, QModelIndex())
    unknown = QMimeData()
    unknown.setData(LAYER_MIME, b'[{"type": "Conv9d", "params": {}}]')
    assert not model.dropMimeData(unknown, COPY, 1, 0, QModelIndex())
    text = QMimeData()
    text.setText("hello")
    assert not model.canDropMimeData(text, COPY, 1, 0, QModelIndex())
    assert types(design) == ["Linear", "ReLU", "Linear"] and design.undo_stack.count() == 0


def test_dropping_a_project_file_is_reported(model, tmp_path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "net.nsproj"))])
    dropped = []
    model.project_dropped.connect(dropped.append)
    assert model.dropMimeData(mime, COPY, 1, 0, QModelIndex())
    assert dropped == [str(tmp_path / "net.nsproj")]


def test_an_invalid_layer_exposes_its_error(qapp):
    design = Design(LayerStack([LayerSpec.create("Conv2d", out_channels=4), LayerSpec.create("Linear", out_features=3)]),
                    (1, 8, 8))
    model = LayerStackModel(design)
    bad = model.index(2, 0)
    assert bad.data(SEVERITY_ROLE) == "error"
    message = "Linear needs a flat input, got [4, 6, 6]: insert Flatten"
    assert [i.message for i in bad.data(ISSUES_ROLE)] == [message]
    assert message in bad.data(Qt.ItemDataRole.ToolTipRole)
    assert "Fix: Insert Flatten" in bad.data(Qt.ItemDataRole.ToolTipRole)
    assert bad.data(FIX_ROLE).label == "Insert Flatten"
    assert model.index(2, FIX).data() == "Insert Flatten"
    assert model.index(2, OUTPUT).data() == "?"
    assert bad.data(Qt.ItemDataRole.ForegroundRole) == issue_colours(qapp.palette())["error"]
    good = model.index(1, 0)
    assert good.data(SEVERITY_ROLE) is None and good.data(FIX_ROLE) is None
    assert "torch.nn.Conv2d" in good.data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(1, 0).data(Qt.ItemDataRole.ForegroundRole) != issue_colours(qapp.palette())["error"]


def test_a_warning_is_amber(qapp):
    design = Design(LayerStack([LayerSpec.create("Dropout", p=0.0)]), (4,))
    model = LayerStackModel(design)
    assert model.index(1, 0).data(SEVERITY_ROLE) == "warning"
    assert model.index(1, 0).data(Qt.ItemDataRole.ForegroundRole) == issue_colours(qapp.palette())["warning"]
    assert "Dropout p = 0 does nothing" in model.index(1, 0).data(Qt.ItemDataRole.ToolTipRole)


def test_the_fix_button_in_the_row_applies_the_fix_and_undoes(qtbot):
    design = Design(LayerStack([LayerSpec.create("Conv2d", out_channels=4), LayerSpec.create("Linear", out_features=3)]),
                    (1, 8, 8))
    editor = StackEditor(design)
    qtbot.addWidget(editor)
    editor.resize(900, 300)
    editor.show()
    qtbot.waitExposed(editor)
    assert not editor.view.isColumnHidden(FIX)
    rect = editor.view.visualRect(editor.model.index(2, FIX))
    QTest.mouseClick(editor.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(rect.left() + 12, rect.center().y()))
    assert types(design) == ["Conv2d", "Flatten", "Linear"]
    assert design.validation.valid
    assert editor.view.isColumnHidden(FIX)  # no fix left to offer
    assert design.undo_stack.undoText() == "Fix: Insert Flatten"
    design.undo_stack.undo()
    assert types(design) == ["Conv2d", "Linear"] and not design.validation.valid
    design.undo_stack.redo()
    assert types(design) == ["Conv2d", "Flatten", "Linear"]


@pytest.mark.parametrize("layers, shape, fixed", [
    ([("Conv2d", {"kernel_size": 5})], (1, 3, 3), {"kernel_size": 3}),
    ([("Conv2d", {})], (3, 8), None),           # replace with Conv1d
    ([("GroupNorm", {"num_groups": 4})], (6, 4, 4), {"num_groups": 3}),
])
def test_each_kind_of_fix_is_one_undo_step(qapp, layers, shape, fixed):
    design = Design(LayerStack([LayerSpec.create(t, **p) for t, p in layers]), shape)
    before = design.stack.to_config()
    fix = design.validation.layers[0].issues[0].fix
    design.apply_fix(0, fix)
    assert design.validation.valid, design.validation.first_error()
    if fixed:
        assert {k: design.stack[0].params[k] for k in fixed} == fixed
    else:
        assert design.stack[0].type == "Conv1d" and design.stack[0].params["out_channels"] == 16
    assert design.undo_stack.count() == 1
    design.undo_stack.undo()
    assert design.stack.to_config() == before


def test_undo_redo_sequences_restore_the_exact_stack(model, design):
    palette = LayerPaletteModel()
    snapshots = [design.stack.to_config()]

    def step(action):
        action()
        snapshots.append(design.stack.to_config())

    step(lambda: model.dropMimeData(palette_mime(palette, "Dropout"), COPY, 2, 0, QModelIndex()))
    step(lambda: design.set_param(1, "p", 0.25))
    step(lambda: model.dropMimeData(model.mimeData([model.index(4, 0)]), MOVE, 1, 0, QModelIndex()))
    step(lambda: design.duplicate_layers([1, 2]))
    step(lambda: design.remove_layers([0, 3]))
    step(lambda: design.set_param(0, "out_features", 5))
    step(lambda: design.move_down([0]))
    assert len({str(s) for s in snapshots}) == len(snapshots), "every step should change the stack"
    for expected in reversed(snapshots[:-1]):
        design.undo_stack.undo()
        assert design.stack.to_config() == expected
        assert [model.index(r, 0).data() for r in range(1, model.rowCount())] == [c["type"] for c in expected]
    for expected in snapshots[1:]:
        design.undo_stack.redo()
        assert design.stack.to_config() == expected


def test_layers_keep_their_identity_through_undo(design):
    first = design.stack[0]
    design.remove_layers([0])
    design.undo_stack.undo()
    assert design.stack[0] is first


def test_input_shape_change_updates_every_row_and_undoes(model, design):
    changed = []
    model.dataChanged.connect(lambda a, b, roles: changed.append((a.row(), b.row())))
    design.set_input_shape((6,), undoable=True)
    assert model.index(0, OUTPUT).data() == "[6]"
    assert model.index(1, PARAMETERS).data() == "56"  # 6 × 8 + 8
    assert (0, 3) in changed
    design.undo_stack.undo()
    assert design.input_shape == (4,) and model.index(1, PARAMETERS).data() == "40"


def test_qt_model_tester_finds_nothing_wrong(qtlog, qapp):
    """QAbstractItemModelTester checks every begin/end notification against the rows it sees."""
    design = letters_design()
    model = LayerStackModel(design)
    QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Warning)
    palette = LayerPaletteModel()
    model.dropMimeData(palette_mime(palette, "ReLU"), COPY, 3, 0, QModelIndex())
    model.dropMimeData(model.mimeData([model.index(1, 0), model.index(5, 0)]), MOVE, -1, 0, QModelIndex())
    design.move_up([3])
    design.remove_layers([0, 2])
    assert types(design) == ["ReLU", "Linear", "Linear", "Linear"]
    design.set_param(1, "out_features", 9)
    design.load([LayerSpec.create("Linear")], (3,))
    while design.undo_stack.canUndo():
        design.undo_stack.undo()
    failures = [r.message for r in qtlog.records if "FAIL" in r.message or "QAbstractItemModelTester" in r.message]
    assert failures == []
