"""Validation of the logs: typed output on good files, one clear error (exit 2 on the CLI) on broken ones."""
from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from skillmatch.cli import app
from skillmatch.errors import InputError
from skillmatch.logs import (
    AGENTS,
    INTERACTIONS,
    load_logs,
    validate_agents,
    validate_events,
    validate_interactions,
)

LogTables = Any  # the `tables` fixture of conftest.py: all-text frames with .set() and .write()


@dataclass(frozen=True)
class Broken:
    """One kind of broken log: how to break the valid set, and what the one error must say."""

    file: str
    says: str
    column: str | None = None
    rows: tuple[int, ...] = ()
    edit: Callable[[LogTables], None] = lambda t: None
    rewrite: Callable[[Path], object] | None = None
    """Rewrites the written file of `file`; a Path it returns replaces that file's path."""
    suffix: str = ".csv"


def _cell(name: str, row: int, column: str, value: str) -> Callable[[LogTables], None]:
    return lambda t: t.set(name, row, column, value)


def _cells(*edits: tuple[str, int, str, str]) -> Callable[[LogTables], None]:
    def edit(t: LogTables) -> None:
        for name, row, column, value in edits:
            t.set(name, row, column, value)
    return edit


def _drop(name: str, *columns: str) -> Callable[[LogTables], None]:
    def edit(t: LogTables) -> None:
        setattr(t, name, t.table(name).drop(columns=list(columns)))
    return edit


def _keep_lines(n: int) -> Callable[[Path], None]:
    def rewrite(path: Path) -> None:
        path.write_text("".join(path.read_text().splitlines(keepends=True)[:n]))
    return rewrite


def _separated_by(separator: str) -> Callable[[Path], None]:
    def rewrite(path: Path) -> None:
        pd.read_csv(path, dtype=str, keep_default_na=False).to_csv(path, sep=separator, index=False)
    return rewrite


def _latin1(path: Path) -> None:
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))


def _append_to_line(line: int, text: str) -> Callable[[Path], None]:
    def rewrite(path: Path) -> None:
        lines = path.read_text().splitlines()
        lines[line - 1] += text
        path.write_text("\n".join(lines) + "\n")
    return rewrite


def _rename_header(old: str, new: str) -> Callable[[Path], None]:
    def rewrite(path: Path) -> None:
        header, rest = path.read_text().split("\n", 1)
        path.write_text(header.replace(old, new) + "\n" + rest)
    return rewrite


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:40])


def _garbage(path: Path) -> None:
    path.write_bytes(b"PAR1 this is not really parquet")


def _rename(suffix: str) -> Callable[[Path], Path]:
    def rewrite(path: Path) -> Path:
        return path.rename(path.with_suffix(suffix))
    return rewrite


def _delete(path: Path) -> None:
    path.unlink()


