"""What the dataset adapters share: reading a raw file with one clear error, inferring a roster, writing the logs whole.

An adapter turns one public raw file into contract logs (interactions, agents, events) and says what it
did: rows in, rows out, rows dropped with the reason, and the choices it made (its module docstring).
`write_adapted` validates the written logs against the contract before they become visible.
"""
from __future__ import annotations

import gzip
import hashlib
import inspect
import json
import lzma
import secrets
import shutil
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from skillmatch.errors import InputError, SkillmatchError

INTERACTIONS_FILE = "interactions.csv.gz"
AGENTS_FILE = "agents.csv"
EVENTS_FILE = "events.csv.gz"
SUMMARY_JSON = "adapted.json"
SUMMARY_MD = "ADAPTED.md"
OUTPUT_FILES = (INTERACTIONS_FILE, AGENTS_FILE, EVENTS_FILE, SUMMARY_JSON, SUMMARY_MD)

LEVELS = 5
"""Observed volume levels run 1..LEVELS, as the contract's declared skills do."""
MIN_ROWS_FOR_LEVEL = 5
"""An agent needs this many handled tickets in a topic (in the level window) to get a level in it."""
LEVEL_WINDOW_SHARE = 0.5
"""Levels come from the earlier half of the handled tickets only (cut in time at their median start), so
that a model evaluated on the latest part (training holds out the latest 20% by default) never reads
roster levels computed from its own evaluation period."""
CAPACITY_QUANTILE = 0.9
"""Capacity = this quantile of how many tickets the agent held at once, at the moments it took one."""
_ISO = "%Y-%m-%dT%H:%M:%S"


@dataclass
class Adapted:
    """Contract logs made from one raw file, with the accounting of what went in, out and why not."""

    dataset: str
    source: Path
    interactions: pd.DataFrame
    agents: pd.DataFrame
    events: pd.DataFrame | None
    rows_in: int
    unit_in: str
    dropped: dict[str, int] = field(default_factory=dict)
    """reason -> how many (in the unit the reason names)."""
    notes: dict[str, Any] = field(default_factory=dict)
    """Figures about the choices (pseudonyms unified, outcome rates), for the summary."""
    limit_rows: int | None = None
    choices: str = ""
    """The adapter module's docstring: every choice it makes, in words."""


def module_choices(module: ModuleType) -> str:
    """The adapter's documented choices: its module docstring, cleaned."""
    return inspect.getdoc(module) or ""


# --- reading ---------------------------------------------------------------------------------------

def read_raw(path: Path, *, what: str, required: Sequence[str], limit_rows: int | None,
             sep: str = ",", na_values: Sequence[str] = ("",)) -> pd.DataFrame:
    """The raw file's cells as text (compression from the extension); one InputError naming file and column.

    Adds `_row`, the 1-based data-row number in the raw file, for error messages.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} file not found", file=path)
    if not path.is_file():
        raise InputError(f"{what} path is not a file", file=path)
    try:
        df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=list(na_values),
                         nrows=limit_rows, compression="infer", encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty", file=path, expected=f"{what} with a header row") from None
    except (UnicodeDecodeError, pd.errors.ParserError, EOFError, lzma.LZMAError, zlib.error,
            gzip.BadGzipFile, zipfile.BadZipFile, ValueError) as exc:
        raise InputError(f"cannot be read as {what} ({type(exc).__name__}: {str(exc).strip()[:120]})",
                         file=path, expected=f"{what} (see its README)") from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", file=path) from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise _missing_columns(path, what, required, missing, list(df.columns), sep)
    if len(df) == 0:
        raise InputError("the file has a header but no rows", file=path, expected=f"{what} with rows")
    df["_row"] = np.arange(1, len(df) + 1)
    return df


def _missing_columns(path: Path, what: str, required: Sequence[str], missing: list[str], found: list[str],
                     sep: str) -> InputError:
    """One error for a header without the dataset's columns; a header read as one cell names its separator."""
    if len(missing) == 1:
        problem = f"missing column {missing[0]}, which the adapter for {what} needs"
    else:
        problem = f"missing column {missing[0]} and {len(missing) - 1} more: this does not look like {what}"
    got: object = found[:6]
    if len(found) == 1:
        other = next((name for char, name in (("\t", "tab"), (",", "','"), (";", "';'")) if char in found[0]
                      and char != sep), None)
        if other is not None:
            problem += f" (its header is {other}-separated)"
        got = found[0] if len(found[0]) <= 60 else found[0][:60] + "..."
    return InputError(problem, file=path, column=missing[0], expected="a header with " + ", ".join(required),
                      got=got)


