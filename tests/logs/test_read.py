"""Reading log files: formats by extension, cells as text, and one InputError naming the file when unreadable."""
from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from skillmatch.errors import InputError
from skillmatch.logs import AGENTS, EVENTS, INTERACTIONS, read_table

GOOD = "agent_id,languages,capacity,shift\nA1,en;es,2,early\nA2,,,late\n"


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_csv_cells_are_text_with_empty_cells_missing(tmp_path: Path) -> None:
    path = _write(tmp_path, "agents.csv", 'agent_id,team,capacity\nA1, NA ,2\nA2,,"3"\nA3,null,""\n')
    df = read_table(path, AGENTS)
    assert list(df.columns) == ["agent_id", "team", "capacity"]
    assert all(str(dtype) == "str" for dtype in df.dtypes)
    assert isinstance(df.index, pd.RangeIndex)
    assert df["team"].tolist()[0] == " NA "  # kept as written: the validator strips and types
    assert df["team"].isna().tolist() == [False, True, False]
    assert df["capacity"].isna().tolist() == [False, False, True]


@pytest.mark.parametrize("name", ["agents.csv", "agents.CSV", "agents.csv.gz", "agents.parquet", "agents.pq"])
def test_every_extension_reads_the_same_cells(tmp_path: Path, name: str) -> None:
    expected = read_table(_write(tmp_path, "reference.csv", GOOD), AGENTS)
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(GOOD.encode()))
    elif name.endswith((".parquet", ".pq")):
        expected.to_parquet(path, index=False)
    else:
        path.write_text(GOOD)
    pd.testing.assert_frame_equal(read_table(path, AGENTS), expected)


def test_header_names_are_stripped_and_a_bom_ignored(tmp_path: Path) -> None:
    path = _write(tmp_path, "events.csv", "\ufeff ts , event,ticket_id ,agent_id\r\n2026-01-01,queued,T1,\r\n")
    assert list(read_table(path, EVENTS).columns) == ["ts", "event", "ticket_id", "agent_id"]


def test_extra_and_unnamed_columns_are_kept(tmp_path: Path) -> None:
    path = _write(tmp_path, "agents.csv", ",agent_id,shift\n0,A1,early\n1,A2,\n")
    df = read_table(path, AGENTS)
    assert list(df.columns) == ["Unnamed: 0", "agent_id", "shift"]
    assert df["shift"].tolist()[0] == "early"


def test_quoted_cells_keep_separators_and_newlines(tmp_path: Path) -> None:
    path = _write(tmp_path, "agents.csv", 'agent_id,team\nA1,"north, east"\nA2,"two\nlines"\n')
    assert read_table(path, AGENTS)["team"].tolist() == ["north, east", "two\nlines"]


def test_a_short_row_reads_as_empty_cells(tmp_path: Path) -> None:
    # Arrow refuses short rows; the pandas reader takes over and must give the same frame shape.
    clean = read_table(_write(tmp_path, "a.csv", GOOD), AGENTS)
    short = read_table(_write(tmp_path, "b.csv", GOOD + "A3\n"), AGENTS)
    pd.testing.assert_frame_equal(short.iloc[:2], clean)
    assert short.iloc[2].isna().tolist() == [False, True, True, True]


def test_a_named_parquet_index_comes_back_as_a_column(tmp_path: Path) -> None:
    frame = pd.DataFrame({"agent_id": ["A1", "A2"], "capacity": [1, 2]}).set_index("agent_id")
    frame.to_parquet(tmp_path / "agents.parquet")
    df = read_table(tmp_path / "agents.parquet", AGENTS)
    assert list(df.columns) == ["agent_id", "capacity"]
    assert df["agent_id"].tolist() == ["A1", "A2"]
    assert isinstance(df.index, pd.RangeIndex)


def test_parquet_keeps_its_stored_types(tmp_path: Path) -> None:
    pd.DataFrame({"agent_id": ["A1"], "capacity": [2]}).to_parquet(tmp_path / "agents.pq", index=False)
    assert read_table(tmp_path / "agents.pq", AGENTS)["capacity"].dtype == "int64"


