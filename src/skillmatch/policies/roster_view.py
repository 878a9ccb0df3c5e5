"""What a router knows about agents from the roster log, as arrays aligned to a center's agents, topics and languages."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from skillmatch.features import Roster
from skillmatch.logs import validate_agents


@dataclass(frozen=True)
class RosterView:
    """Declared facts per agent: languages, topics it may take, declared skill levels, growth topics.

    Arrays are `(n_agents, n_languages)` or `(n_agents, n_topics)`, in the center's index order. Only the
    roster is read, never the simulator's hidden truth, so rule-based policies know what a real ACD knows.
    """

    speaks: np.ndarray  # bool
    allowed: np.ndarray  # bool: certified for the topic, or the topic is not restricted
    declared: np.ndarray  # float 1..5, nan where the roster declares no level
    growth: np.ndarray  # bool: the topic is in the agent's development plan

    @classmethod
    def from_frame(cls, agents: pd.DataFrame, agent_ids: Sequence[str], topics: Sequence[str],
                   languages: Sequence[str], restricted_topics: Sequence[str]) -> RosterView:
        """From an agents log as read from its file, for the given agent, topic and language orders."""
        roster = Roster.from_frame(validate_agents(agents.copy(), "agents"))
        return cls.from_roster(roster, agent_ids, topics, languages, restricted_topics)

    @classmethod
    def from_roster(cls, roster: Roster, agent_ids: Sequence[str], topics: Sequence[str],
                    languages: Sequence[str], restricted_topics: Sequence[str]) -> RosterView:
        """From parsed profiles; an agent missing from the roster speaks nothing and may take nothing."""
        restricted = {t.lower() for t in restricted_topics}
        n_a, n_t, n_l = len(agent_ids), len(topics), len(languages)
        speaks = np.zeros((n_a, n_l), dtype=bool)
        allowed = np.zeros((n_a, n_t), dtype=bool)
        declared = np.full((n_a, n_t), np.nan)
        growth = np.zeros((n_a, n_t), dtype=bool)
        for i, agent_id in enumerate(agent_ids):
            profile = roster.profiles.get(agent_id)
            if profile is None:
                continue
            langs, certs = {x.lower() for x in profile.languages}, {x.lower() for x in profile.certifications}
            skills = {k.lower(): v for k, v in profile.skills}
            grow = {x.lower() for x in profile.growth_topics}
            speaks[i] = [lang in langs for lang in languages]
            allowed[i] = [t not in restricted or t in certs for t in topics]
            declared[i] = [skills.get(t, np.nan) for t in topics]
            growth[i] = [t in grow for t in topics]
        return cls(speaks=speaks, allowed=allowed, declared=declared, growth=growth)

    def eligible(self, topic: np.ndarray, language: np.ndarray, agents: np.ndarray) -> np.ndarray:
        """`(n_tickets, n_agents)` bool: the agent speaks the ticket's language and may take its topic."""
        agents = np.asarray(agents, dtype=int)
        return self.speaks[agents][:, language].T & self.allowed[agents][:, topic].T