def require_interactions(n_rows: int, raw: Path, dropped: dict[str, int], limit_rows: int | None) -> None:
    """Refuse (InputError) a raw file from which no interaction survives the adapter's rules."""
    if n_rows > 0:
        return
    reasons = [f"{reason}: {count}" for reason, count in dropped.items() if count]
    hint = "more rows (a larger --limit-rows, or none)" if limit_rows else "a file holding handled tickets"
    raise InputError("no interaction is left after the adapter's rules", file=raw, expected=hint,
                     got="; ".join(reasons) or "no rows")


def refuse_bad(bad: pd.Series | np.ndarray, df: pd.DataFrame, *, file: Path, column: str, problem: str,
               expected: str) -> None:
    """Raise one InputError naming the raw rows where `bad` holds (no-op when none do)."""
    mask = np.asarray(bad, dtype=bool)
    if not mask.any():
        return
    rows = df["_row"].to_numpy()[mask]
    got = df[column].to_numpy()[mask][:6].tolist() if column in df.columns else None
    raise InputError(problem, file=file, rows=rows[:5].tolist(), n_bad_rows=int(mask.sum()), column=column,
                     expected=expected, got=got)


def parse_int(df: pd.DataFrame, column: str, *, file: Path, allow_missing: bool = False) -> pd.Series:
    """A whole-number column; anything else (except an allowed empty cell) is refused with its rows."""
    values = pd.to_numeric(df[column], errors="coerce")
    unreadable = values.isna() & (df[column].notna() | (not allow_missing))
    fractional = (values % 1).fillna(0) != 0
    refuse_bad(unreadable | fractional, df, file=file, column=column, problem="not a whole number",
               expected="a whole number")
    return values.astype("Int64" if allow_missing else "int64")


def parse_datetime(df: pd.DataFrame, column: str, fmt: str, *, file: Path, allow_missing: bool = False,
                   example: str = "") -> pd.Series:
    """A timestamp column in one exact format; unparsable cells are refused with their rows."""
    values = pd.to_datetime(df[column], format=fmt, errors="coerce")
    bad = values.isna() & (df[column].notna() | (not allow_missing))
    refuse_bad(bad, df, file=file, column=column, problem="not a date and time in the dataset's format",
               expected=f"the format {fmt}" + (f", such as {example}" if example else ""))
    return values


def iso(values: pd.Series, offset: str = "") -> pd.Series:
    """ISO-8601 text (seconds), with a fixed UTC offset such as '+02:00' or none (the contract reads UTC)."""
    text = values.dt.strftime(_ISO)
    return text + offset if offset else text


