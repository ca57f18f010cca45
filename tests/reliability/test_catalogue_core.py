"""The catalogue through the core, in-process: the same bad data and project files must raise the
project's own error type (a :class:`NetStudioError` with the exit code the CLI documents) with one
line holding the expected words, and leave every file as it was."""

from __future__ import annotations

import pytest

from netstudio.core.errors import DataError, NetStudioError, ProjectError
from tests.reliability.catalogue import DATA, PROJECTS, SUCCEEDS, _data
from tests.reliability.conftest import assert_nothing_lost, snapshot, tally

#: Data an ``.npz`` header describes without reading it: describe_data answers from the header.
DESCRIBED_FROM_HEADERS = {"npz-header-claims-huge-array"}


def check_one_line(exc: NetStudioError, needles) -> None:
    message = str(exc)
    assert message and "\n" not in message and "\r" not in message, repr(message)
    for needle in needles:
        assert needle in message, message


@pytest.mark.parametrize("name, write, needles", DATA, ids=[d[0] for d in DATA])
def test_bad_data_raises_data_error_in_the_core(tmp_path, name, write, needles):
    from netstudio.core.data.load import describe_data, load_dataset

    data = write(tmp_path)
    before = snapshot(tmp_path)
    calls = [load_dataset] + ([] if name in DESCRIBED_FROM_HEADERS else [describe_data])
    for call in calls:
        tally("inputs")
        with pytest.raises(DataError) as info:
            call(data, tmp_path)
        check_one_line(info.value, needles)
        assert info.value.exit_code == 2
    assert_nothing_lost(before, tmp_path)


@pytest.mark.parametrize("name, make, needles", [p for p in PROJECTS if p[0] not in SUCCEEDS],
                         ids=[p[0] for p in PROJECTS if p[0] not in SUCCEEDS])
def test_bad_project_is_refused_before_anything_is_built(tmp_path, name, make, needles, monkeypatch):
    """load_project, or else prepare_session, refuses with exit code 2 and builds no model."""
    import netstudio.core.training.session as session_module
    from netstudio.core.project import load_project

    built = []
    monkeypatch.setattr(session_module, "build_model", lambda *a, **k: built.append(a) or pytest.fail("built"))
    path = tmp_path / make(tmp_path)
    before = snapshot(tmp_path)
    tally("inputs")
    with pytest.raises(NetStudioError) as info:
        project = load_project(path)
        session_module.prepare_session(project)
    check_one_line(info.value, needles)
    assert info.value.exit_code == 2 and not built
    assert_nothing_lost(before, tmp_path)


def test_data_cases_also_fail_as_project_data(tmp_path):
    """A project pointing at bad data is refused by prepare_session with the data's message."""
    from netstudio.core.project import load_project
    from netstudio.core.training.session import prepare_session

    name, write, needles = DATA[0]
    path = tmp_path / _data(write)(tmp_path)
    tally("inputs")
    with pytest.raises(DataError) as info:
        prepare_session(load_project(path))
    check_one_line(info.value, needles)


def test_project_errors_name_the_file(tmp_path):
    (tmp_path / "broken.nsproj").write_text("{", encoding="utf-8")
    from netstudio.core.project import load_project

    tally("inputs")
    with pytest.raises(ProjectError, match=r"broken.nsproj is not valid JSON \(line 1"):
        load_project(tmp_path / "broken.nsproj")
