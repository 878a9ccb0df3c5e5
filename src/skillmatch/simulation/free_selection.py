"""Free selection as the simulated agents practise it: each free agent picks from the queue by habit.

Every agent weighs how easy a ticket looks (it reads the ticket, so it perceives more than the
structured fields show), how comfortable it is with the topic, how long the ticket has waited and
its priority. Heavy cherry-pickers weigh easiness far more, look at several tickets before claiming,
sit idle rather than take a hard one, and hand back claims that turn out hard.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import expit

from skillmatch.simulation.center import ContactCenter, Decision, FreeAgent, Outcome
from skillmatch.simulation.world import CHANNEL_SLA_S

PERCEPTION_NOISE = 0.5
DECLINE_ABOVE = 0.4
"""A heavy cherry-picker tends to wait rather than take a ticket that looks harder than this (logit)."""
LOOK_AGAIN_S = (60.0, 300.0)
HAND_BACK_AFTER_S = (30.0, 180.0)
CASUAL_HAND_BACK_P = 0.02


class FreeSelection:
    """The cherry-picking behaviour of the simulated agents (the history's policy)."""

    name = "free_selection"
    claim_event = "claimed"

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._center: ContactCenter | None = None
        self._next_look: np.ndarray = np.zeros(0)
        self._handed_back_by = np.zeros(0, dtype=int)

    def start(self, center: ContactCenter) -> None:
        if self._center is not center:
            self._center = center
            self._next_look = np.zeros(center.world.n_agents)
            self._handed_back_by = np.full(len(center.tickets), -1)
        elif len(self._handed_back_by) < len(center.tickets):  # the center's horizon was extended
            grown = len(center.tickets) - len(self._handed_back_by)
            self._handed_back_by = np.r_[self._handed_back_by, np.full(grown, -1)]

    def observe(self, outcomes: Sequence[Outcome]) -> None:
        """Agents under free selection do not change their habits."""

    def decide(self, now: float, queue: np.ndarray, free_agents: Sequence[FreeAgent]) -> list[Decision]:
        center = self._center
        assert center is not None, "start(center) first"
        tk, truth, rng = center.tickets, center.world.agents, self.rng
        waiting = np.ones(len(queue), dtype=bool)
        topic, language = tk.topic[queue], tk.language[queue]
        looks_hard = tk.difficulty_logit[queue]
        waited = np.log1p((now - tk.created_s[queue]) / CHANNEL_SLA_S[tk.channel[queue]])
        urgency = 0.35 * (4 - tk.priority[queue])
        handed_back_by = self._handed_back_by[queue]
        decisions: list[Decision] = []
        for free in rng.permutation(np.array(free_agents, dtype=object)):
            a = free.index
            if now < self._next_look[a]:
                continue
            picker = bool(truth.cherry_picker[a])
            eligible = center.world.eligible(topic, language, a)
            for _ in range(free.free_slots):
                candidates = waiting & eligible & (handed_back_by != a)
                idx = np.flatnonzero(candidates)
                if len(idx) == 0:
                    break
                perceived = 0.85 * looks_hard[idx] + rng.normal(0, PERCEPTION_NOISE, len(idx))
                comfort = 0.5 * (truth.declared[a, topic[idx]] - 3)
                score = (-truth.pickiness[a] * perceived + truth.comfort_habit[a] * comfort
                         + truth.fifo_habit[a] * waited[idx] + urgency[idx] + rng.gumbel(size=len(idx)))
                ranked = idx[np.argsort(-score)]
                best = ranked[0]
                n_viewed = int(rng.integers(2, 7)) if picker else int(rng.random() < 0.3)
                viewed = tuple(int(queue[j]) for j in ranked[1:n_viewed])
                if picker and perceived[np.argmax(score)] > DECLINE_ABOVE and rng.random() < 0.7:
                    self._next_look[a] = now + rng.uniform(*LOOK_AGAIN_S)
                    center.record_views(a, queue[ranked[:n_viewed]])
                    break
                hand_back_p = 0.6 * expit(2.0 * (looks_hard[best] - 0.3)) if picker else CASUAL_HAND_BACK_P
                unassign_after = rng.uniform(*HAND_BACK_AFTER_S) if rng.random() < hand_back_p else None
                if unassign_after is not None:
                    self._handed_back_by[queue[best]] = a
                decisions.append(Decision(int(queue[best]), a, viewed, unassign_after))
                waiting[best] = False
        return decisions
