"""The routing engine: models + scoring + solver + ledger behind the contract's Python entry point.

    engine = Engine.load("models/latest")
    result = engine.assign(tickets, agents, now=..., commit=True)   # same shapes as the HTTP API
    engine.record_outcomes(rows)
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
import operator
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from skillmatch.config import PolicyConfig, load_policy_config
from skillmatch.config import Weights as PolicyWeights
from skillmatch.errors import InputError, SkillmatchError
from skillmatch.features import AgentProfile, OutcomeHistory, Roster, posix_seconds
from skillmatch.features.ticket_fields import TicketFieldReader
from skillmatch.ledger import DecisionRow, Ledger, LedgerError, OutcomeRow, TicketHeld, TicketHold
from skillmatch.ledger.snapshot import RoutingState, RoutingStateCache
from skillmatch.logs import validate_interactions
from skillmatch.logs.schema import DEFAULT_LANGUAGE
from skillmatch.models.bundle import SkillmatchModel
from skillmatch.models.folder import read_model_folder, resolve
from skillmatch.records import Agent, Ticket, Weights, moment
from skillmatch.scoring import (
    UNASSIGNED_WORDS, RoundInputs, ScoreMatrix, assignment_reasons, eligibility, score_round, why_nobody,
)
from skillmatch.scoring.availability import available_share, prorated_quota
from skillmatch.scoring.components import carried_mean, protected
from skillmatch.solver import NO_ELIGIBLE_AGENT, NO_ELIGIBLE_TICKET, RoundSolution, claim_next, solve_round


CATCH_UP_EVERY_S = 1.0
"""How often an engine looks for outcomes other replicas stored (at most once per this many seconds)."""
CATCH_UP_MARGIN_S = 120.0
"""Outcomes are re-read this far back, so that clock skew and late commits between replicas lose none."""
HOLD_RACE_ATTEMPTS = 5
"""How many times a decision is made again after losing a ticket to a concurrent claim."""
ROUND_FIELDS = ("topic", "language", "channel", "customer_tier", "priority", "sentiment", "customer_id")
"""The ticket fields every round reads (the model's declared extra features are read too)."""
LEDGER_READ_MAX_AGE_S = 1.0
"""How long a round may reuse the ledger's counters, holds and absences read for an earlier round, when
nothing was written through this engine's ledger since (other processes' writes show up within this time)."""


class ConflictError(SkillmatchError):
    """A request_id that was already used for a different request, or a decision that kept losing races."""


@dataclass(frozen=True)
class _Round:
    """A round's parsed input, aligned arrays and scores."""

    tickets: list[Ticket]
    agents: list[AgentProfile]
    free_slots: np.ndarray
    eligible: np.ndarray
    predicted: dict[str, np.ndarray]
    inputs: RoundInputs
    scores: ScoreMatrix
    held: dict[str, TicketHold]  # tickets another decision holds: not offered to anyone in this round

    @property
    def frame(self) -> pd.DataFrame:
        """The tickets as a frame (what `SkillmatchModel.predict_pairs` reads)."""
        return _ticket_frame(self.tickets)


class Engine:
    """Assigns tickets to agents for one model version, one policy and one ledger."""

    fast_rounds = True
    """Score a round with `SkillmatchModel.predict_round` (no pandas); False: the frame-based reference path."""
    factored = True
    """... and with the factored tree scoring where numba is installed (`skillmatch.models.factored`)."""

    def __init__(self, model: SkillmatchModel, metadata: dict[str, Any], ledger: Ledger, policy: PolicyConfig) -> None:
        self.model = model
        self.metadata = metadata
        self.ledger = ledger
        self.policy = policy
        self._trained_history = model.history
        self._routing_states = RoutingStateCache(ledger, LEDGER_READ_MAX_AGE_S)
        center = model.difficulty_quantiles[1:-1]  # the middle of the training tickets' difficulty, for fairness
        self._center = (float(np.mean(center)), float(np.std(center)))
        builder = model.builder
        self._ticket_fields = TicketFieldReader([*ROUND_FIELDS, *builder.extra_categorical, *builder.extra_numeric])
        self._last_served: dict[str, dict[str, Any]] = {}  # per call, the arguments of the last round answered
        self._sync_history()

    @classmethod
    def load(cls, model_dir: str | Path, database_url: str | None = None,
             policy: PolicyConfig | str | Path | None = None) -> Engine:
        """Load a model folder (or `models/latest`), connect the ledger, read the policy (TOML path or config)."""
        model, metadata = read_model_folder(resolve(Path(model_dir)))
        if not isinstance(policy, PolicyConfig):
            policy = load_policy_config(policy)
        return cls(model, metadata, Ledger.connect(database_url), policy)

    @property
    def model_version(self) -> str:
        return str(self.metadata["version"])

    def close(self) -> None:
        self.ledger.close()

    # ------------------------------------------------------------------ public calls
    def assign(self, tickets: Sequence[Mapping[str, Any] | Ticket], agents: Sequence[Mapping[str, Any] | Agent],
               now: datetime | str, weights: Mapping[str, float] | Weights | None = None, commit: bool = True,
               request_id: str | None = None) -> dict[str, Any]:
        """One routing round: which agent takes which ticket, and why; the rest with the reason they wait."""
        now_dt = moment(now)
        parsed_tickets, given = _tickets(tickets, "tickets")
        parsed_agents = [_parse(Agent, a, "agents", i) for i, a in enumerate(agents)]
        parsed_weights = _parse(Weights, weights or {}, "weights", None)
        ticket_ids = _ticket_ids(parsed_tickets)
        _unique(ticket_ids, "tickets", "ticket_id")
        _unique([a.agent_id for a in parsed_agents], "agents", "agent_id")
        request_hash = _lazy_hash({"call": "assign", "tickets": parsed_tickets, "agents": parsed_agents, "now": now_dt,
                                   "weights": parsed_weights, "commit": commit})
        stored = self._replay(request_id, request_hash)
        if stored is not None:
            return stored
        for attempt in range(HOLD_RACE_ATTEMPTS):
            state = self._routing_state(now_dt, fresh=attempt > 0)
            held = self._holds(state, ticket_ids, now_dt, pulled_only=True)
            rnd = self._score(parsed_tickets, parsed_agents, now_dt, parsed_weights, held, state, remember=given)
            solution = solve_round(rnd.scores.total, rnd.eligible, rnd.free_slots, place_all=True)
            rnd, solution = self._within_growth_quota(rnd, solution)
            response = self._response(rnd, solution.agent_of_ticket, solution.unassigned_reason, now_dt)
            try:
                response = self._commit(request_id, request_hash, response, rnd, solution.agent_of_ticket, now_dt,
                                        commit, pulled=False)
            except TicketHeld:
                continue  # an agent claimed one of these tickets meanwhile: decide again without it
            self._last_served["assign"] = {"tickets": parsed_tickets, "agents": parsed_agents, "now": now_dt,
                                           "weights": parsed_weights}
            return response
        raise ConflictError(f"agents kept claiming these tickets while the round was decided "
                            f"({HOLD_RACE_ATTEMPTS} attempts); send the round again")

    def next(self, agent: Mapping[str, Any] | Agent, queue: Sequence[Mapping[str, Any] | Ticket],
             others: Sequence[Mapping[str, Any] | Agent] | None = None, now: datetime | str | None = None,
             commit: bool = True, request_id: str | None = None,
             weights: Mapping[str, float] | Weights | None = None) -> dict[str, Any]:
        """Claim next: the one ticket this agent should take now, never one a better-suited free agent in `others` should take.

        See `skillmatch.solver.claim_next` for the precise rule. With `commit`, the ticket is then locked to
        this agent (see `PolicyConfig.claim_hold_s`): a ticket another decision holds is never offered, and
        of two requests racing for the same ticket one gets it and the other is decided again without it.
        """
        now_dt = moment(now if now is not None else datetime.now(timezone.utc))
        me = _parse(Agent, agent, "agent", None)
        parsed_others = [_parse(Agent, a, "others", i) for i, a in enumerate(others or [])]
        parsed_queue, given = _tickets(queue, "queue")
        parsed_weights = _parse(Weights, weights or {}, "weights", None)
        queue_ids = _ticket_ids(parsed_queue)
        _unique(queue_ids, "queue", "ticket_id")
        _unique([a.agent_id for a in [me, *parsed_others]], "others", "agent_id")
        # Without `now` the server clock decides; it is left out of the hash so that a retry is a replay.
        request_hash = _lazy_hash({"call": "next", "agent": me, "queue": parsed_queue, "others": parsed_others,
                                   "now": now_dt if now is not None else None, "weights": parsed_weights,
                                   "commit": commit})
        stored = self._replay(request_id, request_hash)
        if stored is not None:
            return stored
        me_free = Agent(**{**me.model_dump(), "free_slots": 1})
        for attempt in range(HOLD_RACE_ATTEMPTS):
            state = self._routing_state(now_dt, fresh=attempt > 0)
            held = self._holds(state, queue_ids, now_dt, pulled_only=False)
            rnd = self._score(parsed_queue, [me_free, *parsed_others], now_dt, parsed_weights, held, state,
                              remember=given)
            choice = claim_next(rnd.scores.total, rnd.eligible, rnd.free_slots[1:])
            agent_of_ticket = np.full(len(parsed_queue), -1)
            if choice.ticket is not None:
                agent_of_ticket[choice.ticket] = 0
            response = self._response(rnd, agent_of_ticket, None, now_dt, only_agent=0)
            if choice.ticket is None:
                response["reason"] = _why_no_claim(choice.reason, rnd)
            try:
                response = self._commit(request_id, request_hash, response, rnd, agent_of_ticket, now_dt, commit,
                                        pulled=True)
            except TicketHeld:
                continue  # another agent took the chosen ticket meanwhile: choose again without it
            self._last_served["next"] = {"agent": me, "queue": parsed_queue, "others": parsed_others, "now": now_dt,
                                         "weights": parsed_weights}
            return response
        raise ConflictError(f"other agents kept claiming the chosen tickets ({HOLD_RACE_ATTEMPTS} attempts); "
                            "ask again")

    def record_outcomes(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Store what happened (idempotent per ticket) and update the live history the features read."""
        if not rows:
            return {"model_version": self.model_version, "inserted": 0, "duplicates": 0}
        frame = validate_interactions(pd.DataFrame([dict(r) for r in rows]), "outcomes")
        created = posix_seconds(frame["created_at"])
        _, reference = self.model.ticket_reference(frame, created)
        resolved = frame["resolved"].to_numpy(dtype=float)
        closed = frame["closed_at"].where(frame["closed_at"].notna(),
                                          frame["created_at"] + pd.to_timedelta(frame["handle_time_s"], unit="s"))
        out_rows = []
        for i, row in enumerate(frame.itertuples(index=False)):
            customer = getattr(row, "customer_id", None)
            csat = getattr(row, "csat", None)
            qa = getattr(row, "qa_score", None)
            out_rows.append(OutcomeRow(
                ticket_id=row.ticket_id, agent_id=row.agent_id, topic=row.topic,
                customer_id=None if customer is None or pd.isna(customer) else str(customer),
                created_at=row.created_at.to_pydatetime(), closed_at=closed.iloc[i].to_pydatetime(),
                resolved=bool(row.resolved), handle_time_s=float(row.handle_time_s),
                csat=None if csat is None or pd.isna(csat) else int(csat),
                qa_score=None if qa is None or pd.isna(qa) else float(qa),
                resid_resolve=float(resolved[i] - reference["p_resolve_ref"].iloc[i]),
                resid_log_handle=float(np.log(row.handle_time_s) - reference["log_handle_ref"].iloc[i]),
                extra={},
            ))
        report = self.ledger.record_outcomes(out_rows)
        inserted = set(report.inserted_ids)
        self._append_history([o for o in out_rows if o.ticket_id in inserted])
        return {"model_version": self.model_version, "inserted": report.inserted, "duplicates": report.duplicates}

    def agent_profile(self, agent_id: str, now: datetime | str | None = None) -> dict[str, Any]:
        """How the engine sees an agent: proficiency per topic with trend, difficulty carried against the fair share, growth."""
        now_dt = moment(now if now is not None else datetime.now(timezone.utc))
        self._catch_up()
        history = self.model.history
        mine = history.agent == agent_id
        if agent_id not in self.model.roster and not mine.any():
            raise KeyError(agent_id)
        profile = self.model.roster.profiles.get(agent_id, AgentProfile(agent_id=agent_id))
        now_s = now_dt.timestamp()
        recent_cut = now_s - 14 * 86400
        topics = []
        for topic in sorted(set(history.topic[mine]) | set(profile.growth_topics)):
            rows = mine & (history.topic == topic) & (history.closed_s < now_s)
            recent, earlier = rows & (history.closed_s >= recent_cut), rows & (history.closed_s < recent_cut)
            k = self.model.builder.prior_strength
            skill = float(history.resid_resolve[rows].sum() / (rows.sum() + k))
            trend = (float(history.resid_resolve[recent].sum() / (recent.sum() + k)
                           - history.resid_resolve[earlier].sum() / (earlier.sum() + k)))
            topics.append({"topic": topic, "outcomes": int(rows.sum()),
                           "resolution_rate": float(history.resolved[rows].mean()) if rows.any() else None,
                           "proficiency": round(skill, 4), "trend_14d": round(trend, 4),
                           "growth_topic": topic in profile.growth_topics})
        window = self._window_start(now_dt)
        counters = self.ledger.fair_share(window)
        mine_counter = counters.get(agent_id)
        center_mean = self._center[0]
        hard = self.model.difficulty_at(self.policy.hard_quantile)
        used = self.ledger.growth_used(window)
        share = self.available_shares([agent_id], now_dt)[0]
        return {
            "model_version": self.model_version, "agent_id": agent_id,
            "languages": list(profile.languages), "capacity": profile.capacity,
            "topics": topics,
            "window": {"start": window.isoformat(), "hours": self.policy.window_hours,
                       "tickets": mine_counter.n_assigned if mine_counter else 0,
                       "mean_difficulty": (mine_counter.difficulty_sum / mine_counter.n_assigned
                                           if mine_counter and mine_counter.n_assigned else None),
                       "fair_share_mean_difficulty": center_mean,
                       "hard_tickets": mine_counter.hard_n if mine_counter else 0,
                       "hard_threshold": hard, "available_share": round(float(share), 4)},
            "growth": {"topics": list(profile.growth_topics),
                       "stretch_tickets_in_window": {t: n for (a, t), n in used.items() if a == agent_id},
                       "quota_per_window": prorated_quota(self.policy.guardrails.quota_per_window, share)},
        }

    def pair_scores(self, tickets: Sequence[Mapping[str, Any] | Ticket], agents: Sequence[Mapping[str, Any] | Agent],
                    now: datetime | str) -> dict[str, np.ndarray]:
        """A round's score matrices without solving or recording, for what-if plans (a supervisor's hand-back)."""
        parsed_tickets, given = _tickets(tickets, "tickets")
        rnd = self._score(parsed_tickets, [_parse(Agent, a, "agents", i) for i, a in enumerate(agents)], moment(now),
                          Weights(), remember=given)
        return {"total": rnd.scores.total, "eligible": rnd.eligible, "p_resolve": rnd.predicted["p_resolve"],
                "handle_time_s": rnd.predicted["handle_time_s"], "free_slots": rnd.free_slots}

    def last_served(self) -> list[tuple[str, dict[str, Any]]]:
        """The last round of each routing call this engine answered ("assign", "next"), as (call, its arguments
        parsed): what `warm_up` of the engine replacing this one replays."""
        return list(self._last_served.items())

    def warm_up(self, replay: Sequence[tuple[str, dict[str, Any]]] = ()) -> None:
        """Score one made-up pair, so that what the first round builds (history index and look-ups, flattened
        trees, compiled kernels) exists before a request needs it; then answer the rounds of `replay` (the
        engine this one replaces: its `last_served()`), so that a model swapped in meets the live queue with
        its tickets, agents and pairs already computed instead of computing all of them within the first
        requests. Nothing is recorded; a replayed round that fails raises RuntimeError naming it (LedgerError
        as it is, when the ledger cannot be read).
        """
        topics = self.model.builder.vocab_.get("topic") or ["warm-up"]
        agent_id = self.model.roster.ids[0] if self.model.roster.ids else "warm-up"
        now = datetime.now(timezone.utc)
        self.pair_scores([{"ticket_id": "warm-up", "created_at": now, "topic": topics[0], "customer_id": "warm-up"}],
                         [{"agent_id": agent_id, "free_slots": 1, "languages": [DEFAULT_LANGUAGE],
                           "certifications": [topics[0]]}], now)  # eligible whatever the roster and policy say
        calls = {"assign": self.assign, "next": self.next}
        for call, arguments in replay:
            try:
                calls[call](**arguments, commit=False)
            except LedgerError:
                raise  # the ledger is down, not the model at fault
            except Exception as exc:
                raise RuntimeError(f"the model failed on the last {call} round served: {exc}") from exc

    # ------------------------------------------------------------------ internals
    def _sync_history(self) -> None:
        """Training history + every outcome reported since (read from the ledger at load)."""
        self._last_catch_up = time.time()
        stored = self.ledger.outcome_history()
        self._known_outcomes = {o.ticket_id for o in stored}
        self.model.history = self._trained_history.concat(_as_history(stored))
        self._served = _served_pairs(self.model.history)

    def _append_history(self, rows: Sequence[OutcomeRow]) -> None:
        """Outcomes just recorded (here or by another replica) join the live history the features read."""
        rows = [o for o in rows if o.ticket_id not in self._known_outcomes]
        if rows:
            self._known_outcomes.update(o.ticket_id for o in rows)
            self.model.append_history(_as_history(rows))
            self._served |= {(o.agent_id, o.customer_id) for o in rows if o.customer_id is not None}

    def _catch_up(self) -> None:
        """Pick up outcomes other replicas stored since the last look (cheap: at most once a second)."""
        started = time.time()
        if started - self._last_catch_up < CATCH_UP_EVERY_S:
            return
        since = datetime.fromtimestamp(self._last_catch_up - CATCH_UP_MARGIN_S, tz=timezone.utc)
        self._append_history(self.ledger.outcomes_recorded_since(since))
        self._last_catch_up = started

    def _window_start(self, now: datetime) -> datetime:
        hours = self.policy.window_hours
        epoch_h = now.timestamp() / 3600.0
        return datetime.fromtimestamp(np.floor(epoch_h / hours) * hours * 3600.0, tz=timezone.utc)

    def _routing_state(self, now: datetime, fresh: bool = False) -> RoutingState:
        """The ledger as a round at `now` sees it (reused for a moment: see `LEDGER_READ_MAX_AGE_S`)."""
        start = self._window_start(now)
        return self._routing_states.get(start, start + timedelta(hours=self.policy.window_hours), now, fresh=fresh)

    def available_shares(self, agent_ids: Sequence[str], now: datetime,
                         state: RoutingState | None = None) -> np.ndarray:
        """Per agent, the share of the window holding `now` not marked out of the queue (pro-rates quotas, shares)."""
        state = state if state is not None else self._routing_state(now)
        start, end = state.window_start.timestamp(), state.window_end.timestamp()
        shares = np.ones(len(agent_ids))
        for i, agent_id in enumerate(agent_ids):
            periods = state.unavailable.get(agent_id)
            if periods:
                shares[i] = available_share([(p.start_at.timestamp(), p.end_at.timestamp()) for p in periods],
                                            start, end)
        return shares

    def _profiles(self, agents: list[Agent]) -> tuple[list[AgentProfile], np.ndarray]:
        """Merge each sent agent with its roster profile (fields not sent come from the roster)."""
        profiles, slots = [], []
        for a in agents:
            base = self.model.roster.profiles.get(a.agent_id, AgentProfile(agent_id=a.agent_id))
            profiles.append(AgentProfile(
                agent_id=a.agent_id,
                languages=tuple(l.lower() for l in a.languages) if a.languages is not None else base.languages,
                skills=base.skills,
                certifications=(tuple(c.lower() for c in a.certifications) if a.certifications is not None
                                else base.certifications),
                growth_topics=(tuple(g.lower() for g in a.growth_topics) if a.growth_topics is not None
                               else base.growth_topics),
                team=base.team, hire_date=base.hire_date,
                capacity=a.capacity if a.capacity is not None else base.capacity,
            ))
            slots.append(a.free_slots if a.free_slots is not None else (a.capacity or base.capacity))
        return profiles, np.asarray(slots, dtype=int)

    def _holds(self, state: RoutingState, ticket_ids: list[str], now: datetime,
               pulled_only: bool) -> dict[str, TicketHold]:
        """Holds in force on these tickets (only claims when `pulled_only`: a round may re-route what rounds placed)."""
        if self.policy.claim_hold_s <= 0:
            return {}
        held = state.holds_on(ticket_ids, now)
        return {k: h for k, h in held.items() if h.pulled or not pulled_only}

    def _score(self, tickets: list[Ticket], agents: list[Agent], now: datetime, weights: Weights,
               held: Mapping[str, TicketHold] | None = None, state: RoutingState | None = None,
               remember: bool = False) -> _Round:
        """The round's predictions and scores; `remember`: the caller sent Ticket objects it may send again."""
        self._catch_up()
        state = state if state is not None else self._routing_state(now)
        profiles, free_slots = self._profiles(agents)
        n_t, n_a = len(tickets), len(profiles)
        columns, created_s, tokens = self._ticket_fields.read_with_tokens(tickets, remember)  # a list per field
        restricted = frozenset(t.lower() for t in self.policy.restricted_topics)
        mask = eligibility(columns["language"], columns["topic"],
                           [frozenset(p.languages) for p in profiles], [frozenset(p.certifications) for p in profiles],
                           restricted)
        held = dict(held or {})
        if held:
            mask[[t.ticket_id in held for t in tickets]] = False
        now_s = now.timestamp()
        predicted = {k: np.full((n_t, n_a), np.nan) for k in ("p_resolve", "handle_time_s", "csat")}
        difficulty = np.full(n_t, self._center[0])
        handle_ref = np.full(n_t, 600.0)
        pair_t, pair_a = np.nonzero(mask)
        if n_t and self.fast_rounds and self.model.round_ready():
            out = self.model.predict_round(columns, created_s, profiles, pair_t, pair_a, now_s, factored=self.factored,
                                           ticket_tokens=tokens)
            difficulty = 1.0 - out.p_resolve_ref
            handle_ref = np.exp(out.log_handle_ref)
            every_pair = len(pair_t) == n_t * n_a  # np.nonzero of a full mask lists the pairs row by row
            for key in predicted:
                if every_pair:
                    predicted[key] = out.pairs[key].reshape(n_t, n_a)
                else:
                    predicted[key][pair_t, pair_a] = out.pairs[key]
        elif n_t:  # the reference path: pandas frames and LightGBM over assembled pair rows
            frame = _ticket_frame(tickets)
            ticket_reference = self.model.ticket_reference(frame, np.full(n_t, now_s))
            reference = ticket_reference[1]
            difficulty = 1.0 - reference["p_resolve_ref"].to_numpy()
            handle_ref = np.exp(reference["log_handle_ref"].to_numpy())
            if len(pair_t):
                ids = np.array([p.agent_id for p in profiles], dtype=object)
                pairs = self.model.predict_pairs(frame, pair_t, ids[pair_a], np.full(n_t, now_s),
                                                 roster=Roster(profiles), reference=ticket_reference)
                for key in predicted:
                    predicted[key][pair_t, pair_a] = pairs[key].to_numpy()
        counters, used = state.fair_share, state.growth_used
        center_mean, center_sd = self._center
        carried = carried_mean(np.array([counters[p.agent_id].difficulty_sum if p.agent_id in counters else 0.0
                                         for p in profiles]),
                               np.array([counters[p.agent_id].n_assigned if p.agent_id in counters else 0
                                         for p in profiles], dtype=float), center_mean)
        quota = [prorated_quota(self.policy.guardrails.quota_per_window, share)
                 for share in self.available_shares([p.agent_id for p in profiles], now, state)]
        used_by_agent: dict[str, int] = {}
        for (agent_id, _), n in used.items():
            used_by_agent[agent_id] = used_by_agent.get(agent_id, 0) + n
        quota_left = np.array([q - used_by_agent.get(p.agent_id, 0) for q, p in zip(quota, profiles)])
        in_growth = _in_growth_topic(columns["topic"], profiles)
        priority = np.array(columns["priority"], dtype=float)
        sentiment = np.array(columns["sentiment"], dtype=float)  # None reads as nan
        target_of = {c: self.policy.sla_targets_s.get((c or "").lower(), self.policy.default_sla_s)
                     for c in set(columns["channel"])}
        sla = np.fromiter(map(target_of.__getitem__, columns["channel"]), dtype=float, count=n_t)
        waited = now_s - created_s
        inputs = RoundInputs(
            p_resolve=predicted["p_resolve"], handle_time_s=predicted["handle_time_s"], csat=predicted["csat"],
            difficulty=difficulty, handle_ref_s=handle_ref, priority=priority, waited_s=waited, sla_s=sla,
            protected=protected(np.array(columns["customer_tier"], dtype=object), sentiment, priority,
                                self.policy.guardrails),
            in_growth_topic=in_growth, eligible=mask, carried=carried, quota_left=quota_left,
            center_mean=center_mean, center_sd=center_sd)
        policy_weights = PolicyWeights(**{k: v if v is not None else getattr(self.policy.weights, k)
                                          for k, v in weights.model_dump().items()})
        scores = score_round(inputs, self.policy, policy_weights)
        return _Round(tickets, profiles, free_slots, mask, predicted, inputs, scores, held)

    def _within_growth_quota(self, rnd: _Round, solution: RoundSolution) -> tuple[_Round, RoundSolution]:
        """Keep at most the quota left of stretch tickets per agent: the best ones the solve chose; re-solve once."""
        agent_of_ticket = solution.agent_of_ticket
        s = rnd.scores
        placed = np.flatnonzero(agent_of_ticket >= 0)
        stretched = agent_of_ticket[placed][s.stretch[placed, agent_of_ticket[placed]]]
        over = np.flatnonzero(np.bincount(stretched, minlength=len(rnd.agents)) > np.maximum(rnd.inputs.quota_left, 0))
        if not over.size:
            return rnd, solution
        growth, stretch = s.growth.copy(), s.stretch.copy()
        for a in over.tolist():
            chosen = np.flatnonzero((agent_of_ticket == a) & s.stretch[:, a])
            keep = chosen[np.argsort(-s.total[chosen, a], kind="stable")[:max(int(rnd.inputs.quota_left[a]), 0)]]
            drop = np.ones(len(stretch), dtype=bool)
            drop[keep] = False
            growth[drop, a], stretch[drop, a] = 0.0, False
        total = s.total - s.growth + growth
        scores = replace(s, total=total, growth=growth, stretch=stretch)
        return replace(rnd, scores=scores), solve_round(total, rnd.eligible, rnd.free_slots)

    def _response(self, rnd: _Round, agent_of_ticket: np.ndarray, codes: Sequence[str | None] | None,
                  now: datetime, only_agent: int | None = None) -> dict[str, Any]:
        s, p = rnd.scores, rnd.predicted
        hard = self.model.difficulty_at(self.policy.hard_quantile)
        placed = np.flatnonzero(agent_of_ticket >= 0)
        to = agent_of_ticket[placed].astype(np.int64)
        # what the answer shows of each placed pair, gathered at once (Python floats, rounded as before)
        cells = {name: matrix[placed, to].tolist() for name, matrix in (
            ("total", s.total), ("match", s.match), ("fairness", s.fairness), ("growth", s.growth),
            ("urgency", s.urgency), ("p_resolve", p["p_resolve"]), ("handle_time_s", p["handle_time_s"]),
            ("csat", p["csat"]), ("stretch", s.stretch))}
        difficulty = rnd.inputs.difficulty[placed].tolist()
        late = (rnd.inputs.waited_s[placed] > rnd.inputs.sla_s[placed]).tolist()
        best_other, median_other = _others_p_resolve(p["p_resolve"][placed], rnd.eligible[placed], to)
        assignments = []
        for j, i in enumerate(placed.tolist()):
            ticket, agent = rnd.tickets[i], rnd.agents[to[j]]
            csat = cells["csat"][j]
            assignments.append({
                "ticket_id": ticket.ticket_id, "agent_id": agent.agent_id,
                "score": round(cells["total"][j], 4),
                "components": {name: round(cells[name][j], 4) for name in ("match", "fairness", "growth", "urgency")},
                "predicted": {"p_resolve": round(cells["p_resolve"][j], 4),
                              "handle_time_s": round(cells["handle_time_s"][j], 1),
                              "difficulty": round(difficulty[j], 4),
                              **({"csat": round(csat, 3)} if csat == csat else {})},
                "stretch": bool(cells["stretch"][j]),
                "hard": difficulty[j] >= hard,
                "reasons": assignment_reasons(
                    language=ticket.language, topic=ticket.topic, p_resolve=cells["p_resolve"][j],
                    best_other=best_other[j], median_other=median_other[j], fairness=cells["fairness"][j],
                    stretch=bool(cells["stretch"][j]), urgency=cells["urgency"][j], waited_over_target=late[j],
                    served_customer_before=(agent.agent_id, ticket.customer_id) in self._served),
            })
        out: dict[str, Any] = {"model_version": self.model_version, "now": now.isoformat()}
        if only_agent is not None:
            out["assignment"] = assignments[0] if assignments else None
            return out
        out["assignments"], out["unassigned"] = assignments, self._unassigned(rnd, agent_of_ticket, codes)
        return out

    def _unassigned(self, rnd: _Round, agent_of_ticket: np.ndarray,
                    codes: Sequence[str | None] | None) -> list[dict[str, str]]:
        """The tickets a round leaves waiting, each with why."""
        restricted = frozenset(t.lower() for t in self.policy.restricted_topics)
        unassigned = []
        for i in np.flatnonzero(agent_of_ticket < 0).tolist():
            ticket = rnd.tickets[i]
            code = codes[i] if codes is not None else None
            hold = rnd.held.get(ticket.ticket_id)
            if hold is not None:
                reason = f"claimed by agent {hold.agent_id} (held until {hold.held_until.isoformat()})"
            elif code == NO_ELIGIBLE_AGENT or code is None:
                reason = why_nobody(ticket.language, ticket.topic, [frozenset(x.languages) for x in rnd.agents],
                                    [frozenset(x.certifications) for x in rnd.agents], restricted)
            else:
                reason = UNASSIGNED_WORDS[code]
            unassigned.append({"ticket_id": ticket.ticket_id, "reason": reason})
        return unassigned

    def _replay(self, request_id: str | None, request_hash: Callable[[], str]) -> dict[str, Any] | None:
        if request_id is None:
            return None
        found = self.ledger.find_round(request_id)
        if found is None:
            return None
        if found.request_hash != request_hash():
            raise ConflictError(f"request_id {request_id!r} was already used for a different request")
        return found.response

    def _commit(self, request_id: str | None, request_hash: Callable[[], str], response: dict[str, Any], rnd: _Round,
                agent_of_ticket: np.ndarray, now: datetime, commit: bool, pulled: bool) -> dict[str, Any]:
        """Record the decisions with their ticket holds (`pulled`: claimed by the agent); TicketHeld if one was taken."""
        if not commit:
            return response
        hard = self.model.difficulty_at(self.policy.hard_quantile)
        rows = []
        by_ticket = {a["ticket_id"]: a for a in (response.get("assignments") or
                                                  ([response["assignment"]] if response.get("assignment") else []))}
        for i, ticket in enumerate(rnd.tickets):
            a = int(agent_of_ticket[i])
            if a < 0:
                continue
            shown = by_ticket[ticket.ticket_id]
            rows.append(DecisionRow(
                request_id=request_id, ticket_id=ticket.ticket_id, agent_id=rnd.agents[a].agent_id, topic=ticket.topic,
                score=shown["score"], components=shown["components"], predicted=shown["predicted"],
                difficulty=float(rnd.inputs.difficulty[i]), hard=bool(rnd.inputs.difficulty[i] >= hard),
                stretch=bool(rnd.scores.stretch[i, a]), reasons=shown["reasons"], model_version=self.model_version,
                decided_at=now, channel=ticket.channel, created_at=ticket.created_at, customer_id=ticket.customer_id,
                priority=ticket.priority, capacity=rnd.agents[a].capacity, ticket=ticket.model_dump(mode="json")))
        hold_s = self.policy.claim_hold_s
        holds = [TicketHold(ticket_id=r.ticket_id, agent_id=r.agent_id, pulled=pulled,
                            held_until=now + timedelta(seconds=hold_s)) for r in rows] if hold_s > 0 else []
        record = self.ledger.record_round(request_id, request_hash(), response, self.model_version, now, rows,
                                          self._window_start(now), holds=holds)
        if record.existing:  # another replica recorded this request_id first
            if record.request_hash != request_hash():
                raise ConflictError(f"request_id {request_id!r} was already used for a different request")
            return record.response
        return response


def _others_p_resolve(p_resolve: np.ndarray, eligible: np.ndarray, chosen: np.ndarray) -> tuple[list[float], list[float]]:
    """Per placed ticket (rows), the best and the median predicted resolution among the other eligible agents (nan: none)."""
    others = np.where(eligible, p_resolve, np.nan)
    rows = np.arange(len(chosen))
    others[rows, chosen] = np.nan
    ranked = np.sort(others, axis=1)  # nan last
    k = (~np.isnan(ranked)).sum(axis=1)
    some = k > 0
    at = np.where(some, k - 1, 0)
    best = np.where(some, ranked[rows, at], np.nan)
    median = np.where(some, (ranked[rows, at // 2] + ranked[rows, np.where(some, k // 2, 0)]) / 2, np.nan)
    return best.tolist(), median.tolist()


def _why_no_claim(code: str | None, rnd: _Round) -> str:
    """Why claim-next found nothing for the agent (column 0 of the round)."""
    if code != NO_ELIGIBLE_TICKET:
        return "every ticket it could take is better placed with another free agent"
    if rnd.held:
        return "no ticket in the queue this agent may take that another agent has not claimed"
    return "no ticket in the queue this agent may take"


def _in_growth_topic(topics: Sequence[str], profiles: Sequence[AgentProfile]) -> np.ndarray:
    """(n_tickets, n_agents) bool: the ticket's topic is one of the agent's growth topics (per distinct topic)."""
    if not topics or not profiles:
        return np.zeros((len(topics), len(profiles)), dtype=bool)
    distinct = {t: i for i, t in enumerate(dict.fromkeys(topics))}
    per_topic = np.array([[t in p.growth_topics for p in profiles] for t in distinct], dtype=bool)
    return per_topic[np.fromiter(map(distinct.__getitem__, topics), dtype=np.int64, count=len(topics))]


def _ticket_frame(tickets: Sequence[Ticket]) -> pd.DataFrame:
    """A round's tickets as a frame with a UTC `created_at` column."""
    if not tickets:
        return pd.DataFrame(columns=["ticket_id", "created_at", "topic", "language", "priority", "channel",
                                     "customer_tier", "sentiment", "customer_id"])
    frame = pd.DataFrame([t.model_dump() for t in tickets])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def _as_history(rows: Sequence[OutcomeRow]) -> OutcomeHistory:
    """Stored outcomes in the features' history form."""
    if not rows:
        return OutcomeHistory.empty()
    return OutcomeHistory(
        agent=np.array([o.agent_id for o in rows], dtype=object),
        topic=np.array([o.topic for o in rows], dtype=object),
        customer=np.array([o.customer_id for o in rows], dtype=object),
        closed_s=np.array([o.closed_at.timestamp() for o in rows], dtype=float),
        resolved=np.array([float(o.resolved) for o in rows]),
        resid_resolve=np.array([o.resid_resolve or 0.0 for o in rows]),
        resid_log_handle=np.array([o.resid_log_handle or 0.0 for o in rows]),
    )


def _served_pairs(history: OutcomeHistory) -> set[tuple[str, str]]:
    """(agent, customer) pairs with a past outcome, for the "served this customer before" reason."""
    known = np.array([c is not None for c in history.customer], dtype=bool)
    return set(zip(history.agent[known].tolist(), history.customer[known].tolist()))


def _parse(model: type, value: Any, where: str, index: int | None):  # noqa: ANN202 - returns an instance of `model`
    if isinstance(value, model):
        return value
    try:
        return model.model_validate(dict(value))
    except (ValidationError, TypeError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors(include_url=False)[0]
            path = ".".join(str(x) for x in first["loc"])
            column = f"{where}[{index}].{path}" if index is not None else f"{where}.{path}"
            raise InputError("invalid field", column=column, expected=first["msg"],
                             got=first.get("input") if not isinstance(first.get("input"), dict) else None) from None
        raise InputError("not an object", column=where if index is None else f"{where}[{index}]",
                         expected="a JSON object") from None


_TICKET_ID = operator.attrgetter("ticket_id")


def _tickets(values: Sequence[Mapping[str, Any] | Ticket], where: str) -> tuple[list[Ticket], bool]:
    """The tickets of a request, and whether the caller sent them all as Ticket objects (as the HTTP API does)."""
    if all(map(isinstance, values, itertools.repeat(Ticket))):  # as the HTTP API sends them
        return list(values), True
    parsed = [_parse(Ticket, t, where, i) for i, t in enumerate(values)]
    return parsed, all(map(operator.is_, parsed, values))


def _ticket_ids(tickets: Sequence[Ticket]) -> list[str]:
    return list(map(_TICKET_ID, tickets))


def _unique(ids: list[str], where: str, field: str) -> None:
    if len(set(ids)) == len(ids):
        return
    seen, dup = set(), []
    for i in ids:
        if i in seen:
            dup.append(i)
        seen.add(i)
    if dup:
        raise InputError(f"duplicate {field} in {where}", column=f"{where}.{field}", expected="unique ids", got=dup)


def _lazy_hash(payload: dict[str, Any]) -> Callable[[], str]:
    """The request's hash, computed on first call: only a committed or replayed request needs it."""
    return functools.cache(functools.partial(_hash, payload))


def _hash(payload: dict[str, Any]) -> str:
    def default(obj: Any) -> Any:
        if hasattr(obj, "model_dump"):
            return obj.model_dump(mode="json")
        if isinstance(obj, datetime):
            return obj.isoformat()
        return str(obj)

    return hashlib.sha256(json.dumps(payload, default=default, sort_keys=True).encode()).hexdigest()


__all__ = ["ConflictError", "Engine"]
