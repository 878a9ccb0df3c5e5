"""The roster as lookups the features need: languages, declared skill per topic, tenure, capacity."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from skillmatch.logs.schema import DEFAULT_CAPACITY, DEFAULT_LANGUAGE


@dataclass(frozen=True)
class AgentProfile:
    """What the roster says about one agent (contract names; lists as tuples)."""

    agent_id: str
    languages: tuple[str, ...] = (DEFAULT_LANGUAGE,)
    skills: tuple[tuple[str, int], ...] = ()
    certifications: tuple[str, ...] = ()
    growth_topics: tuple[str, ...] = ()
    team: str | None = None
    hire_date: pd.Timestamp | None = None
    capacity: int = DEFAULT_CAPACITY


class Roster:
    """Agent profiles by id, with vectorised lookups for (agent, topic, language) pairs."""

    def __init__(self, profiles: list[AgentProfile]) -> None:
        self.profiles = {p.agent_id: p for p in profiles}
        self._skills = {a: dict(p.skills) for a, p in self.profiles.items()}
        self._languages = {a: frozenset(p.languages) for a, p in self.profiles.items()}

    @classmethod
    def from_frame(cls, agents: pd.DataFrame) -> Roster:
        """From a validated agents frame (see `skillmatch.logs.validate_agents`)."""
        profiles = []
        for row in agents.itertuples(index=False):
            hire = getattr(row, "hire_date", None)
            profiles.append(AgentProfile(
                agent_id=row.agent_id,
                languages=tuple(row.languages),
                skills=tuple(sorted((row.skills or {}).items())) if isinstance(row.skills, dict) else (),
                certifications=tuple(row.certifications or ()),
                growth_topics=tuple(row.growth_topics or ()),
                team=None if pd.isna(row.team) else str(row.team),
                hire_date=None if hire is None or pd.isna(hire) else pd.Timestamp(hire),
                capacity=int(row.capacity),
            ))
        return cls(profiles)

    def __contains__(self, agent_id: str) -> bool:
        return agent_id in self.profiles

    def __len__(self) -> int:
        return len(self.profiles)

    @property
    def ids(self) -> list[str]:
        return list(self.profiles)

    def declared_skill(self, agent: np.ndarray, topic: np.ndarray) -> np.ndarray:
        """Declared level 1..5 of each agent in each topic; nan when not declared or unknown agent."""
        return np.array([self._skills.get(a, {}).get(t, np.nan) for a, t in zip(agent, topic)], dtype=float)

    def speaks(self, agent: np.ndarray, language: np.ndarray) -> np.ndarray:
        """1 when the agent speaks the ticket's language, 0 when not, nan for an unknown agent."""
        langs = self._languages
        return np.array([float(l in langs[a]) if a in langs else np.nan for a, l in zip(agent, language)])

    def per_agent(self, agent: np.ndarray, attribute: str) -> np.ndarray:
        """A scalar profile attribute per pair (capacity, n_languages, hire_date as POSIX seconds)."""
        return self.per_agent_columns(agent, (attribute,))[attribute]

    def per_agent_columns(self, agent: np.ndarray, attributes: Sequence[str]) -> dict[str, np.ndarray]:
        """`per_agent` of several attributes, each distinct agent looked up once for all of them."""
        def value(p: AgentProfile | None, attribute: str) -> float:
            if p is None:
                return np.nan
            if attribute == "n_languages":
                return float(len(p.languages))
            if attribute == "hire_s":
                return np.nan if p.hire_date is None else p.hire_date.timestamp()
            return float(getattr(p, attribute))
        position: dict[Any, int] = {}  # each distinct agent's place, in order of appearance (a round has few)
        codes = np.fromiter((position.setdefault(a, len(position)) for a in np.asarray(agent, dtype=object).tolist()),
                            dtype=np.int64, count=len(agent))
        profiles = [self.profiles.get(a) for a in position]
        return {attribute: np.array([value(p, attribute) for p in profiles], dtype=float)[codes]
                for attribute in attributes}
