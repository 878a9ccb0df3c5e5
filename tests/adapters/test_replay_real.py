"""Log replay on real slices: arrivals as logged, availability, capacity, certification, the logged policy, the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from skillmatch.backtest.lineup import PolicySpec
from skillmatch.backtest.replay.center import ReplayRun, logged_run, run_replay
from skillmatch.backtest.replay.evaluation import OutcomeEstimates
from skillmatch.backtest.replay.policies import build_replay_policy
from skillmatch.backtest.replay.records import to_record
from skillmatch.backtest.replay.window import ReplayData, eval_cut, prepare_replay
from skillmatch.cli import app
from skillmatch.config import PolicyConfig, TrainConfig
from skillmatch.logs import Logs, load_logs

SMALL = """
[minimum]
rows = 300
eval_rows = 30
rows_per_reference_agent = 10
days = 1.0
"""
"""Training minimums for slices (each evaluation fold trains on about half of a slice)."""
RESTRICTED = "ne"


def _small_config(path: Path, extra: str = "") -> Path:
    path.write_text(extra + SMALL)
    return path


def _logs(adapted) -> Logs:
    return load_logs(adapted.out / "interactions.csv.gz", adapted.out / "agents.csv", adapted.out / "events.csv.gz")


def _fake_estimates(data: ReplayData) -> OutcomeEstimates:
    """Estimates that keep logged handle times (ratio 1) and say 0.5 everywhere: enough to test the mechanics."""
    shape = (len(data.tickets), data.n_agents)
    return OutcomeEstimates(p_resolve=np.full(shape, 0.5), handle_time_s=np.full(shape, 300.0),
                            csat=np.full(shape, np.nan), difficulty=np.linspace(0, 1, shape[0]),
                            fold=np.zeros(shape[0], dtype=int), folders=[], n_train_rows=[])


@pytest.fixture(scope="module")
def bank_replay(bank_slice) -> tuple[Logs, ReplayData]:
    """The bank slice with topic `ne` restricted and only every other English speaker certified for it."""
    logs = _logs(bank_slice)
    agents = logs.agents.copy()
    certified = set(agents["agent_id"].iloc[::2])
    agents["certifications"] = [(RESTRICTED,) if a in certified else () for a in agents["agent_id"]]
    logs = Logs(logs.interactions, agents, logs.events, logs.sources)
    return logs, prepare_replay(logs, eval_cut(logs, eval_share=0.3), restricted_topics=[RESTRICTED])


def _check_run(data: ReplayData, run: ReplayRun) -> None:
    """Every placement within an online session, within capacity (with not-replayed work), and eligible."""
    taken = np.flatnonzero(run.agent >= 0)
    assert len(taken) > 0.9 * len(data.tickets)
    assert (run.assigned_s[taken] >= data.tickets.created_s[taken]).all()
    s = data.sessions
    for t in taken:
        a, at = run.agent[t], run.assigned_s[t]
        assert ((s.agent == a) & (s.start_s <= at) & (at <= s.end_s)).any(), f"ticket {t} taken while offline"
    for a in np.unique(run.agent[taken]):
        mine = taken[run.agent[taken] == a]
        ext = data.external.agent == a
        starts = np.r_[run.assigned_s[mine], data.external.start_s[ext]]
        ends = np.r_[run.assigned_s[mine] + run.handle_time_s[mine], data.external.end_s[ext]]
        for at in run.assigned_s[mine]:
            held = ((starts <= at) & (at < ends)).sum()
            assert held <= data.capacity[a], f"agent {a} holds {held} > capacity {data.capacity[a]}"
    eligible = data.roster.eligible(data.tickets.topic[taken], data.tickets.language[taken], run.agent[taken])
    assert np.diag(eligible).all()


@pytest.mark.parametrize("kind", ["fifo", "skills_rules"])
def test_rule_policies_keep_arrivals_availability_capacity_and_certification(bank_replay, kind):
    logs, data = bank_replay
    window = logs.interactions[logs.interactions["created_at"] >= data.start_ts].sort_values("created_at",
                                                                                             kind="stable")
    assert data.tickets.ids == list(window["ticket_id"])  # every window ticket, in logged arrival order
    expected = (window["created_at"] - data.start_ts).dt.total_seconds().to_numpy()
    np.testing.assert_allclose(data.tickets.created_s, expected)
    policy, release = build_replay_policy(PolicySpec(kind), data, None, PolicyConfig(), 30.0, 1800.0)
    run = run_replay(data, _fake_estimates(data), policy)
    release()
    _check_run(data, run)
    restricted = data.tickets.topic == data.topics.index(RESTRICTED)
    assert restricted.any()
    certified = data.roster.allowed[:, data.topics.index(RESTRICTED)]
    assert certified[run.agent[restricted & (run.agent >= 0)]].all()
    assert not certified.all()


def test_the_engine_policy_keeps_the_same_rules(bank_replay, tmp_path):
    from skillmatch.models.publish import train_to_folder

    logs, _ = bank_replay
    data = prepare_replay(logs, eval_cut(logs, eval_share=0.08), restricted_topics=[RESTRICTED])  # a short window
    before = Logs(logs.interactions[logs.interactions["created_at"] < data.start_ts], logs.agents, None, logs.sources)
    config = TrainConfig.model_validate({"minimum": {"rows": 300, "eval_rows": 30, "rows_per_reference_agent": 10}})
    folder, _, _ = train_to_folder(before, config, tmp_path / "decision")
    spec = PolicySpec("skillmatch", "default")
    policy, release = build_replay_policy(spec, data, folder, PolicyConfig(restricted_topics=[RESTRICTED]), 30.0, 600.0)
    try:
        run = run_replay(data, _fake_estimates(data), policy)
    finally:
        release()
    _check_run(data, run)


def test_free_selection_in_replay_is_the_log_itself(bank_replay):
    logs, data = bank_replay
    record = to_record("free_selection:logged", logged_run(data), data, _fake_estimates(data), PolicyConfig(),
                       86400.0, 10, actual=True)
    window = logs.interactions[logs.interactions["created_at"] >= data.start_ts].sort_values("created_at",
                                                                                             kind="stable")
    assert [data.agent_ids[a] for a in record.agent] == list(window["agent_id"])
    np.testing.assert_array_equal(record.resolved, window["resolved"].to_numpy(dtype=float))
    np.testing.assert_allclose(record.handle_time_s, window["handle_time_s"].to_numpy(dtype=float))
    wait = (window["assigned_at"] - window["created_at"]).dt.total_seconds().to_numpy()
    np.testing.assert_allclose(record.wait_s, wait)


def _replay_cli(adapted, config: Path, out: Path, *extra: str):
    return CliRunner().invoke(app, [
        "backtest", "--interactions", str(adapted.out / "interactions.csv.gz"),
        "--agents", str(adapted.out / "agents.csv"), "--events", str(adapted.out / "events.csv.gz"),
        "--config", str(config), "--out", str(out), "--bootstrap", "50", "--workers", "1", "--eval-share", "0.12",
        "--round-interval", "300", "--report-interval", "14400", *extra],
        terminal_width=300)


LINEUPS = {"bank": ["free_selection", "fifo", "skills_rules", "greedy_best_fit", "skillmatch"],
           "uci": ["free_selection", "fifo", "skills_rules", "skillmatch"]}
"""The default lineup on the bank; on the UCI slice (161 agents, slower engine rounds) one engine policy."""


@pytest.mark.parametrize("dataset", ["uci", "bank"])
def test_cli_replays_a_real_slice_into_a_report(request, tmp_path, dataset):
    adapted = request.getfixturevalue(f"{dataset}_slice")
    features = ('[features]\nextra_numeric = ["wait_s", "vru_s"]\n' if dataset == "bank" else
                '[features]\nextra_numeric = ["handoffs_before"]\nextra_categorical = ["assignment_group"]\n')
    out = tmp_path / "replay"
    lineup = [] if dataset == "bank" else ["--policies", ",".join(LINEUPS[dataset])]  # bank: the default
    result = _replay_cli(adapted, _small_config(tmp_path / "small.toml", features), out, *lineup)
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text()
    assert "What is estimated" in html and "Not available: the interactions carry no propensity" in html
    metrics = json.loads((out / "metrics.json").read_text())
    assert list(metrics["policies"]) == ["free_selection", "free_selection:logged", *LINEUPS[dataset][1:]]
    estimation = metrics["estimation"]
    decision = out / estimation["decision_model_folder"]
    folds = [out / f for f in estimation["evaluation_model_folders"]]
    assert len(folds) == 2 and decision not in folds and all(f.is_dir() for f in [decision, *folds])
    window_start = pd.Timestamp(metrics["settings"]["window_start"])
    trained = json.loads((decision / "metadata.json").read_text())["training_window"]
    assert pd.Timestamp(trained["end"]) < window_start  # the decision model never saw the window
    fold_windows = [json.loads((f / "metadata.json").read_text())["training_window"] for f in folds]
    assert any(pd.Timestamp(w["end"]) >= window_start for w in fold_windows)  # the evaluation model: other folds' days
    logs = _logs(adapted)
    window = logs.interactions[logs.interactions["created_at"] >= window_start]
    logged = metrics["policies"]["free_selection:logged"]["resolution_rate"]["value"]
    assert logged == pytest.approx(window["resolved"].mean())
    assert metrics["policies"]["skillmatch"]["growth.practice_share"]["value"] is None
    assert "growth.skill_gain" not in metrics["policies"]["fifo"]


@pytest.mark.parametrize(("extra", "message"), [
    pytest.param(["--eval-from", "2030-01-01"], "the evaluation cut leaves nothing on one side", id="cut-after-log"),
    pytest.param(["--eval-from", "yesterday-ish"], "invalid --eval-from", id="bad-timestamp"),
    pytest.param(["--policies", "fifo,oracle"], "the oracle cannot be replayed", id="oracle"),
])
def test_bad_replay_input_exits_2_with_one_message_and_no_folder(bank_slice, tmp_path, extra, message):
    out = tmp_path / "replay"
    result = _replay_cli(bank_slice, _small_config(tmp_path / "small.toml"), out, *extra)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip() and not line.endswith("...")]
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("error:")
    assert not out.exists() and not list(tmp_path.glob(".replay*"))


def test_a_propensity_out_of_range_is_refused(bank_slice, tmp_path):
    frame = pd.read_csv(bank_slice.out / "interactions.csv.gz", dtype=str, keep_default_na=False)
    frame["propensity"] = "0.5"
    frame.loc[frame.index[-3], "propensity"] = "1.7"
    frame.to_csv(tmp_path / "interactions.csv", index=False)
    result = CliRunner().invoke(app, [
        "backtest", "--interactions", str(tmp_path / "interactions.csv"), "--agents", str(bank_slice.out / "agents.csv"),
        "--config", str(_small_config(tmp_path / "small.toml")), "--out", str(tmp_path / "replay")], terminal_width=300)
    assert result.exit_code == 2
    assert "column 'propensity'" in result.output and "1.7" in result.output
    assert not (tmp_path / "replay").exists()


def test_online_and_offline_events_decide_the_sessions(bank_replay):
    """With agent_online / agent_offline in the events log, sessions are those and nothing is placed outside them."""
    logs, data = bank_replay
    on, off = data.start_ts - pd.Timedelta(hours=1), data.start_ts + pd.Timedelta(days=1)
    shifts = pd.DataFrame([{"ts": ts, "event": event, "ticket_id": None, "agent_id": agent}
                           for agent in data.agent_ids[:6] for ts, event in ((on, "agent_online"), (off, "agent_offline"))])
    events = pd.concat([logs.events, shifts], ignore_index=True)
    with_shifts = Logs(logs.interactions, logs.agents, events, logs.sources)
    replay = prepare_replay(with_shifts, data.start_ts, restricted_topics=[RESTRICTED])
    assert replay.availability.startswith("agent_online")
    assert sorted(replay.agent_ids[a] for a in replay.sessions.agent) == sorted(data.agent_ids[:6])
    np.testing.assert_allclose(replay.sessions.start_s, -3600.0)
    np.testing.assert_allclose(replay.sessions.end_s, 86400.0)
    policy, _ = build_replay_policy(PolicySpec("fifo"), replay, None, PolicyConfig(), 30.0, 1800.0)
    run = run_replay(replay, _fake_estimates(replay), policy)
    taken = run.agent >= 0
    assert taken.any() and (run.assigned_s[taken] <= 86400.0).all()
    assert set(run.agent[taken]) <= set(replay.sessions.agent)
