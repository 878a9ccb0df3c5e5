"""Check log tables against the contract (schema.py) and return them typed; the first broken rule raises.

Order of checks, so the same file always gives the same error: structure (columns present, no
duplicate names, some rows), then each column in schema order (empty required cells, unreadable
values, range, choices, duplicate keys), then rules across columns, then rules across files.
Rows in errors are 1-based data-row numbers (the header is not counted).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd

from skillmatch.errors import MAX_ROWS_SHOWN, MAX_VALUES_SHOWN, InputError
from skillmatch.logs.columns import Parsed, parse_column
from skillmatch.logs.read import read_table
from skillmatch.logs.schema import (
    AGENT_EVENTS,
    AGENTS,
    EVENTS,
    INTERACTIONS,
    TICKET_EVENTS_WITHOUT_AGENT,
    Column,
    TableSchema,
)

CASE_FOLDED = ("topic", "language")
"""Interactions columns lower-cased: they are matched with the roster's lower-cased lists and skills."""

KIND_WORDS = {"str": "text", "timestamp": "timestamp", "date": "date", "int": "whole number",
              "float": "number", "bool": "true/false value", "list": "list", "levels": "list of skill levels"}

FileLike = str | Path | None


@dataclass(frozen=True, eq=False)
class Logs:
    """Validated, typed log tables and the files they were read from (keys: interactions, agents, events)."""

    interactions: pd.DataFrame
    agents: pd.DataFrame
    events: pd.DataFrame | None
    sources: dict[str, Path]


def load_logs(interactions: Path, agents: Path, events: Path | None = None) -> Logs:
    """Read and validate each file whole, then check across files; nothing half-read is returned."""
    inter = validate_interactions(read_table(Path(interactions), INTERACTIONS), interactions)
    roster = validate_agents(read_table(Path(agents), AGENTS), agents)
    queue = None if events is None else validate_events(read_table(Path(events), EVENTS), events)
    check_roster(inter, roster, interactions, agents)
    sources = {"interactions": Path(interactions), "agents": Path(agents)}
    if events is not None:
        sources["events"] = Path(events)
    return Logs(inter, roster, queue, sources)


def validate_interactions(df: pd.DataFrame, file: FileLike = None) -> pd.DataFrame:
    """Typed interactions: UTC timestamps, defaults filled, handle_time_s derived where it was empty."""
    df = _check_structure(df, INTERACTIONS, file)
    if "handle_time_s" not in df.columns and not {"assigned_at", "closed_at"} <= set(df.columns):
        raise InputError("missing column handle_time_s, and without both assigned_at and closed_at "
                         "it cannot be derived", file=file, column="handle_time_s",
                         expected="a handle_time_s column, or both assigned_at and closed_at columns")
    out = _typed_table(df, INTERACTIONS, file)
    for name in CASE_FOLDED:
        out[name] = out[name].str.lower()
    _check_time_order(out, file)
    out["handle_time_s"] = _handle_time(out, file)
    return out


def validate_agents(df: pd.DataFrame, file: FileLike = None) -> pd.DataFrame:
    """Typed roster: lists as tuples of lower-case strings, skills as dict topic -> level, capacity >= 1."""
    return _typed_table(_check_structure(df, AGENTS, file), AGENTS, file)


def validate_events(df: pd.DataFrame, file: FileLike = None) -> pd.DataFrame:
    """Typed queue events: known event names, and the ticket or agent each kind of event is about."""
    out = _typed_table(_check_structure(df, EVENTS, file), EVENTS, file)
    event = out["event"]
    about_agent = event.isin(AGENT_EVENTS).to_numpy(dtype=bool)
    without_agent = event.isin(TICKET_EVENTS_WITHOUT_AGENT).to_numpy(dtype=bool)
    no_ticket = ~about_agent & out["ticket_id"].isna().to_numpy(dtype=bool)
    if no_ticket.any():
        _fail("ticket event without ticket_id", no_ticket, file=file, column="ticket_id",
              expected="a ticket_id for every event except " + ", ".join(AGENT_EVENTS), got=event)
    no_agent = ~without_agent & out["agent_id"].isna().to_numpy(dtype=bool)
    if no_agent.any():
        _fail("event without agent_id", no_agent, file=file, column="agent_id",
              expected="an agent_id for every event except " + ", ".join(TICKET_EVENTS_WITHOUT_AGENT),
              got=event)
    return out


