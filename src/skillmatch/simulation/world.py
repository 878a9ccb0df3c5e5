"""The hidden truth of a simulated contact center: topics, channels, agents' proficiency and the outcome laws.

Skill and difficulty live on a logit scale. An agent's skill in a topic follows a learning curve in
the exposure it has had to that topic (exposure decays slowly without practice), and the chance of
resolving a ticket is `sigmoid(BASE + skill - DIFFICULTY_SLOPE * difficulty_logit + affinity)`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit

TOPICS: tuple[str, ...] = ("billing", "returns", "technical", "account", "shipping", "fraud")
TOPIC_SHARE = np.array([0.24, 0.17, 0.20, 0.16, 0.15, 0.08])
TOPIC_DIFFICULTY = np.array([0.0, -0.6, 0.8, -0.2, -0.4, 0.9])
RESTRICTED_TOPICS: tuple[str, ...] = ("fraud",)

CHANNELS: tuple[str, ...] = ("voice", "chat", "email", "sms", "social")
CHANNEL_SHARE = np.array([0.28, 0.36, 0.24, 0.06, 0.06])
CHANNEL_HANDLE_S = np.array([420.0, 540.0, 660.0, 300.0, 360.0])
"""Median handle time of an average ticket by an average agent, per channel."""
CHANNEL_DIFFICULTY = np.array([0.1, 0.0, 0.2, -0.3, 0.1])
CHANNEL_SLA_S = np.array([60.0, 120.0, 4 * 3600.0, 1800.0, 3600.0])
"""Time-to-answer targets per channel (voice answered in a minute, email within four hours)."""

LANGUAGES: tuple[str, ...] = ("en", "es", "de", "fr")
LANGUAGE_SHARE = np.array([0.78, 0.12, 0.06, 0.04])
SECOND_LANGUAGE_P = np.array([1.0, 0.3, 0.18, 0.12])

TIERS: tuple[str, ...] = ("standard", "vip")
VIP_SHARE = 0.06
PRIORITY_P = np.array([0.08, 0.22, 0.50, 0.20])  # priorities 1..4

SHIFTS_H: tuple[tuple[float, float], ...] = ((7.0, 15.0), (10.0, 18.0), (14.0, 22.0))
"""Shift patterns (start, end hour, UTC); the center is open 07:00-22:00."""
SHIFT_SHARE = np.array([0.35, 0.35, 0.30])
CAPACITY_P = np.array([0.4, 0.35, 0.25])  # capacity 1, 2, 3

BASE_RESOLVE_LOGIT = 1.6
DIFFICULTY_SLOPE = 1.2
AFFINITY_LOGIT = 0.5
SKILL_FLOOR = -1.6
FORGET_TAU_DAYS = 150.0
LEARNING_TICKETS = 120.0
"""Typical exposure (tickets in a topic) that takes an agent 63% of the way from novice to its ceiling."""
TICKETS_PER_DAY_HISTORY = 20.0
"""Tickets an agent handled per day of tenure before the simulation starts (sets starting exposure)."""
HANDLE_DIFFICULTY = 0.40
HANDLE_SKILL = -0.22
HANDLE_NOISE = 0.35
CSAT_RESPONSE_P = 0.18
QA_SAMPLE_P = 0.12


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. Same config, same world, same files."""

    days: int = 30
    n_agents: int = 60
    seed: int = 0
    start: str = "2026-09-07"
    utilisation: float = 0.9
    cherry_picker_share: float = 0.1

    @property
    def start_ts(self) -> pd.Timestamp:
        return pd.Timestamp(self.start, tz="UTC")


