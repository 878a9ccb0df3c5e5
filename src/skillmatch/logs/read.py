"""Read one log file (CSV, .csv.gz or Parquet, by extension) as raw cells; a bad file raises one InputError.

CSV cells come back as text (`str` dtype; empty cells missing; "NA", "null" kept as text) so that
the validator alone decides types. Parquet columns keep their stored types. Extra columns are kept.
"""
from __future__ import annotations

import csv
import gzip
import re
import zlib
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from skillmatch.errors import InputError
from skillmatch.logs.schema import TableSchema

FORMATS: dict[str, Literal["csv", "parquet"]] = {
    ".csv": "csv", ".csv.gz": "csv", ".parquet": "parquet", ".pq": "parquet",
}
SEPARATOR = ","
OTHER_SEPARATORS = {";": "';'", "\t": "tab", "|": "'|'"}
"""Separators people export by mistake, recognised in a one-column header."""

_CSV_OPTIONS: dict[str, object] = {
    "sep": SEPARATOR, "dtype": str, "keep_default_na": False, "na_values": [""], "encoding": "utf-8",
}
_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def file_format(path: Path) -> Literal["csv", "parquet"]:
    """The reader for `path` by its extension (case-insensitive)."""
    name = path.name.lower()
    for suffix, kind in FORMATS.items():
        if name.endswith(suffix):
            return kind
    raise InputError("unknown file extension", file=path, expected="one of " + ", ".join(FORMATS),
                     got="".join(path.suffixes) or "no extension")


