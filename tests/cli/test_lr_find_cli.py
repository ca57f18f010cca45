"""``netstudio lr-find`` in a subprocess, per the command-line contract."""

import csv

from tests.cli.test_train_cli import netstudio, write_project


def test_lr_find_prints_the_rate_alone_last_and_writes_the_csv(tmp_path):
    project = write_project(tmp_path)
    out = tmp_path / "lr.csv"
    result = netstudio("lr-find", project, "--out", out, "--steps", "40")
    assert result.returncode == 0, result.stderr
    rate = float(result.stdout.strip().splitlines()[-1])
    assert result.stdout.strip().splitlines()[-1] == f"{rate:g}" and 0 < rate <= 10
    with open(out, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:2] == ["rate", "loss"] and 2 <= len(rows) - 1 <= 40
    assert float(rows[1][0]) < float(rows[-1][0])


def test_lr_find_bad_input_is_one_line_and_exit_2(tmp_path):
    result = netstudio("lr-find", tmp_path / "missing.nsproj")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "netstudio: error:" in result.stderr
    project = write_project(tmp_path)
    result = netstudio("lr-find", project, "--out", tmp_path / "no" / "lr.csv")
    assert result.returncode == 2 and "does not exist" in result.stderr
    assert not (tmp_path / "no").exists()
