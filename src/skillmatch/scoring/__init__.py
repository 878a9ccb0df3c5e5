"""Scoring a routing round: eligibility mask, components (pure numpy), score matrix, reasons."""
from skillmatch.scoring.eligibility import eligibility, why_nobody
from skillmatch.scoring.reasons import UNASSIGNED_WORDS, assignment_reasons
from skillmatch.scoring.score import RoundInputs, ScoreMatrix, score_round

__all__ = ["UNASSIGNED_WORDS", "RoundInputs", "ScoreMatrix", "assignment_reasons", "eligibility", "score_round",
           "why_nobody"]