def check_roster(interactions: pd.DataFrame, agents: pd.DataFrame, file: FileLike = None,
                 agents_file: FileLike = None) -> None:
    """Every agent who handled a ticket must be on the roster (error names the interactions file)."""
    handled_by = interactions["agent_id"]
    unknown = ~handled_by.isin(agents["agent_id"]).to_numpy(dtype=bool)
    if unknown.any():
        roster = f" ({agents_file})" if agents_file is not None else ""
        _fail(f"agent not on the roster{roster}", unknown, file=file, column="agent_id",
              expected="an agent_id listed in the agents file",
              got=_distinct(handled_by[unknown]))


def _check_structure(df: pd.DataFrame, schema: TableSchema, file: FileLike) -> pd.DataFrame:
    """Unique column names, the required columns, at least one row; returns df with a RangeIndex."""
    names = pd.Index(df.columns)
    if names.has_duplicates:
        duplicated = [str(n) for n in names[names.duplicated()].unique()]
        raise InputError("duplicate column name", file=file, column=duplicated[0],
                         expected="each column once", got=duplicated)
    missing = [name for name in schema.required if name not in names]
    if missing:
        present = {str(n).strip().lower(): str(n) for n in names}
        near = [present[m] for m in missing if m in present]
        hint = f" (found {', '.join(repr(n) for n in near)}: names are case-sensitive)" if near else ""
        label = "columns" if len(missing) > 1 else "column"
        raise InputError(f"missing required {label} {', '.join(missing)}{hint}", file=file,
                         column=missing[0], expected=f"a header with {', '.join(schema.required)}",
                         got=[str(n) for n in names])
    if len(df) == 0:
        raise InputError(f"the {schema.name} table has no rows", file=file,
                         expected=f"at least one row: {schema.meaning}")
    return df.reset_index(drop=True)


def _typed_table(df: pd.DataFrame, schema: TableSchema, file: FileLike) -> pd.DataFrame:
    """Every schema column typed (absent optional ones as empty/default), then the extra columns unchanged."""
    typed: dict[str, pd.Series] = {}
    for column in schema.columns:
        raw = df[column.name] if column.name in df.columns else pd.Series(np.nan, index=df.index, dtype="str")
        typed[column.name] = _typed_column(column, raw, file)
        if column.name == schema.key:
            _check_unique(typed[column.name], column, file)
    extras = {name: df[name] for name in df.columns if name not in schema.by_name}
    return pd.DataFrame({**typed, **extras}, index=df.index)


def _typed_column(column: Column, raw: pd.Series, file: FileLike) -> pd.Series:
    parsed = parse_column(column, raw)
    if column.required and parsed.missing.any():
        _fail("required value is empty", parsed.missing, file=file, column=column.name,
              expected=column.expected())
    if parsed.bad.any():
        _fail(f"not a valid {KIND_WORDS[column.kind]}", parsed.bad, file=file, column=column.name,
              expected=column.expected(), got=raw)
    if column.kind in ("int", "float"):
        out_of_range = _out_of_range(column, parsed.values)
        if out_of_range.any():
            _fail("value out of range", out_of_range, file=file, column=column.name,
                  expected=column.expected(), got=raw)
    values = parsed.values
    if column.choices is not None:
        values = values.str.lower()
        unknown = (values.notna() & ~values.isin(column.choices)).to_numpy(dtype=bool)
        if unknown.any():
            _fail(f"unknown {column.name}", unknown, file=file, column=column.name,
                  expected=column.expected(), got=raw)
    return _finish(column, Parsed(values, parsed.missing, parsed.bad))


def _out_of_range(column: Column, values: pd.Series) -> np.ndarray:
    array = values.to_numpy(dtype="float64", na_value=np.nan)
    bad = np.zeros(len(array), dtype=bool)
    if column.min is not None:
        bad |= array <= column.min if column.min_exclusive else array < column.min
    if column.max is not None:
        bad |= array > column.max
    return bad


