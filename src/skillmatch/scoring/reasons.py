"""A few short human-readable reasons per assignment, read off the score's parts."""
from __future__ import annotations

import math

STRONG_MARGIN = 0.03
FAIRNESS_NOTABLE = 0.05
URGENCY_NOTABLE = 0.2


def assignment_reasons(*, language: str, topic: str, p_resolve: float, best_other: float, median_other: float,
                       fairness: float, stretch: bool, urgency: float, waited_over_target: bool,
                       served_customer_before: bool, max_reasons: int = 4) -> list[str]:
    """Why this agent got this ticket, most telling first (at most `max_reasons`).

    `best_other` and `median_other` are the best and the median predicted resolution of the other eligible
    agents (nan when there is none).
    """
    reasons: list[str] = []
    if waited_over_target:
        reasons.append("waiting past its answer-time target")
    elif urgency >= URGENCY_NOTABLE:
        reasons.append("urgent")
    if language and language != "en":
        reasons.append(f"speaks {language}")
    if stretch:
        reasons.append(f"stretch ticket in growth topic {topic}")
    elif math.isnan(best_other) or p_resolve >= best_other - 1e-9:
        reasons.append(f"best predicted resolution on {topic}")
    elif p_resolve >= median_other + STRONG_MARGIN:
        reasons.append(f"strong on {topic}")
    if fairness >= FAIRNESS_NOTABLE:
        reasons.append("below fair share of hard tickets")
    elif fairness <= -FAIRNESS_NOTABLE:
        reasons.append("above fair share of hard tickets, so an easier one")
    if served_customer_before:
        reasons.append("served this customer before")
    if not reasons:
        reasons.append(f"eligible and free for {topic}")
    return reasons[:max_reasons]


UNASSIGNED_WORDS = {
    "eligible_agents_full": "all eligible agents are full",
    "outranked": "less urgent than the tickets placed",
    "not_worth_placing": "no free agent is a good enough match now",
}
"""Words for the solver's reason codes (`skillmatch.solver`); "no eligible agent" is worded per ticket."""
