"""What one policy did over the evaluation window, as plain arrays: the only thing metrics and the report read.

The log replay fills the same record from logs and outcome estimates; the simulated source
fills it from the center's ground truth.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from skillmatch.simulation import ContactCenter, Decision, FreeAgent, Outcome, Policy


@dataclass
class RunRecord:
    """One policy on one scenario. Ticket arrays cover the tickets created in the window, in arrival order."""

    policy: str
    scenario: str
    block_s: float  # length of a bootstrap cluster (a day by default)
    channels: tuple[str, ...]
    topics: tuple[str, ...]
    sla_s: np.ndarray  # (n_channels,) answer-time target per channel
    # per ticket
    created_s: np.ndarray  # seconds since the window start
    block: np.ndarray  # int: the cluster the ticket arrived in
    channel: np.ndarray  # int index into channels
    topic: np.ndarray  # int index into topics
    difficulty: np.ndarray  # true difficulty in [0, 1] (chance that a reference agent fails)
    wait_s: np.ndarray  # until the agent that handled it took it; censored at the end for unserved tickets
    served: np.ndarray  # bool: taken by an agent before the run ended
    agent: np.ndarray  # int, -1 when not handled
    resolved: np.ndarray  # float 0/1, nan when not handled
    p_resolve: np.ndarray  # true P(resolved) of the pair that handled it, nan when not handled
    csat: np.ndarray  # float 1..5, nan when not answered or not handled
    handle_time_s: np.ndarray  # nan when not handled
    in_growth_topic: np.ndarray  # bool: the topic is in the handling agent's development plan
    # per agent and topic
    skill: np.ndarray  # (n_blocks + 1, n_agents, n_topics) true skill at each block boundary
    growth: np.ndarray  # (n_agents, n_topics) bool: development plan
    allowed: np.ndarray  # (n_agents, n_topics) bool: may take the topic
    bar_logit: np.ndarray  # (n_topics,) skill at which an agent resolves the topic's median ticket at the bar
    # per block
    decide_s: np.ndarray  # (n_blocks,) wall time spent in the policy's decide
    decisions: np.ndarray  # (n_blocks,) tickets placed
    rounds: np.ndarray  # (n_blocks,) decide calls
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def n_blocks(self) -> int:
        return len(self.decide_s)


class TimedPolicy:
    """Wraps a policy to measure the wall time of its decisions, per cluster block (the policy sees no difference)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.name = policy.name
        self.claim_event = policy.claim_event
        self.block = 0
        self.decide_s: list[float] = []
        self.decisions: list[int] = []
        self.rounds: list[int] = []

    def at_block(self, block: int) -> None:
        """Count what follows toward cluster `block`."""
        self.block = block
        while len(self.decide_s) <= block:
            self.decide_s.append(0.0)
            self.decisions.append(0)
            self.rounds.append(0)

    def start(self, center: ContactCenter) -> None:
        self.policy.start(center)

    def observe(self, outcomes: Sequence[Outcome]) -> None:
        self.policy.observe(outcomes)

    def decide(self, now: float, queue: np.ndarray, free_agents: Sequence[FreeAgent]) -> list[Decision]:
        started = time.perf_counter()
        out = self.policy.decide(now, queue, free_agents)
        elapsed = time.perf_counter() - started
        if self.decide_s:
            self.decide_s[self.block] += elapsed
            self.decisions[self.block] += len(out)
            self.rounds[self.block] += 1
        return out
