"""Point-in-time features: ticket, agent profile, agent and customer history, and the one pair builder."""
from skillmatch.features.history import OutcomeHistory, PairStats, stats_before
from skillmatch.features.pairs import PairFeatureBuilder, posix_seconds
from skillmatch.features.roster import AgentProfile, Roster

__all__ = ["AgentProfile", "OutcomeHistory", "PairFeatureBuilder", "PairStats", "Roster", "posix_seconds",
           "stats_before"]
