"""Run policies from copies of one paused center (same arrivals, shifts and outcome noise) and record what each did.

Every policy continues from the same state with common random numbers, so differences between policies
are the policies' and not luck. Agents keep learning with practice during the window. Runs are
independent, so they can go to several worker processes.
"""
from __future__ import annotations

import copy
import math
import multiprocessing
import queue as queue_module
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.special import logit

from skillmatch.backtest.lineup import PolicySpec, RunSettings, build_policy, roster_view
from skillmatch.backtest.record import RunRecord, TimedPolicy
from skillmatch.backtest.scenario import ProgressFactory, Scenario, no_progress
from skillmatch.simulation import ContactCenter, Decision, FreeAgent, Outcome
from skillmatch.simulation.arrivals import DAY_S
from skillmatch.simulation.truth import reference_failure
from skillmatch.simulation.world import (
    BASE_RESOLVE_LOGIT, CHANNEL_SLA_S, CHANNELS, DIFFICULTY_SLOPE, TOPICS,
)

DRAIN_STEP_S = 3600.0
MIN_DAY_CLUSTERS = 5


@dataclass(frozen=True)
class EvalSettings:
    """How the window is cut into bootstrap clusters and what counts as proficient."""

    block_hours: float = 24.0
    proficiency_bar: float = 0.75
    """An agent covers a topic when its true P(resolved) on the topic's median ticket is at least this."""

    @classmethod
    def for_window(cls, eval_days: int) -> EvalSettings:
        """Days as clusters from 5 days on; shorter windows fall back to 4-hour blocks (too few days to resample)."""
        return cls(block_hours=24.0 if eval_days >= MIN_DAY_CLUSTERS else 4.0)


def run_policy(scenario: Scenario, spec: PolicySpec, settings: RunSettings = RunSettings(),
               evaluation: EvalSettings = EvalSettings(), tick: Callable[[int], None] | None = None) -> RunRecord:
    """Continue a copy of the scenario's center under one policy through the window, then let the window's tickets finish."""
    center = copy.deepcopy(scenario.center)
    policy, release = build_policy(spec, scenario, settings)
    timed = TimedPolicy(policy)
    start, end = scenario.eval_start_s, scenario.eval_end_s
    block_s = evaluation.block_hours * 3600.0
    n_blocks = math.ceil((end - start) / block_s - 1e-9)
    skill = [center.world.agents.skill(center.exposure)]
    started = time.perf_counter()
    try:
        for b in range(n_blocks):
            timed.at_block(b)
            center.run(timed, min(start + (b + 1) * block_s, end))
            skill.append(center.world.agents.skill(center.exposure))
            if tick is not None:
                tick(1)
        _drain(center, timed, start, end)
    finally:
        release()
    return _record(scenario, spec, center, timed, np.stack(skill), block_s, evaluation,
                   wall_s=time.perf_counter() - started)


def _drain(center: ContactCenter, policy: TimedPolicy, start: float, end: float) -> None:
    """After the window: route until every ticket created in it was taken, then let those tickets finish.

    Outcomes are drawn when a ticket is taken, so once all of the window's tickets are taken the rest of
    the drain needs no routing (a policy that places nothing), only time for the last ones to close.
    """
    lo, hi = np.searchsorted(center.tickets.created_s, [start, end])
    limit = end + DAY_S
    while center.now < limit and np.isnan(center.assigned_s[lo:hi]).any():
        center.run(policy, min(center.now + DRAIN_STEP_S, limit))
    idle = _Idle(policy.name, policy.claim_event)
    while center.now < limit and not _finished(center, lo, hi):
        center.run(idle, min(center.now + DRAIN_STEP_S, limit))


def _finished(center: ContactCenter, lo: int, hi: int) -> bool:
    """Whether every taken ticket in [lo, hi) has closed."""
    closed = np.zeros(hi - lo, dtype=bool)
    done = np.fromiter((o.ticket for o in center.outcomes), dtype=int, count=len(center.outcomes))
    closed[done[(done >= lo) & (done < hi)] - lo] = True
    return bool(closed[~np.isnan(center.assigned_s[lo:hi])].all())


@dataclass(frozen=True)
class _Idle:
    """A policy that places nothing: lets the tickets in progress close."""

    name: str
    claim_event: str

    def start(self, center: ContactCenter) -> None:
        """Nothing to prepare."""

    def decide(self, now: float, queue: np.ndarray, free_agents: Sequence[FreeAgent]) -> list[Decision]:
        return []

    def observe(self, outcomes: Sequence[Outcome]) -> None:
        """Nothing to learn."""


