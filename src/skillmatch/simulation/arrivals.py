"""Ticket arrivals of a simulated center: who contacts when, about what, and how hard it truly is.

Arrivals follow the staffing curve (workforce management staffs to the forecast) at the configured
utilisation. Each day is drawn from its own seeded stream, so a longer horizon keeps the earlier
days identical, and the per-ticket outcome noise is drawn here once so that every policy run on
the same tickets meets the same luck (common random numbers).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skillmatch.simulation.world import (
    CHANNEL_DIFFICULTY, CHANNEL_SHARE, LANGUAGE_SHARE, PRIORITY_P, SHIFTS_H, TOPIC_DIFFICULTY, TOPIC_SHARE,
    VIP_SHARE, World,
)

DAY_S = 86400.0
BIN_S = 600.0
UNOBSERVED_DIFFICULTY_SD = 0.45
REPEAT_WINDOW_S = 7 * DAY_S


@dataclass
class TicketTable:
    """All tickets of the horizon as parallel arrays, sorted by arrival time."""

    created_s: np.ndarray  # seconds since the simulation start
    topic: np.ndarray
    channel: np.ndarray
    language: np.ndarray
    priority: np.ndarray  # 1..4
    customer: np.ndarray
    vip: np.ndarray  # bool
    sentiment: np.ndarray
    message_words: np.ndarray  # an observable extra column: length of the first message
    repeat_7d: np.ndarray  # bool: the customer contacted in the 7 days before
    difficulty_logit: np.ndarray  # hidden
    u_resolve: np.ndarray  # per-ticket outcome noise (common random numbers)
    z_handle: np.ndarray
    u_transfer: np.ndarray
    u_reopen: np.ndarray
    u_csat: np.ndarray
    z_csat: np.ndarray
    u_qa: np.ndarray
    z_qa: np.ndarray

    def __len__(self) -> int:
        return len(self.created_s)

    @property
    def ids(self) -> list[str]:
        return [f"T{i + 1:07d}" for i in range(len(self))]


def working(world: World, day: int) -> np.ndarray:
    """Which agents work on a given day index (two fixed weekdays off a week)."""
    weekday = (world.config.start_ts.day_of_week + day) % 7
    return ~(world.agents.days_off == weekday).any(axis=1)


def online_slots(world: World, day: int, t_of_day_s: np.ndarray) -> np.ndarray:
    """Total capacity online at the given seconds of the day."""
    start = np.array([SHIFTS_H[s][0] for s in world.agents.shift]) * 3600
    end = np.array([SHIFTS_H[s][1] for s in world.agents.shift]) * 3600
    on = (t_of_day_s[:, None] >= start) & (t_of_day_s[:, None] < end) & working(world, day)
    return on.astype(float) @ world.agents.capacity


def generate_tickets(world: World, days: int) -> TicketTable:
    """Draw the tickets of days 0..days-1; the same world and day always give the same tickets."""
    n_customers = max(500, 300 * world.n_agents)
    crng = np.random.default_rng([world.config.seed, 1])
    customer_language = crng.choice(len(LANGUAGE_SHARE), size=n_customers, p=LANGUAGE_SHARE)
    customer_vip = crng.random(n_customers) < VIP_SHARE
    weights = 1.0 / (np.arange(n_customers) + 20.0) ** 0.8
    weights /= weights.sum()

    per_day = [_day_tickets(world, day, n_customers, weights, customer_language, customer_vip)
               for day in range(days)]
    table = {name: np.concatenate([d[name] for d in per_day]) for name in per_day[0]}
    order = np.argsort(table["created_s"], kind="stable")
    table = {k: v[order] for k, v in table.items()}

    repeat = _contacted_within(table["customer"], table["created_s"], REPEAT_WINDOW_S)
    table["sentiment"] = np.clip(table["sentiment"] - 0.25 * repeat, -1, 1)
    table["repeat_7d"] = repeat
    table["difficulty_logit"] = (
        TOPIC_DIFFICULTY[table["topic"]] + CHANNEL_DIFFICULTY[table["channel"]]
        - 0.9 * table["sentiment"] + 0.35 * (table["priority"] == 1) + 0.25 * table["vip"]
        + 0.35 * repeat + 0.55 * np.log(table["message_words"] / 60.0)
        + table.pop("unobserved_difficulty")
    )
    return TicketTable(**table)


def _day_tickets(world: World, day: int, n_customers: int, weights: np.ndarray,
                 customer_language: np.ndarray, customer_vip: np.ndarray) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([world.config.seed, 3, day])
    bins = np.arange(0, DAY_S, BIN_S)
    slots = online_slots(world, day, bins + BIN_S / 2)
    shape = demand_shape((bins + BIN_S / 2) / 3600.0)
    shape /= (shape * slots).sum() / max(slots.sum(), 1e-9)
    rate = world.config.utilisation * slots * shape / world.mean_handle_s
    counts = rng.poisson(rate * BIN_S * rng.normal(1.0, 0.05))
    n = int(counts.sum())
    created = day * DAY_S + np.repeat(bins, counts) + rng.uniform(0, BIN_S, n)
    customer = rng.choice(n_customers, size=n, p=weights)
    vip = customer_vip[customer]
    priority = rng.choice(4, size=n, p=PRIORITY_P) + 1
    priority = np.where(vip, np.minimum(priority, 2), priority)
    return {
        "created_s": created,
        "topic": rng.choice(len(TOPIC_SHARE), size=n, p=TOPIC_SHARE),
        "channel": rng.choice(len(CHANNEL_SHARE), size=n, p=CHANNEL_SHARE),
        "language": customer_language[customer],
        "priority": priority,
        "customer": customer,
        "vip": vip,
        "sentiment": np.clip(rng.normal(0.05, 0.4, n), -1, 1),
        "message_words": np.maximum(3, np.rint(60 * np.exp(rng.normal(0, 0.6, n)))).astype(int),
        "unobserved_difficulty": rng.normal(0, UNOBSERVED_DIFFICULTY_SD, n),
        "u_resolve": rng.random(n), "z_handle": rng.normal(0, 1, n), "u_transfer": rng.random(n),
        "u_reopen": rng.random(n), "u_csat": rng.random(n), "z_csat": rng.normal(0, 1, n),
        "u_qa": rng.random(n), "z_qa": rng.normal(0, 1, n),
    }


def demand_shape(hour: np.ndarray) -> np.ndarray:
    """Intraday demand relative to staffing: a morning and an afternoon peak that staffing only half follows."""
    return 0.8 + 0.5 * np.exp(-(((hour - 10.5) / 1.6) ** 2)) + 0.35 * np.exp(-(((hour - 15.5) / 1.6) ** 2))


def _contacted_within(customer: np.ndarray, created_s: np.ndarray, window_s: float) -> np.ndarray:
    """For tickets sorted by time: did the same customer contact within the window before?"""
    order = np.lexsort((created_s, customer))
    c, t = customer[order], created_s[order]
    previous_same = np.r_[False, c[1:] == c[:-1]]
    gap = np.r_[np.inf, np.diff(t)]
    out = np.empty(len(customer), dtype=bool)
    out[order] = previous_same & (gap <= window_s)
    return out
