"""`skillmatch audit`: exit 2 with one line naming file, column and row on a bad events file; the report otherwise."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from skillmatch.audit import AUDIT_FORMAT, read_audit
from skillmatch.cli import app
from skillmatch.config import TrainConfig
from skillmatch.errors import InputError
from skillmatch.logs import load_logs
from skillmatch.models.publish import train_to_folder

from .conftest import LIGHT_CONFIG

INTERACTIONS = ("ticket_id,created_at,agent_id,topic,handle_time_s,resolved\n"
                "T1,2026-11-23T09:00:00Z,A1,billing,300,true\nT2,2026-11-23T09:01:00Z,A2,returns,200,false\n")
AGENTS = "agent_id,languages,capacity\nA1,en,1\nA2,en;es,2\n"
GOOD_EVENTS = ["ts,event,ticket_id,agent_id", "2026-11-23T09:00:00Z,queued,T1,", "2026-11-23T09:01:00Z,queued,T2,",
               "2026-11-23T09:02:00Z,claimed,T1,A1", "2026-11-23T09:03:00Z,claimed,T2,A2"]

BAD_EVENTS = [  # (id, lines of the events file, what the one error line must say)
    ("missing-column", ["ts,ticket_id,agent_id", "2026-11-23T09:00:00Z,T1,"],
     "missing required column event"),
    ("unknown-event", GOOD_EVENTS[:3] + ["2026-11-23T09:02:00Z,grabbed,T1,A1"],
     "column 'event', row 3: unknown event; expected one of queued, viewed, claimed"),
    ("unparsable-ts", GOOD_EVENTS[:2] + ["yesterday,queued,T2,"] + GOOD_EVENTS[3:],
     "column 'ts', row 2: not a valid timestamp"),
    ("claim-without-agent", GOOD_EVENTS[:3] + ["2026-11-23T09:02:00Z,claimed,T1,"],
     "column 'agent_id', row 3: event without agent_id"),
    ("no-picks", GOOD_EVENTS[:3], "no claimed or assigned events"),
]


def _invoke(interactions: Path, agents: Path, events: Path, out: Path, *extra: str):
    return CliRunner().invoke(app, ["audit", "--events", str(events), "--interactions", str(interactions),
                                    "--agents", str(agents), "--out", str(out), *extra])


@pytest.mark.parametrize(("lines", "message"), [(lines, message) for _, lines, message in BAD_EVENTS],
                         ids=[case_id for case_id, _, _ in BAD_EVENTS])
def test_a_bad_events_file_exits_2_with_one_line(tmp_path: Path, lines: list[str], message: str) -> None:
    files = {name: tmp_path / f"{name}.csv" for name in ("interactions", "agents", "events")}
    files["interactions"].write_text(INTERACTIONS)
    files["agents"].write_text(AGENTS)
    files["events"].write_text("\n".join(lines) + "\n")
    result = _invoke(files["interactions"], files["agents"], files["events"], tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines_out = result.stderr.strip().splitlines()
    assert len(lines_out) == 1, result.stderr
    assert lines_out[0].startswith(f"error: {files['events']}")
    assert message in lines_out[0]
    assert not (tmp_path / "out").exists()


def test_help_shows_an_example() -> None:
    result = CliRunner().invoke(app, ["audit", "--help"])
    assert result.exit_code == 0
    assert "Example: skillmatch audit --events" in re.sub(r"\s+", " ", result.output.replace("│", " "))


def _check_report(out: Path, case) -> dict[str, dict]:
    assert {p.name for p in out.iterdir()} == {"agents.csv", "audit.json", "audit.html"}
    page = (out / "audit.html").read_text()
    assert page.count("data:image/png;base64,") == 3
    assert not re.search(r"""(src|href)=["']?(https?:|/|\.)""", page)  # nothing outside the page
    assert "coaching, not for punishment" in page and "ramp-up" in page
    document = json.loads((out / "audit.json").read_text())
    assert document["format"] == AUDIT_FORMAT
    rows = read_audit(out)
    table = pd.read_csv(out / "agents.csv")
    assert set(rows) == set(table["agent_id"]) == set(case.history.interactions["agent_id"])
    assert table["index"].is_monotonic_decreasing
    truth = case.history.truth.agents.set_index("agent_id")["cherry_picker"]
    agents = sorted(rows)
    assert roc_auc_score(truth.reindex(agents), [rows[a]["index"] for a in agents]) >= 0.9
    assert {a for a in agents if rows[a]["flag"]} <= set(truth[truth].index)
    return rows


def test_the_audit_fits_difficulty_and_writes_the_report(seed0_files, audit_cases, tmp_path: Path) -> None:
    from .conftest import get_case

    files = seed0_files
    result = _invoke(files["interactions"], files["agents"], files["events"], tmp_path / "audit",
                     "--config", str(files["config"]), "--top", "5")
    assert result.exit_code == 0, result.output
    assert "cherry-pick audit: 30 agents" in result.stdout and "audit.html" in result.stdout
    rows = _check_report(tmp_path / "audit", get_case(audit_cases, 0))
    some = next(iter(rows.values()))
    for key in ("index", "index_low", "index_high", "flag", "n_picks", "pick_easiness", "churn_rate",
                "handled_ratio", "idle_with_work_share", "hard_share", "fair_hard_share", "handle_time_ratio",
                "notes"):
        assert key in some


def test_the_audit_uses_a_given_model_folder(seed0_files, audit_cases, tmp_path: Path) -> None:
    from .conftest import get_case

    files = seed0_files
    logs = load_logs(files["interactions"], files["agents"])
    folder, _, metadata = train_to_folder(logs, TrainConfig.model_validate(LIGHT_CONFIG), tmp_path / "models" / "v1")
    result = _invoke(files["interactions"], files["agents"], files["events"], tmp_path / "audit",
                     "--models", str(tmp_path / "models" / "v1"))
    assert result.exit_code == 0, result.output
    _check_report(tmp_path / "audit", get_case(audit_cases, 0))
    document = json.loads((tmp_path / "audit" / "audit.json").read_text())
    assert metadata["version"] in document["difficulty_source"]


def test_a_missing_model_folder_exits_1(seed0_files, tmp_path: Path) -> None:
    files = seed0_files
    result = _invoke(files["interactions"], files["agents"], files["events"], tmp_path / "audit",
                     "--models", str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    assert "no model folder" in result.stderr


def test_reading_a_folder_without_an_audit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no audit here"):
        read_audit(tmp_path)
