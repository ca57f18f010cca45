"""The data panel: samples, files, folders and synthetic data load off the GUI thread."""

import numpy as np
import pytest
from PIL import Image

from netstudio.core.project import Project
from netstudio.ui.data.panel import DataPanel


@pytest.fixture
def panel(qtbot):
    widget = DataPanel()
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()


def load(qtbot, panel, action):
    with qtbot.waitSignal(panel.dataset_loaded, timeout=60000) as blocker:
        action()
    return blocker.args[0]


def test_load_a_sample_through_the_panel(qtbot, panel):
    configs = []
    panel.data_config_changed.connect(configs.append)
    data = load(qtbot, panel, lambda: panel.use_sample("iris"))
    assert data.task == "multiclass" and len(data.classes) == 3
    assert configs == [{"source": "sample", "name": "iris", "task": "auto", "validation_split": 0.2,
                        "test_split": 0.0, "normalize": True, "seed": 0}]
    assert panel.preview.table_model.rowCount() > 0 and panel.preview.currentWidget() is panel.preview.table
    assert panel.roles.rowCount() == panel.preview.table_model.columnCount()
    assert "Classes" in panel.summary.toPlainText() and panel.detected.text() == "detected: multiclass, 3 classes"


def test_csv_roles_and_options_reload_the_data(qtbot, panel, tmp_path):
    rows = ["id,age,color,price,bought"]
    rng = np.random.default_rng(0)
    for i in range(60):
        rows.append(f"r{i},{rng.integers(18, 80)},{['red', 'blue'][i % 2]},{rng.normal(100, 10):.2f},{['no', 'yes'][i % 3 == 0]}")
    (tmp_path / "shop.csv").write_text("\n".join(rows) + "\n")
    data = load(qtbot, panel, lambda: panel.open_path(tmp_path / "shop.csv"))
    assert data.task == "binary" and data.classes == ["no", "yes"]
    names = [panel.roles.item(r, 0).text() for r in range(panel.roles.rowCount())]
    assert names == ["id", "age", "color", "price", "bought"]
    combo = panel.roles.cellWidget(names.index("price"), 1)
    configs = []
    panel.data_config_changed.connect(configs.append)
    data = load(qtbot, panel, lambda: combo.setCurrentIndex(1))  # price becomes the target
    assert data.task == "regression" and configs[-1]["target"] == "price"
    exclude = panel.roles.cellWidget(names.index("age"), 1)
    data = load(qtbot, panel, lambda: exclude.setCurrentIndex(2))
    assert "age" in configs[-1]["exclude"] and not any(n.startswith("age") for n in data.feature_names)
    data = load(qtbot, panel, lambda: panel.split.setValue(0.5))
    assert data.n_val == 30 and configs[-1]["validation_split"] == 0.5


def test_the_target_is_guessed_shown_in_place_and_the_choice_kept(qtbot, panel, tmp_path):
    rows = ["bill_length_mm,body_mass_g,species,sex,year"]
    for i in range(60):
        rows.append(f"{30 + i * 0.3:.1f},{3000 + 17 * i},{['Adelie', 'Gentoo', 'Chinstrap'][i % 3]},"
                    f"{['male', 'female'][(i // 3) % 2]},{2007 + i % 3}")
    (tmp_path / "penguins.csv").write_text("\n".join(rows) + "\n")
    data = load(qtbot, panel, lambda: panel.open_path(tmp_path / "penguins.csv"))
    assert panel.options_form.isRowVisible(panel.target)
    assert panel.target.currentData() == "species" and panel.target.currentText() == "species (guessed)"
    assert data.task == "multiclass" and panel.detected.text() == "detected: multiclass, 3 classes"
    configs = []
    panel.data_config_changed.connect(configs.append)
    data = load(qtbot, panel, lambda: panel.target.setCurrentIndex(panel.target.findData("sex")))
    assert data.task == "binary" and configs[-1]["target"] == "sex"
    assert panel.target.currentText() == "sex" and panel.detected.text() == "detected: binary, 2 classes"
    data = load(qtbot, panel, lambda: panel.split.setValue(0.5))  # another edit keeps the choice
    assert configs[-1]["target"] == "sex" and data.classes == ["female", "male"]


def test_synthetic_data_shows_a_scatter(qtbot, panel):
    data = load(qtbot, panel, lambda: panel.use_synthetic("spiral", 300, 0.1))
    assert data.input_shape == (2,) and panel.preview.currentWidget() is panel.preview.scatter
    assert len(panel.preview.scatter.getPlotItem().listDataItems()) == len(data.classes)


def test_image_folder_shows_thumbnails(qtbot, panel, tmp_path):
    for label, value in (("dark", 20), ("light", 230)):
        (tmp_path / "img" / label).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (12, 12), (value, value + i, value)).save(tmp_path / "img" / label / f"{i}.png")
    data = load(qtbot, panel, lambda: panel.open_path(tmp_path / "img"))
    assert data.input_shape == (3, 12, 12) and data.classes == ["dark", "light"]
    assert panel.preview.currentWidget() is panel.preview.thumbs and panel.preview.thumbs.count() == 12


def test_a_bad_file_is_reported_in_one_line(qtbot, panel, tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with qtbot.waitSignal(panel.dataset_failed, timeout=30000) as blocker:
        panel.open_path(tmp_path / "empty.csv")
    assert "empty" in blocker.args[0] and "\n" not in blocker.args[0]
    assert "Cannot use this data" in panel.summary.toPlainText() and panel.dataset is None


def test_project_data_loads_with_the_project(qtbot, panel, tmp_path):
    project = Project(name="p", data={"source": "synthetic", "kind": "xor", "samples": 100}, path=tmp_path / "p.nsproj")
    data = load(qtbot, panel, lambda: panel.set_project(project))
    assert data.n_train + data.n_val == 100 and panel.options.isEnabled()



def test_a_relative_data_path_is_read_and_shown_under_the_project_folder(qtbot, panel, tmp_path, monkeypatch):
    def table(path, rows):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("a,b,label\n" + "".join(f"{i},{i % 3},{'yes' if i % 2 else 'no'}\n" for i in range(rows)),
                        encoding="utf-8")

    table(tmp_path / "shared" / "t.csv", 30)
    table(tmp_path / "elsewhere" / "shared" / "t.csv", 10)  # what ../shared/t.csv means from the working folder
    (tmp_path / "elsewhere" / "cwd").mkdir()
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere" / "cwd")
    project = Project(name="p", data={"source": "csv", "path": "../shared/t.csv", "target": "label"},
                      path=tmp_path / "project" / "p.nsproj")
    data = load(qtbot, panel, lambda: panel.set_project(project))
    assert data.n_train + data.n_val == 30
    assert panel.source_label.text() == f"CSV: {(tmp_path / 'shared' / 't.csv').resolve()}"
