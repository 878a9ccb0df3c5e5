"""Simulate a history under free selection and turn it into the contract's logs plus the ground truth."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from skillmatch.logs.schema import AGENTS, EVENTS, INTERACTIONS, LIST_SEPARATOR, LEVEL_SEPARATOR
from skillmatch.simulation.arrivals import DAY_S, generate_tickets
from skillmatch.simulation.center import ContactCenter
from skillmatch.simulation.free_selection import FreeSelection
from skillmatch.simulation.truth import GroundTruth, outcome_law, reference_failure
from skillmatch.simulation.world import (
    CHANNELS, LANGUAGES, RESTRICTED_TOPICS, TIERS, TOPICS, SimulationConfig, World, build_world,
)

EXTRA_COLUMNS = ("message_words",)
"""Observable columns beyond the contract that the simulated center logs (declarable as features)."""
FILES = {"interactions": "interactions.csv.gz", "agents": "agents.csv", "events": "events.csv.gz",
         "truth": "truth.json.gz"}


@dataclass
class SimulatedHistory:
    """A finished simulation: the center (to continue under other policies), its logs and truth."""

    config: SimulationConfig
    world: World
    center: ContactCenter
    interactions: pd.DataFrame
    agents: pd.DataFrame
    events: pd.DataFrame
    truth: GroundTruth

    def write(self, out_dir: Path) -> dict[str, Path]:
        """Write the three logs and the truth file; the folder appears whole or not at all."""
        out_dir = Path(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
        try:
            reproducible_gzip = {"method": "gzip", "mtime": 0}
            self.interactions.to_csv(tmp / FILES["interactions"], index=False, compression=reproducible_gzip)
            self.agents.to_csv(tmp / FILES["agents"], index=False)
            self.events.to_csv(tmp / FILES["events"], index=False, compression=reproducible_gzip)
            self.truth.save(tmp / FILES["truth"])
            if out_dir.exists():
                for name in FILES.values():
                    (out_dir / name).unlink(missing_ok=True)
                for name in FILES.values():
                    os.replace(tmp / name, out_dir / name)
                shutil.rmtree(tmp)
            else:
                os.replace(tmp, out_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return {key: out_dir / name for key, name in FILES.items()}


def simulate_history(config: SimulationConfig, progress: Callable[[int], None] | None = None) -> SimulatedHistory:
    """Run `config.days` days of free selection from the seed; same config, same history."""
    world = calibrate(build_world(config))
    tickets = generate_tickets(world, config.days)
    center = ContactCenter(world, tickets)
    center.run(FreeSelection(np.random.default_rng([config.seed, 4])), config.days * DAY_S, on_day=progress)
    return SimulatedHistory(
        config=config, world=world, center=center,
        interactions=interactions_frame(center), agents=roster_frame(world), events=events_frame(center),
        truth=ground_truth(center),
    )


def _timestamps(center: ContactCenter, seconds: np.ndarray) -> pd.Series:
    return pd.Series(center.world.config.start_ts + pd.to_timedelta(np.round(seconds, 3), unit="s"))


def _iso(ts: pd.Series) -> pd.Series:
    return ts.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"


def interactions_frame(center: ContactCenter) -> pd.DataFrame:
    """One contract row per finished ticket, in closing order."""
    tk, out = center.tickets, center.outcomes
    ticket = np.array([o.ticket for o in out], dtype=int)
    ids = np.array(tk.ids, dtype=object)
    agent_ids = np.array(center.world.agents.ids, dtype=object)
    frame = pd.DataFrame({
        "ticket_id": ids[ticket],
        "created_at": _iso(_timestamps(center, tk.created_s[ticket])),
        "assigned_at": _iso(_timestamps(center, np.array([o.assigned_s for o in out]))),
        "closed_at": _iso(_timestamps(center, np.array([o.closed_s for o in out]))),
        "agent_id": agent_ids[[o.agent for o in out]],
        "topic": np.array(TOPICS, dtype=object)[tk.topic[ticket]],
        "channel": np.array(CHANNELS, dtype=object)[tk.channel[ticket]],
        "language": np.array(LANGUAGES, dtype=object)[tk.language[ticket]],
        "priority": tk.priority[ticket],
        "customer_id": [f"C{c + 1:06d}" for c in tk.customer[ticket]],
        "customer_tier": np.array(TIERS, dtype=object)[tk.vip[ticket].astype(int)],
        "sentiment": np.round(tk.sentiment[ticket], 3),
        "handle_time_s": np.round([o.handle_time_s for o in out], 1),
        "resolved": [o.resolved for o in out],
        "reopened": [o.reopened for o in out],
        "transferred": [o.transferred for o in out],
        "csat": pd.array([o.csat for o in out], dtype="Int64"),
        "qa_score": [o.qa_score for o in out],
        "message_words": tk.message_words[ticket],
    })
    assert list(frame.columns[: len(INTERACTIONS.names)]) == list(INTERACTIONS.names)
    return frame


def roster_frame(world: World) -> pd.DataFrame:
    """The roster as a contact center would export it: declared skills, certifications, growth plans."""
    truth = world.agents
    restricted = [TOPICS.index(t) for t in RESTRICTED_TOPICS]

    def joined(flags: np.ndarray, a: int) -> str:
        return LIST_SEPARATOR.join(TOPICS[k] for k in np.flatnonzero(flags[a]))

    frame = pd.DataFrame({
        "agent_id": truth.ids,
        "languages": [LIST_SEPARATOR.join(langs) for langs in truth.languages],
        "skills": [LIST_SEPARATOR.join(f"{t}{LEVEL_SEPARATOR}{truth.declared[a, k]}" for k, t in enumerate(TOPICS))
                   for a in range(world.n_agents)],
        "certifications": [LIST_SEPARATOR.join(TOPICS[k] for k in restricted if truth.certified[a, k])
                           for a in range(world.n_agents)],
        "growth_topics": [joined(truth.growth, a) for a in range(world.n_agents)],
        "team": [f"team-{'ABC'[s]}" for s in truth.shift],
        "hire_date": [d.strftime("%Y-%m-%d") for d in truth.hire_date],
        "capacity": truth.capacity,
    })
    assert list(frame.columns) == list(AGENTS.names)
    return frame


def events_frame(center: ContactCenter) -> pd.DataFrame:
    """The queue's event log, in time order."""
    ev = center.events
    times = np.array([e[0] for e in ev])
    order = np.argsort(times, kind="stable")
    ids = np.array([""] + center.tickets.ids, dtype=object)
    agent_ids = np.array([""] + center.world.agents.ids, dtype=object)
    frame = pd.DataFrame({
        "ts": _iso(_timestamps(center, times[order])),
        "event": np.array([e[1] for e in ev], dtype=object)[order],
        "ticket_id": ids[np.array([e[2] for e in ev], dtype=int)[order] + 1],
        "agent_id": agent_ids[np.array([e[3] for e in ev], dtype=int)[order] + 1],
    })
    assert list(frame.columns) == list(EVENTS.names)
    return frame


