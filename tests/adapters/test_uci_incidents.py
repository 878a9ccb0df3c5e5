"""`skillmatch adapt uci-incidents` on the first 20,000 rows of the real UCI incident event log."""
from __future__ import annotations

from itertools import groupby
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skillmatch.adapters.uci_incidents import MAP_MIN_INCIDENTS, MAP_MIN_SHARE
from skillmatch.logs import load_logs

from .conftest import BANK_RAW, UCI_RAW, UCI_ROWS, real_file, run_adapt


def _opening_rows(interactions: pd.DataFrame, raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """First segments of incidents whose first update already names the analyst, and those first updates.

    There the segment starts at the incident's first update, so its ticket fields must be that update's.
    """
    first = _in_order(raw).groupby("number").head(1).set_index("number")
    opening = interactions[interactions["handoffs_before"] == "0"].set_index("incident")
    opening = opening[opening["assigned_at"].notna() & first["assigned_to"].reindex(opening.index).notna()]
    return opening, first.loc[opening.index]


def _in_order(raw: pd.DataFrame) -> pd.DataFrame:
    """Updates in the order the README's timestamps give (ties by sys_mod_count)."""
    when = pd.to_datetime(raw["sys_updated_at"], format="%d/%m/%Y %H:%M")
    return raw.assign(_when=when).sort_values(["number", "_when", "sys_mod_count"], kind="stable")


def _by_incident(interactions: pd.DataFrame) -> pd.DataFrame:
    rows = interactions.assign(k=interactions["handoffs_before"].astype(int))
    return rows.sort_values(["incident", "k"], kind="stable")


def test_the_adapted_slice_is_valid_contract_logs(uci_slice) -> None:
    out = uci_slice.out
    logs = load_logs(out / "interactions.csv.gz", out / "agents.csv", out / "events.csv.gz")
    summary = uci_slice.summary
    assert summary["rows_in"] == UCI_ROWS
    assert summary["rows_out"] == {"interactions": len(logs.interactions), "agents": len(logs.agents),
                                   "events": len(logs.events)}
    assert len(logs.interactions) > 2800  # about one row per incident plus one per hand-over
    assert set(logs.events["event"]) == {"queued", "assigned", "transferred", "closed"}
    assert (out / "ADAPTED.md").read_text().count("One interaction per assignment segment") == 1


def test_question_marks_are_missing_values_never_text(uci_slice, uci_raw) -> None:
    raw_text = pd.read_csv(real_file(UCI_RAW), dtype=str, keep_default_na=False, nrows=UCI_ROWS)
    assert (raw_text["assigned_to"] == "?").sum() > 1000 and (raw_text["resolved_at"] == "?").any()
    for table in (uci_slice.interactions, uci_slice.agents, uci_slice.events):
        assert not table.isin(["?"]).any().any()
    opening, first = _opening_rows(uci_slice.interactions, uci_raw)
    assert first["u_symptom"].isna().sum() > 10
    assert (opening["symptom"].isna() == first["u_symptom"].isna()).all()  # '?' became an empty cell


def test_one_row_per_analyst_segment_with_transfers_before_the_resolution(uci_slice, uci_raw) -> None:
    raw = _in_order(uci_raw)
    rows = _by_incident(uci_slice.interactions)
    checked = 0
    for number, updates in raw.groupby("number", sort=False):
        states = updates["incident_state"].tolist()
        if states[-1] != "Closed" or "Resolved" not in states or updates["category"].isna().all():
            continue  # open (cut by the slice), or without any category: dropped
        last_resolved = len(states) - 1 - states[::-1].index("Resolved")
        holders = updates["assigned_to"].iloc[last_resolved:]
        if holders.isna().any() or holders.nunique() != 1:
            continue  # the analyst in charge changes after the resolution or nobody is named: other rules apply
        expected = [name for name, _ in groupby(updates["assigned_to"].dropna())]
        mine = rows[rows["incident"] == number]
        assert mine["agent_id"].tolist() == expected, number
        assert mine["ticket_id"].tolist() == [f"{number}-{k}" for k in range(1, len(expected) + 1)]
        assert mine["transferred"].tolist() == ["True"] * (len(expected) - 1) + ["False"]
        assert (mine["resolved"].iloc[:-1] == "False").all()
        assert mine["created_at"].iloc[1:].tolist() == mine["closed_at"].iloc[:-1].tolist()  # hand-over times
        checked += 1
    assert checked > 2000
    assert (rows.groupby("incident")["agent_id"].size() > 1).sum() > 300  # real hand-overs were seen


def test_resolved_means_no_reopen_whatever_the_sla(uci_slice, uci_raw) -> None:
    rows = uci_slice.interactions
    resolving = rows[rows["transferred"] == "False"]
    reopened_last = uci_raw.groupby("number")["reopen_count"].last()
    never_reopened = resolving["incident"].map(reopened_last) == 0
    assert (resolving.loc[never_reopened, "resolved"] == "True").all()
    reopened = resolving[resolving["reopened"] == "True"]
    assert len(reopened) >= 20 and (reopened["resolved"] == "False").all()
    assert ((resolving["resolved"] == "True") & (resolving["made_sla"] == "False")).sum() > 100


def test_the_two_pseudonym_numberings_are_unified(uci_slice, uci_raw) -> None:
    last = _in_order(uci_raw).groupby("number").tail(1)
    alone = last[(last["reassignment_count"] == 0) & last["assigned_to"].notna() & last["resolved_by"].notna()]
    pairs = alone.groupby(["resolved_by", "assigned_to"]).size()
    resolver_share = pairs / pairs.groupby(level=0).transform("sum")
    assignee_share = pairs / pairs.groupby(level=1).transform("sum")
    sure = pairs[(pairs >= MAP_MIN_INCIDENTS) & (resolver_share >= MAP_MIN_SHARE) & (assignee_share >= MAP_MIN_SHARE)]
    mapping = dict(sure.index.tolist())
    assert len(mapping) >= 50 and len(set(mapping.values())) == len(mapping)
    assert uci_slice.summary["notes"]["resolved_by pseudonyms unified with an assigned_to pseudonym"] == len(mapping)

    roster = set(uci_slice.agents["agent_id"])
    assert not roster & set(mapping)  # a unified person appears once, under the Resolver numbering
    rows = uci_slice.interactions
    from_resolved_by = rows[rows["assigned_at"].isna()]
    assert len(from_resolved_by) > 30
    raw_resolver = from_resolved_by["incident"].map(last.set_index("number")["resolved_by"])
    assert (from_resolved_by["agent_id"] == raw_resolver.map(lambda m: mapping.get(m, m))).all()
    assert from_resolved_by["agent_id"].str.startswith("Resolver ").any()


def test_ticket_fields_come_from_the_segment_start(uci_slice, uci_raw) -> None:
    rows = uci_slice.interactions
    opening, raw = _opening_rows(rows, uci_raw)
    assert len(opening) > 1500
    assert (opening["priority"].astype(int) == raw["priority"].str[0].astype(int)).all()
    assert set(rows["priority"].astype(int)) <= {1, 2, 3, 4} and len(set(rows["priority"])) >= 3
    opened = pd.to_datetime(raw["opened_at"], format="%d/%m/%Y %H:%M").dt.strftime("%Y-%m-%dT%H:%M:%S")
    assert (opening["created_at"] == opened).all()
    known = raw["category"].notna()
    assert (opening.loc[known, "topic"] == raw.loc[known, "category"]).all()
    assert set(rows["channel"]) <= {"phone", "self_service", "email", "ivr", "direct_opening"}
    handle = rows["handle_time_s"].astype(float)
    assert (handle >= 60).all()


def test_an_incident_cut_by_limit_rows_is_dropped(uci_slice, uci_raw) -> None:
    cut = uci_raw["number"].iloc[-1]
    assert uci_raw["incident_state"].iloc[-1] != "Closed"  # the slice ends inside an open incident
    assert cut not in set(uci_slice.interactions["incident"])
    assert uci_slice.summary["dropped"]["incidents not Closed on their last update (open, or cut by --limit-rows)"] == 1


def test_roster_levels_and_capacity_come_from_observed_work(uci_slice) -> None:
    agents = uci_slice.agents
    assert set(agents["agent_id"]) == set(uci_slice.interactions["agent_id"])
    capacity = agents["capacity"].astype(int)
    assert (capacity >= 1).all() and capacity.max() > 1  # analysts hold several incidents at once
    levels = agents["skills"].dropna().str.split(";").explode().str.rsplit(":", n=1).str[1].astype(int)
    assert set(levels) == {1, 2, 3, 4, 5}


@pytest.mark.parametrize("break_it, column", [
    pytest.param(lambda df: df.drop(columns="category"), "category", id="missing-column"),
    pytest.param(lambda df: df.assign(opened_at=df["opened_at"].where(df.index != 6, "2016-02-29 04:40")),
                 "opened_at", id="bad-date"),
    pytest.param(lambda df: df.assign(priority=df["priority"].where(df.index != 3, "urgent")), "priority",
                 id="bad-priority"),
])
def test_a_broken_raw_file_exits_2_naming_file_and_column(tmp_path: Path, break_it, column: str) -> None:
    raw = pd.read_csv(real_file(UCI_RAW), dtype=str, keep_default_na=False, nrows=50)
    broken = tmp_path / "incident_event_log.csv"
    break_it(raw).to_csv(broken, index=False)
    result = run_adapt("uci-incidents", broken, tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert str(broken) in result.output and f"column '{column}'" in result.output
    assert not (tmp_path / "out").exists()


def test_the_bank_file_is_not_an_incident_log(tmp_path: Path) -> None:
    result = run_adapt("uci-incidents", real_file(BANK_RAW), tmp_path / "out")
    assert result.exit_code == 2
    assert "column 'number'" in result.output and "tab-separated" in result.output
    assert "Traceback" not in result.output


def test_unknown_dataset_empty_result_and_taken_output_folder_exit_2(tmp_path: Path, uci_slice) -> None:
    unknown = run_adapt("zendesk", real_file(UCI_RAW), tmp_path / "out")
    assert unknown.exit_code == 2 and "uci-incidents, anonymous-bank" in unknown.output
    nothing = run_adapt("uci-incidents", real_file(UCI_RAW), tmp_path / "out", "--limit-rows", "3")
    assert nothing.exit_code == 2 and "no interaction is left" in nothing.output and "Closed" in nothing.output
    assert not (tmp_path / "out").exists()
    taken = run_adapt("uci-incidents", real_file(UCI_RAW), uci_slice.out, "--limit-rows", "100")
    assert taken.exit_code == 2 and "not empty" in taken.output
    assert np.isclose(len(pd.read_csv(uci_slice.out / "interactions.csv.gz")), len(uci_slice.interactions))