BROKEN: dict[str, Broken] = {
    "missing_required_column": Broken("interactions", "missing required column topic", "topic",
                                      edit=_drop("interactions", "topic")),
    "bad_timestamp": Broken("interactions", "not a valid timestamp", "created_at", (2,),
                            _cell("interactions", 2, "created_at", "23/11/2026 09:05")),
    "priority_out_of_range": Broken("interactions", "out of range", "priority", (3,),
                                    _cell("interactions", 3, "priority", "7")),
    "sentiment_out_of_range": Broken("interactions", "out of range", "sentiment", (1,),
                                     _cell("interactions", 1, "sentiment", "1.5")),
    "resolved_not_bool": Broken("interactions", "not a valid true/false", "resolved", (4,),
                                _cell("interactions", 4, "resolved", "maybe")),
    "csat_not_whole": Broken("interactions", "not a valid whole number", "csat", (1,),
                             _cell("interactions", 1, "csat", "4.5")),
    "required_cell_empty": Broken("interactions", "required value is empty", "agent_id", (4,),
                                  _cell("interactions", 4, "agent_id", "  ")),
    "duplicate_ticket_id": Broken("interactions", "duplicate ticket_id", "ticket_id", (1, 3),
                                  _cell("interactions", 3, "ticket_id", "T1")),
    "agent_not_on_roster": Broken("interactions", "not on the roster", "agent_id", (2,),
                                  _cell("interactions", 2, "agent_id", "A9")),
    "closed_before_created": Broken("interactions", "closed_at is before created_at", "closed_at", (1,),
                                    _cells(("interactions", 1, "assigned_at", ""),
                                           ("interactions", 1, "closed_at", "2026-11-23T08:00:00Z"))),
    "assigned_before_created": Broken("interactions", "assigned_at is before created_at", "assigned_at",
                                      (3,), _cell("interactions", 3, "assigned_at", "2026-11-23T09:59:00Z")),
    "no_handle_time_not_derivable": Broken("interactions", "cannot be derived", "handle_time_s", (2,),
                                           _cell("interactions", 2, "closed_at", "")),
    "derived_handle_time_zero": Broken("interactions", "not > 0", "handle_time_s", (2,),
                                       _cell("interactions", 2, "closed_at", "2026-11-23T09:06:00Z")),
    "no_handle_time_column": Broken("interactions", "cannot be derived", "handle_time_s",
                                    edit=_drop("interactions", "handle_time_s", "closed_at")),
    "handle_time_zero": Broken("interactions", "out of range", "handle_time_s", (4,),
                               _cell("interactions", 4, "handle_time_s", "0")),
    "duplicate_agent_id": Broken("agents", "duplicate agent_id", "agent_id", (1, 2),
                                 _cell("agents", 2, "agent_id", "A1")),
    "bad_skills_level": Broken("agents", "not a valid list of skill levels", "skills", (1,),
                               _cell("agents", 1, "skills", "billing:7;returns:2")),
    "skills_without_level": Broken("agents", "not a valid list of skill levels", "skills", (2,),
                                   _cell("agents", 2, "skills", "technical")),
    "capacity_zero": Broken("agents", "out of range", "capacity", (2,), _cell("agents", 2, "capacity", "0")),
    "bad_hire_date": Broken("agents", "not a valid date", "hire_date", (3,),
                            _cell("agents", 3, "hire_date", "last spring")),
    "unknown_event": Broken("events", "unknown event", "event", (3,), _cell("events", 3, "event", "picked")),
    "event_without_agent": Broken("events", "event without agent_id", "agent_id", (4,),
                                  _cell("events", 4, "agent_id", "")),
    "ticket_event_without_ticket": Broken("events", "ticket event without ticket_id", "ticket_id", (2,),
                                          _cell("events", 2, "ticket_id", "")),
    "bad_event_time": Broken("events", "not a valid timestamp", "ts", (5,),
                             _cell("events", 5, "ts", "noon")),
    "empty_file": Broken("interactions", "empty", rewrite=lambda p: p.write_bytes(b"")),
    "blank_lines_only": Broken("agents", "empty", rewrite=lambda p: p.write_text("\n\n")),
    "header_only": Broken("interactions", "header but no rows", rewrite=_keep_lines(1)),
    "semicolon_separated": Broken("interactions", "looks like ';'-separated, expected ','",
                                  rewrite=_separated_by(";")),
    "tab_separated": Broken("agents", "looks like tab-separated", rewrite=_separated_by("\t")),
    "latin1_bytes": Broken("interactions", "not UTF-8", "topic", (3,),
                           _cell("interactions", 3, "topic", "café"), rewrite=_latin1),
    "ragged_row": Broken("interactions", "cells but the header has", rows=(2,),
                         rewrite=_append_to_line(3, ",surplus")),
    "unclosed_quote": Broken("agents", "never closed", rows=(2,), rewrite=_append_to_line(3, ',"oops')),
    "duplicate_column_name": Broken("interactions", "duplicate column name", "topic",
                                    rewrite=_rename_header("channel", "topic")),
    "corrupt_gzip": Broken("interactions", "corrupt gzip", rewrite=_truncate, suffix=".csv.gz"),
    "corrupt_parquet": Broken("agents", "Parquet", rewrite=_garbage, suffix=".parquet"),
    "unknown_extension": Broken("interactions", "unknown file extension", rewrite=_rename(".xlsx")),
    "missing_file": Broken("events", "not found", rewrite=_delete),
}


def _write_broken(case: Broken, logs: LogTables, tmp_path: Path) -> dict[str, Path]:
    case.edit(logs)
    paths = logs.write(tmp_path, case.suffix)
    if case.rewrite is not None:
        moved = case.rewrite(paths[case.file])
        paths[case.file] = moved if isinstance(moved, Path) else paths[case.file]
    return paths


