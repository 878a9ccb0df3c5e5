"""The replay center: a discrete-event loop over a logged window, asking a policy to route it again.

Tickets arrive at their logged created_at; agents come online and go offline with their logged sessions;
work not replayed occupies slots at its logged times. A policy is asked to `decide` when a ticket arrives,
a ticket finishes, an agent comes online or a slot frees, with the waiting tickets and the online agents
with a free slot (roster capacity minus replayed and not-replayed work). An agent never takes work while
offline (work taken runs to its end), never beyond its capacity, and only tickets it may take (language;
certification for restricted topics). When a policy places nothing although an eligible pair exists (an
engine policy between its rounds), it is asked again `round_interval_s` later.

Outcomes of a placed pair come from the evaluation model (`OutcomeEstimates`): the probability of
resolution (not a coin flip) for the metrics; the slot is held for the pair's handle time (the logged
handle time scaled by the evaluation model's ratio for the new agent). Engine policies are told an
outcome drawn from that probability with a per-ticket uniform shared by every policy (the logged outcome
when the pair is the logged one), so the engine's live history learns; nobody's true skill changes.
"""
from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass

import numpy as np
import pandas as pd

from skillmatch.backtest.replay.evaluation import OutcomeEstimates
from skillmatch.backtest.replay.window import ReplayData, ReplayTickets
from skillmatch.simulation import Decision, FreeAgent, Outcome, Policy

ARRIVE, DONE, ON, OFF, EXT_START, EXT_END, TICK = range(7)
_ASK_POLICY = {ARRIVE, DONE, ON, EXT_END, TICK}
DEFAULT_ROUND_INTERVAL_S = 30.0


@dataclass(frozen=True)
class ReplayClock:
    """What `center.world.config` means to a policy: when second 0 of the replay is."""

    start_ts: pd.Timestamp


@dataclass(frozen=True)
class ReplayAgents:
    """What `center.world.agents` means to a policy: the agents' ids by index."""

    ids: list[str]


@dataclass(frozen=True)
class ReplayWorld:
    """The part of a simulated center's world that policies read."""

    config: ReplayClock
    agents: ReplayAgents


@dataclass
class ReplayRun:
    """What one policy did: per ticket the agent, when it was taken and for how long (nan / -1 when never)."""

    agent: np.ndarray
    assigned_s: np.ndarray
    handle_time_s: np.ndarray
    end_s: float  # when the run stopped (censors the wait of tickets never taken)


