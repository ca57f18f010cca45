"""Start-up: the window appears without PyTorch, and `netstudio [gui] [PROJECT]` behaves as a command."""

import os
import subprocess
import sys

import pytest

from netstudio import cli
from netstudio.core.design.templates import get_template
from netstudio.core.project import project_from_template

SHOW_WINDOW = """
import sys
from netstudio.core.project import load_project
from netstudio.ui.app import launch
app, window = launch(load_project(sys.argv[1]))
for _ in range(5):
    app.processEvents()
assert window.isVisible()
print(window.windowTitle())
print(window.stack_model.rowCount())
print("torch imported" if "torch" in sys.modules else "no torch")
"""


def clean_env(tmp_path, **extra):
    """The environment of a fresh desktop session whose settings live under tmp_path."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"), **extra)
    return env


def netstudio(args, env):
    return subprocess.run([sys.executable, "-m", "netstudio", *map(str, args)], capture_output=True, text=True,
                          timeout=120, env=env)


def test_the_window_appears_before_torch_is_imported(tmp_path):
    path = project_from_template(get_template("lenet-cnn")).save(tmp_path / "lenet.nsproj")
    result = subprocess.run([sys.executable, "-c", SHOW_WINDOW, str(path)], capture_output=True, text=True,
                            timeout=120, env=clean_env(tmp_path, QT_QPA_PLATFORM="offscreen"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == ["lenet-cnn — NetStudio", "13", "no torch"]
    assert not (tmp_path / ".config").exists()  # settings went to XDG_CONFIG_HOME, not elsewhere


@pytest.mark.parametrize("args", [["gui", "missing.nsproj"], ["missing.nsproj"]])
def test_a_missing_project_is_a_one_line_error(tmp_path, args):
    result = netstudio(args, clean_env(tmp_path, QT_QPA_PLATFORM="offscreen"))
    assert result.returncode == 2
    assert result.stderr == "netstudio: error: missing.nsproj: no such project file\n"


def test_no_display_is_a_clear_error(tmp_path):
    result = netstudio([], clean_env(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("netstudio: error: no display to open the window on")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("argv, expected", [
    ([], ["gui"]),
    (["net.nsproj"], ["gui", "net.nsproj"]),
    (["--debug", "net.nsproj"], ["--debug", "gui", "net.nsproj"]),
    (["gui", "net.nsproj"], ["gui", "net.nsproj"]),
    (["summary", "net.nsproj", "--json"], ["summary", "net.nsproj", "--json"]),
    (["--version"], ["--version"]),
    (["--help"], ["--help"]),
    (["summary", "--help"], ["summary", "--help"]),
])
def test_gui_is_the_default_command(argv, expected):
    assert cli.DEFAULT_COMMAND == "gui" and "gui" in cli.COMMANDS
    assert cli._with_default_command(argv) == expected


def test_help_and_version_still_work(tmp_path):
    env = clean_env(tmp_path)
    helped = netstudio(["--help"], env)
    assert helped.returncode == 0 and "gui" in helped.stdout and "summary" in helped.stdout
    assert netstudio(["gui", "--help"], env).stdout.startswith("usage: netstudio gui [-h] [project]")
    assert netstudio(["--version"], env).returncode == 0


def test_the_device_probe_reports_the_training_device(qtbot):
    from netstudio.ui.app import DeviceProbe

    probe = DeviceProbe()
    with qtbot.waitSignal(probe.found, timeout=120_000) as blocker:
        probe.start("auto")
    text, tooltip = blocker.args
    assert text.startswith("auto → ") and "PyTorch" in tooltip


def test_a_project_s_data_and_runs_load_after_the_window_has_painted(qtbot, tmp_path, settings):
    """Reading the data and the runs held up the first paint of a project with runs (0.81 s)."""
    import shutil
    from pathlib import Path

    from netstudio.core.project import load_project
    from netstudio.ui.window.main_window import MainWindow

    repo = Path(__file__).resolve().parents[2]
    for name in ("iris.nsproj", "iris.csv"):
        shutil.copy(repo / "samples" / name, tmp_path / name)
    window = MainWindow(load_project(tmp_path / "iris.nsproj"), settings=settings)
    qtbot.addWidget(window, before_close_func=lambda w: w.design.mark_saved())
    workflow = window.workflow
    assert window.first_paint_pending and window.stack_model.rowCount() > 1, "the design is shown at once"
    assert workflow.data_panel.config == {} and workflow.runs_panel.folder is None
    with qtbot.waitSignal(workflow.data_panel.dataset_loaded, timeout=60000):
        window.show()
    assert not window.first_paint_pending
    assert workflow.runs_panel.folder == tmp_path / "runs"


def test_data_picked_before_the_first_paint_is_not_replaced_by_the_project_s(qtbot, tmp_path, settings):
    """The deferred load of the project's data came after a choice made before the window painted
    and started a second load over it (Train refused: "the data is still loading")."""
    import shutil
    from pathlib import Path

    from netstudio.core.project import load_project
    from netstudio.ui.window.main_window import MainWindow

    repo = Path(__file__).resolve().parents[2]
    for name in ("iris.nsproj", "iris.csv"):
        shutil.copy(repo / "samples" / name, tmp_path / name)
    window = MainWindow(load_project(tmp_path / "iris.nsproj"), settings=settings)
    qtbot.addWidget(window, before_close_func=lambda w: w.design.mark_saved())
    panel = window.workflow.data_panel
    assert window.first_paint_pending
    with qtbot.waitSignal(panel.dataset_loaded, timeout=60000):
        panel.use_synthetic("moons", 120, 0.1)
    window.show()
    qtbot.waitUntil(lambda: window.workflow.runs_panel.folder == tmp_path / "runs")  # the deferred work ran
    assert not panel.is_loading and panel.config["kind"] == "moons"
    assert window.project.data["kind"] == "moons"