def ground_truth(center: ContactCenter) -> GroundTruth:
    """Everything the logs hide: true difficulty, skill per day, cherry-picker labels."""
    tk, world, out = center.tickets, center.world, center.outcomes
    handled = np.array([o.ticket for o in out], dtype=int)
    tickets = pd.DataFrame({
        "ticket_id": np.array(tk.ids, dtype=object)[handled],
        "day": (tk.created_s[handled] // DAY_S).astype(int),
        "topic": np.array(TOPICS, dtype=object)[tk.topic[handled]],
        "difficulty_logit": np.round(tk.difficulty_logit[handled], 5),
        "difficulty": np.round(reference_failure(tk.difficulty_logit[handled]), 5),
        "agent_id": np.array(world.agents.ids, dtype=object)[[o.agent for o in out]],
        "p_resolve": np.round([o.p_resolve for o in out], 5),
        "skill": np.round([o.skill for o in out], 5),
        "wait_s": np.round([o.assigned_s for o in out] - tk.created_s[handled], 1),
    })
    agents = pd.DataFrame({
        "agent_id": world.agents.ids,
        "cherry_picker": world.agents.cherry_picker,
        "pickiness": np.round(world.agents.pickiness, 4),
        "tau": np.round(world.agents.tau, 4),
        **{f"ceiling_{t}": np.round(world.agents.ceiling[:, k], 4) for k, t in enumerate(TOPICS)},
        **{f"growth_{t}": world.agents.growth[:, k] for k, t in enumerate(TOPICS)},
    })
    params = {**outcome_law(), "config": vars(world.config), "utilisation": round(center.utilisation, 4),
              "mean_handle_s": round(world.mean_handle_s, 2)}
    return GroundTruth(tickets=tickets, agents=agents, skill=np.stack(center.skill_by_day), params=params)


PILOT_DAYS = 3


def calibrate(world: World) -> World:
    """Set the arrival rate from the handle time agents actually achieve, as workforce planning does.

    A short pilot under free selection (its own seed stream) measures the mean handle time of the
    tickets agents really take; arrivals are then scaled so that utilisation meets the target.
    """
    pilot_world = World(config=world.config, agents=world.agents, mean_handle_s=world.mean_handle_s)
    for _ in range(2):
        tickets = generate_tickets(pilot_world, PILOT_DAYS)
        center = ContactCenter(pilot_world, tickets)
        center.run(FreeSelection(np.random.default_rng([world.config.seed, 5])), PILOT_DAYS * DAY_S)
        settled = [o.handle_time_s for o in center.outcomes if o.assigned_s >= DAY_S]  # skip the empty first morning
        pilot_world.mean_handle_s = float(np.mean(settled))
    return World(config=world.config, agents=world.agents, mean_handle_s=pilot_world.mean_handle_s)
