"""The indicators on a queue small enough to work out by hand (the oracle is the comment above each number).

Two agents from 00:00 to 00:30 (minutes below): A1 speaks en, A2 speaks en and es, capacity 1 each.
Four tickets queued at minute 1 with predicted difficulty T1 0.1 (en), T2 0.5 (en), T3 0.2 (es), T4 0.9 (en).
  2  A1 views T4, claims T1; A2 claims T4        4  A1 hands T1 back        5  A1 claims T2
 10  A2 closes T4; A1 closes T2                 11  A2 claims T1           20  A2 closes T1
 25  A2 claims T3                               28  A2 closes T3           30  both go offline
"""
from __future__ import annotations

import pandas as pd
import pytest

from skillmatch.audit import AuditSettings, TicketDifficulty, run_audit
from skillmatch.errors import InputError
from skillmatch.logs import Logs, validate_agents, validate_events, validate_interactions

DIFFICULTY = {"T1": 0.1, "T2": 0.5, "T3": 0.2, "T4": 0.9}
LANGUAGE = {"T1": "en", "T2": "en", "T3": "es", "T4": "en"}
HANDLER = {"T1": "A2", "T2": "A1", "T3": "A2", "T4": "A2"}
EVENTS = [  # (minute, event, ticket, agent)
    (0, "agent_online", "", "A1"), (0, "agent_online", "", "A2"),
    (1, "queued", "T1", ""), (1, "queued", "T2", ""), (1, "queued", "T3", ""), (1, "queued", "T4", ""),
    (2, "viewed", "T4", "A1"), (2, "claimed", "T1", "A1"), (2, "claimed", "T4", "A2"),
    (4, "unassigned", "T1", "A1"), (5, "claimed", "T2", "A1"),
    (10, "closed", "T4", "A2"), (10, "closed", "T2", "A1"), (11, "claimed", "T1", "A2"),
    (20, "closed", "T1", "A2"), (25, "claimed", "T3", "A2"), (28, "closed", "T3", "A2"),
    (30, "agent_offline", "", "A1"), (30, "agent_offline", "", "A2"),
]
START = pd.Timestamp("2026-01-05T00:00:00Z")


def _ts(minute: float) -> str:
    return (START + pd.Timedelta(minutes=minute)).isoformat()


def _logs(events: list[tuple[float, str, str, str]]) -> Logs:
    interactions = pd.DataFrame([{"ticket_id": t, "created_at": _ts(1), "agent_id": HANDLER[t], "topic": "billing",
                                  "language": LANGUAGE[t], "handle_time_s": "600", "resolved": "true"}
                                 for t in DIFFICULTY])
    agents = pd.DataFrame([{"agent_id": "A1", "languages": "en", "capacity": "1", "hire_date": "2020-01-01"},
                           {"agent_id": "A2", "languages": "en;es", "capacity": "1", "hire_date": "2020-01-01"}])
    frame = pd.DataFrame([{"ts": _ts(m), "event": e, "ticket_id": t or None, "agent_id": a or None}
                          for m, e, t, a in events])
    return Logs(validate_interactions(interactions), validate_agents(agents), validate_events(frame), {})


DIFF = TicketDifficulty(pd.DataFrame({"difficulty": DIFFICULTY, "expected_handle_s": 300.0}), "given")


def _audit(events: list[tuple[float, str, str, str]], grace_s: float = 0.0) -> pd.DataFrame:
    return run_audit(_logs(events), DIFF, AuditSettings(grace_s=grace_s)).agents.set_index("agent_id")


def test_pick_percentiles_match_the_hand_count() -> None:
    claims = run_audit(_logs(EVENTS), DIFF, AuditSettings(grace_s=0.0)).claims
    got = list(zip(claims["agent_id"], claims["ticket_id"], claims["pool_size"], claims["percentile"].round(4)))
    assert got == [
        ("A1", "T1", 3, round(0.5 / 3, 4)),  # pool T1 T2 T4: the easiest
        ("A2", "T4", 3, round(2.5 / 3, 4)),  # pool T2 T3 T4 (T1 went to A1 at that instant): the hardest
        ("A1", "T2", 2, 0.75),  # pool T1 (handed back) T2: the harder
        ("A2", "T1", 2, 0.25),  # pool T1 T3: the easier
        ("A2", "T3", 1, 0.5),  # alone: no choice, not informative
    ]


