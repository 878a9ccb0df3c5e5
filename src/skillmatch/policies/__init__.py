"""Routing policies that run a simulated center forward (backtests): the engine as one of them."""
from skillmatch.policies.skillmatch import SkillmatchPolicy

__all__ = ["SkillmatchPolicy"]
