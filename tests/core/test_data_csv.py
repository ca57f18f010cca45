"""CSV/TSV loading on real files written by each test: formats, column roles, tasks, bad input."""

import json

import numpy as np
import pandas as pd
import pytest

from netstudio.core.data.common import LoadCancelled
from netstudio.core.data.csv import read_table
from netstudio.core.data.load import describe_data, load_dataset
from netstudio.core.data.preprocess import Preprocessor
from netstudio.core.errors import DataError


def write(tmp_path, text, name="data.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def load(tmp_path, name="data.csv", **config):
    config = {"source": "csv", "path": name, "validation_split": 0.0, "seed": 0, "task": "auto",
              "normalize": True, **config}
    return load_dataset(config, tmp_path)


def iris_like(delimiter=",", rows=12):
    lines = [delimiter.join(["sepal length", "petal width", "species"])]
    for i in range(rows):
        species = ("setosa", "versicolor", "virginica")[i % 3]
        lines.append(delimiter.join([f"{4.5 + i * 0.25}", f"{0.2 + (i % 3) * 0.9}", species]))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_every_delimiter_is_sniffed(tmp_path, delimiter):
    write(tmp_path, iris_like(delimiter))
    data = load(tmp_path, target="species")
    assert data.feature_names == ["sepal length", "petal width"]
    assert data.classes == ["setosa", "versicolor", "virginica"] and data.task == "multiclass"
    assert data.X_train.shape == (12, 2) and data.output_width == 3


def test_utf8_bom_latin1_and_utf16_are_read(tmp_path):
    text = "größe,farbe,klasse\n" + "".join(f"{i * 2},{'rot' if i % 2 else 'blau'},{'ä' if i % 2 else 'ö'}\n" for i in range(10))
    for encoding, content in [("utf-8-sig", text.encode("utf-8-sig")), ("latin-1", text.encode("latin-1")),
                              ("utf-16", text.encode("utf-16"))]:
        write(tmp_path, content, f"{encoding}.csv")
        data = load(tmp_path, f"{encoding}.csv", target="klasse")
        assert data.feature_names == ["größe", "farbe=blau", "farbe=rot"], encoding
        assert data.classes == ["ä", "ö"], encoding


def test_quoted_fields_hold_delimiters_quotes_and_newlines(tmp_path):
    rows = ['name,x,label'] + [f'"Smith, J{i}",{i},"{"a" if i % 2 else "b"}"' for i in range(8)]
    rows.append('"say ""hi""\nnext line",9,a')
    write(tmp_path, "\n".join(rows) + "\n")
    frame, fmt = read_table(tmp_path / "data.csv")
    assert fmt.delimiter == "," and len(frame) == 9
    assert frame["name"].iloc[0] == "Smith, J0" and frame["name"].iloc[8] == 'say "hi"\nnext line'


def test_roles_ids_one_hot_constant_empty_text_and_bool(tmp_path):
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame({
        "customer id": [f"C{i:04d}" for i in range(n)],
        "row": np.arange(1, n + 1),
        "age": rng.integers(18, 80, n),
        "plan": rng.choice(["basic", "pro", "team"], n),
        "country": [f"country {i}" for i in range(n)],
        "constant": 7,
        "empty": "",
        "newsletter": rng.choice(["Yes", "no"], n),
        "churned": rng.choice(["stayed", "left"], n),
    })
    frame.loc[3, "country"] = "country 1"
    frame.to_csv(tmp_path / "data.csv", index=False)
    data = load(tmp_path, target="churned")
    assert data.feature_names == ["age", "plan=basic", "plan=pro", "plan=team", "newsletter"]
    notes = " | ".join(data.summary.notes)
    for column in ("customer id", "row", "constant", "empty", "country"):
        assert f"column {column!r} left out" in notes
    assert "identifier" in notes and "too many to one-hot" in notes and "constant" in notes
    assert "column 'newsletter' read as yes/no (1/0)" in notes
    assert data.classes == ["left", "stayed"] and data.task == "binary" and data.output_width == 1


def test_missing_numbers_are_imputed_with_the_mean_and_counted(tmp_path):
    lines = ["a,b,y"] + [f"{'' if i in (0, 5) else i},{i * 2},{i % 2}" for i in range(20)]
    write(tmp_path, "\n".join(lines) + "\n")
    data = load(tmp_path, target="y")
    pre = data.preprocessor
    assert data.summary.missing_values == 2
    assert pre.fill[0] == pytest.approx(np.mean([i for i in range(20) if i not in (0, 5)]))
    assert np.isfinite(data.X_train).all()
    # the missing rows become the mean, which standardises to exactly 0
    assert data.X_train[0, 0] == pytest.approx(0.0, abs=1e-6) and data.X_train[5, 0] == pytest.approx(0.0, abs=1e-6)
    frame = pd.read_csv(tmp_path / "data.csv")
    assert np.isnan(pre.encode_frame(frame)[[0, 5], 0]).all()


def test_imputation_value_comes_from_the_training_split_only(tmp_path):
    # the validation rows hold huge values: if they leaked into the mean, the fill would be huge
    values = [1.0, 2.0, 3.0, np.nan] * 10
    frame = pd.DataFrame({"x": values, "y": ["a", "b"] * 20})
    frame.to_csv(tmp_path / "data.csv", index=False)
    data = load(tmp_path, target="y", validation_split=0.5, seed=1)
    assert data.preprocessor.fill[0] == pytest.approx(2.0, abs=0.35)
    assert data.summary.missing_values == 10


def test_rows_without_target_are_dropped_and_counted(tmp_path):
    lines = ["x,y"] + [f"{i},{'' if i % 4 == 0 else i * 1.5}" for i in range(40)]
    write(tmp_path, "\n".join(lines) + "\n")
    data = load(tmp_path, target="y")
    assert data.summary.dropped_rows == 10 and data.summary.rows == 30 and data.n_train == 30
    assert any("10 rows without a value in 'y' dropped" in n for n in data.summary.notes)


def test_regression_target_is_standardised_and_restorable(tmp_path):
    x = np.arange(50, dtype=float)
    pd.DataFrame({"x": x, "price": 1000 + 3.3 * x}).to_csv(tmp_path / "data.csv", index=False)
    data = load(tmp_path, target="price")
    assert data.task == "regression" and data.classes is None and data.y_train.dtype == np.float32
    assert abs(data.y_train.mean()) < 1e-5 and abs(data.y_train.std() - 1) < 1e-4
    restored = data.preprocessor.inverse_target(data.y_train)
    np.testing.assert_allclose(np.sort(restored), 1000 + 3.3 * x, rtol=1e-5)
    assert data.target_mean == pytest.approx(1000 + 3.3 * 24.5)


@pytest.mark.parametrize("values, task, classes", [
    (["cat", "dog"] * 10, "binary", ["cat", "dog"]),
    (["True", "False"] * 10, "binary", ["False", "True"]),
    ([0, 1, 2, 10] * 5, "multiclass", ["0", "1", "2", "10"]),
    ([0.5 + i for i in range(20)], "regression", None),
    (list(range(100, 125)) * 2, "regression", None),
])
def test_task_detection(tmp_path, values, task, classes):
    pd.DataFrame({"x": range(len(values)), "noise": np.linspace(0, 1, len(values)), "t": values}).to_csv(
        tmp_path / "data.csv", index=False)
    data = load(tmp_path, target="t")
    assert data.task == task and data.classes == classes


def test_task_override(tmp_path):
    pd.DataFrame({"x": np.linspace(0, 1, 20), "t": [1, 2, 3, 4] * 5}).to_csv(tmp_path / "data.csv", index=False)
    assert load(tmp_path, target="t").task == "multiclass"
    regression = load(tmp_path, target="t", task="regression")
    assert regression.task == "regression" and regression.classes is None
    with pytest.raises(DataError, match="4 classes .* but data.task is binary"):
        load(tmp_path, target="t", task="binary")


def test_decimal_comma_and_thousands_in_a_semicolon_file(tmp_path):
    lines = ["fläche;preis;lage"] + [f"{i},5;{i}.{i % 10}00,25;{'A' if i % 2 else 'B'}" for i in range(10, 30)]
    write(tmp_path, "\n".join(lines) + "\n")
    data = load(tmp_path, target="preis")
    assert data.task == "regression"
    values = data.preprocessor.inverse_target(data.y_train)
    np.testing.assert_allclose(np.sort(values)[:2], [10000.25, 11100.25])
    assert data.preprocessor.number_format == {"decimal": ",", "thousands": "."}
    assert "decimal comma" in data.summary.notes[0]


def test_whitespace_duplicates_and_inf(tmp_path):
    lines = [" a , a ,  label "] + [f" {i} , {'inf' if i == 3 else i * 2} ,  {'x' if i % 2 else 'y'} " for i in range(12)]
    write(tmp_path, "\n".join(lines) + "\n")
    data = load(tmp_path, target="label")
    assert data.feature_names == ["a", "a (2)"] and data.classes == ["x", "y"]
    assert data.summary.missing_values == 1 and np.isfinite(data.X_train).all()
    assert any("appears more than once" in n for n in data.summary.notes)


def test_target_missing_is_guessed_and_said(tmp_path):
    write(tmp_path, iris_like())
    data = load(tmp_path, target=None)
    assert data.classes == ["setosa", "versicolor", "virginica"]
    assert any("guessed 'species'" in n for n in data.summary.notes)


def test_a_year_in_the_last_column_is_never_the_guessed_target(tmp_path):
    rows = ["species,island,bill_length_mm,body_mass_g,sex,year"]
    for i in range(60):
        rows.append(f"{['Adelie', 'Gentoo', 'Chinstrap'][i % 3]},{['Biscoe', 'Dream'][i % 2]},{30 + i * 0.3:.1f},"
                    f"{3000 + 17 * i},{['male', 'female'][(i // 3) % 2]},{2007 + i % 3}")
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    data = load(tmp_path, target=None)
    assert data.preprocessor.target["column"] == "species" and data.task == "multiclass"
    assert any("guessed 'species'" in n for n in data.summary.notes)
    chosen = load(tmp_path, target="sex")  # the user's choice is what is used
    assert chosen.preprocessor.target["column"] == "sex" and chosen.task == "binary"


@pytest.mark.parametrize(("header", "row", "expected"), [
    ("a,b,price", "{i},{x},{y}", "price"),             # numbers last: a regression on it
    ("a,colour,value", "{i},{c},{y}", "colour"),       # a text column of classes beats numbers
    ("x,y,order_id", "{x},{y},{i}", "y"),              # never an id
    ("x,when,score", "{x},2024-01-{d:02d},{y}", "score"),  # a date is not a class
])
def test_guessed_target(tmp_path, header, row, expected):
    lines = [header] + [row.format(i=i, x=i * 0.5 % 7, y=(i * 37 % 11) * 1.5 + 0.25, c="rgb"[i % 3], d=i % 28 + 1)
                        for i in range(40)]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    assert load(tmp_path, target=None).preprocessor.target["column"] == expected


def test_target_given_with_spaces_is_found(tmp_path):
    write(tmp_path, iris_like())
    assert load(tmp_path, target="  species ").classes == ["setosa", "versicolor", "virginica"]


def test_numeric_column_with_a_few_bad_cells_warns(tmp_path):
    lines = ["x,y"] + [f"{'oops' if i == 7 else i},{i % 2}" for i in range(40)]
    write(tmp_path, "\n".join(lines) + "\n")
    data = load(tmp_path, target="y")
    assert data.feature_names == ["x"] and data.summary.missing_values == 1
    assert "'oops'" in data.summary.warnings[0]


def test_wide_file(tmp_path):
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(30, 2000)), columns=[f"c{i}" for i in range(2000)])
    frame["label"] = ["a", "b", "c"] * 10
    frame.to_csv(tmp_path / "data.csv", index=False)
    data = load(tmp_path, target="label")
    assert data.input_shape == (2000,)


