"""Which policies a backtest compares, by name, and how each is built for a scenario (picklable specs for workers)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from skillmatch.backtest.scenario import Scenario
from skillmatch.config import PolicyConfig
from skillmatch.errors import InputError
from skillmatch.policies import (
    FIFO, PRESETS, FreeSelection, GreedyBestFit, Oracle, RosterView, SkillmatchPolicy, SkillsRules, preset_weights,
)
from skillmatch.simulation import Policy
from skillmatch.simulation.world import LANGUAGES, TOPICS

KINDS = ("free_selection", "fifo", "skills_rules", "greedy_best_fit", "skillmatch", "oracle")
ENGINE_KINDS = ("greedy_best_fit", "skillmatch")
DEFAULT_PRESET = "default"


@dataclass(frozen=True)
class PolicySpec:
    """A policy to run: its kind and, for skillmatch, the weight preset. `name` is how reports show it."""

    kind: str
    preset: str | None = None

    @property
    def name(self) -> str:
        if self.kind == "skillmatch" and self.preset not in (None, DEFAULT_PRESET):
            return f"skillmatch:{self.preset}"
        return self.kind

    @property
    def uses_engine(self) -> bool:
        return self.kind in ENGINE_KINDS


@dataclass(frozen=True)
class RunSettings:
    """How engine-based policies run: a routing round at most every `round_interval_s`, outcomes reported in batches."""

    round_interval_s: float = 30.0
    report_interval_s: float = 1800.0


def parse_lineup(names: Sequence[str]) -> list[PolicySpec]:
    """Specs from names such as `fifo`, `skillmatch`, `skillmatch:fair`; InputError naming the bad one."""
    specs = []
    for raw in names:
        name = raw.strip()
        kind, _, preset = name.partition(":")
        if kind not in KINDS or (preset and kind != "skillmatch") or (preset and preset not in PRESETS):
            raise InputError(f"unknown policy {name!r} in --policies",
                             expected=f"some of {', '.join(KINDS)}, or skillmatch:PRESET with PRESET one of "
                                      f"{', '.join(PRESETS)}", got=name)
        specs.append(PolicySpec(kind, preset or (DEFAULT_PRESET if kind == "skillmatch" else None)))
    if len({s.name for s in specs}) != len(specs):
        raise InputError("a policy is listed twice in --policies", expected="each policy once",
                         got=[s.name for s in specs])
    return specs


DEMO_LINEUP = ("free_selection", "fifo", "skills_rules", "greedy_best_fit", "skillmatch", "skillmatch:fair", "oracle")
"""What `skillmatch demo` compares: every baseline, two presets (the quality-fairness trade-off), the oracle."""


def default_lineup() -> list[PolicySpec]:
    """Every baseline, skillmatch under each preset, and the oracle."""
    return [PolicySpec("free_selection"), PolicySpec("fifo"), PolicySpec("skills_rules"),
            PolicySpec("greedy_best_fit"), *(PolicySpec("skillmatch", p) for p in PRESETS), PolicySpec("oracle")]


def roster_view(scenario: Scenario) -> RosterView:
    """The scenario's roster as arrays in the center's agent, topic and language order."""
    return RosterView.from_frame(scenario.agents_log, scenario.center.world.agents.ids, TOPICS, LANGUAGES,
                                 scenario.restricted_topics)


def build_policy(spec: PolicySpec, scenario: Scenario, settings: RunSettings) -> tuple[Policy, Callable[[], None]]:
    """The policy for a scenario and a function that releases what it holds (the engine's in-memory ledger)."""
    roster = roster_view(scenario)
    if spec.kind == "free_selection":
        return FreeSelection(np.random.default_rng([scenario.seed, 6])), _nothing
    if spec.kind == "fifo":
        return FIFO(roster), _nothing
    if spec.kind == "skills_rules":
        return SkillsRules(roster), _nothing
    if spec.kind == "oracle":
        return Oracle(roster, round_interval_s=settings.round_interval_s), _nothing
    from skillmatch.engine import Engine

    engine = Engine.load(scenario.model_dir, database_url="sqlite://",
                         policy=PolicyConfig(restricted_topics=list(scenario.restricted_topics)))
    common = {"round_interval_s": settings.round_interval_s, "report_interval_s": settings.report_interval_s,
              "roster": roster}
    if spec.kind == "greedy_best_fit":
        return GreedyBestFit(engine, name=spec.name, **common), engine.close
    return SkillmatchPolicy(engine, weights=preset_weights(spec.preset or DEFAULT_PRESET), name=spec.name,
                            **common), engine.close


def _nothing() -> None:
    """Nothing to release."""