def _run_validate(paths: dict[str, Path]) -> object:
    args = ["validate", "--interactions", str(paths["interactions"]), "--agents", str(paths["agents"]),
            "--events", str(paths["events"])]
    return CliRunner().invoke(app, args)


def _rows_text(rows: tuple[int, ...]) -> str:
    return ("row " if len(rows) == 1 else "rows ") + ", ".join(str(r) for r in rows)


@pytest.mark.parametrize("case", BROKEN.values(), ids=BROKEN.keys())
def test_broken_file_is_refused_by_the_cli(case: Broken, tables: LogTables, tmp_path: Path) -> None:
    paths = _write_broken(case, tables, tmp_path)
    result = _run_validate(paths)
    output = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 2, output  # type: ignore[attr-defined]
    assert "Traceback" not in output
    assert isinstance(result.exception, SystemExit)  # type: ignore[attr-defined]
    assert output.startswith("error: ")
    assert output.count("error:") == 1
    assert str(paths[case.file]) in output
    assert case.says in output
    if case.column is not None:
        assert f"column '{case.column}'" in output
    if case.rows:
        assert _rows_text(case.rows) in output


@pytest.mark.parametrize("case", BROKEN.values(), ids=BROKEN.keys())
def test_broken_file_raises_one_input_error(case: Broken, tables: LogTables, tmp_path: Path) -> None:
    paths = _write_broken(case, tables, tmp_path)
    with pytest.raises(InputError) as caught:
        load_logs(paths["interactions"], paths["agents"], paths["events"])
    error = caught.value
    assert error.file == str(paths[case.file])
    assert error.column == case.column
    assert tuple(error.rows) == case.rows
    assert case.says in error.problem


def test_the_valid_set_passes_the_cli(tables: LogTables, write_logs: Callable[..., dict[str, Path]]) -> None:
    result = _run_validate(write_logs(tables))
    assert result.exit_code == 0, result.output


def _load(tables: LogTables, write_logs: Callable[..., dict[str, Path]], suffix: str = ".csv"):
    paths = write_logs(tables, suffix, folder=suffix.strip("."))
    return load_logs(paths["interactions"], paths["agents"], paths["events"])


@pytest.mark.parametrize("suffix", [".csv.gz", ".parquet", ".pq"])
def test_every_format_gives_the_same_frames(tables: LogTables, write_logs, suffix: str) -> None:
    from_csv = _load(tables, write_logs)
    other = _load(tables, write_logs, suffix)
    pd.testing.assert_frame_equal(other.interactions, from_csv.interactions)
    pd.testing.assert_frame_equal(other.agents, from_csv.agents)
    pd.testing.assert_frame_equal(other.events, from_csv.events)
    assert other.sources["interactions"].name == f"interactions{suffix}"


def test_typed_parquet_gives_the_same_frame_as_text(tables: LogTables, write_logs, tmp_path: Path) -> None:
    logs = _load(tables, write_logs)
    typed = logs.interactions.copy()
    typed["created_at"] = typed["created_at"].dt.tz_localize(None).dt.as_unit("ns")  # naive: read as UTC
    typed.to_parquet(tmp_path / "typed.parquet", index=False)
    again = validate_interactions(pd.read_parquet(tmp_path / "typed.parquet"), "typed.parquet")
    pd.testing.assert_frame_equal(again, logs.interactions)


def test_typed_parquet_roster_gives_the_same_frame_as_text(tables: LogTables, tmp_path: Path) -> None:
    import datetime as dt

    typed = pd.DataFrame({
        "agent_id": pd.Categorical(["A1", "A2", "A3"]),
        "languages": [["en", "ES"], ["es"], None],
        "skills": ["billing:4;returns:2", "technical:5", None],
        "certifications": [["fraud"], [], None],
        "growth_topics": [["technical"], None, ["billing"]],
        "team": ["north", "south", None],
        "hire_date": [dt.date(2024, 3, 1), dt.date(2025, 1, 15), None],
        "capacity": pd.array([2, None, 1], dtype="Int64"),
    })
    typed.to_parquet(tmp_path / "agents.parquet", index=False)
    again = validate_agents(pd.read_parquet(tmp_path / "agents.parquet"), "agents.parquet")
    pd.testing.assert_frame_equal(again, validate_agents(tables.agents))


