"""`skillmatch adapt anonymous-bank` on the first 8,000 calls of the real Anonymous Bank log."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from skillmatch.adapters.anonymous_bank import REPEAT_WINDOW_H
from skillmatch.logs import load_logs

from .conftest import BANK_RAW, BANK_ROWS, UCI_RAW, real_file, run_adapt

WINDOW = timedelta(hours=REPEAT_WINDOW_H)


def _clock(day: str, time: str, after: datetime | None = None) -> datetime | None:
    """A raw `date` + `H:MM:SS` as a datetime; '0:00:00' did not happen; before `after` means the next day."""
    if time == "0:00:00":
        return None
    at = datetime.strptime(day + " " + time, "%y%m%d %H:%M:%S")
    return at + timedelta(days=1) if after is not None and at < after else at


def _calls(raw: pd.DataFrame) -> list[dict]:
    """Every real call (not phantom, not corrupt) with its start and end, in plain Python: the test's oracle."""
    calls = []
    for row in raw.to_dict("records"):
        if row["outcome"] == "PHANTOM" or int(row["vru_time"]) < 0 or (row["outcome"] == "AGENT"
                                                                        and row["server"] == "NO_SERVER"):
            continue
        created = _clock(row["date"], row["vru_entry"])
        start = _clock(row["date"], row["ser_start"], after=created)
        end = start + timedelta(seconds=int(row["ser_time"])) if start is not None else created
        calls.append({"ticket": f"{row['vru+line']}-{row['call_id']}", "customer": row["customer_id"],
                      "type": row["type"], "created": created, "end": end, "row": row})
    return calls


def test_the_adapted_slice_is_valid_contract_logs(bank_slice) -> None:
    out = bank_slice.out
    logs = load_logs(out / "interactions.csv.gz", out / "agents.csv", out / "events.csv.gz")
    assert bank_slice.summary["rows_in"] == BANK_ROWS
    assert bank_slice.summary["rows_out"]["interactions"] == len(logs.interactions) > 2500
    assert set(logs.interactions["channel"]) == {"voice"}
    assert set(logs.events["event"]) == {"queued", "assigned", "closed"}
    assert "72 hours" in (out / "ADAPTED.md").read_text()


def test_a_repeat_call_about_the_same_type_within_72_hours_is_not_resolved(bank_slice, bank_raw) -> None:
    following: dict[str, datetime | None] = {}
    by_customer = defaultdict(list)
    for call in _calls(bank_raw):
        if call["customer"] != "0":
            by_customer[(call["customer"], call["type"])].append(call)
    for calls in by_customer.values():
        calls.sort(key=lambda c: c["created"])
        for this, nxt in zip(calls, calls[1:] + [None]):
            following[this["ticket"]] = None if nxt is None else nxt["created"]
    rows = bank_slice.interactions.set_index("ticket_id")
    ends = {c["ticket"]: c["end"] for c in _calls(bank_raw)}
    expected = pd.Series({t: following[t] is None or following[t] > ends[t] + WINDOW for t in rows.index})
    assert (rows["resolved"] == expected.map({True: "True", False: "False"})).all()
    assert (rows["reopened"] != rows["resolved"]).all()
    assert 0.2 < expected.mean() < 0.8  # both outcomes occur


def test_abandoned_unidentified_and_phantom_calls_are_not_interactions(bank_slice, bank_raw) -> None:
    tickets = bank_raw["vru+line"] + "-" + bank_raw["call_id"]
    interactions = set(bank_slice.interactions["ticket_id"])
    events = bank_slice.events
    abandoned_in_queue = tickets[(bank_raw["outcome"] == "HANG") & (bank_raw["q_start"] != "0:00:00")
                                 & (bank_raw["vru_time"].astype(int) >= 0)]
    assert len(abandoned_in_queue) > 500 and not interactions & set(abandoned_in_queue)
    queued = events[events["ticket_id"].isin(abandoned_in_queue)]
    assert (queued["event"] == "queued").all() and queued["ticket_id"].is_unique
    assert len(queued) == len(abandoned_in_queue)
    unidentified = tickets[(bank_raw["outcome"] == "AGENT") & (bank_raw["customer_id"] == "0")
                           & (bank_raw["server"] != "NO_SERVER") & (bank_raw["ser_time"].astype(int) > 0)]
    assert len(unidentified) > 1000 and not interactions & set(unidentified)
    served = events[events["ticket_id"].isin(unidentified) & (events["event"] == "assigned")]
    assert len(served) == len(unidentified) and served["agent_id"].notna().all()
    phantom = tickets[bank_raw["outcome"] == "PHANTOM"]
    assert not set(phantom) & (interactions | set(events["ticket_id"]))


