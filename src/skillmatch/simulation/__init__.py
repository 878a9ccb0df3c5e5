"""A simulated contact center with hidden ground truth, continuable day by day under any policy."""
from skillmatch.simulation.center import ContactCenter, Decision, FreeAgent, Outcome, Policy
from skillmatch.simulation.free_selection import FreeSelection
from skillmatch.simulation.history import SimulatedHistory, simulate_history
from skillmatch.simulation.truth import GroundTruth
from skillmatch.simulation.world import SimulationConfig, World, build_world

__all__ = ["ContactCenter", "Decision", "FreeAgent", "FreeSelection", "GroundTruth", "Outcome", "Policy",
           "SimulatedHistory", "SimulationConfig", "World", "build_world", "simulate_history"]
