"""The import contracts of pyproject.toml hold: layers, the Qt-free core, no cycles.

import-linter reads ``[tool.importlinter]`` and checks the whole import graph, function-level
imports included, so a new upward import or a cycle anywhere fails here (see
docs/architecture.md, "Layers"). It runs through its Python API, never through a ``lint-imports``
found on PATH.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold(capsys):
    from importlinter.cli import lint_imports

    code = lint_imports(config_filenames=(str(ROOT / "pyproject.toml"),), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert code == 0, report
    assert " 0 broken" in report, report