def test_predict_time_transform_matches_training_rows(tmp_path):
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"n": rng.normal(10, 3, 40), "c": rng.choice(["r", "g", "b"], 40),
                          "t": rng.choice(["yes", "no"], 40)})
    frame.loc[[2, 9], "n"] = np.nan
    frame.to_csv(tmp_path / "data.csv", index=False)
    data = load(tmp_path, target="t")
    raw, _ = read_table(tmp_path / "data.csv")
    again = Preprocessor.from_json(json.loads(json.dumps(data.preprocessor.to_json())))
    np.testing.assert_array_equal(again.transform_frame(raw), data.X_train)
    # the target column is ignored, and the column order does not matter
    np.testing.assert_array_equal(again.transform_frame(raw[["c", "n"]]), data.X_train)


def test_split_is_stratified_and_seeded(tmp_path):
    labels = ["rare"] * 20 + ["common"] * 180
    pd.DataFrame({"x": np.arange(200.0) % 17, "label": labels}).to_csv(tmp_path / "data.csv", index=False)
    one = load(tmp_path, target="label", validation_split=0.25, seed=5)
    assert np.bincount(one.y_val).tolist() == [45, 5] and np.bincount(one.y_train).tolist() == [135, 15]
    same = load(tmp_path, target="label", validation_split=0.25, seed=5)
    other = load(tmp_path, target="label", validation_split=0.25, seed=6)
    np.testing.assert_array_equal(one.X_val, same.X_val)
    assert not np.array_equal(one.X_val, other.X_val)
    assert one.summary.class_counts == {"common": 180, "rare": 20}
    assert "imbalanced" in one.summary.warnings[0]


