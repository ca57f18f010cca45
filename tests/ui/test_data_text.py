"""The Data panel on a text column: vocabulary, a tokenized example, token counts, the suggested
max length, the tokenizer's settings (each edit refits it), and the Text role of a column."""

import pytest

from netstudio.ui.data.panel import DataPanel
from tests.core.test_text import reviews
from tests.ui.test_data_panel import load


@pytest.fixture
def panel(qtbot):
    widget = DataPanel()
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()


def test_the_reviews_sample_shows_its_tokenizer(qtbot, panel):
    data = load(qtbot, panel, lambda: panel.use_sample("reviews"))
    box = panel.text_box
    assert box.isVisible() and data.preprocessor.kind == "text"
    assert f"{data.vocabulary:,} tokens" in box.vocabulary.text()
    example = data.summary.text["example"]
    assert example["tokens"][0] in box.example.text() and str(example["ids"]) in box.example.toolTip()
    stats = data.summary.text["lengths"]
    assert f"max {stats['max']}" in box.lengths.text()
    assert box.suggest.text() == f"Use {stats['suggested_max_length']}"
    assert box.kind.currentData() == "wordpiece" and box.max_length.value() == 32


def test_tokenizer_edits_refit_it_and_the_suggestion_applies(qtbot, panel, tmp_path):
    reviews(80).to_csv(tmp_path / "reviews.csv", index=False)
    configs = []
    panel.data_config_changed.connect(configs.append)
    load(qtbot, panel, lambda: panel.open_path(tmp_path / "reviews.csv"))
    names = [panel.roles.item(r, 0).text() for r in range(panel.roles.rowCount())]
    text_role = panel.roles.cellWidget(names.index("review"), 1)
    data = load(qtbot, panel, lambda: text_role.setCurrentIndex(text_role.findData("text")))
    assert configs[-1]["text"] == "review" and data.preprocessor.kind == "text"
    assert panel.roles.cellWidget(names.index("review"), 1).currentData() == "text"
    box = panel.text_box
    data = load(qtbot, panel, lambda: box.kind.setCurrentIndex(box.kind.findData("word")))
    assert configs[-1]["tokenizer"]["kind"] == "word" and data.preprocessor.text["kind"] == "word"
    suggested = data.summary.text["lengths"]["suggested_max_length"]
    assert suggested != box.max_length.value() and box.suggest.isEnabled()
    data = load(qtbot, panel, lambda: box.suggest.click())
    assert data.input_shape == (suggested,) and configs[-1]["tokenizer"]["max_length"] == suggested
    assert not box.suggest.isEnabled()  # already at the suggestion
    feature_role = panel.roles.cellWidget(names.index("review"), 1)
    data = load(qtbot, panel, lambda: feature_role.setCurrentIndex(feature_role.findData("feature")))
    assert configs[-1]["text"] is None and data.preprocessor.kind == "tabular" and not box.isVisible()


def test_the_design_is_checked_against_token_ids(qtbot):
    from netstudio.core.design.stack import LayerSpec, LayerStack
    from netstudio.ui.designer.design import Design

    design = Design(LayerStack([LayerSpec.create("Linear", out_features="auto")]), (32,))
    assert design.validation.valid
    with qtbot.waitSignal(design.validation_changed):
        design.set_vocabulary(400)
    issue = design.validation.layers[0].issues[0]
    assert not design.validation.valid and "needs an Embedding first" in issue.message and issue.fix.op == "insert"


def test_try_it_offers_a_text_field_for_a_text_model(qtbot, panel):
    from netstudio.ui.plots.inside_view import InsideView

    data = load(qtbot, panel, lambda: panel.use_sample("reviews"))
    view = InsideView()
    qtbot.addWidget(view)
    view.set_dataset(data)
    assert list(view._fields) == ["review"] and "tokenizer" in view._fields["review"].toolTip()
    with qtbot.waitSignal(view.try_requested) as blocker:
        view._fields["review"].setText("the plot was superb")
        view.request_try()
    assert blocker.args[0] == {"values": {"review": "the plot was superb"}}


def test_evaluation_lists_the_texts_of_a_confusion_cell(qtbot):
    import numpy as np

    from netstudio.core.data.load import load_dataset, samples_dir
    from netstudio.core.training.evaluation import classification_report, supports_boundary
    from netstudio.ui.plots.evaluation_view import EvaluationView

    view = EvaluationView()
    qtbot.addWidget(view)
    data = load_dataset({"source": "sample", "name": "reviews"}, samples_dir())
    view.set_dataset(data)
    wrong = np.arange(data.n_val) % 3 == 0
    predicted = np.where(wrong, 1 - data.y_val, data.y_val)
    view.show_report(classification_report(data.y_val, np.eye(2)[predicted] * 0.8 + 0.1, data.classes))
    rows = view.show_cell(0, 1)
    assert len(rows) and view.samples_table.horizontalHeaderItem(1).text() == "review"
    text = view.samples_table.item(0, 1).text()
    assert text == data.preprocessor.encoder.decode(data.X_val[rows[0]]) and " " in text
    assert not supports_boundary(data)
