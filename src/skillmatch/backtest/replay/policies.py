"""The shared policies, built for a replayed window (the policies' code is the simulated backtest's own).

FIFO and skills rules read only the tickets' topic and language codes and the roster; the engine
policies describe a ticket to the engine as a routing request, which in a replay is the logged ticket
itself (its contract fields and the extra columns the model reads) instead of the simulator's fields.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from skillmatch.backtest.lineup import DEFAULT_PRESET, PolicySpec
from skillmatch.backtest.replay.window import ReplayData
from skillmatch.config import PolicyConfig
from skillmatch.errors import InputError
from skillmatch.policies import FIFO, SkillmatchPolicy, SkillsRules, preset_weights
from skillmatch.policies.greedy import GREEDY_WEIGHTS
from skillmatch.simulation import Policy

REPLAYABLE = ("fifo", "skills_rules", "greedy_best_fit", "skillmatch")
"""Policies a replay routes again; `free_selection` is the log itself, and there is no oracle without the truth."""


class ReplayedEnginePolicy(SkillmatchPolicy):
    """SkillmatchPolicy (and greedy best fit, its match-only weights) on a replay center: tickets sent as logged."""

    @staticmethod
    def _ticket(center: Any, t: int, ticket_id: str, start: pd.Timestamp) -> dict[str, Any]:
        return dict(center.tickets.requests[t])


def build_replay_policy(spec: PolicySpec, data: ReplayData, decision_model: Any, policy_config: PolicyConfig,
                        round_interval_s: float, report_interval_s: float) -> tuple[Policy, Callable[[], None]]:
    """The policy of `spec` for the window, and what releases it (the engine's in-memory ledger)."""
    if spec.kind == "fifo":
        return FIFO(data.roster), _nothing
    if spec.kind == "skills_rules":
        return SkillsRules(data.roster), _nothing
    if spec.kind not in ("greedy_best_fit", "skillmatch"):
        raise InputError(f"policy {spec.name!r} cannot be replayed from a log",
                         expected=f"free_selection (the log itself) or one of {', '.join(REPLAYABLE)}", got=spec.name)
    from skillmatch.engine import Engine

    engine = Engine.load(decision_model, database_url="sqlite://", policy=policy_config)
    weights = GREEDY_WEIGHTS if spec.kind == "greedy_best_fit" else preset_weights(spec.preset or DEFAULT_PRESET)
    policy = ReplayedEnginePolicy(engine, weights=weights, round_interval_s=round_interval_s, name=spec.name,
                                  roster=data.roster, report_interval_s=report_interval_s)
    return policy, engine.close


def _nothing() -> None:
    """Nothing to release."""