def test_progress_and_cancel(tmp_path):
    write(tmp_path, iris_like())
    seen = []
    load_dataset({"source": "csv", "path": "data.csv", "target": "species"}, tmp_path,
                 progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1]
    with pytest.raises(LoadCancelled):
        load_dataset({"source": "csv", "path": "data.csv"}, tmp_path, cancel=lambda: True)


def test_describe_matches_the_load(tmp_path):
    write(tmp_path, iris_like())
    config = {"source": "csv", "path": "data.csv", "target": "species"}
    assert describe_data(config, tmp_path) == ((2,), 3, "multiclass", ["setosa", "versicolor", "virginica"])


# ------------------------------------------------------------------------------------------------
# Bad input: one line naming the file and the column or row


BAD = [
    ("missing", None, "species", "no such file"),
    ("empty", b"", "species", "is empty"),
    ("blank lines", b"\n\n  \n", "species", "is empty"),
    ("binary", bytes(range(256)) * 4, "species", "binary file"),
    ("excel", b"PK\x03\x04" + b"\x00" * 100, "species", "Excel"),
    ("no header", "5.1,3.5,setosa\n4.9,3.0,setosa\n6.2,2.9,virginica\n", "species", "line 1"),
    ("header only", "a,b,species\n", "species", "no data rows"),
    ("target not found", iris_like(), "Species", "target column 'Species' not found; did you mean 'species'?"),
    ("target typo", iris_like(), "specie", "did you mean 'species'?"),
    ("single class", "x,species\n1,a\n2,a\n3,a\n", "species", "single class ('a')"),
    ("no features", "id,species\nA1,a\nA2,b\nA3,a\nA4,b\nA5,a\nA6,b\nA7,a\nA8,b\nA9,a\nA10,b\n", "species",
     "no usable feature column"),
    ("ragged", "a,b,species\n1,2,x\n3,4,y,5,6\n", "species", "line 3 has 5 fields, expected 3"),
    ("open quote", 'a,b,species\n1,2,x\n3,"4,y\n', "species", "never closed"),
]


