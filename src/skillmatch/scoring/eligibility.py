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
    if not n_t or not n_a:
        return np.zeros((n_t, n_a), dtype=bool)
    # per distinct language and topic of the round, not per ticket
    languages = {lang: i for i, lang in enumerate(dict.fromkeys(ticket_language))}
    topics = {t: i for i, t in enumerate(dict.fromkeys(ticket_topic))}
    speaks = np.array([[lang in agent_languages[a] for a in range(n_a)] for lang in languages], dtype=bool)
    allowed = np.array([[t not in restricted_topics or t in agent_certifications[a] for a in range(n_a)]
                        for t in topics], dtype=bool)
    language_of = np.fromiter(map(languages.__getitem__, ticket_language), dtype=np.int64, count=n_t)
    topic_of = np.fromiter(map(topics.__getitem__, ticket_topic), dtype=np.int64, count=n_t)
    return speaks[language_of] & allowed[topic_of]


def why_nobody(language: str, topic: str, agent_languages: Sequence[frozenset[str]],
               agent_certifications: Sequence[frozenset[str]], restricted_topics: frozenset[str]) -> str:
    """The words for a ticket that no agent of the round may take."""
    speakers = [a for a, langs in enumerate(agent_languages) if language in langs]
    if not speakers:
        return f"no free agent speaks {language}"
    if topic in restricted_topics and not any(topic in agent_certifications[a] for a in speakers):
        return f"no free agent who speaks {language} is certified for {topic}"
    return "no free agent may take it"