def test_indicators_match_the_hand_count() -> None:
    frame = _audit(EVENTS)
    a1, a2 = frame.loc["A1"], frame.loc["A2"]
    assert a1["pick_easiness"] == pytest.approx((5 / 6 + 1 / 4) / 2)
    assert a2["pick_easiness"] == pytest.approx((1 / 6 + 3 / 4) / 2)
    assert (a1["n_picks"], a1["n_informative_picks"], a2["n_picks"], a2["n_informative_picks"]) == (2, 2, 3, 2)
    assert (a1["churn_rate"], a2["churn_rate"]) == (0.5, 0.0)
    assert a1["handled_ratio"] == pytest.approx(1 / 3)  # engaged T1 T2 T4 (viewed), closed T2
    assert a2["handled_ratio"] == 1.0
    # A1 free 0-2, 4-5, 10-30 while en work waits 1-11: 3 min of 30; A2 free 0-2, 10-11, 20-25, 28-30
    # while en/es work waits 1-25: 7 min of 30
    assert a1["idle_with_work_share"] == pytest.approx(3 / 30)
    assert a2["idle_with_work_share"] == pytest.approx(7 / 30)
    # hard: top quartile of difficulty, T4 only; fair share among the tickets each may take
    assert (a1["hard_share"], a2["hard_share"]) == (0.0, pytest.approx(1 / 3))
    assert (a1["fair_hard_share"], a2["fair_hard_share"]) == (pytest.approx(1 / 3), 0.25)
    assert a1["handle_time_ratio"] == pytest.approx(2.0)


def test_the_grace_period_is_not_idle_time() -> None:
    frame = _audit(EVENTS, grace_s=60.0)
    assert frame.loc["A1", "idle_with_work_share"] == pytest.approx(1 / 30)  # 1-2 only; 5-5 and 11-30 hold no work
    assert frame.loc["A2", "idle_with_work_share"] == pytest.approx(5 / 30)  # 1-2, 21-25


def test_without_views_engaged_means_claimed() -> None:
    frame = _audit([e for e in EVENTS if e[1] != "viewed"])
    assert frame.loc["A1", "handled_ratio"] == 0.5
    assert frame.loc["A1", "pick_easiness"] == pytest.approx((5 / 6 + 1 / 4) / 2)


@pytest.mark.parametrize("variant", ["assigned instead of claimed", "no queued events", "shuffled rows"])
def test_the_same_queue_logged_differently_gives_the_same_indicators(variant: str) -> None:
    if variant == "assigned instead of claimed":
        events = [(m, "assigned" if e == "claimed" else e, t, a) for m, e, t, a in EVENTS]
    elif variant == "no queued events":  # created_at (minute 1) stands in for the queue entry
        events = [e for e in EVENTS if e[1] != "queued"]
    else:  # the file in reverse time order: the audit sorts by time, keeping the order within an instant
        events = sorted(EVENTS, key=lambda e: (-e[0], e[1]))
    columns = ["pick_easiness", "churn_rate", "handled_ratio", "idle_with_work_share", "hard_share"]
    pd.testing.assert_frame_equal(_audit(events)[columns], _audit(EVENTS)[columns])


def test_logs_without_picks_are_refused() -> None:
    events = [e for e in EVENTS if e[1] not in ("claimed", "assigned")]
    with pytest.raises(InputError, match="no claimed or assigned events"):
        _audit(events)


def test_events_about_other_tickets_are_refused() -> None:
    events = [(m, e, t.replace("T", "X"), a) for m, e, t, a in EVENTS]
    with pytest.raises(InputError, match="share no ticket_id"):
        _audit(events)


def test_without_presence_events_idle_time_is_not_measured_and_left_out_of_the_index() -> None:
    result = run_audit(_logs([e for e in EVENTS if not e[1].startswith("agent_")]), DIFF, AuditSettings(grace_s=0.0))
    frame = result.agents.set_index("agent_id")
    assert frame["idle_with_work_share"].isna().all()
    assert frame["z_idle_with_work_share"].eq(0.0).all()
    assert frame["index"].notna().all() and frame["pick_easiness"].notna().all()
    assert frame["notes"].str.contains("idle time not measured").all()
    assert not result.center["has_presence"]
