"""The summary of validated logs: figures checked by hand against the conftest logs."""
from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from skillmatch.logs import LogSummary, Logs, summarize, validate_agents, validate_events, validate_interactions


def _logs(tables: Any, events: bool = True) -> Logs:
    return Logs(validate_interactions(tables.interactions), validate_agents(tables.agents),
                validate_events(tables.events) if events else None, sources={})


@pytest.fixture
def summary(tables: Any) -> LogSummary:
    return summarize(_logs(tables))


def test_volumes_and_mix(summary: LogSummary) -> None:
    assert (summary.n_interactions, summary.n_roster_agents, summary.n_active_agents) == (4, 3, 2)
    assert summary.topics == {"billing": 2, "technical": 1, "returns": 1}
    assert summary.channels == {"chat": 2, "email": 2}
    assert summary.languages == {"en": 3, "es": 1}


def test_period_runs_from_first_contact_to_last_close(summary: LogSummary) -> None:
    assert summary.start == pd.Timestamp("2026-11-23T09:00:00Z")
    assert summary.end == pd.Timestamp("2026-11-23T11:08:00Z")


def test_end_falls_back_to_created_at_without_closed_at(tables: Any) -> None:
    tables.set("interactions", 4, "closed_at", "")
    tables.set("interactions", 4, "created_at", "2026-11-23T12:00:00Z")
    tables.set("interactions", 4, "assigned_at", "")
    assert summarize(_logs(tables)).end == pd.Timestamp("2026-11-23T12:00:00Z")


def test_outcome_rates_skip_unknown_values(summary: LogSummary) -> None:
    assert summary.resolved_rate == pytest.approx(0.75)
    assert summary.reopened_rate == pytest.approx(1 / 3)  # T2 unknown
    assert summary.transferred_rate == pytest.approx(0.25)
    assert summary.csat_response_rate == pytest.approx(0.75)
    assert summary.csat_mean == pytest.approx(4.0)
    assert summary.qa_mean == pytest.approx((4.5 + 3 + 4) / 3)


def test_medians_use_the_derived_handle_time(summary: LogSummary) -> None:
    assert summary.handle_time_median_s == pytest.approx(570.0)  # 300, 540, 600 (derived), 900
    assert summary.wait_median_s == pytest.approx(150.0)  # 60, 120, 180, 600


def test_missing_share_per_column(summary: LogSummary) -> None:
    assert summary.missing_share["csat"] == pytest.approx(0.25)
    assert summary.missing_share["qa_score"] == pytest.approx(0.25)
    assert summary.missing_share["ticket_id"] == 0.0
    assert summary.missing_share["customer_id"] == 0.0


def test_events_are_counted(summary: LogSummary, tables: Any) -> None:
    assert summary.n_events == 6
    assert summary.events["queued"] == 1 and sum(summary.events.values()) == 6
    without = summarize(_logs(tables, events=False))
    assert without.n_events is None and without.events == {}
    assert dict(without.lines())["events"] == "not given"


def test_values_that_nobody_gave_are_none(tables: Any) -> None:
    raw = tables.interactions.assign(csat="", qa_score="", reopened="", transferred="", assigned_at="",
                                     handle_time_s="60")
    logs = Logs(validate_interactions(raw), validate_agents(tables.agents), None, {})
    summary = summarize(logs)
    assert summary.csat_mean is None and summary.qa_mean is None and summary.wait_median_s is None
    assert summary.reopened_rate is None and summary.csat_response_rate == 0.0
    lines = dict(summary.lines())
    assert lines["csat"] == "n/a, 0.0% answered" and lines["wait"] == "n/a"


def test_lines_are_label_value_pairs_for_printing(summary: LogSummary) -> None:
    lines = summary.lines()
    assert all(isinstance(label, str) and isinstance(value, str) for label, value in lines)
    shown = dict(lines)
    assert [label for label, _ in lines][:3] == ["interactions", "period", "agents"]
    assert shown["interactions"] == "4"
    assert shown["agents"] == "3 on the roster, 2 handled tickets"
    assert shown["topics"] == "billing 2 (50%), technical 1 (25%), returns 1 (25%)"
    assert shown["resolved"] == "75.0%"
    assert shown["csat"] == "mean 4.00, 75.0% answered"
    assert shown["handle time"] == "median 570 s (9.5 min)"
    assert shown["missing cells"] == "reopened 25.0%, csat 25.0%, qa_score 25.0%"
    assert shown["period"].startswith("2026-11-23 09:00 to 2026-11-23 11:08 UTC")
    assert shown["events"].startswith("6: ")


def test_to_dict_is_json_ready(summary: LogSummary) -> None:
    data = json.loads(json.dumps(summary.to_dict()))
    assert data["start"] == "2026-11-23T09:00:00+00:00"
    assert data["n_interactions"] == 4
    assert data["topics"] == {"billing": 2, "technical": 1, "returns": 1}
