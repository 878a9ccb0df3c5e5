"""Hard constraints of a round as a mask: language and certification for restricted topics."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def eligibility(ticket_language: Sequence[str], ticket_topic: Sequence[str], agent_languages: Sequence[frozenset[str]],
                agent_certifications: Sequence[frozenset[str]], restricted_topics: frozenset[str]) -> np.ndarray:
    """(n_tickets, n_agents) bool: the agent speaks the ticket's language and, for a restricted topic, is certified.

    Free slots are not part of the mask: the solver needs to tell "nobody could" from "everyone is full".
    """
    n_t, n_a = len(ticket_language), len(agent_languages)
    mask = np.zeros((n_t, n_a), dtype=bool)
    for a in range(n_a):
        speaks = np.fromiter((lang in agent_languages[a] for lang in ticket_language), dtype=bool, count=n_t)
        allowed = np.fromiter((t not in restricted_topics or t in agent_certifications[a] for t in ticket_topic),
                              dtype=bool, count=n_t)
        mask[:, a] = speaks & allowed
    return mask


def why_nobody(language: str, topic: str, agent_languages: Sequence[frozenset[str]],
               agent_certifications: Sequence[frozenset[str]], restricted_topics: frozenset[str]) -> str:
    """The words for a ticket that no agent of the round may take."""
    speakers = [a for a, langs in enumerate(agent_languages) if language in langs]
    if not speakers:
        return f"no free agent speaks {language}"
    if topic in restricted_topics and not any(topic in agent_certifications[a] for a in speakers):
        return f"no free agent who speaks {language} is certified for {topic}"
    return "no free agent may take it"