def _check_unique(values: pd.Series, column: Column, file: FileLike) -> None:
    repeated = values.duplicated(keep=False).to_numpy(dtype=bool)
    if repeated.any():
        _fail(f"duplicate {column.name}", repeated, file=file, column=column.name,
              expected=f"each {column.name} once", got=_distinct(values[repeated]))


def _finish(column: Column, parsed: Parsed) -> pd.Series:
    """Defaults filled, final dtype: int64 if never missing else Int64; bool or boolean; tuples; dicts."""
    values, default = parsed.values, column.default
    if column.kind == "int":
        if default is not None:
            values = values.fillna(default)
        return values.astype("int64" if column.required or default is not None else "Int64")
    if column.kind == "bool":
        return values.astype(bool if column.required else "boolean")
    if column.kind == "list":
        empty = tuple(default) if default is not None else ()  # type: ignore[arg-type]
        return pd.Series([v if v is not None else empty for v in values], index=values.index, dtype=object)
    if column.kind == "levels":
        return pd.Series([v if v is not None else {} for v in values], index=values.index, dtype=object)
    if default is not None:
        return values.fillna(default)
    return values


def _check_time_order(out: pd.DataFrame, file: FileLike) -> None:
    """created_at <= assigned_at <= closed_at wherever both ends are given."""
    for earlier, later in (("created_at", "assigned_at"), ("assigned_at", "closed_at"),
                           ("created_at", "closed_at")):
        before = (out[later] < out[earlier]).to_numpy(dtype=bool)
        if before.any():
            shown = [f"{earlier} {a.isoformat()}, {later} {b.isoformat()}"
                     for a, b in zip(out[earlier][before][:MAX_VALUES_SHOWN + 1], out[later][before])]
            _fail(f"{later} is before {earlier}", before, file=file, column=later,
                  expected=f"{later} at or after {earlier}", got=shown)


def _handle_time(out: pd.DataFrame, file: FileLike) -> pd.Series:
    """handle_time_s as given, else closed_at - assigned_at in seconds (which must then be > 0)."""
    given = out["handle_time_s"]
    derived = (out["closed_at"] - out["assigned_at"]).dt.total_seconds()
    empty = given.isna().to_numpy(dtype=bool)
    underivable = empty & derived.isna().to_numpy(dtype=bool)
    if underivable.any():
        _fail("handle_time_s is empty and cannot be derived because assigned_at or closed_at is empty",
              underivable, file=file, column="handle_time_s",
              expected="handle_time_s, or both assigned_at and closed_at")
    not_positive = empty & (derived <= 0).to_numpy(dtype=bool)
    if not_positive.any():
        _fail("handle_time_s is empty and closed_at - assigned_at is not > 0", not_positive, file=file,
              column="handle_time_s", expected="closed_at later than assigned_at, or a handle_time_s",
              got=[f"{s:g} s" for s in derived[not_positive][:MAX_VALUES_SHOWN + 1]])
    return given.fillna(derived)


def _fail(problem: str, bad: np.ndarray, *, file: FileLike, column: str, expected: str | None = None,
          got: pd.Series | list[object] | None = None) -> NoReturn:
    """Raise the one InputError for a check that failed on the rows where `bad` is True."""
    positions = np.flatnonzero(bad)
    shown: list[object] | None
    if isinstance(got, pd.Series):
        shown = [_plain(got.iloc[p]) for p in positions[:MAX_VALUES_SHOWN + 1]]
    else:
        shown = got
    raise InputError(problem, file=file, rows=(positions[:MAX_ROWS_SHOWN] + 1).tolist(),
                     n_bad_rows=len(positions), column=column, expected=expected, got=shown)


def _distinct(values: pd.Series) -> list[object]:
    """The first few distinct values, in order of appearance."""
    return [_plain(v) for v in pd.unique(values)[:MAX_VALUES_SHOWN + 1]]


def _plain(value: object) -> object:
    """A cell as shown in a message: stripped text, Python numbers, ISO timestamps."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value