def test_calls_whose_72_hours_run_past_the_log_are_dropped(bank_slice, bank_raw) -> None:
    last_call = max(c["created"] for c in _calls(bank_raw))
    closed = pd.to_datetime(bank_slice.interactions["closed_at"]).dt.tz_localize(None)
    assert (closed + WINDOW <= last_call).all()
    assert bank_slice.summary["dropped"]["served, ends within the last 72 h of the log (outcome censored)"] > 0


def test_call_fields_follow_the_readme(bank_slice, bank_raw) -> None:
    raw = bank_raw.assign(ticket_id=bank_raw["vru+line"] + "-" + bank_raw["call_id"]).set_index("ticket_id")
    rows = bank_slice.interactions.set_index("ticket_id")
    source = raw.loc[rows.index]
    assert (rows["agent_id"] == source["server"]).all() and (rows["customer_id"] == source["customer_id"]).all()
    assert (rows["topic"] == source["type"].str.lower()).all()
    assert ((rows["language"] == "en") == (source["type"] == "PE")).all() and (rows["language"] == "en").any()
    assert ((rows["priority"] == "2") == (source["priority"] == "2")).all()
    assert ((rows["customer_tier"] == "vip") == (source["priority"] == "2")).all()
    assert (rows["handle_time_s"].astype(float) == source["ser_time"].astype(float)).all()
    assert rows["created_at"].str.endswith("+02:00").all()
    created = pd.to_datetime(rows["created_at"])
    assigned, closed = pd.to_datetime(rows["assigned_at"]), pd.to_datetime(rows["closed_at"])
    assert ((closed - assigned).dt.total_seconds() == rows["handle_time_s"].astype(float)).all()
    assert (assigned >= created).all()
    entry = source["date"] + " " + source["vru_entry"]
    assert (created.dt.tz_localize(None) == pd.to_datetime(entry, format="%y%m%d %H:%M:%S")).all()


def test_roster_speaks_english_where_english_calls_were_served(bank_slice, bank_raw) -> None:
    served = bank_raw[(bank_raw["outcome"] == "AGENT") & (bank_raw["server"] != "NO_SERVER")]
    english = set(served.loc[served["type"] == "PE", "server"])
    agents = bank_slice.agents.set_index("agent_id")
    assert set(agents.index) == set(served["server"])
    assert english and (agents["languages"].str.contains("en") == agents.index.isin(english)).all()
    assert (agents["capacity"] == "1").all()  # one call at a time


@pytest.mark.parametrize("column, bad", [
    pytest.param("ser_start", "7h02", id="bad-time"),
    pytest.param("date", "1999-02-01", id="bad-date"),
    pytest.param("outcome", "TRANSFER", id="unknown-outcome"),
])
def test_a_broken_raw_file_exits_2_naming_file_column_and_row(tmp_path: Path, column: str, bad: str) -> None:
    raw = pd.read_csv(real_file(BANK_RAW), sep="\t", dtype=str, keep_default_na=False, nrows=40)
    raw.loc[7, column] = bad
    broken = tmp_path / "calls.tsv.gz"
    raw.to_csv(broken, sep="\t", index=False)
    result = run_adapt("anonymous-bank", broken, tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert str(broken) in result.output and f"column '{column}'" in result.output and "row 8" in result.output
    assert not (tmp_path / "out").exists()


def test_the_incident_log_is_not_a_call_log(tmp_path: Path) -> None:
    result = run_adapt("anonymous-bank", real_file(UCI_RAW), tmp_path / "out")
    assert result.exit_code == 2
    assert "column 'vru+line'" in result.output and "','-separated" in result.output
