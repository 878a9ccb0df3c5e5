"""What the simulated history is for: it shows cherry-picking, waiting and learning as real centers do."""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from skillmatch.simulation import FreeSelection, SimulationConfig, simulate_history
from skillmatch.simulation.arrivals import DAY_S, generate_tickets
from skillmatch.simulation.world import RESTRICTED_TOPICS, build_world


def test_heavy_cherry_pickers_take_easier_tickets(week_history):
    handled = week_history.truth.tickets.merge(week_history.truth.agents[["agent_id", "cherry_picker"]])
    mean_difficulty = handled.groupby("cherry_picker")["difficulty"].mean()
    assert mean_difficulty[True] < mean_difficulty[False] - 0.05


def test_hardest_quartile_waits_longer(week_history):
    handled = week_history.truth.tickets
    hardest = handled["difficulty"] >= handled["difficulty"].quantile(0.75)
    assert handled.loc[hardest, "wait_s"].median() > 1.3 * handled.loc[~hardest, "wait_s"].median()
    assert handled.loc[hardest, "wait_s"].mean() > handled.loc[~hardest, "wait_s"].mean()


def test_true_proficiency_rises_with_exposure(week_history):
    truth, logs = week_history.truth, week_history.interactions
    topics = truth.params["topics"]
    gain = truth.skill[-1] - truth.skill[0]  # (n_agents, n_topics)
    counts = (logs.groupby(["agent_id", "topic"]).size().unstack(fill_value=0)
              .reindex(index=truth.agents["agent_id"], columns=topics, fill_value=0).to_numpy())
    rho, _ = spearmanr(counts.ravel(), gain.ravel())
    assert rho > 0.3
    practised = counts >= 20
    assert gain[practised].mean() > gain[counts == 0].mean()


def test_utilisation_is_high_enough_for_the_queue_to_matter(week_history):
    assert 0.85 <= week_history.truth.params["utilisation"] <= 0.95
    assert week_history.truth.tickets["wait_s"].median() > 30


def test_heavy_cherry_pickers_hand_back_claims(week_history):
    events = week_history.events
    pickers = set(week_history.truth.agents.query("cherry_picker")["agent_id"])
    claims = events[events["event"] == "claimed"].groupby("agent_id").size()
    handbacks = events[events["event"] == "unassigned"].groupby("agent_id").size().reindex(claims.index, fill_value=0)
    rate = handbacks / claims
    assert rate[rate.index.isin(pickers)].mean() > 3 * rate[~rate.index.isin(pickers)].mean()


def test_hard_constraints_hold_in_the_history(week_history):
    logs = week_history.interactions
    roster = week_history.agents.set_index("agent_id")
    speaks = roster.loc[logs["agent_id"], "languages"].str.split(";")
    assert all(lang in langs for lang, langs in zip(logs["language"], speaks))
    restricted = logs[logs["topic"].isin(RESTRICTED_TOPICS)]
    certs = roster.loc[restricted["agent_id"], "certifications"].fillna("").str.split(";")
    assert all(topic in c for topic, c in zip(restricted["topic"], certs))
    assert len(restricted) > 0


def test_logs_carry_what_the_contract_promises(week_history):
    logs = week_history.interactions
    assert logs["ticket_id"].is_unique
    assert (pd.to_datetime(logs["created_at"]) <= pd.to_datetime(logs["assigned_at"])).all()
    assert 0.1 < logs["csat"].notna().mean() < 0.35  # surveys are mostly missing
    assert (logs["customer_tier"] == "vip").any() and logs["customer_id"].duplicated().any()
    scales = logs.groupby("channel")["handle_time_s"].median()
    assert scales.max() > 1.5 * scales.min()
    assert set(week_history.events["event"]) >= {"queued", "viewed", "claimed", "unassigned", "closed",
                                                 "transferred", "agent_online", "agent_offline"}


def test_same_seed_gives_the_same_files(tmp_path):
    config = SimulationConfig(days=2, n_agents=12, seed=7)
    first = simulate_history(config).write(tmp_path / "a")
    second = simulate_history(config).write(tmp_path / "b")
    for name in ("interactions", "agents", "events", "truth"):
        assert first[name].read_bytes() == second[name].read_bytes(), name
    other = simulate_history(SimulationConfig(days=2, n_agents=12, seed=8))
    assert not other.interactions["agent_id"].equals(pd.read_csv(first["interactions"])["agent_id"])


def test_a_longer_horizon_keeps_the_earlier_days():
    world = build_world(SimulationConfig(days=3, n_agents=10, seed=3))
    short, long = generate_tickets(world, 2), generate_tickets(world, 4)
    n = len(short)
    assert long.created_s[n - 1] < 2 * DAY_S <= long.created_s[n]
    np.testing.assert_array_equal(short.difficulty_logit, long.difficulty_logit[:n])
    np.testing.assert_array_equal(short.u_resolve, long.u_resolve[:n])


def test_the_center_continues_under_any_policy_with_common_random_numbers():
    history = simulate_history(SimulationConfig(days=2, n_agents=12, seed=5))
    center = history.center
    n_before = len(center.tickets)
    center.extend(days=1)
    assert len(center.tickets) > n_before
    runs = []
    for _ in range(2):
        branch = copy.deepcopy(center)
        branch.run(FreeSelection(np.random.default_rng(11)), 3 * DAY_S)
        runs.append(branch)
    new = [o for o in runs[0].outcomes if o.assigned_s >= 2 * DAY_S]
    assert len(new) > 100
    assert [(o.ticket, o.agent, o.resolved) for o in runs[0].outcomes] == \
           [(o.ticket, o.agent, o.resolved) for o in runs[1].outcomes]


def test_outcome_noise_belongs_to_the_ticket_not_to_the_order_of_draws(week_history):
    first, second = week_history.center.outcomes[100], week_history.center.outcomes[200]
    a, b = copy.deepcopy(week_history.center), copy.deepcopy(week_history.center)
    a_first, a_second = a._draw_outcome(first.ticket, first.agent), a._draw_outcome(second.ticket, second.agent)
    b_second, b_first = b._draw_outcome(second.ticket, second.agent), b._draw_outcome(first.ticket, first.agent)
    assert (a_first, a_second) == (b_first, b_second)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ground_truth_answers_for_any_pair(week_history, seed):
    truth = week_history.truth
    rng = np.random.default_rng(seed)
    tickets = truth.tickets.sample(50, random_state=seed)["ticket_id"]
    agents = rng.choice(truth.agents["agent_id"], size=50)
    p = truth.p_resolve(tickets, agents)
    assert ((p > 0) & (p < 1)).all()
    logged = truth.tickets.set_index("ticket_id").loc[tickets]
    same = truth.p_resolve(tickets, logged["agent_id"])
    assert np.corrcoef(same, logged["p_resolve"])[0, 1] > 0.9