class ReplayCenter:
    """A logged window replayed under one policy; times are seconds since `data.start_ts`."""

    def __init__(self, data: ReplayData, estimates: OutcomeEstimates, seed: int = 0) -> None:
        self.data = data
        self.estimates = estimates
        self.tickets: ReplayTickets = data.tickets
        self.world = ReplayWorld(ReplayClock(data.start_ts), ReplayAgents(list(data.agent_ids)))
        self.u_resolve = np.random.default_rng([seed, 7]).random(len(data.tickets))
        n_a, n_t = data.n_agents, len(data.tickets)
        self.now = 0.0
        self.online = np.zeros(n_a, dtype=int)  # open sessions (they may overlap when taken from events)
        self.busy = np.zeros(n_a, dtype=int)  # replayed tickets in progress
        self.external = np.zeros(n_a, dtype=int)  # not-replayed work in progress
        self.idle_since = np.zeros(n_a)
        self.online_since = np.zeros(n_a)
        self.queue: list[tuple[float, int]] = []
        self.agent_of = np.full(n_t, -1)
        self.assigned_s = np.full(n_t, np.nan)
        self.handle_s = np.full(n_t, np.nan)
        self._heap: list[tuple[float, int, int, int, int]] = []
        self._seq = 0
        self._tick_at = -np.inf

    def _push(self, t: float, kind: int, a: int = -1, b: int = -1) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, kind, self._seq, a, b))

    def run(self, policy: Policy, round_interval_s: float = DEFAULT_ROUND_INTERVAL_S) -> ReplayRun:
        """Replay the whole window under `policy`; stops once every ticket was taken and finished, or nothing is left to happen."""
        data = self.data
        for t, created in enumerate(self.tickets.created_s):
            self._push(float(created), ARRIVE, t)
        for a, s, e in zip(data.sessions.agent, data.sessions.start_s, data.sessions.end_s):
            self._push(float(s), ON, int(a))
            self._push(float(e), OFF, int(a))
        for a, s, e in zip(data.external.agent, data.external.start_s, data.external.end_s):
            self._push(float(s), EXT_START, int(a))
            self._push(float(e), EXT_END, int(a))
        policy.start(self)  # type: ignore[arg-type]  # the attribute surface policies read
        open_work = len(self.tickets)
        while self._heap and open_work > 0:
            t, kind, _, a, b = heapq.heappop(self._heap)
            self.now = t
            if kind == DONE:
                open_work -= 1
            self._handle(kind, a, b, policy)
            if kind in _ASK_POLICY and (not self._heap or self._heap[0][0] > t):
                self._dispatch(policy, round_interval_s)
        return ReplayRun(agent=self.agent_of.copy(), assigned_s=self.assigned_s.copy(), handle_time_s=self.handle_s.copy(),
                         end_s=self.now)

    def _handle(self, kind: int, a: int, b: int, policy: Policy) -> None:
        now = self.now
        if kind == ARRIVE:
            bisect.insort(self.queue, (float(self.tickets.created_s[a]), a))
        elif kind == DONE:
            self.busy[a] -= 1
            if self.busy[a] + self.external[a] == 0:
                self.idle_since[a] = now
            policy.observe([self._outcome(b, a)])
        elif kind == ON:
            if self.online[a] == 0:
                self.online_since[a] = now
                if self.busy[a] + self.external[a] == 0:
                    self.idle_since[a] = now
            self.online[a] += 1
        elif kind == OFF:
            self.online[a] = max(self.online[a] - 1, 0)
        elif kind == EXT_START:
            self.external[a] += 1
        elif kind == EXT_END:
            self.external[a] = max(self.external[a] - 1, 0)
            if self.busy[a] + self.external[a] == 0:
                self.idle_since[a] = now

    def free_agents(self) -> list[FreeAgent]:
        """Online agents with a free slot, longest idle first."""
        slots = self.data.capacity - self.busy - self.external
        free = np.flatnonzero((self.online > 0) & (slots > 0))
        order = free[np.argsort(self.idle_since[free], kind="stable")]
        return [FreeAgent(int(a), int(slots[a]), float(self.idle_since[a]), float(self.online_since[a])) for a in order]

    def queue_tickets(self) -> np.ndarray:
        """Waiting ticket indices, oldest first."""
        return np.fromiter((t for _, t in self.queue), dtype=int, count=len(self.queue))

    def eligible(self, tickets: np.ndarray, agents: np.ndarray) -> np.ndarray:
        """`(n_tickets, n_agents)` bool: language and certification (restricted topics) allow the pair."""
        return self.data.roster.eligible(self.tickets.topic[tickets], self.tickets.language[tickets], agents)

    def _dispatch(self, policy: Policy, round_interval_s: float) -> None:
        if not self.queue:
            return
        free = self.free_agents()
        if not free:
            return
        decisions = policy.decide(self.now, self.queue_tickets(), free)
        for decision in decisions:
            self._apply(decision)
        if not decisions and self.now + round_interval_s > self._tick_at:
            waiting, agents = self.queue_tickets(), np.array([f.index for f in free])
            if self.eligible(waiting, agents).any():
                self._tick_at = self.now + round_interval_s
                self._push(self._tick_at, TICK)

    def _apply(self, decision: Decision) -> None:
        ticket, agent = decision.ticket, decision.agent
        i = bisect.bisect_left(self.queue, (float(self.tickets.created_s[ticket]), ticket))
        if i == len(self.queue) or self.queue[i][1] != ticket:
            raise ValueError(f"policy gave ticket {ticket}, which is not waiting")
        if self.online[agent] == 0 or self.busy[agent] + self.external[agent] >= self.data.capacity[agent]:
            raise ValueError(f"policy gave ticket {ticket} to agent {agent}, who has no free slot")
        if not self.eligible(np.array([ticket]), np.array([agent]))[0, 0]:
            raise ValueError(f"policy gave ticket {ticket} to agent {agent}, who may not take it")
        del self.queue[i]
        data = self.data
        handle = self.estimates.handle_time(ticket, agent, int(data.logged_agent[ticket]),
                                            float(data.logged_handle_s[ticket]))
        self.busy[agent] += 1
        self.agent_of[ticket] = agent
        self.assigned_s[ticket] = self.now
        self.handle_s[ticket] = handle
        self._push(self.now + handle, DONE, agent, ticket)

    def _outcome(self, ticket: int, agent: int) -> Outcome:
        """What an engine policy is told: the logged outcome for the logged pair, else a draw from the estimate."""
        data, est = self.data, self.estimates
        p = float(est.p_resolve[ticket, agent])
        if agent == data.logged_agent[ticket]:
            resolved = bool(data.logged_resolved[ticket])
            csat_value = data.logged_csat[ticket]
        else:
            resolved = bool(self.u_resolve[ticket] < p)
            csat_value = est.csat[ticket, agent]
        csat = None if np.isnan(csat_value) else int(np.clip(np.rint(csat_value), 1, 5))
        assigned = float(self.assigned_s[ticket])
        return Outcome(ticket=ticket, agent=agent, assigned_s=assigned, closed_s=assigned + self.handle_s[ticket],
                       handle_time_s=float(self.handle_s[ticket]), resolved=resolved, transferred=False,
                       reopened=False, csat=csat, qa_score=None, p_resolve=p, skill=float("nan"))


def logged_run(data: ReplayData) -> ReplayRun:
    """The logging policy's own run: who took each ticket, when, for how long (as logged)."""
    assigned = data.logged_assigned_s
    return ReplayRun(agent=data.logged_agent.copy(), assigned_s=assigned.copy(), handle_time_s=data.logged_handle_s.copy(),
                     end_s=float(np.nanmax(np.r_[assigned + data.logged_handle_s, data.tickets.created_s])))


def run_replay(data: ReplayData, estimates: OutcomeEstimates, policy: Policy,
               round_interval_s: float = DEFAULT_ROUND_INTERVAL_S, seed: int = 0) -> ReplayRun:
    """One policy over the whole window, from a fresh center."""
    return ReplayCenter(data, estimates, seed).run(policy, round_interval_s)
