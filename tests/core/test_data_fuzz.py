"""Random bytes and random CSV-ish text either load or raise DataError: never another exception."""

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netstudio.core.data.load import load_dataset
from netstudio.core.errors import DataError

CELLS = st.one_of(
    st.sampled_from(["", " ", "NA", "?", "nan", "inf", "-inf", "true", "False", "yes", "1,5", "1.234,5",
                     '"a,b"', '"', '""', "x", "é", "\t", "1e308", "-0", "0x1F", "1_000", "$5", "12%"]),
    st.integers(-10**12, 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=6),
)
ROWS = st.lists(st.lists(CELLS, min_size=1, max_size=6), min_size=0, max_size=25)


def try_load(tmp_path, content: bytes, **config):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(content)
    try:
        data = load_dataset({"source": "csv", "path": "fuzz.csv", "validation_split": 0.3, "seed": 0,
                             "task": "auto", "normalize": True, **config}, tmp_path)
    except DataError as exc:
        assert "\n" not in str(exc) and str(exc)
        return None
    assert np.isfinite(data.X_train).all() and np.isfinite(data.X_val).all()
    assert data.X_train.dtype == np.float32 and data.X_train.shape[1:] == data.input_shape
    assert len(data.y_train) == data.n_train and data.n_train >= 1
    json.dumps(data.preprocessor.to_json(), allow_nan=False)  # the metadata stays plain JSON
    return data


FUZZ = settings(max_examples=int(__import__("os").environ.get("FUZZ_EXAMPLES", 150)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(content=st.binary(max_size=400))
def test_random_bytes(tmp_path, content):
    try_load(tmp_path, content)


@FUZZ
@given(rows=ROWS, delimiter=st.sampled_from([",", ";", "\t", "|"]), header=st.booleans(),
       target=st.sampled_from([None, "c0", "c1", "missing"]), encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_random_tables(tmp_path, rows, delimiter, header, target, encoding):
    width = max((len(r) for r in rows), default=1)
    lines = ([delimiter.join(f"c{i}" for i in range(width))] if header else []) + [delimiter.join(r) for r in rows]
    text = "\n".join(lines)
    try_load(tmp_path, text.encode(encoding, errors="replace"), target=target)
