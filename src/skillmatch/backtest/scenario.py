"""Where a backtest starts: a center paused at the start of the evaluation window, the roster and a model trained before it.

A source yields scenarios. `SimulatedSource` simulates a history under free selection, trains on it and
continues the same center. Log replay (`skillmatch.backtest.replay`) has its own pipeline: a log has no
center to copy, only logged arrivals and sessions.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd

from skillmatch.config import TrainConfig
from skillmatch.errors import InputError
from skillmatch.simulation import ContactCenter, SimulatedHistory, SimulationConfig, simulate_history
from skillmatch.simulation.arrivals import DAY_S
from skillmatch.simulation.history import EXTRA_COLUMNS
from skillmatch.simulation.world import RESTRICTED_TOPICS

ProgressFactory = Callable[[str, int], Callable[[int], None]]
"""`make(label, total)` returns `advance(n)`: how long steps report progress (a CLI passes a progress bar)."""
Say = Callable[[str], None]


def no_progress(label: str, total: int) -> Callable[[int], None]:
    """A progress factory that shows nothing."""
    return lambda n: None


@dataclass
class Scenario:
    """A paused center every policy continues from a copy of, with the same tickets, shifts and outcome noise."""

    name: str
    seed: int
    center: ContactCenter  # at eval_start_s; tickets drawn through the window and one more day (to drain)
    agents_log: pd.DataFrame  # the roster as logged: all a rule-based router knows about agents
    model_dir: Path  # trained on the history before the window only
    eval_start_s: float
    eval_days: int
    restricted_topics: tuple[str, ...] = RESTRICTED_TOPICS

    @property
    def eval_end_s(self) -> float:
        return self.eval_start_s + self.eval_days * DAY_S

    @classmethod
    def from_history(cls, history: SimulatedHistory, model_dir: Path, eval_days: int,
                     name: str | None = None) -> Scenario:
        """Pause a copy of the history's center at its end and draw the window's tickets (the history is untouched)."""
        source = history.center
        # the history's event and outcome logs are not needed to continue: share nothing, copy nothing
        center = copy.deepcopy(source, memo={id(source.events): [], id(source.outcomes): []})
        center.extend(eval_days + 1)
        seed = history.config.seed
        return cls(name=name or f"seed {seed}", seed=seed, center=center, agents_log=history.agents,
                   model_dir=Path(model_dir), eval_start_s=history.config.days * DAY_S, eval_days=eval_days)


class ScenarioSource(Protocol):
    """Anything that yields simulated scenarios to backtest on."""

    def scenarios(self, workdir: Path, progress: ProgressFactory, say: Say) -> Iterator[Scenario]: ...


@dataclass(frozen=True)
class SimulatedSource:
    """Simulate `days` of free selection per seed, train on them, and evaluate over `eval_days` more."""

    days: int = 30
    eval_days: int = 10
    n_agents: int = 60
    seeds: tuple[int, ...] = (42,)

    def scenarios(self, workdir: Path, progress: ProgressFactory = no_progress,
                  say: Say = lambda message: None) -> Iterator[Scenario]:
        """One scenario per seed: its logs and model folder are written under `workdir/seed-N/`."""
        from skillmatch.logs import load_logs
        from skillmatch.models.publish import train_to_folder

        for seed in self.seeds:
            config = SimulationConfig(days=self.days, n_agents=self.n_agents, seed=seed)
            history = simulate_history(config, progress=progress(f"simulating seed {seed}", self.days))
            paths = history.write(Path(workdir) / f"seed-{seed}" / "logs")
            logs = load_logs(paths["interactions"], paths["agents"])
            say(f"training on the simulated history of seed {seed}")
            folder, _, _ = train_to_folder(logs, simulated_train_config(), Path(workdir) / f"seed-{seed}" / "model",
                                           overwrite=True)
            yield Scenario.from_history(history, folder, self.eval_days)


def simulated_train_config() -> TrainConfig:
    """The default training config plus the simulator's observable extra column (`message_words`)."""
    return TrainConfig.model_validate({"features": {"extra_numeric": list(EXTRA_COLUMNS)}})


def parse_seeds(text: str) -> tuple[int, ...]:
    """Seeds from `42` or `42,43,44`; InputError saying what was expected."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        seeds = tuple(int(p) for p in parts)
    except ValueError:
        seeds = ()
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise InputError("invalid --seeds", expected="distinct whole numbers >= 0 separated by commas, such as 42,43,44",
                         got=text)
    return seeds
