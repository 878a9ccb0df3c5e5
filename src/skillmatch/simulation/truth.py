"""The hidden ground truth of a simulated history, kept apart from the logs in one file.

It holds each ticket's true difficulty, each agent's skill per topic on each day, the
cherry-picker labels and the outcome law, so that evaluation can ask "what was the true chance
that agent A resolves ticket T on the day T arrived" for any pair, not only the logged one.
"""
from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from skillmatch.errors import InputError
from skillmatch.simulation.world import BASE_RESOLVE_LOGIT, DIFFICULTY_SLOPE, TOPICS, p_resolve

TRUTH_FORMAT = "skillmatch-simulation-truth/1"


@dataclass
class GroundTruth:
    """Tickets (ticket_id, difficulty, difficulty_logit, day, ...), agents (labels) and daily skill."""

    tickets: pd.DataFrame
    agents: pd.DataFrame
    skill: np.ndarray  # (n_days, n_agents, n_topics) skill logit at the start of each day
    params: dict[str, object]

    def __post_init__(self) -> None:
        self._ticket_pos = pd.Index(self.tickets["ticket_id"])
        self._agent_pos = pd.Index(self.agents["agent_id"])
        self._topic_pos = {t: i for i, t in enumerate(self.params["topics"])}  # type: ignore[arg-type]

    def difficulty(self, ticket_ids: pd.Series | list[str]) -> np.ndarray:
        """True difficulty in [0, 1] (chance that a reference agent fails, monotone in the logit)."""
        pos = self._positions(self._ticket_pos, ticket_ids, "ticket_id")
        return self.tickets["difficulty"].to_numpy()[pos]

    def p_resolve(self, ticket_ids: pd.Series | list[str], agent_ids: pd.Series | list[str]) -> np.ndarray:
        """True P(resolved) of each (ticket, agent) pair on the ticket's day, without customer affinity."""
        t = self._positions(self._ticket_pos, ticket_ids, "ticket_id")
        a = self._positions(self._agent_pos, agent_ids, "agent_id")
        day = np.minimum(self.tickets["day"].to_numpy()[t], len(self.skill) - 1)
        topic = self.tickets["topic"].map(self._topic_pos).to_numpy()[t]
        skill = self.skill[day, a, topic]
        return p_resolve(skill, self.tickets["difficulty_logit"].to_numpy()[t], np.zeros(len(t)))

    @staticmethod
    def _positions(index: pd.Index, ids: pd.Series | list[str], what: str) -> np.ndarray:
        pos = index.get_indexer(list(ids))
        if (pos < 0).any():
            missing = [i for i, p in zip(ids, pos) if p < 0][:5]
            raise InputError("unknown ids for the ground truth", column=what, got=missing)
        return pos

    def save(self, path: Path) -> None:
        """One gzip'd JSON file, columns as lists."""
        doc = {
            "format": TRUTH_FORMAT,
            "params": self.params,
            "tickets": {c: self.tickets[c].tolist() for c in self.tickets.columns},
            "agents": {c: self.agents[c].tolist() for c in self.agents.columns},
            "skill": np.round(self.skill, 5).tolist(),
        }
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
            f.write(json.dumps(doc).encode("utf-8"))

    @classmethod
    def load(cls, path: Path) -> GroundTruth:
        try:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the ground-truth file ({exc})", file=path,
                             expected="a truth.json.gz written by skillmatch simulate") from None
        if doc.get("format") != TRUTH_FORMAT:
            raise InputError("not a skillmatch ground-truth file", file=path, expected=TRUTH_FORMAT,
                             got=doc.get("format"))
        return cls(tickets=pd.DataFrame(doc["tickets"]), agents=pd.DataFrame(doc["agents"]),
                   skill=np.asarray(doc["skill"], dtype=float), params=doc["params"])


def reference_failure(difficulty_logit: np.ndarray) -> np.ndarray:
    """True difficulty in [0, 1]: the chance that an agent of skill 0 does not resolve the ticket."""
    return 1.0 - p_resolve(np.zeros(len(difficulty_logit)), difficulty_logit, np.zeros(len(difficulty_logit)))


def outcome_law() -> dict[str, object]:
    """The parameters of the resolution law, stored beside the truth for the record."""
    return {"topics": list(TOPICS), "base_resolve_logit": BASE_RESOLVE_LOGIT,
            "difficulty_slope": DIFFICULTY_SLOPE}
