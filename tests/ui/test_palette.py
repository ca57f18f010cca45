"""The palette: categories, search, tooltips, drag payload, and double-click/Enter to append."""

import json

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from netstudio.core.design.layers import CATEGORIES, layer_names
from netstudio.ui.designer.palette import TYPE_ROLE, LayerPalette, LayerPaletteModel
from netstudio.ui.designer.stack_model import LAYER_MIME


def test_every_layer_sits_under_its_category(qapp):
    model = LayerPaletteModel()
    assert [model.item(r).text() for r in range(model.rowCount())] == [*CATEGORIES, "Blocks"]
    names = []
    for r in range(model.rowCount()):
        group = model.item(r)
        assert not group.icon().isNull()
        assert not group.isDragEnabled()
        names += [group.child(c).text() for c in range(group.rowCount())]
    blocks = ["Residual", "Parallel", "Repeat"]
    assert names[-3:] == blocks  # the Blocks category, last
    assert sorted(names[:-3]) == sorted(layer_names()) and len(names) - 3 == len(layer_names()) >= 55
    assert [model.item(1).child(c).text() for c in range(model.item(1).rowCount())] == [
        "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d"]


def test_tooltip_names_the_torch_class_and_the_doc(qapp):
    model = LayerPaletteModel()
    tip = model.itemFromIndex(model.type_index("Conv2d")).toolTip()
    assert "torch.nn.Conv2d" in tip and "slides learned filters" in tip


def test_drag_payload_is_the_layer_config_with_defaults(qapp):
    model = LayerPaletteModel()
    mime = model.mimeData([model.type_index("Dropout"), model.type_index("ReLU")])
    assert LAYER_MIME in mime.formats()
    assert json.loads(bytes(mime.data(LAYER_MIME).data())) == [{"type": "Dropout", "params": {"p": 0.5}},
                                                                 {"type": "ReLU", "params": {}}]
    assert model.supportedDragActions() == Qt.DropAction.CopyAction
    category = model.index(0, 0)
    assert not model.mimeData([category]).data(LAYER_MIME).data() or \
        json.loads(bytes(model.mimeData([category]).data(LAYER_MIME).data())) == []


def test_search_filters_as_you_type(qtbot):
    palette = LayerPalette()
    qtbot.addWidget(palette)
    assert len(palette.visible_layers()) == len(layer_names()) + 3  # and the three blocks
    qtbot.keyClicks(palette.search, "conv")
    assert palette.visible_layers()[:5] == ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d"]
    palette.set_filter("pool 2d")
    assert palette.visible_layers() == ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d"]
    palette.set_filter("attention")  # the sequence layers
    assert palette.visible_layers() == ["MultiheadAttention", "TransformerEncoderLayer"]
    palette.set_filter("overfitting")  # words of the description count too
    assert palette.visible_layers() == ["Dropout"]
    palette.set_filter("recurrent")  # a category name shows its layers
    assert palette.visible_layers() == ["LSTM", "GRU", "RNN"]
    palette.set_filter("zzz")
    assert palette.visible_layers() == []
    palette.set_filter("")
    assert len(palette.visible_layers()) == len(layer_names()) + 3  # and the three blocks


def test_double_click_and_enter_activate_a_layer(qtbot):
    palette = LayerPalette()
    qtbot.addWidget(palette)
    palette.show()
    qtbot.waitExposed(palette)
    activated = []
    palette.layer_activated.connect(activated.append)
    index = palette.proxy.mapFromSource(palette.model.type_index("GRU"))
    palette.view.scrollTo(index)
    rect = palette.view.visualRect(index)
    for click in (QTest.mouseClick, QTest.mouseDClick):  # a double-click follows a press on the same item
        click(palette.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    assert activated == ["GRU"]
    palette.view.setCurrentIndex(palette.proxy.mapFromSource(palette.model.type_index("Tanh")))
    QTest.keyClick(palette.view, Qt.Key.Key_Return)
    assert activated == ["GRU", "Tanh"]
    palette.view.setCurrentIndex(palette.proxy.index(0, 0))  # a category: nothing to add
    QTest.keyClick(palette.view, Qt.Key.Key_Return)
    assert activated == ["GRU", "Tanh"]


def test_enter_in_the_search_field_adds_the_first_match(qtbot):
    palette = LayerPalette()
    qtbot.addWidget(palette)
    activated = []
    palette.layer_activated.connect(activated.append)
    qtbot.keyClicks(palette.search, "flatten")
    QTest.keyClick(palette.search, Qt.Key.Key_Return)
    assert activated == ["Flatten"]
    assert palette.view.currentIndex().data(TYPE_ROLE) == "Flatten"


def test_a_block_drags_from_the_palette_as_an_empty_block(qapp):
    model = LayerPaletteModel()
    mime = model.mimeData([model.type_index("Parallel")])
    assert json.loads(bytes(mime.data(LAYER_MIME)).decode()) == [
        {"type": "Parallel", "params": {"merge": "concat"}, "branches": [[], []]}]