def test_timestamps_are_utc_and_naive_ones_are_read_as_utc(tables: LogTables) -> None:
    tables.set("interactions", 1, "created_at", "2026-11-23T09:00:00")
    tables.set("interactions", 1, "assigned_at", "2026-11-23T11:02:00+02:00")
    tables.set("interactions", 1, "closed_at", "2026-11-23 09:12:00")
    out = validate_interactions(tables.interactions)
    assert str(out["created_at"].dtype) == "datetime64[us, UTC]"
    first = out.iloc[0]
    assert first["created_at"] == pd.Timestamp("2026-11-23T09:00:00", tz="UTC")
    assert first["assigned_at"] == pd.Timestamp("2026-11-23T09:02:00", tz="UTC")
    assert first["closed_at"] == pd.Timestamp("2026-11-23T09:12:00", tz="UTC")


def test_handle_time_is_derived_only_where_empty(tables: LogTables) -> None:
    out = validate_interactions(tables.interactions)
    assert out["handle_time_s"].tolist() == [540.0, 600.0, 900.0, 300.0]
    assert out["handle_time_s"].dtype == np.float64


def test_handle_time_is_derived_when_the_column_is_absent(tables: LogTables) -> None:
    out = validate_interactions(tables.interactions.drop(columns=["handle_time_s"]))
    assert out["handle_time_s"].tolist() == [600.0, 600.0, 1200.0, 300.0]


def test_defaults_fill_empty_and_absent_cells(tables: LogTables) -> None:
    interactions = validate_interactions(tables.interactions)
    assert interactions["language"].tolist() == ["en", "en", "es", "en"]
    assert interactions["priority"].tolist() == [2, 3, 1, 3]
    agents = validate_agents(tables.agents.drop(columns=["capacity"]))
    assert agents["capacity"].tolist() == [1, 1, 1]
    assert agents["capacity"].dtype == np.int64
    agents = validate_agents(tables.agents)
    assert agents["capacity"].tolist() == [2, 1, 1]
    assert agents["languages"].tolist() == [("en", "es"), ("es",), ("en",)]
    assert agents["certifications"].tolist() == [("fraud",), (), ()]
    assert agents["skills"].tolist() == [{"billing": 4, "returns": 2}, {"technical": 5}, {}]


def test_a_roster_of_ids_only_gets_every_default() -> None:
    out = validate_agents(pd.DataFrame({"agent_id": ["A1", "A2"]}))
    assert list(out.columns) == list(AGENTS.names)
    assert out["languages"].tolist() == [("en",), ("en",)]
    assert out["skills"].tolist() == [{}, {}]
    assert out["certifications"].tolist() == [(), ()]
    assert out["capacity"].tolist() == [1, 1]
    assert out["hire_date"].isna().all() and str(out["hire_date"].dtype) == "datetime64[us]"


def test_absent_optional_columns_are_added_typed(tables: LogTables) -> None:
    minimal = tables.interactions[["ticket_id", "created_at", "agent_id", "topic", "handle_time_s",
                                   "resolved"]]
    minimal = minimal.assign(handle_time_s="60")
    out = validate_interactions(minimal)
    assert list(out.columns) == list(INTERACTIONS.names)
    assert out["assigned_at"].isna().all() and str(out["assigned_at"].dtype) == "datetime64[us, UTC]"
    assert out["csat"].isna().all() and str(out["csat"].dtype) == "Int64"
    assert out["reopened"].isna().all() and str(out["reopened"].dtype) == "boolean"
    assert out["language"].eq("en").all() and out["priority"].eq(3).all()


EXPECTED_DTYPES = {
    "ticket_id": "str", "created_at": "datetime64[us, UTC]", "assigned_at": "datetime64[us, UTC]",
    "priority": "int64", "sentiment": "float64", "handle_time_s": "float64", "resolved": "bool",
    "reopened": "boolean", "transferred": "boolean", "csat": "Int64", "qa_score": "float64",
}


@pytest.mark.parametrize(("column", "dtype"), EXPECTED_DTYPES.items(), ids=EXPECTED_DTYPES.keys())
def test_interactions_dtypes(tables: LogTables, column: str, dtype: str) -> None:
    assert str(validate_interactions(tables.interactions)[column].dtype) == dtype


