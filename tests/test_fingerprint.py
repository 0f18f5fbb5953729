import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mlops_nb.errors import InvalidInputError
from mlops_nb.tracking.fingerprint import fingerprint, schema


def frame(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "k": rng.integers(0, 50, n),
            "s": pd.Series(rng.choice(["alpha", "beta", "gamma"], n)).astype(str),
            "c": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "d": pd.date_range("2024-01-01", periods=n, freq="h"),
            "dz": pd.date_range("2024-01-01", periods=n, freq="h", tz="Europe/Berlin"),
            "b": rng.random(n) > 0.5,
            "ni": pd.array(rng.integers(0, 5, n), dtype="Int64"),
            "o": pd.Series([("t", i % 3) for i in range(n)], dtype=object),
        }
    )


def test_stable_across_processes():
    here = str(__import__("pathlib").Path(__file__).parent)
    code = (
        f"import sys; sys.path.insert(0, {here!r}); from test_fingerprint import frame; "
        "from mlops_nb.tracking.fingerprint import fingerprint; print(fingerprint(frame()))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": str(seed), "PATH": ""},
        ).stdout.strip()
        for seed in (1, 2)
    }
    assert outputs == {fingerprint(frame())}


@pytest.mark.parametrize("column", ["x", "k", "s", "c", "d", "dz", "b", "ni", "o"])
def test_any_single_value_change_changes_it(column):
    df = frame()
    base = fingerprint(df)
    changed = df.copy()
    other = changed[column].iloc[(700 + 1) % len(df)]
    if changed[column].iloc[700] == other:
        other = (
            changed[column].iloc[3] if changed[column].iloc[3] != other else changed[column].iloc[5]
        )
    changed.loc[700, column] = other
    assert not changed.equals(df)
    assert fingerprint(changed) != base


def test_row_15000_of_a_million_is_seen():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({f"c{i}": rng.normal(size=1_000_000) for i in range(3)})
    base = fingerprint(df)
    df.iloc[15_000, 1] = np.nextafter(df.iloc[15_000, 1], np.inf)
    assert fingerprint(df) != base


def test_copies_and_chunking_do_not_matter():
    df = frame()
    assert fingerprint(df.copy()) == fingerprint(df)
    rejoined = pd.concat([df.iloc[:400], df.iloc[400:]])
    assert fingerprint(rejoined) == fingerprint(df)


def test_order_names_dtypes_and_index_matter():
    df = frame()
    base = fingerprint(df)
    assert fingerprint(df[df.columns[::-1]]) != base
    assert fingerprint(df.rename(columns={"x": "y"})) != base
    assert fingerprint(df.astype({"k": "int32"})) != base
    assert fingerprint(df.iloc[::-1].reset_index(drop=True)) != base
    assert fingerprint(df.set_index(df.index + 1)) != base


def test_nan_payloads_hash_alike_and_differ_from_values():
    a = pd.DataFrame({"x": [1.0, np.nan, 3.0]})
    weird = np.array([1.0, 0.0, 3.0])
    weird.view(np.uint64)[1] = 0x7FF8000000000123  # a NaN with another payload
    assert fingerprint(pd.DataFrame({"x": weird})) == fingerprint(a)
    assert fingerprint(pd.DataFrame({"x": [1.0, 0.0, 3.0]})) != fingerprint(a)


def test_strings_are_unambiguous():
    assert fingerprint(pd.DataFrame({"s": ["ab", "c"]})) != fingerprint(
        pd.DataFrame({"s": ["a", "bc"]})
    )
    assert fingerprint(pd.DataFrame({"s": ["a", None]})) != fingerprint(
        pd.DataFrame({"s": ["a", ""]})
    )


def test_series_and_arrays():
    arr = np.arange(12.0).reshape(4, 3)
    base = fingerprint(arr)
    arr2 = arr.copy()
    arr2[3, 2] += 1
    assert fingerprint(arr2) != base
    assert fingerprint(pd.Series([1, 2, 3], name="y")) != fingerprint(
        pd.Series([1, 2, 4], name="y")
    )


@pytest.mark.parametrize("bad", [[1, 2, 3], {"a": 1}, "text", None])
def test_rejects_what_is_not_data(bad):
    with pytest.raises(InvalidInputError, match="DataFrame"):
        fingerprint(bad)
    with pytest.raises(InvalidInputError):
        schema(bad)


def test_schema_lists_names_and_dtypes():
    assert schema(frame())[:3] == [
        {"name": "x", "dtype": "float64"},
        {"name": "k", "dtype": "int64"},
        {"name": "s", "dtype": "str"},
    ]
