"""Replayed runs as `RunRecord`s, so the simulated backtest's metrics and report read them unchanged.

Every policy's resolution, P(resolved) and csat are the evaluation model's estimates for the pair it
chose (probabilities, so a rate is an expected rate); difficulty is the evaluation model's too. The
logged policy appears twice: `free_selection` estimated like the others (comparable with them), and
`free_selection:logged` with what actually happened, so the estimator's bias on the logged pairs shows.
Logs carry no true skill: the skill arrays are nan, and growth is only the practice share.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skillmatch.backtest.record import RunRecord, TimedPolicy
from skillmatch.backtest.replay.center import ReplayRun
from skillmatch.backtest.replay.evaluation import OutcomeEstimates
from skillmatch.backtest.replay.window import ReplayData
from skillmatch.config import PolicyConfig
from skillmatch.simulation import Decision, FreeAgent, Policy

LOGGED = "free_selection"
LOGGED_ACTUAL = "free_selection:logged"


class BlockTimedPolicy(TimedPolicy):
    """TimedPolicy that counts each decision toward the time block it happens in."""

    def __init__(self, policy: Policy, block_s: float, n_blocks: int) -> None:
        super().__init__(policy)
        self.block_s = block_s
        self.n_blocks = n_blocks
        self.at_block(n_blocks - 1)

    def decide(self, now: float, queue: np.ndarray, free_agents: Sequence[FreeAgent]) -> list[Decision]:
        self.block = min(max(int(now // self.block_s), 0), self.n_blocks - 1)
        return super().decide(now, queue, free_agents)


def to_record(name: str, run: ReplayRun, data: ReplayData, estimates: OutcomeEstimates, policy_config: PolicyConfig,
              block_s: float, n_blocks: int, timed: TimedPolicy | None = None, actual: bool = False,
              meta: dict[str, object] | None = None) -> RunRecord:
    """The record of one run; `actual` fills outcomes from the log (only for the logged policy's own run)."""
    tk = data.tickets
    n_t, n_a, n_k = len(tk), data.n_agents, len(data.topics)
    agent = run.agent
    handled = agent >= 0
    rows = np.flatnonzero(handled)
    p = np.full(n_t, np.nan)
    csat = np.full(n_t, np.nan)
    p[rows] = estimates.p_resolve[rows, agent[rows]]
    csat[rows] = estimates.csat[rows, agent[rows]]
    served = handled & ~np.isnan(run.assigned_s)
    wait = np.where(served, run.assigned_s - tk.created_s, run.end_s - tk.created_s)
    if actual:
        resolved, p_shown, csat = np.where(handled, data.logged_resolved, np.nan), np.full(n_t, np.nan), data.logged_csat
    else:
        resolved, p_shown = p, p
    sla = np.array([policy_config.sla_targets_s.get(c, policy_config.default_sla_s) for c in data.channels])
    growth = data.roster.growth
    return RunRecord(
        policy=name, scenario="log replay", block_s=block_s, channels=data.channels, topics=data.topics, sla_s=sla,
        created_s=tk.created_s, block=np.minimum((tk.created_s // block_s).astype(int), n_blocks - 1),
        channel=tk.channel, topic=tk.topic, difficulty=estimates.difficulty, wait_s=np.maximum(wait, 0.0),
        served=served, agent=agent, resolved=resolved, p_resolve=p_shown, csat=csat,
        handle_time_s=np.where(handled, run.handle_time_s, np.nan),
        in_growth_topic=np.where(handled, growth[np.maximum(agent, 0), tk.topic], False),
        skill=np.broadcast_to(np.nan, (n_blocks + 1, n_a, n_k)), growth=growth, allowed=data.roster.allowed,
        bar_logit=np.full(n_k, np.nan),
        decide_s=_blocks(timed.decide_s if timed else [], n_blocks),
        decisions=_blocks(timed.decisions if timed else [], n_blocks),
        rounds=_blocks(timed.rounds if timed else [], n_blocks),
        meta={"outcomes": "logged (actual)" if actual else "estimated by the evaluation model",
              "n_agents": n_a, "end_s": run.end_s, "served": int(served.sum()), **(meta or {})},
    )


def _blocks(values: Sequence[float], n_blocks: int) -> np.ndarray:
    out = np.zeros(n_blocks)
    out[:min(len(values), n_blocks)] = values[:n_blocks]
    return out
