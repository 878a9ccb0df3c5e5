"""Time outside the queue: the available share of a window, and the engine's pro-rated quota and fair share."""
from __future__ import annotations

from datetime import timedelta

import pytest

from skillmatch.errors import InputError
from skillmatch.scoring.availability import available_share, prorated_quota
from skillmatch.supervision import Supervisor, agent_view

from .conftest import NOW

SHARES = {
    "no period": ([], 1.0),
    "half the window": ([(0.0, 50.0)], 0.5),
    "overlapping periods count once": ([(10.0, 40.0), (30.0, 60.0)], 0.5),
    "outside the window": ([(-50.0, 0.0), (100.0, 120.0)], 1.0),
    "longer than the window": ([(-10.0, 200.0)], 0.0),
    "two apart": ([(0.0, 10.0), (90.0, 110.0)], 0.8),
}


@pytest.mark.parametrize(("periods", "share"), SHARES.values(), ids=SHARES)
def test_available_share(periods, share):
    assert available_share(periods, 0.0, 100.0) == pytest.approx(share)


def test_an_empty_window_is_refused():
    with pytest.raises(ValueError, match="ends after it starts"):
        available_share([], 10.0, 10.0)


@pytest.mark.parametrize(("quota", "share", "expected"), [(4, 1.0, 4), (4, 0.5, 2), (4, 0.1, 0), (5, 0.5, 3),
                                                          (4, 0.0, 0)])
def test_prorated_quota(quota, share, expected):
    assert prorated_quota(quota, share) == expected


def _window(engine):
    start = engine._window_start(NOW)
    return start, start + timedelta(hours=engine.policy.window_hours)


def test_marking_half_the_window_halves_the_growth_quota_in_the_profile(engine, two_weeks):
    agent = two_weeks[0].agents["agent_id"].iloc[0]
    before = engine.agent_profile(agent, NOW)
    start, _ = _window(engine)
    answer = Supervisor(engine).mark_unavailable(agent, start, start + timedelta(hours=12), "training")
    after = engine.agent_profile(agent, NOW)
    assert answer["available_share_of_window"] == pytest.approx(0.5)
    assert before["window"]["available_share"] == 1.0 and after["window"]["available_share"] == pytest.approx(0.5)
    assert after["growth"]["quota_per_window"] == before["growth"]["quota_per_window"] // 2


def test_an_agent_out_of_the_queue_all_window_gets_no_stretch_ticket(engine, logged, two_weeks):
    roster = two_weeks[0].agents
    row = roster[roster["growth_topics"].fillna("") != ""].iloc[0]
    topic = row["growth_topics"].split(";")[0]
    source = logged[(logged["topic"] == topic) & (logged["customer_tier"] == "standard")
                    & (logged["sentiment"] > 0) & (logged["priority"] >= 3)
                    & (logged["language"].isin(row["languages"].split(";")))].iloc[0]
    ticket = {"ticket_id": "S1", "created_at": NOW.isoformat(), "topic": topic, "channel": source["channel"],
              "language": source["language"], "priority": int(source["priority"]), "customer_tier": "standard",
              "sentiment": float(source["sentiment"]), "message_words": int(source["message_words"])}
    agents = [{"agent_id": row["agent_id"], "free_slots": 1}]
    free = engine.assign([ticket], agents, now=NOW, commit=False)
    assert free["assignments"][0]["stretch"] and free["assignments"][0]["components"]["growth"] > 0
    start, end = _window(engine)
    Supervisor(engine).mark_unavailable(row["agent_id"], start, end, "campaign")
    away = engine.assign([ticket], agents, now=NOW, commit=False)
    assert not away["assignments"][0]["stretch"] and away["assignments"][0]["components"]["growth"] == 0


def test_the_fair_share_of_difficulty_is_pro_rated_and_time_away_is_said_in_words(engine, logged, two_weeks):
    from ..engine.conftest import agents_from, tickets_from

    agents = agents_from(two_weeks, 4, slots=3)
    engine.assign(tickets_from(logged, 12), agents, now=NOW, commit=True)
    supervisor = Supervisor(engine)
    even = {a["agent_id"]: agent_view(supervisor, a["agent_id"], NOW)["difficulty"]["fair_share_sum"]
            for a in agents}
    start, _ = _window(engine)
    away = agents[0]["agent_id"]
    supervisor.mark_unavailable(away, start, start + timedelta(hours=12), "training")
    view = agent_view(supervisor, away, NOW)
    assert view["difficulty"]["fair_share_sum"] < even[away]
    assert any("Out of the queue 12.0 h" in s and "training" in s for s in view["summary"])
    others = {a["agent_id"]: agent_view(supervisor, a["agent_id"], NOW)["difficulty"]["fair_share_sum"]
              for a in agents[1:]}
    assert sum(others.values()) + view["difficulty"]["fair_share_sum"] == pytest.approx(sum(even.values()))


def test_bad_periods_are_refused(engine, two_weeks):
    supervisor = Supervisor(engine)
    agent = two_weeks[0].agents["agent_id"].iloc[0]
    with pytest.raises(InputError, match="must end after it starts"):
        supervisor.mark_unavailable(agent, NOW, NOW - timedelta(hours=1), "training")
    with pytest.raises(InputError, match="a reason is required"):
        supervisor.mark_unavailable(agent, NOW, NOW + timedelta(hours=1), " ")
    with pytest.raises(KeyError):
        supervisor.mark_unavailable("nobody", NOW, NOW + timedelta(hours=1), "training")
