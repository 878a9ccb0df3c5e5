"""SLA-alert drill on the simulated center: predictions at snapshots against the starts that really happened.

At each snapshot the drill reports outcomes to the engine, asks the supervisor for the risk of every
waiting ticket not yet past its target, and keeps it; once the center has run on, each kept ticket
is scored by whether its agent really started it after the channel's target. A point-estimate baseline
(predicted handle times taken as exact) is kept beside the Monte Carlo probability.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from skillmatch.policies.personal_queues import PersonalQueues
from skillmatch.simulation import ContactCenter
from skillmatch.simulation.world import CHANNEL_SLA_S
from skillmatch.supervision.sla_risk import queue_risk
from skillmatch.supervision.supervisor import Supervisor


@dataclass(frozen=True)
class Prediction:
    """The risk of one waiting ticket at one snapshot."""

    snapshot_s: float
    ticket: int
    agent_id: str
    channel: str | None
    position: int
    p_miss: float
    point_miss: bool  # the baseline: handle times exactly as predicted


def snapshot(center: ContactCenter, driver: PersonalQueues, supervisor: Supervisor) -> list[Prediction]:
    """Predictions for every routed, waiting ticket not yet past its target, at the center's current time."""
    driver.flush()
    now = center.world.config.start_ts + pd.Timedelta(seconds=center.now)
    online = [center.world.agents.ids[a] for a in np.flatnonzero(center.online)]
    board = supervisor.board(now.to_pydatetime(), online)
    exact = replace(board.spread, sd=1e-6)
    out = []
    for agent_id, risk in board.risks.items():
        point = queue_risk(board.queues[agent_id], center.now + center.world.config.start_ts.timestamp(),
                           supervisor.sla_s, exact, np.random.default_rng(0), 1, board.blocked(agent_id))
        for r, p in zip(risk.tickets, point.tickets):
            if r.state == "waiting" and not r.breached:
                out.append(Prediction(center.now, int(r.item.ticket_id.lstrip("T")) - 1, agent_id, r.item.channel,
                                      r.position, r.p_miss, p.p_miss >= 0.5))
    return out


def missed(center: ContactCenter, ticket: int) -> bool | None:
    """Whether the ticket was answered after its channel's target (None: not answered, target not yet passed)."""
    created = float(center.tickets.created_s[ticket])
    sla = float(CHANNEL_SLA_S[center.tickets.channel[ticket]])
    started = float(center.assigned_s[ticket])
    if np.isnan(started):
        return True if center.now - created > sla else None
    return started - created > sla


def score(predictions: Sequence[Prediction], center: ContactCenter, threshold: float) -> pd.DataFrame:
    """One row per prediction with the truth; rows whose truth is not known yet are left out."""
    rows = []
    for p in predictions:
        truth = missed(center, p.ticket)
        if truth is not None:
            rows.append({"snapshot_s": p.snapshot_s, "ticket": p.ticket, "agent_id": p.agent_id,
                         "channel": p.channel, "position": p.position, "p_miss": p.p_miss,
                         "alert": p.p_miss >= threshold, "point_alert": p.point_miss, "missed": truth})
    return pd.DataFrame(rows, columns=["snapshot_s", "ticket", "agent_id", "channel", "position", "p_miss", "alert",
                                       "point_alert", "missed"])


def precision_recall(alert: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Precision and recall of alerts against misses (nan where undefined)."""
    alert, truth = np.asarray(alert, dtype=bool), np.asarray(truth, dtype=bool)
    tp = float((alert & truth).sum())
    return (tp / alert.sum() if alert.sum() else float("nan"), tp / truth.sum() if truth.sum() else float("nan"))
