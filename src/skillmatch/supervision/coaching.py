"""The agent view for coaching: proficiency and its trend, QA scores, difficulty against the fair share,
growth and mentors, and the same in plain sentences (quality and resolution, never speed)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from skillmatch.ledger import OutcomeRow
from skillmatch.records import moment
from skillmatch.supervision.board import Board
from skillmatch.supervision.supervisor import Supervisor

MIN_TOPIC_OUTCOMES = 5
"""Topics with fewer outcomes are listed but not described (too little to say anything)."""
STEADY_POINTS = 1.0
"""A change below this many percentage points is "steady"."""


def agent_view(supervisor: Supervisor, agent_id: str, now: datetime | str | None = None,
               profile: dict[str, Any] | None = None, board: Board | None = None) -> dict[str, Any]:
    """The engine's agent profile plus QA trend, fair share in difficulty, time away, queue, mentors and a summary."""
    engine = supervisor.engine
    now_dt = moment(now) if now is not None else datetime.now(timezone.utc)
    profile = dict(profile if profile is not None else engine.agent_profile(agent_id, now_dt))
    board = board or supervisor.board(now_dt)
    window_start = datetime.fromisoformat(profile["window"]["start"])
    window_stop = window_start + timedelta(hours=engine.policy.window_hours)
    days = supervisor.rules.trend_days
    qa = qa_trend(engine.ledger.outcome_history(now_dt - timedelta(days=2 * days), agent_id), now_dt, days)
    carried, fair = fair_difficulty(supervisor, agent_id, now_dt)
    skills = supervisor.skills(now_dt)
    mine = skills[skills["agent_id"] == agent_id].set_index("topic")
    profile["topics"] = [{**t, "trend": _trend_value(mine, t["topic"]), "trend_days": days} for t in profile["topics"]]
    flag = board.overload.get(agent_id)
    risks = board.risks.get(agent_id)
    waiting = [r for r in risks.tickets if r.state == "waiting"] if risks else []
    profile.update({
        "qa": qa,
        "difficulty": {"carried_sum": round(carried, 3),
                       "fair_share_sum": None if fair is None else round(fair, 3)},
        "unavailable": supervisor.unavailable(agent_id, window_start, window_stop),
        "queue": {"open": board.open_count(agent_id), "waiting": len(waiting),
                  "at_risk": sum(1 for r in waiting if r.p_miss >= supervisor.rules.risk_threshold and not r.breached),
                  "late": sum(1 for r in waiting if r.breached),
                  "overloaded": flag is not None, "reasons": list(flag.reasons) if flag else []},
        "mentors": supervisor.mentors(agent_id, now_dt, board),
    })
    profile["summary"] = summary(profile)
    return profile


def qa_trend(rows: Sequence[OutcomeRow], now: datetime, days: float) -> dict[str, Any] | None:
    """Mean QA score over the last `days` and the `days` before, with counts; None without QA scores."""
    scored = [(o.closed_at, float(o.qa_score)) for o in rows if o.qa_score is not None and o.closed_at <= now]
    if not scored:
        return None
    cut = now - timedelta(days=days)
    recent = [q for t, q in scored if t >= cut]
    earlier = [q for t, q in scored if t < cut]
    return {"recent_mean": round(float(np.mean(recent)), 2) if recent else None, "recent_n": len(recent),
            "earlier_mean": round(float(np.mean(earlier)), 2) if earlier else None, "earlier_n": len(earlier),
            "days": days}


def fair_difficulty(supervisor: Supervisor, agent_id: str, now: datetime) -> tuple[float, float | None]:
    """(difficulty carried in the window, its fair share): the total of the agents who took work in the window,
    split by capacity x share of the window available; no fair share (None) for an agent who took none."""
    engine = supervisor.engine
    counters = engine.ledger.fair_share(engine._window_start(now))
    if agent_id not in counters:
        return 0.0, None
    agents = sorted(counters)
    shares = engine.available_shares(agents, now)
    profiles = engine.model.roster.profiles
    weight = np.array([(profiles[a].capacity if a in profiles else 1) for a in agents], dtype=float) * shares
    total = sum(c.difficulty_sum for c in counters.values())
    mine = counters[agent_id].difficulty_sum
    fair = total * weight[agents.index(agent_id)] / weight.sum() if weight.sum() > 0 else 0.0
    return float(mine), float(fair)


def _trend_value(skills: Any, topic: str) -> float | None:
    """The measured trend of the agent in the topic (None: too few outcomes on one side of the cut)."""
    if topic not in skills.index or np.isnan(skills.loc[topic, "trend"]):
        return None
    return round(float(skills.loc[topic, "trend"]), 4)


