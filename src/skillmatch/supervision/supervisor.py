"""The supervisor's view of a live center, over one engine: SLA risk and alerts, overload and hand-back,
time outside the queue, mentors.

    supervisor = Supervisor(engine)
    supervisor.alerts(now)                       # tickets at risk, late, overloaded agents, with actions
    supervisor.hand_back("A007", now)            # which tickets to hand back, to whom
    supervisor.mark_unavailable("A007", start, end, "training")
    supervisor.mentors("A012", now)              # per growth topic
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from skillmatch.engine import Engine
from skillmatch.errors import InputError
from skillmatch.ledger import UnavailablePeriod, WorkItem
from skillmatch.records import moment
from skillmatch.supervision.board import Board, build_board, window_end
from skillmatch.supervision.handback import Displaced, HandBackPlan, displaced_misses, plan_hand_back
from skillmatch.supervision.mentors import suggest_mentors, topic_skills
from skillmatch.supervision.queues import QueueState
from skillmatch.supervision.rules import SupervisionRules
from skillmatch.supervision.sla_risk import DEFAULT_HANDLE_S, QueueRisk, TicketRisk, queue_risk

MAX_REASON_CHARS = 200
_SKILLS_CACHE: dict[str, tuple[Any, tuple[Any, ...], Any]] = {}
"""The last proficiency table, kept while the live history object and the minute are the same (per request
supervisors share it; the history is replaced, never changed in place, when outcomes arrive)."""


class Supervisor:
    """Answers a supervisor's questions from the engine's ledger, model and policy (no state of its own)."""

    def __init__(self, engine: Engine, rules: SupervisionRules | None = None) -> None:
        self.engine = engine
        self.rules = rules or SupervisionRules()

    # ------------------------------------------------------------------ the floor
    def board(self, now: datetime | str, available: Sequence[str] | None = None) -> Board:
        """Open work, its risk, who is away and who is overloaded at `now` (read once from the ledger)."""
        now_dt = moment(now)
        engine = self.engine
        since = now_dt - timedelta(hours=self.rules.lookback_hours)
        items = engine.ledger.work_since(since)
        end = window_end(engine._window_start(now_dt), engine.policy.window_hours)
        periods = engine.ledger.unavailable(since, max(end, now_dt + timedelta(hours=self.rules.lookback_hours)))
        roster = {a: p.capacity for a, p in engine.model.roster.profiles.items()}
        return build_board(now_dt, items, periods, roster, engine.model.history.resid_log_handle, end, self.sla_s,
                           self.rules, available)

    def sla_s(self, item: WorkItem) -> float:
        """The answer-time target of the ticket's channel (the policy's; its default for an unknown channel)."""
        policy = self.engine.policy
        return float(policy.sla_targets_s.get((item.channel or "").lower(), policy.default_sla_s))

    def risk_of(self, board: Board, queue: QueueState) -> QueueRisk:
        """The risk of a (possibly changed) queue on `board`, with the same seeded draws."""
        return queue_risk(queue, board.now.timestamp(), self.sla_s, board.spread,
                          np.random.default_rng(self.rules.seed), self.rules.samples, board.blocked(queue.agent_id))

    # ------------------------------------------------------------------ hand-back
    def plan(self, board: Board, agent_id: str, taken: dict[str, int] | None = None) -> HandBackPlan:
        """Which of the agent's waiting tickets to hand back, to whom (other available agents with a free slot);
        `taken` counts free slots already promised to other plans, and is updated with this plan's moves."""
        taken = taken if taken is not None else {}
        queue = board.queues.get(agent_id)
        waiting = [r for r in board.risks[agent_id].tickets if r.state == "waiting"] if queue is not None else []
        if not any(r.p_miss >= self.rules.risk_threshold and not r.breached for r in waiting):
            expected = round(sum(r.p_miss for r in waiting), 3)
            return HandBackPlan(agent_id, (), tuple(r.item.ticket_id for r in waiting), expected, expected)
        assert queue is not None
        targets = [b for b in board.available
                   if b != agent_id and b not in board.overload and board.spare(b) - taken.get(b, 0) > 0]
        spare = np.array([board.spare(b) - taken.get(b, 0) for b in targets], dtype=int)
        agents = [{"agent_id": agent_id, "free_slots": len(queue.waiting)}] + [
            {"agent_id": b, "free_slots": int(s)} for b, s in zip(targets, spare)]
        scores = self.engine.pair_scores([_ticket(w) for w in queue.waiting], agents, board.now)
        served = self._customers_of(agent_id)
        repeat = np.array([w.customer_id is not None and w.customer_id in served for w in queue.waiting], dtype=bool)
        plan = plan_hand_back(queue, lambda q: self.risk_of(board, q), scores["total"], scores["eligible"], targets,
                              spare, repeat, self.rules.risk_threshold, self.rules.affinity_cost,
                              self._displaced(board, queue, targets, scores["handle_time_s"]),
                              self.rules.min_misses_saved)
        for move in plan.moves:
            if move.to_agent_id is not None:
                taken[move.to_agent_id] = taken.get(move.to_agent_id, 0) + 1
        return plan

    def _displaced(self, board: Board, queue: QueueState, targets: list[str], handle_s: np.ndarray) -> Displaced:
        """Prices a target's free slot: the arrivals that a moved ticket would make wait there.

        A target's arrival rate is its own over the recent window, and at least the center's per available
        agent (a free slot is where routing sends the next tickets, even if the agent was quiet so far).
        """
        since = board.now.timestamp() - self.rules.arrival_window_s
        recent = [(w.agent_id, self.sla_s(w)) for w in board.items if w.decided_at.timestamp() > since]
        per_agent = max(len(board.available), 1)
        inflate = math.exp(board.spread.bias + board.spread.sd ** 2 / 2)

        def displaced(i: int, b: int, left: int) -> float:
            predicted = handle_s[i, 1 + b]
            if not np.isfinite(predicted):
                predicted = queue.waiting[i].predicted_handle_s or DEFAULT_HANDLE_S
            hold = float(predicted) * inflate
            own = sum(1 for agent, sla in recent if agent == targets[b] and sla < hold)
            center = sum(1 for _, sla in recent if sla < hold) / per_agent
            return displaced_misses(max(own, center) / self.rules.arrival_window_s, hold, left)

        return displaced

    def hand_back(self, agent_id: str, now: datetime | str, available: Sequence[str] | None = None) -> dict[str, Any]:
        """The hand-back plan of one agent at `now`, with its overload flag (None when the queue fits)."""
        board = self.board(now, available)
        flag = board.overload.get(agent_id)
        plan = self.plan(board, agent_id)
        return {"model_version": self.engine.model_version, "now": board.now.isoformat(), "agent_id": agent_id,
                "overloaded": flag is not None, "reasons": list(flag.reasons) if flag else [],
                "hand_back": [asdict(m) for m in plan.moves], "keep": list(plan.kept),
                "expected_misses_before": plan.expected_misses_before,
                "expected_misses_after": plan.expected_misses_after}

    # ------------------------------------------------------------------ alerts
    def alerts(self, now: datetime | str, available: Sequence[str] | None = None,
               board: Board | None = None) -> list[dict[str, Any]]:
        """Tickets likely to miss (or past) their target and overloaded agents, each with a reason and an action."""
        board = board or self.board(now, available)
        taken: dict[str, int] = {}  # free slots are shared out: the queues with most expected misses plan first
        urgent = sorted(board.overload, key=lambda a: (-_expected_misses(board, a), a))
        plans = {a: self.plan(board, a, taken) for a in urgent}
        out: list[dict[str, Any]] = []
        for agent_id in sorted(board.risks):
            for r in board.risks[agent_id].tickets:
                if r.state != "waiting" or not (r.breached or r.p_miss >= self.rules.risk_threshold):
                    continue
                out.append(self._ticket_alert(board, r, plans.get(agent_id)))
        hour = board.now.strftime("%Y-%m-%dT%H")
        for agent_id in sorted(board.overload):
            flag, plan = board.overload[agent_id], plans[agent_id]
            moves = [asdict(m) for m in plan.moves]
            out.append({"key": f"overload:{agent_id}:{hour}", "kind": "overload", "agent_id": agent_id,
                        "ticket_id": None, "reason": "; ".join(flag.reasons),
                        "suggested_action": _overload_action(agent_id, plan), "hand_back": moves,
                        "expected_misses_before": plan.expected_misses_before,
                        "expected_misses_after": plan.expected_misses_after})
        return out

    def _ticket_alert(self, board: Board, r: TicketRisk, plan: HandBackPlan | None) -> dict[str, Any]:
        item, now_s = r.item, board.now.timestamp()
        channel = item.channel or "default"
        target = _minutes(r.sla_s)
        if r.breached:
            kind = "sla_breached"
            reason = (f"waiting {_minutes(now_s - item.created_at.timestamp())} in {item.agent_id}'s queue, past the "
                      f"{channel} target of {target}")
        else:
            kind = "sla_risk"
            reason = (f"{r.position} ticket{'s' if r.position != 1 else ''} ahead in {item.agent_id}'s queue "
                      f"(about {_minutes(r.ahead_work_s / board.queues[item.agent_id].capacity)} of work) and "
                      f"{_minutes(max(r.deadline_s - now_s, 0.0))} left to the {channel} target of {target}: "
                      f"{r.p_miss:.0%} likely to miss it")
        move = next((m for m in plan.moves if m.ticket_id == item.ticket_id), None) if plan else None
        to_agent = move.to_agent_id if move else None
        if to_agent is not None:
            action = f"hand it back to {to_agent}" + (f" (a repeat customer of {item.agent_id})"
                                                      if move and move.repeat_customer else "")
        elif plan is not None and any(m.to_agent_id for m in plan.moves):
            action = f"{_overload_action(item.agent_id, plan)}; then it starts sooner"
        elif r.breached:
            action = f"already past the target: ask {item.agent_id} to take it next"
        else:
            action = (f"ask {item.agent_id} to take it next: no hand-back to an available agent saves more "
                      "misses than it costs that agent's own next tickets")
        return {"key": f"{kind}:{item.ticket_id}", "kind": kind, "agent_id": item.agent_id,
                "ticket_id": item.ticket_id, "customer_id": item.customer_id, "channel": item.channel,
                "p_miss": round(r.p_miss, 3), "position": r.position,
                "deadline": datetime.fromtimestamp(r.deadline_s, tz=timezone.utc).isoformat(),
                "reason": reason, "suggested_action": action, "to_agent_id": to_agent}

    # ------------------------------------------------------------------ time outside the queue
    def mark_unavailable(self, agent_id: str, start: datetime | str, end: datetime | str, reason: str
                         ) -> dict[str, Any]:
        """Record that an agent is out of the queue for [start, end) (training, campaign, mentoring)."""
        start_dt, end_dt = moment(start), moment(end)
        reason = (reason or "").strip()
        if not end_dt > start_dt:
            raise InputError("an unavailable period must end after it starts", column="end",
                             expected=f"a time after {start_dt.isoformat()}", got=end_dt.isoformat())
        if not reason or len(reason) > MAX_REASON_CHARS:
            raise InputError("a reason is required", column="reason",
                             expected=f"1 to {MAX_REASON_CHARS} characters, e.g. training", got=reason or None)
        if not self.known(agent_id):
            raise KeyError(agent_id)
        period = UnavailablePeriod(agent_id=agent_id, start_at=start_dt, end_at=end_dt, reason=reason)
        period_id = self.engine.ledger.record_unavailable(period)
        share = float(self.engine.available_shares([agent_id], start_dt)[0])
        return {"model_version": self.engine.model_version, "period_id": period_id, "agent_id": agent_id,
                "start": start_dt.isoformat(), "end": end_dt.isoformat(), "reason": reason,
                "available_share_of_window": round(share, 4)}

    def unavailable(self, agent_id: str, start: datetime | str, end: datetime | str) -> list[dict[str, Any]]:
        """The agent's periods out of the queue that overlap [start, end)."""
        return [{"start": p.start_at.isoformat(), "end": p.end_at.isoformat(), "reason": p.reason}
                for p in self.engine.ledger.unavailable(moment(start), moment(end), [agent_id])]

    def known(self, agent_id: str) -> bool:
        """On the roster, in the history, or routed work recently."""
        model = self.engine.model
        if agent_id in model.roster.profiles or bool((model.history.agent == agent_id).any()):
            return True
        since = datetime.now(timezone.utc) - timedelta(hours=self.rules.lookback_hours)
        return bool(self.engine.ledger.agent_decisions(agent_id, since))

    # ------------------------------------------------------------------ mentors
    def skills(self, now: datetime | str) -> Any:
        """Proficiency per (agent, topic) from the live history at `now` (one cached table per history and minute)."""
        now_dt = moment(now)
        history = self.engine.model.history
        rules = self.rules
        key = (int(now_dt.timestamp() // 60), self.engine.model.builder.prior_strength, rules.mentor_z,
               rules.trend_days, rules.min_trend_outcomes)
        cached = _SKILLS_CACHE.get("last")
        if cached is not None and cached[0] is history and cached[1] == key:
            return cached[2]
        table = topic_skills(history, now_dt.timestamp(), key[1], rules.mentor_z, rules.trend_days,
                             rules.min_trend_outcomes)
        _SKILLS_CACHE["last"] = (history, key, table)  # replaced whole: safe between threads
        return table

    def mentors(self, agent_id: str, now: datetime | str, board: Board | None = None) -> dict[str, list[dict]]:
        """Per growth topic of the agent, suggested mentors (never the mentee, an away, overloaded or weak agent)."""
        board = board or self.board(now)
        profile = self.engine.model.roster.profiles.get(agent_id)
        topics = list(profile.growth_topics) if profile is not None else []
        skills = self.skills(board.now)
        return {t: suggest_mentors(skills, agent_id, t, board.away, board.overload, self.rules) for t in topics}

    def _customers_of(self, agent_id: str) -> set[str]:
        history = self.engine.model.history
        return {c for c in history.customer[history.agent == agent_id] if c is not None}


def _ticket(item: WorkItem) -> dict[str, Any]:
    """The ticket as it was routed (for scoring it again), or what work_items kept of it."""
    if item.ticket:
        return dict(item.ticket)
    return {"ticket_id": item.ticket_id, "created_at": item.created_at, "topic": item.topic, "channel": item.channel,
            "customer_id": item.customer_id, "priority": item.priority or 3}


def _expected_misses(board: Board, agent_id: str) -> float:
    """Expected late starts among the agent's waiting tickets not yet late."""
    return sum(r.p_miss for r in board.risks[agent_id].tickets if r.state == "waiting" and not r.breached)


def _overload_action(agent_id: str, plan: HandBackPlan) -> str:
    placed = [m for m in plan.moves if m.to_agent_id]
    if not placed:
        return (f"no hand-back pays now (no available agent with a free slot to spare): keep {agent_id}'s queue, "
                "or bring someone back to the queue")
    return "hand back " + ", ".join(f"{m.ticket_id} to {m.to_agent_id}" for m in placed)


def _minutes(seconds: float) -> str:
    minutes = seconds / 60.0
    if minutes >= 120:
        return f"{minutes / 60:.1f} h"
    return f"{minutes:.0f} min" if minutes >= 1 else f"{seconds:.0f} s"