def _record(scenario: Scenario, spec: PolicySpec, center: ContactCenter, timed: TimedPolicy, skill: np.ndarray,
            block_s: float, evaluation: EvalSettings, wall_s: float) -> RunRecord:
    """The run as arrays over the window's tickets (truth from the simulator)."""
    tk = center.tickets
    start, end = scenario.eval_start_s, scenario.eval_end_s
    lo, hi = np.searchsorted(tk.created_s, [start, end])
    n = hi - lo
    created = tk.created_s[lo:hi] - start
    agent = np.full(n, -1)
    resolved, p, csat, handle = (np.full(n, np.nan) for _ in range(4))
    mine = [o for o in center.outcomes if lo <= o.ticket < hi]
    if mine:
        at = np.array([o.ticket for o in mine]) - lo
        agent[at] = [o.agent for o in mine]
        resolved[at] = [o.resolved for o in mine]
        p[at] = [o.p_resolve for o in mine]
        csat[at] = [np.nan if o.csat is None else o.csat for o in mine]
        handle[at] = [o.handle_time_s for o in mine]
    assigned = center.assigned_s[lo:hi]
    served = ~np.isnan(assigned)
    wait = np.where(served, assigned - tk.created_s[lo:hi], center.now - tk.created_s[lo:hi])
    roster = roster_view(scenario)
    topic = tk.topic[lo:hi]
    in_growth = np.where(agent >= 0, roster.growth[np.maximum(agent, 0), topic], False)
    difficulty_logit = tk.difficulty_logit[lo:hi]
    median_logit = np.array([np.median(difficulty_logit[topic == k]) if (topic == k).any() else 0.0
                             for k in range(len(TOPICS))])
    bar_logit = logit(evaluation.proficiency_bar) - BASE_RESOLVE_LOGIT + DIFFICULTY_SLOPE * median_logit
    n_blocks = len(skill) - 1
    return RunRecord(
        policy=spec.name, scenario=scenario.name, block_s=block_s, channels=CHANNELS, topics=TOPICS,
        sla_s=CHANNEL_SLA_S.copy(), created_s=created, block=np.minimum((created // block_s).astype(int), n_blocks - 1),
        channel=tk.channel[lo:hi], topic=topic, difficulty=reference_failure(difficulty_logit), wait_s=wait,
        served=served, agent=agent, resolved=resolved, p_resolve=p, csat=csat, handle_time_s=handle,
        in_growth_topic=in_growth, skill=skill, growth=roster.growth, allowed=roster.allowed, bar_logit=bar_logit,
        decide_s=_per_block(timed.decide_s, n_blocks), decisions=_per_block(timed.decisions, n_blocks),
        rounds=_per_block(timed.rounds, n_blocks),
        meta={"kind": spec.kind, "preset": spec.preset, "seed": scenario.seed, "eval_days": scenario.eval_days,
              "n_agents": center.world.n_agents, "wall_s": round(wall_s, 2), "end_s": center.now - start},
    )


def _per_block(values: Sequence[float], n_blocks: int) -> np.ndarray:
    """Per-block counters as an array of exactly n_blocks (blocks without a decision count 0)."""
    out = np.zeros(n_blocks)
    out[:min(len(values), n_blocks)] = values[:n_blocks]
    return out


def run_scenario(scenario: Scenario, specs: Sequence[PolicySpec], settings: RunSettings = RunSettings(),
                 evaluation: EvalSettings = EvalSettings(), workers: int = 1,
                 progress: ProgressFactory = no_progress) -> dict[str, RunRecord]:
    """Every policy on the scenario, in `workers` processes (1: here); records by policy name, in the specs' order."""
    n_blocks = math.ceil(scenario.eval_days * 24.0 / evaluation.block_hours - 1e-9)
    advance = progress(f"backtesting {scenario.name}: policy x {evaluation.block_hours:g} h blocks",
                       n_blocks * len(specs))
    if workers <= 1 or len(specs) <= 1:
        return {spec.name: run_policy(scenario, spec, settings, evaluation, tick=advance) for spec in specs}
    context = multiprocessing.get_context("spawn")
    ticks = context.Queue()
    with ProcessPoolExecutor(max_workers=min(workers, len(specs)), mp_context=context, initializer=_init_worker,
                             initargs=(scenario, settings, evaluation, ticks)) as pool:
        futures = {spec.name: pool.submit(_work, spec) for spec in specs}
        _follow(list(futures.values()), ticks, advance)
        return {name: future.result() for name, future in futures.items()}


def _follow(futures: list[Future], ticks: multiprocessing.Queue, advance: Callable[[int], None]) -> None:
    """Advance the progress bar with the workers' ticks until every run is done (or one failed)."""
    while not all(f.done() for f in futures):
        try:
            advance(ticks.get(timeout=0.5))
        except queue_module.Empty:
            continue
        if any(f.done() and f.exception() is not None for f in futures):
            return


_WORKER: dict[str, object] = {}


def _init_worker(scenario: Scenario, settings: RunSettings, evaluation: EvalSettings,
                 ticks: multiprocessing.Queue) -> None:
    """Keep the scenario in the worker process (sent once, not once per policy)."""
    _WORKER.update(scenario=scenario, settings=settings, evaluation=evaluation, ticks=ticks)


def _work(spec: PolicySpec) -> RunRecord:
    ticks = _WORKER["ticks"]
    return run_policy(_WORKER["scenario"], spec, _WORKER["settings"], _WORKER["evaluation"],  # type: ignore[arg-type]
                      tick=lambda n: ticks.put(n))  # type: ignore[attr-defined]