def posix_s(values: pd.Series) -> np.ndarray:
    """Naive timestamps as seconds on their own clock (float; NaN where missing), for interval arithmetic."""
    return (values - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy(dtype=float)


# --- the roster ------------------------------------------------------------------------------------

def observed_levels(agent: pd.Series, topic: pd.Series, time_s: np.ndarray) -> pd.Series:
    """Per agent, `topic:level;...` from the volume it handled in the earliest LEVEL_WINDOW_SHARE of the tickets.

    In each topic, the agents with at least MIN_ROWS_FOR_LEVEL tickets there are ranked by count and get
    levels 1..5 by quintile of that rank (5 = among those who handled the most). It describes routing as it
    was, not skill: volume is what the logs show; the models learn skill from outcomes.
    """
    t = np.asarray(time_s, dtype=float)
    early = t < np.nanquantile(t, LEVEL_WINDOW_SHARE)
    counts = (pd.DataFrame({"agent": agent.to_numpy()[early], "topic": topic.to_numpy()[early]})
              .groupby(["topic", "agent"], sort=True).size().rename("n").reset_index())
    counts = counts[counts["n"] >= MIN_ROWS_FOR_LEVEL]
    if counts.empty:
        return pd.Series(dtype=object)
    pct = counts.groupby("topic")["n"].rank(method="average", pct=True)
    counts = counts.assign(level=np.clip(np.ceil(pct * LEVELS), 1, LEVELS).astype(int))
    counts = counts.sort_values(["agent", "level", "topic"], ascending=[True, False, True])
    return (counts["topic"].astype(str) + ":" + counts["level"].astype(str)).groupby(counts["agent"]).agg(";".join)


def concurrency_capacity(agent: pd.Series, start_s: np.ndarray, end_s: np.ndarray) -> pd.Series:
    """Per agent, how many tickets it held at once (CAPACITY_QUANTILE over the moments it took one), at least 1."""
    codes, names = pd.factorize(agent)
    start = np.asarray(start_s, dtype=float)
    end = np.maximum(np.asarray(end_s, dtype=float), start)
    span = np.nanmax(end) - np.nanmin(start) + 1.0
    base = np.nanmin(start)
    key_start = codes * span + (start - base)
    key_end = codes * span + (end - base)
    starts_sorted, ends_sorted = np.sort(key_start), np.sort(key_end)
    held = (np.searchsorted(starts_sorted, key_start, side="right")
            - np.searchsorted(ends_sorted, key_start, side="right"))
    quantile = pd.Series(held).groupby(codes).quantile(CAPACITY_QUANTILE)
    capacity = np.maximum(1, np.ceil(quantile.to_numpy())).astype(int)
    return pd.Series(capacity, index=names[quantile.index.to_numpy()])


def build_roster(handled: pd.DataFrame, *, languages: pd.Series | None = None,
                 team: pd.Series | None = None) -> pd.DataFrame:
    """The agents table from what each agent handled (`agent_id`, `topic`, `start_s`, `end_s`).

    skills = observed volume levels (earlier half of the tickets), capacity = observed concurrency;
    languages and team as given per agent (empty: the contract's defaults).
    """
    agent_ids = pd.Index(sorted(handled["agent_id"].unique()), name="agent_id")
    levels = observed_levels(handled["agent_id"], handled["topic"], handled["start_s"].to_numpy())
    capacity = concurrency_capacity(handled["agent_id"], handled["start_s"].to_numpy(), handled["end_s"].to_numpy())
    roster = pd.DataFrame({"agent_id": agent_ids})
    roster["languages"] = (languages.reindex(agent_ids).to_numpy() if languages is not None else None)
    roster["skills"] = levels.reindex(agent_ids).to_numpy()
    roster["team"] = (team.reindex(agent_ids).to_numpy() if team is not None else None)
    roster["capacity"] = capacity.reindex(agent_ids).fillna(1).astype(int).to_numpy()
    roster["n_handled"] = handled.groupby("agent_id").size().reindex(agent_ids).to_numpy()
    return roster


# --- writing ---------------------------------------------------------------------------------------

def check_out_dir(out: Path, *, overwrite: bool) -> Path:
    """Refuse an --out that is a file or a non-empty folder (unless overwrite), before any work is done."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError("a file is in the way of the output folder", file=out, expected="a new or empty folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise InputError("the output folder exists already and is not empty", file=out,
                         expected="a new or empty folder, or --overwrite to replace the adapted logs in it")
    return out


def write_adapted(adapted: Adapted, out: Path, *, overwrite: bool = False) -> dict[str, Path]:
    """Write the logs and the summary to `out`, whole or not at all, after validating them against the contract."""
    from skillmatch.logs import load_logs, summarize

    out = check_out_dir(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.parent / f".{out.name}.tmp-{secrets.token_hex(4)}"
    temp.mkdir()
    try:
        adapted.interactions.to_csv(temp / INTERACTIONS_FILE, index=False)
        adapted.agents.to_csv(temp / AGENTS_FILE, index=False)
        if adapted.events is not None:
            adapted.events.to_csv(temp / EVENTS_FILE, index=False)
        events_path = temp / EVENTS_FILE if adapted.events is not None else None
        try:
            logs = load_logs(temp / INTERACTIONS_FILE, temp / AGENTS_FILE, events_path)
        except InputError as exc:  # the adapter's own output must be valid: this is a bug, not bad input
            raise SkillmatchError(f"the adapted logs break the contract (an adapter bug): {exc}") from exc
        summary = summary_dict(adapted, logs_summary=summarize(logs).lines())
        (temp / SUMMARY_JSON).write_text(json.dumps(summary, indent=2, default=str) + "\n")
        (temp / SUMMARY_MD).write_text(summary_markdown(summary))
        _move_into_place(temp, out)
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)
    return {name: out / name for name in OUTPUT_FILES if (out / name).exists()}


def _move_into_place(temp: Path, out: Path) -> None:
    """Rename the finished temp folder to `out`; an existing `out` is moved aside first, then removed."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{secrets.token_hex(4)}"
        out.rename(old)
    temp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def sha256(path: Path) -> str:
    """Hex digest of a file (identifies which copy of a dataset was adapted)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def summary_dict(adapted: Adapted, logs_summary: list[tuple[str, str]]) -> dict[str, Any]:
    """The machine-readable account of an adaptation (adapted.json)."""
    inter = adapted.interactions
    events = adapted.events
    return {
        "dataset": adapted.dataset,
        "source": {"file": str(adapted.source), "bytes": adapted.source.stat().st_size,
                   "sha256": sha256(adapted.source)},
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "limit_rows": adapted.limit_rows,
        "rows_in": adapted.rows_in,
        "unit_in": adapted.unit_in,
        "rows_out": {"interactions": len(inter), "agents": len(adapted.agents),
                     "events": None if events is None else len(events)},
        "events_by_kind": {} if events is None else {str(k): int(v) for k, v in
                                                     events["event"].value_counts().sort_index().items()},
        "dropped": dict(adapted.dropped),
        "notes": adapted.notes,
        "validated": dict(logs_summary),
        "choices": adapted.choices,
    }


def summary_markdown(summary: dict[str, Any]) -> str:
    """The human-readable account of an adaptation (ADAPTED.md)."""
    out = summary["rows_out"]
    lines = [f"# Adapted logs: {summary['dataset']}", "",
             f"Source `{summary['source']['file']}` ({summary['source']['bytes']:,} bytes, sha256 "
             f"`{summary['source']['sha256']}`), adapted {summary['created_at']}"
             + (f", first {summary['limit_rows']:,} rows only" if summary["limit_rows"] else "") + ".", "",
             "## Counts", "| what | count |", "|---|---|",
             f"| {summary['unit_in']} read | {summary['rows_in']:,} |",
             f"| interactions written | {out['interactions']:,} |",
             f"| agents on the roster | {out['agents']:,} |"]
    if out["events"] is not None:
        kinds = ", ".join(f"{k} {v:,}" for k, v in summary["events_by_kind"].items())
        lines.append(f"| events written | {out['events']:,} ({kinds}) |")
    lines += ["", "## Not turned into interactions", "| reason | count |", "|---|---|"]
    lines += [f"| {reason} | {count:,} |" for reason, count in summary["dropped"].items()]
    if summary["notes"]:
        lines += ["", "## Figures", "| what | value |", "|---|---|"]
        lines += [f"| {k} | {_shown(v)} |" for k, v in summary["notes"].items()]
    lines += ["", "## The logs as `skillmatch validate` sees them", "| what | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in summary["validated"].items()]
    lines += ["", "## Choices made by the adapter", "", summary["choices"], ""]
    return "\n".join(lines)


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
