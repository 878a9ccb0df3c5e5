"""A simulated contact center that runs forward under any policy, event by event.

The center owns the truth (who is online, who is busy, what each agent has practised) and asks a
policy `decide(now, queue, free_agents)` whenever there is waiting work and free capacity; it tells
the policy what happened through `observe(outcomes)`. The same center can be copied at any moment
and continued under different policies with the same tickets, shifts and outcome noise.
"""
from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.special import expit

from skillmatch.simulation.arrivals import DAY_S, TicketTable, generate_tickets, working
from skillmatch.simulation.world import (
    CHANNEL_SLA_S, CSAT_RESPONSE_P, FORGET_TAU_DAYS, QA_SAMPLE_P, SHIFTS_H, World, handle_time_s, p_resolve,
)

ARRIVE, DONE, ON, OFF, RELEASE, NEW_DAY = range(6)
_SEND_TO_POLICY = {ARRIVE, DONE, ON, RELEASE}


@dataclass(frozen=True)
class FreeAgent:
    """An online agent with at least one free slot, as a policy sees it."""

    index: int
    free_slots: int
    idle_since_s: float
    online_since_s: float


@dataclass(frozen=True)
class Decision:
    """Give `ticket` to `agent`. Free-selection agents may have viewed others first, or hand it back later."""

    ticket: int
    agent: int
    viewed: tuple[int, ...] = ()
    unassign_after_s: float | None = None


@dataclass(frozen=True)
class Outcome:
    """What happened when an agent finished a ticket (drawn from the truth)."""

    ticket: int
    agent: int
    assigned_s: float
    closed_s: float
    handle_time_s: float
    resolved: bool
    transferred: bool
    reopened: bool
    csat: int | None
    qa_score: float | None
    p_resolve: float
    skill: float


class Policy(Protocol):
    """Anything that assigns waiting tickets to free agents."""

    name: str
    claim_event: str  # "claimed" when agents pick themselves, "assigned" when a router pushes

    def start(self, center: ContactCenter) -> None: ...

    def decide(self, now: float, queue: np.ndarray, free_agents: Sequence[FreeAgent]) -> list[Decision]: ...

    def observe(self, outcomes: Sequence[Outcome]) -> None: ...