@dataclass
class AgentTruth:
    """Per-agent hidden parameters, arrays indexed by agent (and topic)."""

    ids: list[str]
    languages: list[tuple[str, ...]]
    speaks: np.ndarray  # (n_agents, n_languages) bool
    certified: np.ndarray  # (n_agents, n_topics) bool: may take restricted topics
    capacity: np.ndarray  # (n_agents,) int
    shift: np.ndarray  # (n_agents,) index into SHIFTS_H
    days_off: np.ndarray  # (n_agents, 2) weekdays off
    hire_date: list[pd.Timestamp]
    ceiling: np.ndarray  # (n_agents, n_topics) skill logit at full practice
    tau: np.ndarray  # (n_agents,) exposure (tickets) to reach 63% of the way
    exposure0: np.ndarray  # (n_agents, n_topics) exposure at the start of the simulation
    declared: np.ndarray  # (n_agents, n_topics) declared levels 1..5, an outdated noisy view
    growth: np.ndarray  # (n_agents, n_topics) bool: in the development plan
    pickiness: np.ndarray  # (n_agents,) how strongly the agent avoids hard tickets
    fifo_habit: np.ndarray  # (n_agents,) how strongly waiting time pulls the agent
    comfort_habit: np.ndarray  # (n_agents,) how strongly own strong topics pull the agent
    cherry_picker: np.ndarray  # (n_agents,) bool: the heavy cherry-pickers

    def skill(self, exposure: np.ndarray, agents: np.ndarray | None = None,
              topics: np.ndarray | None = None) -> np.ndarray:
        """Skill logits at the given exposure: the whole (n_agents, n_topics) matrix, or one per (agent, topic)."""
        if agents is None:
            ceiling, tau = self.ceiling, self.tau[:, None]
        else:
            ceiling, tau = self.ceiling[agents, topics], self.tau[agents]
        return SKILL_FLOOR + (ceiling - SKILL_FLOOR) * (1.0 - np.exp(-exposure / tau))


@dataclass
class World:
    """Everything fixed about a simulated center: config and agents' hidden parameters."""

    config: SimulationConfig
    agents: AgentTruth
    mean_handle_s: float = field(default=0.0)

    @property
    def n_agents(self) -> int:
        return len(self.agents.ids)

    def eligible(self, topic: np.ndarray, language: np.ndarray, agent: int) -> np.ndarray:
        """Which tickets (topic, language index arrays) the agent may take: language and certification."""
        return self.agents.speaks[agent, language] & self.agents.certified[agent, topic]


