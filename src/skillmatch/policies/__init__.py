"""Routing policies behind the simulator's one `Policy` protocol: the baselines, the engine, and the oracle."""
from skillmatch.policies.fifo import FIFO
from skillmatch.policies.greedy import GreedyBestFit
from skillmatch.policies.oracle import Oracle
from skillmatch.policies.presets import PRESETS, preset_weights
from skillmatch.policies.roster_view import RosterView
from skillmatch.policies.skillmatch import SkillmatchPolicy
from skillmatch.policies.skills_rules import SkillsRules
from skillmatch.simulation import FreeSelection

__all__ = ["FIFO", "PRESETS", "FreeSelection", "GreedyBestFit", "Oracle", "RosterView", "SkillmatchPolicy",
           "SkillsRules", "preset_weights"]