def test_agents_and_events_dtypes(tables: LogTables) -> None:
    agents = validate_agents(tables.agents)
    assert str(agents["hire_date"].dtype) == "datetime64[us]"
    assert agents["hire_date"].iloc[0] == pd.Timestamp("2024-03-01")
    assert str(agents["capacity"].dtype) == "int64"
    events = validate_events(tables.events)
    assert str(events["ts"].dtype) == "datetime64[us, UTC]"
    assert events["agent_id"].isna().tolist() == [False, True, False, False, False, False]
    assert events["ticket_id"].isna().tolist() == [True, False, False, False, False, True]


def test_extra_columns_are_kept_unchanged_after_the_contract_columns(tables: LogTables) -> None:
    raw = tables.interactions.assign(queue_name=[" vip-line", "", "x", "NA"])
    out = validate_interactions(raw)
    assert list(out.columns) == [*INTERACTIONS.names, "queue_name"]
    assert out["queue_name"].tolist() == [" vip-line", "", "x", "NA"]


SPELLINGS = {"true": True, "TRUE": True, "t": True, "Yes": True, "1": True, " true ": True,
             "false": False, "F": False, "no": False, "0": False, "False": False}


@pytest.mark.parametrize(("text", "value"), SPELLINGS.items(), ids=SPELLINGS.keys())
def test_bool_spellings(tables: LogTables, text: str, value: bool) -> None:
    tables.set("interactions", 1, "resolved", text)
    tables.set("interactions", 1, "reopened", text)
    out = validate_interactions(tables.interactions)
    assert out["resolved"].iloc[0] is np.True_ if value else out["resolved"].iloc[0] is np.False_
    assert bool(out["reopened"].iloc[0]) is value


def test_na_words_are_empty_in_typed_columns_but_text_in_text_columns(tables: LogTables) -> None:
    tables.set("interactions", 1, "csat", "NA")
    tables.set("interactions", 1, "qa_score", "null")
    tables.set("interactions", 1, "customer_id", "NA")
    out = validate_interactions(tables.interactions)
    assert out["csat"].isna().iloc[0]
    assert np.isnan(out["qa_score"].iloc[0])
    assert out["customer_id"].iloc[0] == "NA"


def test_na_in_a_required_typed_column_is_an_empty_cell(tables: LogTables) -> None:
    tables.set("interactions", 2, "resolved", "N/A")
    with pytest.raises(InputError, match=r"column 'resolved', row 2: required value is empty"):
        validate_interactions(tables.interactions, "i.csv")


def test_text_is_stripped_and_roster_matching_columns_lower_cased(tables: LogTables) -> None:
    tables.set("interactions", 1, "topic", " Billing ")
    tables.set("interactions", 1, "language", "EN")
    tables.set("interactions", 1, "channel", " Chat")
    tables.set("interactions", 1, "agent_id", " A1 ")
    out = validate_interactions(tables.interactions)
    assert out.loc[0, ["topic", "language", "channel", "agent_id"]].tolist() == ["billing", "en", "Chat", "A1"]


def test_lists_and_skills_are_normalised(tables: LogTables) -> None:
    tables.set("agents", 1, "languages", " EN ; es;en;")
    tables.set("agents", 1, "skills", "Billing:4; returns : 2")
    tables.set("agents", 1, "growth_topics", "Technical")
    out = validate_agents(tables.agents)
    assert out.loc[0, "languages"] == ("en", "es")
    assert out.loc[0, "skills"] == {"billing": 4, "returns": 2}
    assert out.loc[0, "growth_topics"] == ("technical",)


@pytest.mark.parametrize("skills", ["billing:4;billing:2", "billing:0", "billing:x", ":3", "billing:4.5"])
def test_bad_skills_are_refused(tables: LogTables, skills: str) -> None:
    tables.set("agents", 3, "skills", skills)
    with pytest.raises(InputError, match=r"column 'skills', row 3: not a valid list of skill levels") as caught:
        validate_agents(tables.agents, "agents.csv")
    assert caught.value.got == [skills]


def test_event_names_are_case_insensitive(tables: LogTables) -> None:
    tables.set("events", 2, "event", "Queued")
    assert validate_events(tables.events)["event"].iloc[1] == "queued"


