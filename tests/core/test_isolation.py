"""The core stays Qt-free, and the design-time core stays PyTorch-free (fast start-up)."""

import pkgutil
import subprocess
import sys

import netstudio.core

BLOCKER = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {blocked!r} or name.startswith('netstudio.ui'):
            raise ImportError('blocked import: ' + name)
sys.meta_path.insert(0, Block())
import importlib
for module in {modules!r}:
    importlib.import_module(module)
print('ok')
"""


def run_blocked(blocked, modules):
    code = BLOCKER.format(blocked=set(blocked), modules=list(modules))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def core_modules():
    """Every module of the core, in its sub-packages too (iter_modules would stop at their names)."""
    return [m.name for m in pkgutil.walk_packages(netstudio.core.__path__, "netstudio.core.")]


def test_the_walk_reaches_into_every_sub_package():
    modules = core_modules()
    for package in ("design", "data", "training", "runs", "export"):
        assert f"netstudio.core.{package}" in modules
        assert any(m.startswith(f"netstudio.core.{package}.") for m in modules), package
    assert "netstudio.core.data.csv" in modules and "netstudio.core.export.safe_load" in modules


def test_every_core_module_imports_without_qt():
    result = run_blocked({"PySide6", "pyqtgraph", "shiboken6"}, core_modules())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_design_time_core_imports_without_torch():
    modules = ["netstudio.core.design.layers", "netstudio.core.design.stack", "netstudio.core.project", "netstudio.core.design.params"]
    result = run_blocked({"torch"}, modules)
    assert result.returncode == 0, result.stderr


def test_the_blocker_really_blocks():
    result = run_blocked({"json"}, ["netstudio.core.project"])
    assert result.returncode != 0 and "blocked import" in result.stderr
