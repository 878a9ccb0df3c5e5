"""Simulated histories with labelled cherry-pickers, audited once per session and shared read-only.

Size: 12 days x 30 agents (3 labelled cherry-pickers each), the scale of tests/simulation and
tests/models; the difficulty model uses a lighter LightGBM setting than training/simulated.toml
(100 trees, 10 reference agents: the same difficulty Spearman on these logs, a third of the time).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from skillmatch.audit import AuditResult, TicketDifficulty, fit_difficulty, run_audit
from skillmatch.config import TrainConfig
from skillmatch.logs import Logs, validate_agents, validate_events, validate_interactions
from skillmatch.simulation import SimulatedHistory, SimulationConfig, simulate_history

SEEDS = (0, 1, 2)
DAYS, AGENTS = 12, 30
LIGHT_CONFIG = {"max_reference_agents": 10, "features": {"extra_numeric": ["message_words"]},
                "lightgbm": {"n_estimators": 100}}
LIGHT_TOML = """max_reference_agents = 10
[features]
extra_numeric = ["message_words"]
[lightgbm]
n_estimators = 100
"""


@dataclass
class AuditCase:
    """One seed: the simulated history, its validated logs, ticket difficulty and the audit with and without views."""

    seed: int
    history: SimulatedHistory
    logs: Logs
    difficulty: TicketDifficulty
    result: AuditResult
    without_views: AuditResult


def without_views(logs: Logs) -> Logs:
    """The same logs with every `viewed` event dropped (many helpdesks do not log views)."""
    assert logs.events is not None
    events = logs.events[logs.events["event"] != "viewed"].reset_index(drop=True)
    return Logs(logs.interactions, logs.agents, events, logs.sources)


def _build(seed: int) -> AuditCase:
    history = simulate_history(SimulationConfig(days=DAYS, n_agents=AGENTS, seed=seed))
    logs = Logs(validate_interactions(history.interactions), validate_agents(history.agents),
                validate_events(history.events), {})
    difficulty = fit_difficulty(logs, TrainConfig.model_validate(LIGHT_CONFIG))
    return AuditCase(seed, history, logs, difficulty, run_audit(logs, difficulty),
                     run_audit(without_views(logs), difficulty))


@pytest.fixture(scope="session")
def audit_cases() -> dict[int, AuditCase]:
    """Cache of audited seeds, filled on first use."""
    return {}


def get_case(cache: dict[int, AuditCase], seed: int) -> AuditCase:
    if seed not in cache:
        cache[seed] = _build(seed)
    return cache[seed]


@pytest.fixture(scope="session", params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def case(request: pytest.FixtureRequest, audit_cases: dict[int, AuditCase]) -> AuditCase:
    """Each seed's audited history."""
    return get_case(audit_cases, request.param)


@pytest.fixture(scope="session")
def seed0_files(audit_cases: dict[int, AuditCase], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Seed 0's logs written as contract files, plus a light training config."""
    paths = get_case(audit_cases, 0).history.write(tmp_path_factory.mktemp("audit-logs") / "logs")
    paths["config"] = paths["interactions"].parent / "light.toml"
    paths["config"].write_text(LIGHT_TOML)
    return paths