def test_the_first_failing_check_wins(tables: LogTables) -> None:
    tables.set("interactions", 3, "priority", "9")
    tables.set("interactions", 4, "created_at", "soon")
    tables.set("interactions", 2, "agent_id", "ghost")
    with pytest.raises(InputError) as caught:
        validate_interactions(tables.interactions)
    assert (caught.value.column, caught.value.rows) == ("created_at", [4])


def test_column_checks_come_before_the_roster_check(tables: LogTables, write_logs) -> None:
    tables.set("interactions", 2, "agent_id", "ghost")
    tables.set("agents", 2, "capacity", "-1")
    paths = write_logs(tables)
    with pytest.raises(InputError) as caught:
        load_logs(paths["interactions"], paths["agents"], paths["events"])
    assert (caught.value.file, caught.value.column) == (str(paths["agents"]), "capacity")


def test_an_error_counts_every_bad_row_and_shows_the_first(tables: LogTables) -> None:
    many = pd.concat([tables.interactions] * 3, ignore_index=True)
    many["ticket_id"] = [f"T{i}" for i in range(len(many))]
    many.loc[[1, 2, 4, 6, 7, 9, 11], "sentiment"] = "-3"
    with pytest.raises(InputError) as caught:
        validate_interactions(many, "i.csv")
    error = caught.value
    assert error.n_bad_rows == 7
    assert error.rows == [2, 3, 5, 7, 8]
    assert "rows 2, 3, 5, 7, 8 and 2 more" in str(error)
    assert "expected a number from -1 to 1" in str(error)


def test_missing_columns_are_all_named_with_a_case_hint(tables: LogTables) -> None:
    raw = tables.interactions.drop(columns=["resolved"]).rename(columns={"topic": "Topic"})
    with pytest.raises(InputError, match=r"missing required columns topic, resolved \(found 'Topic'"):
        validate_interactions(raw, "i.csv")


def test_agents_schema_is_the_one_used(tables: LogTables) -> None:
    out = validate_agents(tables.agents)
    assert list(out.columns) == list(AGENTS.names)


def _big_interactions(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    created = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 86400 * 90, n), unit="s")
    assigned = created + pd.to_timedelta(rng.integers(0, 600, n), unit="s")
    closed = assigned + pd.to_timedelta(rng.integers(1, 3000, n), unit="s")
    iso = "%Y-%m-%dT%H:%M:%SZ"
    text = {
        "ticket_id": pd.Series(np.arange(n)).astype("str").radd("T"),
        "created_at": created.strftime(iso), "assigned_at": assigned.strftime(iso),
        "closed_at": closed.strftime(iso),
        "agent_id": rng.choice(["A1", "A2"], n), "topic": rng.choice(["billing", "returns"], n),
        "language": rng.choice(["en", "es", ""], n), "priority": rng.integers(1, 5, n).astype(str),
        "sentiment": np.round(rng.uniform(-1, 1, n), 3).astype(str), "handle_time_s": "",
        "resolved": rng.choice(["true", "false"], n), "reopened": rng.choice(["1", "0", ""], n),
        "csat": rng.choice(["1", "5", ""], n), "qa_score": np.round(rng.uniform(1, 5, n), 2).astype(str),
    }
    return pd.DataFrame({k: pd.Series(v, dtype="str") for k, v in text.items()})


@pytest.mark.slow
def test_a_million_rows_validate_in_seconds() -> None:
    raw = _big_interactions(1_000_000)
    start = time.perf_counter()
    out = validate_interactions(raw, "big.csv")
    elapsed = time.perf_counter() - start
    assert len(out) == 1_000_000 and out["handle_time_s"].gt(0).all()
    assert elapsed < 15, f"validating 1M rows took {elapsed:.1f} s"


def test_gzip_and_plain_csv_read_the_same_bytes(tables: LogTables, write_logs) -> None:
    paths = write_logs(tables)
    zipped = paths["interactions"].with_name("interactions.csv.gz")
    zipped.write_bytes(gzip.compress(paths["interactions"].read_bytes()))
    plain = load_logs(paths["interactions"], paths["agents"]).interactions
    pd.testing.assert_frame_equal(load_logs(zipped, paths["agents"]).interactions, plain)