def _gz(data: bytes) -> bytes:
    return gzip.compress(data)


UNREADABLE = {
    # id: (file name, bytes, words in the message, rows, column)
    "zero_bytes": ("interactions.csv", b"", "the file is empty (0 bytes)", [], None),
    "blank_lines": ("interactions.csv", b"\n\n\n", "no header row", [], None),
    "header_only": ("interactions.csv", b"ticket_id,created_at\n", "header but no rows", [], None),
    "header_only_gz": ("interactions.csv.gz", _gz(b"ticket_id,created_at\n"), "header but no rows", [], None),
    "semicolons": ("agents.csv", b"agent_id;team\nA1;x\n", "looks like ';'-separated, expected ','", [], None),
    "tabs": ("agents.csv", b"agent_id\tteam\nA1\tx\n", "looks like tab-separated", [], None),
    "pipes": ("agents.csv", b"agent_id|team\nA1|x\n", "looks like '|'-separated", [], None),
    "latin1": ("agents.csv", "agent_id,team\nA1,x\nA2,Montréal\n".encode("latin-1"),
               "not UTF-8 at byte 27 (line 3)", [2], "team"),
    "latin1_gz": ("agents.csv.gz", _gz("agent_id,team\nA1,Zürich\n".encode("latin-1")),
                  "not UTF-8 at decompressed byte 18", [1], "team"),
    "latin1_header": ("agents.csv", "agent_id,équipe\nA1,x\n".encode("latin-1"), "(line 1)", [], None),
    "ragged": ("agents.csv", b"agent_id,team\nA1,x\nA2,y\nA3,z,extra\n", "row has 3 cells but the header has 2",
               [3], None),
    "one_more_cell_everywhere": ("agents.csv", b"agent_id,team\nA1,x,1\nA2,y,2\n", "one more cell", [1], None),
    "open_quote": ("agents.csv", b'agent_id,team\nA1,x\nA2,"y\nA3,z\n', "quoted cell is never closed", [2], None),
    "duplicate_column": ("agents.csv", b"agent_id,team,team \nA1,x,y\n", "duplicate column name", [], "team"),
    "not_gzip": ("agents.csv.gz", b"agent_id,team\nA1,x\n", "corrupt gzip", [], None),
    "truncated_gzip": ("agents.csv.gz", _gz(b"agent_id,team\n" + b"A1,x\n" * 1000)[:30], "corrupt gzip", [], None),
    "not_parquet": ("agents.parquet", b"agent_id,team\nA1,x\n", "cannot be read as Parquet", [], None),
    "unknown_extension": ("agents.json", b"[]", "unknown file extension", [], None),
    "no_extension": ("agents", b"agent_id\nA1\n", "unknown file extension", [], None),
}


@pytest.mark.parametrize(("name", "data", "says", "rows", "column"), UNREADABLE.values(), ids=UNREADABLE.keys())
def test_unreadable_files_raise_one_input_error(tmp_path: Path, name: str, data: bytes, says: str,
                                                rows: list[int], column: str | None) -> None:
    path = _write(tmp_path, name, data)
    with pytest.raises(InputError) as caught:
        read_table(path, AGENTS if name.startswith("agents") else INTERACTIONS)
    error = caught.value
    assert error.file == str(path)
    assert str(error).startswith(str(path))
    assert says in str(error)
    assert error.rows == rows
    assert error.column == column


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"interactions file not found") as caught:
        read_table(tmp_path / "nope.csv", INTERACTIONS)
    assert caught.value.file == str(tmp_path / "nope.csv")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(InputError, match=r"agents path is not a file"):
        read_table(tmp_path / "folder.csv", AGENTS)


def test_not_utf8_shows_the_offending_bytes(tmp_path: Path) -> None:
    path = _write(tmp_path, "agents.csv", b"agent_id,team\nA1,caf\xe9\n")
    with pytest.raises(InputError) as caught:
        read_table(path, AGENTS)
    assert caught.value.got == b"\xe9"
    assert "Latin-1" in caught.value.problem
