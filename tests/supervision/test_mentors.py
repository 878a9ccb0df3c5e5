"""Mentor matching: never the mentee, an unavailable or overloaded agent, or one below the proficiency bar."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillmatch.features import OutcomeHistory
from skillmatch.supervision import SupervisionRules, Supervisor
from skillmatch.supervision.mentors import SKILL_COLUMNS, suggest_mentors, topic_skills

from .conftest import NOW

AGENTS = [f"A{i}" for i in range(6)]
TOPICS = ["billing", "technical", "fraud"]


@st.composite
def skills_tables(draw: st.DrawFn) -> pd.DataFrame:
    cells = draw(st.lists(st.tuples(st.sampled_from(AGENTS), st.sampled_from(TOPICS)), unique=True, max_size=18))
    rows = []
    for agent, topic in cells:
        proficiency = draw(st.floats(-0.3, 0.3))
        se = draw(st.floats(0.0, 0.2))
        rows.append({"agent_id": agent, "topic": topic, "outcomes": draw(st.integers(0, 300)),
                     "resolution_rate": draw(st.floats(0.0, 1.0)), "proficiency": proficiency, "se": se,
                     "lower": proficiency - se, "trend": draw(st.one_of(st.just(np.nan), st.floats(-0.2, 0.2))),
                     "recent_n": 0, "earlier_n": 0})
    return pd.DataFrame(rows, columns=list(SKILL_COLUMNS))


@settings(max_examples=200, deadline=None)
@given(skills=skills_tables(), mentee=st.sampled_from(AGENTS), topic=st.sampled_from(TOPICS),
       unavailable=st.sets(st.sampled_from(AGENTS)), overloaded=st.sets(st.sampled_from(AGENTS)),
       min_outcomes=st.integers(1, 200), bar=st.floats(-0.1, 0.2), decline=st.floats(0.0, 0.1),
       per_topic=st.integers(1, 4))
def test_mentors_are_never_the_mentee_unavailable_overloaded_or_below_the_bar(
        skills, mentee, topic, unavailable, overloaded, min_outcomes, bar, decline, per_topic):
    rules = SupervisionRules(mentor_min_outcomes=min_outcomes, mentor_min_proficiency=bar,
                             mentor_max_decline=decline, mentors_per_topic=per_topic)
    found = suggest_mentors(skills, mentee, topic, unavailable, overloaded, rules)
    cells = skills.set_index(["agent_id", "topic"])
    assert len(found) <= per_topic
    assert len({m["agent_id"] for m in found}) == len(found)
    for m in found:
        row = cells.loc[(m["agent_id"], topic)]
        assert m["agent_id"] != mentee
        assert m["agent_id"] not in unavailable and m["agent_id"] not in overloaded
        assert row["proficiency"] >= bar and row["lower"] >= bar and row["outcomes"] >= min_outcomes
        assert not row["trend"] < -decline
    lowers = [m["lower_bound"] for m in found]
    assert lowers == sorted(lowers, reverse=True)


def test_a_clear_mentor_is_found_and_must_beat_the_mentee():
    skills = pd.DataFrame([
        {"agent_id": "A1", "topic": "billing", "outcomes": 200, "resolution_rate": 0.9, "proficiency": 0.12,
         "se": 0.02, "lower": 0.10, "trend": 0.0, "recent_n": 50, "earlier_n": 150},
        {"agent_id": "A2", "topic": "billing", "outcomes": 200, "resolution_rate": 0.9, "proficiency": 0.15,
         "se": 0.02, "lower": 0.13, "trend": np.nan, "recent_n": 5, "earlier_n": 195}], columns=list(SKILL_COLUMNS))
    rules = SupervisionRules()
    assert [m["agent_id"] for m in suggest_mentors(skills, "A9", "billing", set(), set(), rules)] == ["A2", "A1"]
    assert [m["agent_id"] for m in suggest_mentors(skills, "A1", "billing", set(), set(), rules)] == ["A2"]
    assert suggest_mentors(skills, "A2", "billing", set(), set(), rules) == []


def test_topic_skills_are_the_shrunk_residual_means_with_a_trend_only_when_both_sides_have_data():
    day = 86400.0
    now = 100 * day
    n_old, n_new = 30, 12
    history = OutcomeHistory(
        agent=np.array(["A1"] * (n_old + n_new) + ["A2"] * 3, dtype=object),
        topic=np.array(["billing"] * (n_old + n_new + 3), dtype=object),
        customer=np.array([None] * (n_old + n_new + 3), dtype=object),
        closed_s=np.r_[np.full(n_old, now - 20 * day), np.full(n_new, now - 1 * day), np.full(3, now - day)],
        resolved=np.ones(n_old + n_new + 3),
        resid_resolve=np.r_[np.full(n_old, 0.1), np.full(n_new, 0.3), np.full(3, 0.5)],
        resid_log_handle=np.zeros(n_old + n_new + 3))
    skills = topic_skills(history, now, prior_strength=20.0, z=1.0, trend_days=7.0, min_trend_outcomes=10)
    a1 = skills.set_index("agent_id").loc["A1"]
    assert a1["outcomes"] == n_old + n_new
    assert a1["proficiency"] == pytest.approx((n_old * 0.1 + n_new * 0.3) / (n_old + n_new + 20))
    assert a1["trend"] == pytest.approx(n_new * 0.3 / (n_new + 20) - n_old * 0.1 / (n_old + 20))
    assert a1["lower"] < a1["proficiency"]
    assert np.isnan(skills.set_index("agent_id").loc["A2", "trend"])


def test_an_agent_marked_unavailable_is_no_longer_suggested(engine):
    supervisor = Supervisor(engine, SupervisionRules(mentor_min_outcomes=20, mentor_min_proficiency=0.0))
    suggestions = {a: supervisor.mentors(a, NOW) for a, p in engine.model.roster.profiles.items() if p.growth_topics}
    mentee, topic, mentor = next((a, t, ms[0]["agent_id"]) for a, by_topic in suggestions.items()
                                 for t, ms in by_topic.items() if ms)
    supervisor.mark_unavailable(mentor, NOW - timedelta(hours=1), NOW + timedelta(hours=2), "mentoring")
    after = [m["agent_id"] for m in supervisor.mentors(mentee, NOW)[topic]]
    assert mentor not in after and mentee not in after
    later = [m["agent_id"] for m in supervisor.mentors(mentee, NOW + timedelta(hours=3))[topic]]
    assert mentor in later
