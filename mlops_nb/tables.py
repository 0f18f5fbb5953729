"""Tables users hand over as files: CSV (also ``.csv.gz``, ``.tsv``) or Parquet."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import InvalidInputError, NotFoundError

_READERS = {".csv": "csv", ".gz": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}


def read_table(path: str | os.PathLike[str]) -> Any:
    """A CSV (also .csv.gz, .tsv) or Parquet file as a DataFrame, with clear errors."""
    import pandas as pd

    file = Path(path)
    if file.is_dir():
        raise InvalidInputError(f"data file {path} is a folder; name a CSV or Parquet file")
    if not file.is_file():
        raise NotFoundError(f"data file {path} does not exist")
    kind = _READERS.get(file.suffix.lower())
    if kind is None:
        raise InvalidInputError(f"{path}: expected a .csv, .csv.gz, .tsv or .parquet file")
    try:
        if kind == "parquet":
            return pd.read_parquet(file)
        return pd.read_csv(file, sep="\t" if kind == "tsv" else ",")
    except ImportError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from None
    except Exception as exc:
        raise InvalidInputError(f"cannot read {path}: {type(exc).__name__}: {exc}") from None