@pytest.mark.parametrize("label, content, target, needle", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_line_naming_the_file(tmp_path, label, content, target, needle):
    if content is not None:
        write(tmp_path, content)
    with pytest.raises(DataError) as info:
        load(tmp_path, target=target)
    message = str(info.value)
    assert needle in message, message
    assert "\n" not in message and "data.csv" in message


def test_regression_on_text_target_is_refused(tmp_path):
    write(tmp_path, iris_like())
    with pytest.raises(DataError, match=r"data.csv: target column 'species' is not numeric .*'setosa'"):
        load(tmp_path, target="species", task="regression")


def test_no_features_names_the_reasons(tmp_path):
    write(tmp_path, "k,z,y\n" + "".join(f"k{i},5,{i % 2}\n" for i in range(12)))
    with pytest.raises(DataError, match=r"no usable feature column .*k \(it looks like an identifier.*z \(it is constant"):
        load(tmp_path, target="y")


def test_a_titanic_like_export(tmp_path):
    rng = np.random.default_rng(11)
    n = 120
    frame = pd.DataFrame({
        "PassengerId": np.arange(1, n + 1),
        "Survived": rng.integers(0, 2, n),
        "Pclass": rng.integers(1, 4, n),
        "Name": [f"Person, Mr. {i}" for i in range(n)],
        "Sex": rng.choice(["male", "female"], n),
        "Age": np.where(rng.random(n) < 0.2, np.nan, rng.uniform(1, 80, n).round(0)),
        "Ticket": [f"A/{rng.integers(1000, 99999)}" for _ in range(n)],
        "Fare": rng.uniform(5, 500, n).round(4),
        "Cabin": [f"C{i}" if i % 4 == 0 else "" for i in range(n)],
        "Embarked": rng.choice(["S", "C", "Q", ""], n, p=[0.6, 0.2, 0.15, 0.05]),
    })
    text = frame.to_csv(index=False, lineterminator="\r\n")
    write(tmp_path, text)
    data = load(tmp_path, target="Survived", validation_split=0.2)
    assert data.task == "binary" and data.classes == ["0", "1"]
    assert data.feature_names[:2] == ["Pclass", "Sex=female"]
    assert "Age" in data.feature_names and "Fare" in data.feature_names
    assert not any(name.startswith(("PassengerId", "Name", "Ticket")) for name in data.feature_names)
    assert data.summary.missing_values > 0 and np.isfinite(data.X_train).all()


def test_trailing_delimiters_comments_and_excel_sep_line(tmp_path):
    write(tmp_path, "# exported by a tool\n# second comment\nsep=;\na;b;label;\n" +
          "".join(f"{i},5;{i * 3};{'x' if i % 2 else 'y'};\n" for i in range(10)))
    data = load(tmp_path, target="label")
    assert data.feature_names == ["a", "b"] and data.classes == ["x", "y"]
    notes = " ".join(data.summary.notes)
    assert "comment lines before the header skipped" in notes and "'column 4' left out: it is empty" in notes


def test_a_numeric_target_with_a_few_stray_words(tmp_path):
    values = [f"{100 + i * 1.5}" for i in range(60)]
    values[7] = "unknown"
    write(tmp_path, "x,price\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)))
    data = load(tmp_path, target="price")
    assert data.task == "regression" and data.summary.dropped_rows == 1
    assert "'unknown'" in data.summary.warnings[0]


def test_a_latin1_byte_after_a_long_utf8_looking_start(tmp_path):
    rows = "".join(f"{i},{i % 7},{'a' if i % 2 else 'b'}\n" for i in range(120_000))  # > 1 MiB of ASCII
    write(tmp_path, ("x,y,label\n" + rows).encode("ascii") + "5,6,caf\xe9\n".encode("latin-1"))
    data = load(tmp_path, target="label")
    assert data.classes == ["a", "b", "café"]
    assert any("not valid UTF-8" in note for note in data.summary.notes)


def test_quoted_fields_after_spaces(tmp_path):
    write(tmp_path, "n, city, label\n" + "".join(f'{i}, "Oslo, NO", {"a" if i % 2 else "b"}\n' for i in range(10)))
    frame, fmt = read_table(tmp_path / "data.csv")
    assert fmt.spaces_after_delimiter and list(frame.columns) == ["n", "city", "label"]
    assert frame["city"].iloc[0] == "Oslo, NO"


def test_a_watched_large_file_reports_progress_and_stops_mid_parse(tmp_path, monkeypatch):
    import netstudio.core.data.csv as data_csv

    monkeypatch.setattr(data_csv, "WATCHED_BYTES", 0)  # as if the file were huge
    rows = "".join(f"{i},{i % 7},{'a' if i % 2 else 'b'}\n" for i in range(300_000))
    write(tmp_path, "x,y,label\n" + rows)
    seen = []
    clock = iter(range(10**6))
    monkeypatch.setattr("netstudio.core.data.common.time.monotonic", lambda: next(clock))  # no coalescing
    data = load_dataset({"source": "csv", "path": "data.csv", "target": "label"}, tmp_path,
                        progress=lambda done, total: seen.append((done, total)))
    assert data.n_train + data.n_val == 300_000
    assert len(seen) > 3 and seen[-1][0] == seen[-1][1] and sorted(seen) == seen
    calls = []
    with pytest.raises(LoadCancelled):
        load_dataset({"source": "csv", "path": "data.csv", "target": "label"}, tmp_path,
                     cancel=lambda: calls.append(1) or len(calls) > 3)
    assert len(calls) == 4  # stopped inside the parse, not after it


def test_explicit_features_keep_even_an_id_and_never_the_target(tmp_path):
    write(tmp_path, "id,x,label\n" + "".join(f"k{i},{i},{'a' if i % 2 else 'b'}\n" for i in range(12)))
    data = load(tmp_path, target="label", features=["x", "id", "label", "x"])
    assert data.feature_names[0] == "x" and data.feature_names[1].startswith("id=") and "label" not in data.feature_names
    with pytest.raises(DataError, match="feature column 'X' not found; did you mean 'x'"):
        load(tmp_path, target="label", features=["X"])