class ContactCenter:
    """The simulated center's state and event loop. Times are seconds since `world.config.start_ts`."""

    def __init__(self, world: World, tickets: TicketTable) -> None:
        self.world = world
        self.tickets = tickets
        n = world.n_agents
        self.now = 0.0
        self.exposure = world.agents.exposure0.copy()
        self.busy = np.zeros(n, dtype=int)
        self.online = np.zeros(n, dtype=bool)
        self.online_since = np.zeros(n)
        self.idle_since = np.zeros(n)
        self.last_agent_of_customer: dict[int, int] = {}
        self.queue: list[tuple[float, int]] = []  # (created_s, ticket), kept sorted: oldest first
        self.assigned_s = np.full(len(tickets), np.nan)
        self.skill_by_day: list[np.ndarray] = []
        self.events: list[tuple[float, str, int, int]] = []  # (time, event, ticket or -1, agent or -1)
        self.outcomes: list[Outcome] = []
        self.busy_slot_s = 0.0
        self.online_slot_s = 0.0
        self._heap: list[tuple[float, int, int, int, int]] = []
        self._seq = 0
        self._scheduled_until = 0.0
        self._pending: dict[int, Outcome] = {}
        self._claimed_s: dict[int, float] = {}

    @property
    def horizon_days(self) -> int:
        """Days for which tickets have been drawn."""
        return int(np.ceil(self.tickets.created_s[-1] / DAY_S)) if len(self.tickets) else 0

    def extend(self, days: int) -> None:
        """Draw tickets for `days` more days; the tickets drawn so far stay as they are."""
        longer = generate_tickets(self.world, self.horizon_days + days)
        n = len(self.tickets)
        if not np.array_equal(longer.created_s[:n], self.tickets.created_s):
            raise RuntimeError("extending the horizon changed earlier tickets")
        self.tickets = longer
        self.assigned_s = np.r_[self.assigned_s, np.full(len(longer) - n, np.nan)]

    # ------------------------------------------------------------------ scheduling
    def _push(self, t: float, kind: int, a: int = -1, b: int = -1) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, kind, self._seq, a, b))

    def _schedule(self, until_s: float) -> None:
        """Put the arrivals, shifts and day starts of [scheduled_until, until_s) on the event heap."""
        start, end = self._scheduled_until, until_s
        if end <= start:
            return
        lo, hi = np.searchsorted(self.tickets.created_s, [start, end])
        for ticket in range(lo, hi):
            self._push(float(self.tickets.created_s[ticket]), ARRIVE, ticket)
        for day in range(int(start // DAY_S), int(np.ceil(end / DAY_S))):
            day_start = day * DAY_S
            if start <= day_start < end:
                self._push(day_start, NEW_DAY, day)
            for agent in np.flatnonzero(working(self.world, day)):
                begin_h, end_h = SHIFTS_H[self.world.agents.shift[agent]]
                on, off = day_start + begin_h * 3600, day_start + end_h * 3600
                if start <= on < end:
                    self._push(on, ON, int(agent))
                if start <= off < end:
                    self._push(off, OFF, int(agent))
        self._scheduled_until = end

    # ------------------------------------------------------------------ running
    def run(self, policy: Policy, until_s: float, on_day: Callable[[int], None] | None = None) -> None:
        """Advance the center to `until_s` under `policy`; `on_day(1)` is called at each new day."""
        policy.start(self)
        self._schedule(until_s)
        while self._heap and self._heap[0][0] < until_s:
            t, kind, _, a, b = heapq.heappop(self._heap)
            self.now = t
            self._handle(kind, a, b, policy, on_day)
            if kind in _SEND_TO_POLICY and (not self._heap or self._heap[0][0] > t):
                self._dispatch(policy)
        self.now = until_s

    def _handle(self, kind: int, a: int, b: int, policy: Policy, on_day: Callable[[int], None] | None) -> None:
        now = self.now
        if kind == ARRIVE:
            bisect.insort(self.queue, (float(self.tickets.created_s[a]), a))
            self.events.append((now, "queued", a, -1))
        elif kind == DONE:
            self._finish(a, b, policy)
        elif kind == RELEASE:
            self._release(a, b)
        elif kind == ON:
            self.online[a] = True
            self.online_since[a] = self.idle_since[a] = now
            begin_h, end_h = SHIFTS_H[self.world.agents.shift[a]]
            self.online_slot_s += (end_h - begin_h) * 3600 * self.world.agents.capacity[a]
            self.events.append((now, "agent_online", -1, a))
        elif kind == OFF:
            self.online[a] = False
            self.events.append((now, "agent_offline", -1, a))
        elif kind == NEW_DAY:
            if a > 0:
                self.exposure *= np.exp(-1.0 / FORGET_TAU_DAYS)
            self.skill_by_day.append(self.world.agents.skill(self.exposure))
            if on_day is not None and a > 0:
                on_day(1)

    def poke(self, policy: Policy) -> None:
        """Let `policy` decide at once, between events (e.g. after a supervisor handed work to a free agent)."""
        policy.start(self)
        self._dispatch(policy)

    def record_views(self, agent: int, tickets: Sequence[int]) -> None:
        """Log that an agent looked at tickets without taking any (free selection)."""
        self.events.extend((self.now, "viewed", int(t), agent) for t in tickets)

    def free_agents(self) -> list[FreeAgent]:
        """Online agents with free capacity, longest idle first."""
        free = np.flatnonzero(self.online & (self.busy < self.world.agents.capacity))
        order = free[np.argsort(self.idle_since[free], kind="stable")]
        return [FreeAgent(int(a), int(self.world.agents.capacity[a] - self.busy[a]),
                          float(self.idle_since[a]), float(self.online_since[a])) for a in order]

    def queue_tickets(self) -> np.ndarray:
        """Waiting ticket indices, oldest first."""
        return np.fromiter((t for _, t in self.queue), dtype=int, count=len(self.queue))

    def _dispatch(self, policy: Policy) -> None:
        if not self.queue:
            return
        free = self.free_agents()
        if not free:
            return
        decisions = policy.decide(self.now, self.queue_tickets(), free)
        for decision in decisions:
            self._apply(decision, policy.claim_event)

    def _apply(self, decision: Decision, claim_event: str) -> None:
        ticket, agent = decision.ticket, decision.agent
        created = float(self.tickets.created_s[ticket])
        i = bisect.bisect_left(self.queue, (created, ticket))
        if i == len(self.queue) or self.queue[i][1] != ticket:
            raise ValueError(f"policy gave ticket {ticket}, which is not waiting")
        if not self.online[agent] or self.busy[agent] >= self.world.agents.capacity[agent]:
            raise ValueError(f"policy gave ticket {ticket} to agent {agent}, who has no free slot")
        if not self.world.eligible(self.tickets.topic[ticket:ticket + 1],
                                   self.tickets.language[ticket:ticket + 1], agent)[0]:
            raise ValueError(f"policy gave ticket {ticket} to agent {agent}, who may not take it")
        del self.queue[i]
        now = self.now
        for seen in decision.viewed:
            self.events.append((now, "viewed", seen, agent))
        self.events.append((now, claim_event, ticket, agent))
        self.busy[agent] += 1
        if decision.unassign_after_s is not None:
            self._claimed_s[ticket] = now
            self._push(now + decision.unassign_after_s, RELEASE, agent, ticket)
            return
        self.assigned_s[ticket] = now
        outcome = self._draw_outcome(ticket, agent)
        self._pending[ticket] = outcome
        self._push(outcome.closed_s, DONE, agent, ticket)

    def _release(self, agent: int, ticket: int) -> None:
        """A claim handed back: the ticket returns to the queue, the slot is free again."""
        self.busy[agent] -= 1
        self.busy_slot_s += self.now - self._claimed_s.pop(ticket)
        if self.busy[agent] == 0:
            self.idle_since[agent] = self.now
        bisect.insort(self.queue, (float(self.tickets.created_s[ticket]), ticket))
        self.events.append((self.now, "unassigned", ticket, agent))

    def _finish(self, agent: int, ticket: int, policy: Policy) -> None:
        outcome = self._pending.pop(ticket)
        self.busy[agent] -= 1
        self.busy_slot_s += outcome.handle_time_s
        if self.busy[agent] == 0:
            self.idle_since[agent] = self.now
        self.exposure[agent, self.tickets.topic[ticket]] += 1.0
        self.last_agent_of_customer[int(self.tickets.customer[ticket])] = agent
        if outcome.transferred:
            self.events.append((self.now, "transferred", ticket, agent))
        self.events.append((self.now, "closed", ticket, agent))
        self.outcomes.append(outcome)
        policy.observe([outcome])

    def _draw_outcome(self, ticket: int, agent: int) -> Outcome:
        """The outcome of this agent on this ticket now, from the truth and the ticket's own noise."""
        tk = self.tickets
        topic = tk.topic[ticket]
        skill = float(self.world.agents.skill(self.exposure[agent, topic], agent, topic))
        affinity = float(self.last_agent_of_customer.get(int(tk.customer[ticket]), -1) == agent)
        difficulty = float(tk.difficulty_logit[ticket])
        p = float(p_resolve(np.array(skill), np.array(difficulty), np.array(affinity)))
        resolved = bool(tk.u_resolve[ticket] < p)
        handle = float(handle_time_s(tk.channel[ticket:ticket + 1], np.array([difficulty]), np.array([skill]),
                                     np.array([affinity]), tk.z_handle[ticket:ticket + 1])[0])
        transferred = (not resolved) and bool(tk.u_transfer[ticket] < 0.6)
        reopened = resolved and bool(tk.u_reopen[ticket] < expit(-2.8 + 0.6 * difficulty - 0.3 * skill))
        wait_over_sla = (self.now - tk.created_s[ticket]) / CHANNEL_SLA_S[tk.channel[ticket]]
        csat = None
        if tk.u_csat[ticket] < (CSAT_RESPONSE_P if resolved else 1.6 * CSAT_RESPONSE_P):
            raw = (2.9 + 1.3 * resolved + 0.6 * tk.sentiment[ticket] - 0.25 * min(wait_over_sla, 4.0)
                   + 0.25 * skill + 0.8 * tk.z_csat[ticket])
            csat = int(np.clip(np.rint(raw), 1, 5))
        qa = None
        if tk.u_qa[ticket] < QA_SAMPLE_P:
            qa = float(np.clip(np.round(3.3 + 0.45 * skill - 0.15 * difficulty + 0.35 * tk.z_qa[ticket], 1), 1, 5))
        return Outcome(ticket=ticket, agent=agent, assigned_s=self.now, closed_s=self.now + handle,
                       handle_time_s=handle, resolved=resolved, transferred=transferred, reopened=reopened,
                       csat=csat, qa_score=qa, p_resolve=p, skill=skill)

    @property
    def utilisation(self) -> float:
        """Busy slot time over online slot time so far."""
        return self.busy_slot_s / self.online_slot_s if self.online_slot_s else 0.0
