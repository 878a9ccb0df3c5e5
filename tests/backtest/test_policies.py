"""Every policy places only tickets that wait, with agents who may take them and have a free slot."""
from __future__ import annotations

import copy
from collections import Counter

import numpy as np
import pytest

from skillmatch.backtest import RunSettings, parse_lineup
from skillmatch.backtest.lineup import build_policy
from skillmatch.simulation.arrivals import DAY_S

ALL_KINDS = ("free_selection", "fifo", "skills_rules", "greedy_best_fit", "skillmatch", "skillmatch:fair", "oracle")


class Checked:
    """Wraps a policy and checks each batch of decisions against the center's state before it is applied."""

    def __init__(self, policy):
        self.policy, self.name, self.claim_event = policy, policy.name, policy.claim_event
        self.placed = 0

    def start(self, center):
        self.center = center
        self.policy.start(center)

    def observe(self, outcomes):
        self.policy.observe(outcomes)

    def decide(self, now, queue, free_agents):
        decisions = self.policy.decide(now, queue, free_agents)
        c, tk = self.center, self.center.tickets
        slots = {f.index: f.free_slots for f in free_agents}
        tickets = [d.ticket for d in decisions]
        assert len(set(tickets)) == len(tickets), "a ticket placed twice in one round"
        assert set(tickets) <= set(queue.tolist()), "a ticket that is not waiting"
        for agent, n in Counter(d.agent for d in decisions).items():
            assert n <= slots.get(agent, 0), f"agent {agent} got {n} tickets with {slots.get(agent, 0)} free slots"
        for d in decisions:
            assert c.world.agents.speaks[d.agent, tk.language[d.ticket]], "agent does not speak the language"
            assert c.world.agents.certified[d.agent, tk.topic[d.ticket]], "agent not certified for the topic"
        self.placed += len(decisions)
        return decisions


@pytest.mark.parametrize("name", ALL_KINDS)
def test_policy_places_only_eligible_waiting_tickets_within_capacity(scenario, name):
    spec = parse_lineup([name])[0]
    policy, release = build_policy(spec, scenario, RunSettings(round_interval_s=120.0, report_interval_s=1800.0))
    checked = Checked(policy)
    center = copy.deepcopy(scenario.center)
    try:
        center.run(checked, scenario.eval_start_s + 7 * 3600 + 2 * 3600)  # 07:00-09:00, the morning rush
    finally:
        release()
    assert checked.placed > 50
    assert (center.busy <= center.world.agents.capacity).all()


def test_fifo_serves_the_oldest_ticket_to_the_longest_idle_agent(scenario):
    spec = parse_lineup(["fifo"])[0]
    policy, _ = build_policy(spec, scenario, RunSettings())
    center = copy.deepcopy(scenario.center)
    center.run(policy, scenario.eval_start_s + 8 * 3600)
    queue, free = center.queue_tickets(), center.free_agents()
    decisions = policy.decide(center.now, queue, free)
    if decisions:
        first = decisions[0]
        tk = center.tickets
        eligible = [f for f in free if center.world.agents.speaks[f.index, tk.language[first.ticket]]
                    and center.world.agents.certified[f.index, tk.topic[first.ticket]]]
        assert first.agent == eligible[0].index  # free agents come longest idle first
        placeable = [t for t in queue if any(center.world.eligible(tk.topic[t:t + 1], tk.language[t:t + 1],
                                                                   f.index)[0] for f in free)]
        assert first.ticket == placeable[0]


def test_skills_rules_prefers_the_highest_declared_level(scenario):
    from skillmatch.backtest.lineup import roster_view

    spec = parse_lineup(["skills_rules"])[0]
    policy, _ = build_policy(spec, scenario, RunSettings())
    roster = roster_view(scenario)
    center = copy.deepcopy(scenario.center)
    center.run(policy, scenario.eval_start_s + 9 * 3600)
    queue, free = center.queue_tickets(), center.free_agents()
    for d in policy.decide(center.now, queue, free)[:1]:
        topic = center.tickets.topic[d.ticket]
        levels = [roster.declared[f.index, topic] for f in free
                  if center.world.eligible(center.tickets.topic[d.ticket:d.ticket + 1],
                                           center.tickets.language[d.ticket:d.ticket + 1], f.index)[0]]
        assert roster.declared[d.agent, topic] == np.nanmax(levels)


def test_oracle_resolves_more_than_free_selection_in_truth(cheap_runs):
    truth = {name: np.nanmean(run.p_resolve) for name, run in cheap_runs.items()}
    assert truth["oracle"] > truth["free_selection"] + 0.01
    assert truth["oracle"] > truth["fifo"] + 0.01


@pytest.mark.parametrize(("names", "message"), [
    pytest.param(["fifo", "nonsense"], "unknown policy 'nonsense'", id="unknown"),
    pytest.param(["fifo:fair"], "unknown policy 'fifo:fair'", id="preset-on-baseline"),
    pytest.param(["skillmatch:bold"], "unknown policy 'skillmatch:bold'", id="unknown-preset"),
    pytest.param(["fifo", "fifo"], "listed twice", id="twice"),
])
def test_bad_policy_names_are_refused_with_what_is_known(names, message):
    from skillmatch.errors import InputError

    with pytest.raises(InputError, match=message):
        parse_lineup(names)


def test_skillmatch_names_its_preset():
    assert [s.name for s in parse_lineup(["skillmatch", "skillmatch:default", "skillmatch:fair"][::2])] == \
        ["skillmatch", "skillmatch:fair"]


def test_the_window_is_one_day_after_the_history(scenario):
    assert scenario.eval_start_s == 14 * DAY_S and scenario.eval_end_s == 15 * DAY_S
