"""Engine behaviour over a simulated working day: the fairness weight evens out who carries the hard tickets."""
from __future__ import annotations

import copy

import numpy as np

from skillmatch.config import PolicyConfig
from skillmatch.engine import Engine
from skillmatch.policies import SkillmatchPolicy
from skillmatch.simulation.arrivals import DAY_S

HOURS = 7.0


def _spread_of_difficulty(two_weeks, trained, tmp_path, fairness: float) -> tuple[float, int]:
    """Run 07:00-14:00 of day 15 under the engine; the sd across agents of their tickets' mean true difficulty."""
    center = copy.deepcopy(two_weeks[0].center)
    center.extend(days=1)
    engine = Engine.load(trained[0], database_url=f"sqlite:///{tmp_path / f'ledger-{fairness}.db'}",
                         policy=PolicyConfig(restricted_topics=["fraud"]))
    start = len(center.outcomes)
    try:
        center.run(SkillmatchPolicy(engine, weights={"fairness": fairness}, round_interval_s=120.0),
                   14 * DAY_S + 7 * 3600 + HOURS * 3600)
    finally:
        engine.close()
    new = center.outcomes[start:]
    difficulty = np.array([center.tickets.difficulty_logit[o.ticket] for o in new])
    agent = np.array([o.agent for o in new])
    means = [difficulty[agent == a].mean() for a in np.unique(agent) if (agent == a).sum() >= 8]
    return float(np.std(means)), len(new)


def test_a_higher_fairness_weight_lowers_the_spread_of_difficulty_across_agents(two_weeks, trained, tmp_path):
    without, n_without = _spread_of_difficulty(two_weeks, trained, tmp_path, fairness=0.0)
    with_fairness, n_with = _spread_of_difficulty(two_weeks, trained, tmp_path, fairness=2.0)
    assert n_without > 300 and n_with > 300
    assert with_fairness < 0.8 * without
