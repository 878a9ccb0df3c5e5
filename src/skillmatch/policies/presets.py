"""Named weight presets of the skillmatch objective, for backtests that trace quality against fairness and growth."""
from __future__ import annotations

from types import MappingProxyType

from skillmatch.config import Weights

PRESETS: MappingProxyType[str, Weights] = MappingProxyType({
    "default": Weights(),
    "quality_first": Weights(match=1.0, fairness=0.1, growth=0.1),
    "fair": Weights(match=1.0, fairness=2.0, growth=0.3),
    "growth_heavy": Weights(match=1.0, fairness=0.5, growth=1.0),
})
"""`default` is the policy config's default weights; the others move one dial."""


def preset_weights(name: str) -> dict[str, float]:
    """The weights of a preset as an engine request override; KeyError naming the known presets."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return PRESETS[name].model_dump()
