"""Atomic folders: a folder appears whole, with the usual modes, or not at all."""

from __future__ import annotations

import errno
import os

import pytest

from netstudio.core.errors import ExportError
from netstudio.core.fileio import atomic_folder, umask


def test_a_finished_folder_replaces_an_empty_one_with_the_usual_modes(tmp_path):
    target = tmp_path / "run"
    target.mkdir()
    with atomic_folder(target, ExportError) as tmp:
        assert tmp.parent == tmp_path and tmp != target and not any(target.iterdir())
        (tmp / "weights.bin").write_bytes(b"w")
        os.chmod(tmp / "weights.bin", 0o600)  # as safetensors writes its files
    assert (target / "weights.bin").read_bytes() == b"w"
    assert (target / "weights.bin").stat().st_mode & 0o777 == 0o666 & ~umask()
    assert target.stat().st_mode & 0o777 == 0o777 & ~umask()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary folder left


def test_a_failure_in_the_block_leaves_nothing_and_the_target_as_it_was(tmp_path):
    target = tmp_path / "export"
    with pytest.raises(RuntimeError, match="half way"), atomic_folder(target, ExportError) as tmp:
        (tmp / "model.py").write_text("print()")
        raise RuntimeError("half way")
    assert list(tmp_path.iterdir()) == []


def test_an_os_error_is_said_in_one_line_with_the_folder(tmp_path):
    target = tmp_path / "nested" / "run"
    with pytest.raises(ExportError, match=r"^cannot write the run folder .*run: No space left on device$"):
        with atomic_folder(target, ExportError, "the run folder"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert list((tmp_path / "nested").iterdir()) == []  # the parent was made; nothing is left in it
