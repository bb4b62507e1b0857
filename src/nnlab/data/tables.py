"""Numeric rows from a CSV file or an inline "5.1,3.5,1.4,0.2", checked cell by cell."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nnlab.errors import DataError


def read_rows(source: str, *, columns: Sequence[str]) -> np.ndarray:
    """Parse `source` (a CSV path, or comma-separated numbers) into an (N, len(columns)) float array.

    A header row whose cells are not numbers is skipped. Any other problem (missing file,
    wrong number of columns, a non-number, NaN or infinity, no rows) is a one-line DataError
    naming the file, line and column.
    """
    path = Path(source)
    if path.is_file():
        try:
            text, name = path.read_text(encoding="utf-8-sig"), str(path)
        except (OSError, UnicodeDecodeError) as error:
            raise DataError(f"cannot read {path}: {error}") from None
    elif _looks_inline(source):
        text, name = source, "--input"
    else:
        raise DataError(f"input file not found: {source} (give a CSV file or numbers like 5.1,3.5,1.4,0.2)")
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if rows and not any(_is_number(cell) for cell in rows[0]):
        rows = rows[1:]
        first_line = 2
    else:
        first_line = 1
    if not rows:
        raise DataError(f"{name}: no data rows")
    return np.array([_parse_row(row, columns, name, first_line + i) for i, row in enumerate(rows)],
                    dtype=np.float32)


def _parse_row(row: list[str], columns: Sequence[str], name: str, line: int) -> list[float]:
    if len(row) != len(columns):
        raise DataError(f"{name} line {line}: expected {len(columns)} values ({', '.join(columns)}), "
                        f"got {len(row)}")
    values = []
    for column, cell in zip(columns, row):
        try:
            value = float(cell)
        except ValueError:
            raise DataError(f"{name} line {line}: {column} = '{cell.strip()}' is not a number") from None
        if not math.isfinite(value):
            raise DataError(f"{name} line {line}: {column} is {cell.strip()} (NaN or infinite)")
        values.append(value)
    return values


def _looks_inline(source: str) -> bool:
    return "," in source and "\n" not in source and not source.lower().endswith((".csv", ".txt"))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