def build_world(config: SimulationConfig) -> World:
    """Draw agents' hidden parameters from the seed."""
    rng = np.random.default_rng([config.seed, 0])
    n, k = config.n_agents, len(TOPICS)
    ids = [f"A{i + 1:03d}" for i in range(n)]

    speaks = rng.random((n, len(LANGUAGES))) < SECOND_LANGUAGE_P
    speaks[:, 0] = rng.random(n) < 0.95
    for lang in range(1, len(LANGUAGES)):  # every language covered by a few agents
        need = max(2, int(np.ceil(2.5 * n * LANGUAGE_SHARE[lang]))) - speaks[:, lang].sum()
        if need > 0:
            speaks[rng.choice(np.flatnonzero(~speaks[:, lang]), size=int(need), replace=False), lang] = True
    mute = ~speaks.any(axis=1)
    speaks[mute, 0] = True
    languages = [tuple(LANGUAGES[j] for j in np.flatnonzero(row)) for row in speaks]

    ability = rng.normal(0.0, 0.45, n)
    ceiling = ability[:, None] + rng.normal(1.0, 0.55, (n, k))
    tau = np.exp(rng.normal(np.log(LEARNING_TICKETS), 0.35, n))
    tenure_days = rng.uniform(15, 1500, n)
    familiarity = rng.dirichlet(np.full(k, 0.7), n)  # some topics barely practised
    exposure0 = familiarity * tenure_days[:, None] * TICKETS_PER_DAY_HISTORY
    snapshot = SKILL_FLOOR + (ceiling - SKILL_FLOOR) * (1 - np.exp(-0.4 * exposure0 / tau[:, None]))
    declared = np.clip(np.rint(2.6 + 0.9 * snapshot + rng.normal(0, 0.7, (n, k))), 1, 5).astype(int)

    certified = np.ones((n, k), dtype=bool)
    skill0 = SKILL_FLOOR + (ceiling - SKILL_FLOOR) * (1 - np.exp(-exposure0 / tau[:, None]))
    for topic in RESTRICTED_TOPICS:
        j = TOPICS.index(topic)
        n_cert = max(3, round(0.35 * n))
        certified[:, j] = False
        certified[np.argsort(-(skill0[:, j] + rng.normal(0, 0.5, n)))[:n_cert], j] = True

    headroom = ceiling - skill0
    growth = np.zeros((n, k), dtype=bool)
    for a in range(n):
        candidates = np.flatnonzero((headroom[a] > 1.0) & certified[a])
        n_growth = min(len(candidates), int(rng.integers(0, 3)))
        if n_growth:
            growth[a, rng.choice(candidates, size=n_growth, replace=False)] = True

    cherry_picker = np.zeros(n, dtype=bool)
    n_pickers = max(2, round(config.cherry_picker_share * n))
    cherry_picker[rng.choice(n, size=min(n_pickers, n), replace=False)] = True
    pickiness = np.where(cherry_picker, rng.uniform(2.5, 4.0, n), rng.uniform(0.2, 1.1, n))
    fifo_habit = np.where(cherry_picker, rng.uniform(0.1, 0.4, n), rng.uniform(0.6, 1.6, n))
    comfort_habit = rng.uniform(0.3, 1.2, n)

    start = config.start_ts
    agents = AgentTruth(
        ids=ids, languages=languages, speaks=speaks, certified=certified,
        capacity=rng.choice([1, 2, 3], size=n, p=CAPACITY_P),
        shift=rng.choice(len(SHIFTS_H), size=n, p=SHIFT_SHARE),
        days_off=np.stack([(d := rng.integers(0, 7, n)), (d + 1) % 7], axis=1),
        hire_date=[(start - pd.Timedelta(days=float(t))).normalize() for t in tenure_days],
        ceiling=ceiling, tau=tau, exposure0=exposure0, declared=declared, growth=growth,
        pickiness=pickiness, fifo_habit=fifo_habit, comfort_habit=comfort_habit,
        cherry_picker=cherry_picker,
    )
    world = World(config=config, agents=agents)
    world.mean_handle_s = _mean_handle_time(world, rng)
    return world


def _mean_handle_time(world: World, rng: np.random.Generator) -> float:
    """First guess of the mean handle time (random ticket, random agent); `calibrate` refines it."""
    m = 20000
    channel = rng.choice(len(CHANNELS), size=m, p=CHANNEL_SHARE)
    topic = rng.choice(len(TOPICS), size=m, p=TOPIC_SHARE)
    difficulty = TOPIC_DIFFICULTY[topic] + CHANNEL_DIFFICULTY[channel] + rng.normal(0, 0.8, m)
    agent = rng.integers(0, world.n_agents, m)
    skill = world.agents.skill(world.agents.exposure0[agent, topic], agent, topic)
    return float(np.mean(handle_time_s(channel, difficulty, skill, np.zeros(m, bool), rng.normal(0, 1, m))))


def p_resolve(skill: np.ndarray, difficulty_logit: np.ndarray, affinity: np.ndarray) -> np.ndarray:
    """True probability that the agent resolves the ticket."""
    return expit(BASE_RESOLVE_LOGIT + skill - DIFFICULTY_SLOPE * difficulty_logit + AFFINITY_LOGIT * affinity)


def handle_time_s(channel: np.ndarray, difficulty_logit: np.ndarray, skill: np.ndarray,
                  affinity: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Active handle time: the channel's scale, longer for hard tickets, shorter for skilled agents."""
    log_time = (np.log(CHANNEL_HANDLE_S[channel]) + HANDLE_DIFFICULTY * difficulty_logit
                + HANDLE_SKILL * skill - 0.1 * affinity + HANDLE_NOISE * z)
    return np.maximum(20.0, np.exp(log_time))