def summary(view: dict[str, Any]) -> list[str]:
    """Plain sentences about quality, difficulty, growth and workload (handle time is never the measure)."""
    out = []
    topics = sorted((t for t in view["topics"] if t["outcomes"] >= MIN_TOPIC_OUTCOMES), key=lambda t: -t["outcomes"])
    for t in topics[:6]:
        out.append(f"{t['topic']}: {_level(t['proficiency'])} ({t['outcomes']} tickets), "
                   f"{_trend(t['trend'], t['trend_days'])}.")
    qa = view.get("qa")
    if qa and qa["recent_mean"] is not None:
        sentence = f"QA reviews: {qa['recent_mean']:.1f} of 5 on average over the last {qa['days']:g} days " \
                   f"({qa['recent_n']} reviews)"
        if qa["earlier_mean"] is not None:
            change = qa["recent_mean"] - qa["earlier_mean"]
            direction = "up" if change > 0.05 else "down" if change < -0.05 else "about the same as"
            sentence += f", {direction}{' from' if direction != 'about the same as' else ''} " \
                        f"{qa['earlier_mean']:.1f} before"
        out.append(sentence + ".")
    out.extend(_difficulty_sentences(view))
    out.extend(_growth_sentences(view))
    queue = view.get("queue") or {}
    if queue.get("overloaded"):
        out.append(f"Queue now: {'; '.join(queue['reasons'])}.")
    return out


def _difficulty_sentences(view: dict[str, Any]) -> list[str]:
    window, difficulty = view["window"], view.get("difficulty") or {}
    out = []
    if window["tickets"]:
        mean, fair = window["mean_difficulty"], window["fair_share_mean_difficulty"]
        mix = ("a harder mix than the fair share" if mean > fair * 1.1 else
               "an easier mix than the fair share" if mean < fair * 0.9 else "about the fair share of hard work")
        out.append(f"This window: {window['tickets']} tickets of mean difficulty {mean:.2f} against the center's "
                   f"{fair:.2f}, {mix}; {difficulty.get('carried_sum', 0):.1f} units of difficulty carried against a "
                   f"fair share of {difficulty.get('fair_share_sum') or 0:.1f}.")
    else:
        out.append("No tickets routed to this agent in the current window yet.")
    share = window.get("available_share", 1.0)
    if share < 1.0:
        reasons = sorted({p["reason"] for p in view.get("unavailable", [])})
        away_h = (1.0 - share) * window["hours"]
        out.append(f"Out of the queue {away_h:.1f} h of this window ({', '.join(reasons) or 'marked unavailable'}): "
                   f"the fair share and the growth quota are pro-rated to {share:.0%}.")
    return out


def _growth_sentences(view: dict[str, Any]) -> list[str]:
    growth = view["growth"]
    by_topic = {t["topic"]: t for t in view["topics"]}
    out = []
    for topic in growth["topics"]:
        t = by_topic.get(topic, {"outcomes": 0, "proficiency": 0.0, "trend": None, "trend_days": 7.0})
        used = growth["stretch_tickets_in_window"].get(topic, 0)
        stretch = f"{used} stretch ticket{'s' if used != 1 else ''} this window"
        sentence = (f"Growth topic {topic}: {t['outcomes']} tickets so far, {_level(t['proficiency'])}, "
                    f"{_trend(t['trend'], t['trend_days'])}; {stretch} "
                    f"(quota {growth['quota_per_window']} across growth topics).")
        mentors = (view.get("mentors") or {}).get(topic) or []
        sentence += (f" Suggested mentors: {', '.join(m['agent_id'] for m in mentors)}." if mentors
                     else " No available mentor meets the bar right now.")
        out.append(sentence)
    return out


def _level(proficiency: float) -> str:
    points = 100.0 * proficiency
    if abs(points) < STEADY_POINTS:
        return "resolves about as often as a typical agent on the same tickets"
    return f"resolves {abs(points):.0f} points {'more' if points > 0 else 'less'} often than a typical agent " \
           "on the same tickets"


def _trend(trend: float | None, days: float) -> str:
    if trend is None:
        return "no trend yet (too few tickets before or within the last " + f"{days:g} days)"
    points = 100.0 * trend
    if abs(points) < STEADY_POINTS:
        return f"steady (the last {days:g} days against before)"
    direction = "improving" if points > 0 else "slipping"
    return f"{direction} ({points:+.0f} points in the last {days:g} days against before)"