def read_table(path: Path, schema: TableSchema) -> pd.DataFrame:
    """The cells of one log file with a RangeIndex; refuses missing, empty, corrupt or mis-separated files."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{schema.name} file not found", file=path)
    if not path.is_file():
        raise InputError(f"{schema.name} path is not a file", file=path)
    kind = file_format(path)
    if path.stat().st_size == 0:
        raise InputError("the file is empty (0 bytes)", file=path,
                         expected=f"a header row and at least one row: {schema.meaning}")
    df = _read_csv(path) if kind == "csv" else _read_parquet(path)
    _check_separator(df, path)
    if len(df) == 0:
        raise InputError("the file has a header but no rows", file=path,
                         expected=f"at least one row: {schema.meaning}")
    return df


def _read_csv(path: Path) -> pd.DataFrame:
    """Arrow's reader when the file is clean (about 3x faster); else pandas', whose errors say where."""
    try:
        header = pd.read_csv(path, header=None, nrows=1, **_CSV_OPTIONS)  # type: ignore[call-overload]
        df = _read_csv_arrow(path, len(header.columns))
    except Exception:  # noqa: BLE001 - any trouble: the diagnostic reader below explains it or reads it
        header, df = _read_csv_pandas(path)
    df.columns = _names(header.iloc[0].tolist(), path)
    return df


def _read_csv_arrow(path: Path, n_columns: int) -> pd.DataFrame:
    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    data = _decompressed(path)
    if data.count(b'"') % 2:
        raise ValueError("odd number of quote characters")  # Arrow would let a quoted cell run to the end
    names = [f"Unnamed: {i}" for i in range(n_columns)]
    table = arrow_csv.read_csv(
        pa.BufferReader(data),
        read_options=arrow_csv.ReadOptions(column_names=names, skip_rows=1, use_threads=False),
        parse_options=arrow_csv.ParseOptions(delimiter=SEPARATOR, newlines_in_values=True),
        convert_options=arrow_csv.ConvertOptions(
            column_types={name: pa.string() for name in names}, strings_can_be_null=True,
            null_values=[""], quoted_strings_can_be_null=True),
    )
    return table.to_pandas(types_mapper={pa.string(): pd.StringDtype(na_value=np.nan)}.get)


def _read_csv_pandas(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    try:
        df = pd.read_csv(path, **_CSV_OPTIONS)  # type: ignore[call-overload]
        header = pd.read_csv(path, header=None, nrows=1, **_CSV_OPTIONS)  # type: ignore[call-overload]
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty: no header row", file=path,
                         expected="a header row naming the columns") from None
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    except pd.errors.ParserError as exc:
        raise _unparsable(path, exc) from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(f"corrupt gzip file ({exc})", file=path,
                         expected="a complete gzip-compressed CSV") from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", file=path) from None
    if not isinstance(df.index, pd.RangeIndex):
        raise InputError("every row has one more cell than the header", file=path, rows=[1],
                         n_bad_rows=len(df), expected="as many cells per row as header names")
    return header, df


def _names(raw: list[object], path: Path) -> list[str]:
    """Header names stripped; `Unnamed: i` for empty header cells; duplicates refused."""
    names = [r.strip() if isinstance(r, str) and r.strip() else f"Unnamed: {i}" for i, r in enumerate(raw)]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputError("duplicate column name", file=path, column=name, expected="each column once")
        seen.add(name)
    return names


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa

    try:
        df = pd.read_parquet(path)
    except (OSError, ValueError, NotImplementedError, pa.ArrowException) as exc:
        raise InputError(f"cannot be read as Parquet, the file is corrupt or not Parquet ({exc})",
                         file=path, expected="a Parquet file") from None
    named_index = not isinstance(df.index, pd.RangeIndex) and any(n is not None for n in df.index.names)
    df = df.reset_index(drop=not named_index)
    return df.set_axis(_names([str(c) for c in df.columns], path), axis=1)


def _check_separator(df: pd.DataFrame, path: Path) -> None:
    """A one-column table whose header holds ';', tab or '|' was written with the wrong separator."""
    if len(df.columns) != 1:
        return
    header = str(df.columns[0])
    for separator, label in OTHER_SEPARATORS.items():
        if separator in header:
            raise InputError(f"looks like {label}-separated, expected '{SEPARATOR}'", file=path,
                             got=header if len(header) <= 60 else header[:60] + "...")


def _unparsable(path: Path, exc: pd.errors.ParserError) -> InputError:
    text = str(exc)
    ragged = _RAGGED.search(text)
    if ragged:
        fields, line, saw = (int(g) for g in ragged.groups())
        return InputError(f"row has {saw} cells but the header has {fields}", file=path, rows=[line - 1],
                          expected=f"{fields} cells per row (quote cells that contain '{SEPARATOR}')")
    open_quote = _OPEN_QUOTE.search(text)
    if open_quote:
        return InputError("a quoted cell is never closed", file=path, rows=[int(open_quote.group(1))],
                          expected='a closing " for every opening "')
    return InputError(f"cannot be parsed as CSV ({text.strip()})", file=path)


def _decompressed(path: Path) -> bytes:
    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rb") as handle:
            return handle.read()
    return path.read_bytes()


def _not_utf8(path: Path) -> InputError:
    """Where the first non-UTF-8 byte is: byte offset, data row and column."""
    raw = _decompressed(path)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        start, end = exc.start, exc.end
    else:
        return InputError("the file is not UTF-8 text", file=path, expected="UTF-8 text")
    line = raw.count(b"\n", 0, start)
    line_start = raw.rfind(b"\n", 0, start) + 1
    where = "decompressed byte" if path.name.lower().endswith(".gz") else "byte"
    return InputError(
        f"not UTF-8 at {where} {start} (line {line + 1}); the file may be Latin-1 or Windows-1252",
        file=path, rows=[line] if line > 0 else None,
        column=_column_at(raw, line_start, start) if line > 0 else None,
        expected="UTF-8 text (save the file as UTF-8)", got=raw[start:end])


def _column_at(raw: bytes, line_start: int, offset: int) -> str | None:
    """The header name of the cell holding byte `offset` in the line starting at `line_start`."""
    header_end = raw.find(b"\n")
    header = next(csv.reader([raw[:header_end].decode("utf-8", "replace").strip("\r\ufeff")]), [])
    prefix = raw[line_start:offset].decode("utf-8", "replace")
    index = len(next(csv.reader([prefix]), [""])) - 1 if prefix else 0
    return header[index].strip() if 0 <= index < len(header) else None
