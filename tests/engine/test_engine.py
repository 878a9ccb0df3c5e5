"""What routing services rely on: valid, explainable, idempotent rounds that respect every hard constraint."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from skillmatch.config import Guardrails, PolicyConfig
from skillmatch.engine import ConflictError, Engine
from skillmatch.errors import InputError
from skillmatch.ledger import LedgerError
from skillmatch.models import factored
from skillmatch.records import Agent, Ticket
from skillmatch.records import Weights as RecordWeights

from .conftest import NOW, agents_from, tickets_from


def test_a_round_respects_slots_and_eligibility_and_explains_itself(engine, logged, two_weeks):
    tickets, agents = tickets_from(logged, 40), agents_from(two_weeks, 12, slots=2)
    result = engine.assign(tickets, agents, now=NOW, commit=False)
    assert result["model_version"] == engine.model_version
    placed = result["assignments"]
    assert len(placed) + len(result["unassigned"]) == 40
    per_agent = {}
    roster = two_weeks[0].agents.set_index("agent_id")
    by_id = {t["ticket_id"]: t for t in tickets}
    for a in placed:
        per_agent[a["agent_id"]] = per_agent.get(a["agent_id"], 0) + 1
        ticket = by_id[a["ticket_id"]]
        assert ticket["language"] in roster.loc[a["agent_id"], "languages"].split(";")
        if ticket["topic"] == "fraud":
            assert "fraud" in str(roster.loc[a["agent_id"], "certifications"])
        assert set(a["components"]) == {"match", "fairness", "growth", "urgency"}
        assert a["score"] == pytest.approx(sum(a["components"].values()), abs=1e-3)
        assert 0 <= a["predicted"]["p_resolve"] <= 1 and a["predicted"]["handle_time_s"] > 0
        assert 1 <= len(a["reasons"]) <= 4
    assert max(per_agent.values()) <= 2
    assert len({a["ticket_id"] for a in placed}) == len(placed)
    assert len(placed) <= 24  # 12 agents x 2 free slots
    assert all(u["reason"] for u in result["unassigned"])
    if len(placed) < 24:  # a free slot stays empty only when no waiting ticket may go to that agent
        free = {a["agent_id"] for a in agents} - {a for a, n in per_agent.items() if n >= 2}
        waiting = [by_id[u["ticket_id"]] for u in result["unassigned"]]
        for agent_id in free:
            speaks = roster.loc[agent_id, "languages"].split(";")
            certified = str(roster.loc[agent_id, "certifications"])
            assert not any(t["language"] in speaks and (t["topic"] != "fraud" or "fraud" in certified)
                           for t in waiting), agent_id


@pytest.mark.parametrize(
    ("language", "slots", "n_tickets", "expected"),
    [("de", 1, 1, "no free agent speaks de"),
     ("en", 0, 1, "all eligible agents are full"),
     ("en", 1, 2, "less urgent than the tickets placed")],
    ids=["nobody-speaks-it", "everyone-full", "outranked"],
)
def test_a_ticket_that_waits_says_why(engine, logged, language, slots, n_tickets, expected):
    tickets = tickets_from(logged[logged["topic"] != "fraud"], n_tickets)
    for t in tickets:
        t["language"] = language
    agent = {"agent_id": "solo", "languages": ["en"], "free_slots": slots}
    result = engine.assign(tickets, [agent], now=NOW, commit=False)
    assert [u["reason"] for u in result["unassigned"]] == [expected]


def test_a_ticket_past_its_target_outranks_a_fresh_one_of_equal_match(engine, logged):
    fresh = tickets_from(logged[logged["channel"] == "chat"], 1, age_s=10)[0]
    late = {**fresh, "ticket_id": "late", "created_at": (NOW - timedelta(seconds=600)).isoformat()}
    result = engine.assign([fresh, late], [{"agent_id": "solo", "languages": [fresh["language"]], "free_slots": 1}],
                           now=NOW, commit=False)
    assert [a["ticket_id"] for a in result["assignments"]] == ["late"]
    assert "waiting past its answer-time target" in result["assignments"][0]["reasons"]


def test_a_repeated_request_id_returns_the_first_answer_and_records_nothing_twice(engine, logged, two_weeks):
    tickets, agents = tickets_from(logged, 10), agents_from(two_weeks, 5)
    first = engine.assign(tickets, agents, now=NOW, request_id="r-1")
    counters = engine.ledger.fair_share(engine._window_start(NOW))
    again = engine.assign(tickets, agents, now=NOW, request_id="r-1")
    assert again == first
    assert engine.ledger.fair_share(engine._window_start(NOW)) == counters
    assert sum(c.n_assigned for c in counters.values()) == len(first["assignments"])
    with pytest.raises(ConflictError, match="r-1"):
        engine.assign(tickets[:5], agents, now=NOW, request_id="r-1")


def test_no_protected_customer_is_a_stretch_and_the_loss_bound_holds(engine, logged, two_weeks):
    growth_topics = ["technical", "billing", "returns", "account", "shipping"]
    agents = [{"agent_id": a["agent_id"], "free_slots": 2, "growth_topics": growth_topics}
              for a in agents_from(two_weeks, 15)]
    stretches = 0
    for start in range(0, 400, 40):
        tickets = tickets_from(logged, 40, start=start)
        result = engine.assign(tickets, agents, now=NOW, commit=False, weights={"growth": 3.0})
        rnd = engine._score([Ticket.model_validate(t) for t in tickets], [Agent.model_validate(a) for a in agents], NOW,
                            RecordWeights(growth=3.0))
        by_id = {t["ticket_id"]: (i, t) for i, t in enumerate(tickets)}
        for a in result["assignments"]:
            if not a["stretch"]:
                continue
            stretches += 1
            i, t = by_id[a["ticket_id"]]
            assert t["customer_tier"] != "vip" and t["priority"] > 1 and t["sentiment"] >= -0.5
            best = np.nanmax(np.where(rnd.eligible[i], rnd.predicted["p_resolve"][i], np.nan))
            assert a["predicted"]["p_resolve"] >= best - engine.policy.guardrails.max_loss - 1e-4
    assert stretches > 0


def test_the_growth_quota_per_window_is_never_exceeded(trained, tmp_path, logged, two_weeks):
    rails = Guardrails(quota_per_window=2, max_loss=1.0, protected_tiers=[], protected_sentiment_below=-1.0,
                       protected_priority_at_most=0)
    eng = Engine.load(trained[0], database_url=f"sqlite:///{tmp_path / 'quota.db'}",
                      policy=PolicyConfig(restricted_topics=["fraud"], guardrails=rails))
    english = logged[(logged["language"] == "en") & (logged["topic"] != "fraud")]
    agent = {"agent_id": "grower", "languages": ["en"], "free_slots": 3,
             "growth_topics": ["billing", "returns", "technical", "account", "shipping"]}
    try:
        stretches = [sum(a["stretch"] for a in eng.assign(tickets_from(english, 6, start=6 * r), [agent], now=NOW,
                                                           weights={"growth": 5.0})["assignments"])
                     for r in range(3)]
    finally:
        eng.close()
    assert stretches == [2, 0, 0]


def test_claim_next_leaves_a_ticket_to_the_agent_much_better_suited(engine, logged):
    tickets = tickets_from(logged[(logged["topic"] != "fraud") & (logged["language"] == "en")], 2)
    tickets[1]["language"] = "es"
    me = {"agent_id": "me", "languages": ["en", "es"]}
    other = {"agent_id": "other", "languages": ["en"], "free_slots": 1}
    result = engine.next(me, tickets, others=[other], now=NOW, commit=False)
    # "other" can only take the English ticket; taking it would leave the Spanish one waiting.
    assert result["assignment"]["ticket_id"] == tickets[1]["ticket_id"]
    alone = engine.next(me, tickets[:1], now=NOW, commit=False)
    assert alone["assignment"]["ticket_id"] == tickets[0]["ticket_id"]


def test_outcomes_are_idempotent_and_feed_the_live_history(engine, logged):
    rows = logged.iloc[:20].copy()
    rows["ticket_id"] = "O" + rows["ticket_id"]
    rows["agent_id"] = "A001"
    payload = rows.drop(columns=["message_words"]).astype(object).where(rows.notna(), None).to_dict("records")
    before = int((engine.model.history.agent == "A001").sum())
    first = engine.record_outcomes(payload)
    second = engine.record_outcomes(payload)
    assert (first["inserted"], second["inserted"], second["duplicates"]) == (20, 0, 20)
    assert int((engine.model.history.agent == "A001").sum()) == before + 20


def test_bad_input_names_the_field(engine, logged):
    ticket = tickets_from(logged, 1)[0]
    with pytest.raises(InputError, match=r"tickets\[0\]\.priority"):
        engine.assign([{**ticket, "priority": 9}], [{"agent_id": "x"}], now=NOW)
    with pytest.raises(InputError, match="duplicate ticket_id"):
        engine.assign([ticket, ticket], [{"agent_id": "x"}], now=NOW)


def test_profile_shows_proficiency_fair_share_and_growth(engine, two_weeks):
    agent_id = two_weeks[0].agents["agent_id"].iloc[0]
    profile = engine.agent_profile(agent_id, now=NOW)
    assert profile["agent_id"] == agent_id and profile["topics"]
    assert {"proficiency", "trend_14d", "outcomes"} <= set(profile["topics"][0])
    assert "fair_share_mean_difficulty" in profile["window"]
    with pytest.raises(KeyError):
        engine.agent_profile("nobody-here", now=NOW)


def test_the_contract_entry_point_is_importable_from_the_package(trained, tmp_path):
    from skillmatch import Engine as PublicEngine

    assert PublicEngine is Engine
    engine = PublicEngine.load(trained[0].parent / trained[0].name, database_url=f"sqlite:///{tmp_path / 'l.db'}")
    assert engine.model_version == trained[2]["version"]
    engine.close()


@pytest.mark.parametrize("restricted", [False, True], ids=["open-topic", "restricted-topic"])
def test_warm_up_builds_what_the_first_round_needs_and_records_nothing(engine, restricted):
    if restricted:  # the made-up pair is scored even when the policy restricts the most common topic
        engine.policy = engine.policy.model_copy(update={"restricted_topics": engine.model.builder.vocab_["topic"]})
    assert "_index" not in engine.model.__dict__
    engine.warm_up()
    assert "_index" in engine.model.__dict__
    assert engine.model.agent_fit.__dict__.get("_factored_forest") is not None or not factored.AVAILABLE
    assert engine.ledger.fair_share(engine._window_start(NOW)) == {}
    assert engine.ledger.outcome_history() == []


@pytest.fixture()
def successor(trained, tmp_path, policy):
    """A second engine on the same model and ledger: the one a hot reload swaps in."""
    eng = Engine.load(trained[0], database_url=f"sqlite:///{tmp_path / 'ledger.db'}", policy=policy)
    yield eng
    eng.close()


def _fresh_tickets(engine, monkeypatch) -> list[int]:
    """Spy: the number of tickets each round of `engine` computes afresh (instead of taking back)."""
    seen: list[int] = []
    compute = engine.model._fresh_round

    def counting(tickets, created_s, *args, **kwargs):
        seen.append(len(created_s))
        return compute(tickets, created_s, *args, **kwargs)

    monkeypatch.setattr(engine.model, "_fresh_round", counting)
    return seen


@pytest.mark.parametrize("replayed", [True, False], ids=["replaying-the-last-rounds", "made-up-pair-only"])
def test_warm_up_replays_the_last_rounds_served_so_that_the_next_claim_computes_nothing(
        engine, successor, logged, two_weeks, monkeypatch, replayed):
    queue = [Ticket.model_validate(t) for t in tickets_from(logged, 30)]  # the same objects each time, as the API
    crew = agents_from(two_weeks, 6, slots=1)
    engine.assign(queue[:12], crew, now=NOW, commit=False)
    answered = engine.next(crew[0], queue, others=crew[1:], now=NOW, commit=False)
    assert [call for call, _ in engine.last_served()] == ["assign", "next"]
    computed = _fresh_tickets(successor, monkeypatch)

    successor.warm_up(engine.last_served() if replayed else ())
    assert successor.ledger.fair_share(successor._window_start(NOW)) == {}  # nothing was recorded
    computed.clear()
    assert successor.next(crew[0], queue, others=crew[1:], now=NOW, commit=False) == answered
    assert computed == ([] if replayed else [30])


@pytest.mark.parametrize(("error", "raised", "message"), [
    (ValueError("a kernel blew up"), RuntimeError, "the model failed on the last next round served: a kernel blew up"),
    (LedgerError("the ledger is unavailable"), LedgerError, "the ledger is unavailable"),
], ids=["the-model-fails", "the-ledger-is-down"])
def test_a_replayed_round_that_fails_names_the_call_unless_the_ledger_is_down(engine, successor, logged, two_weeks,
                                                                            monkeypatch, error, raised, message):
    crew = agents_from(two_weeks, 3, slots=1)
    engine.next(crew[0], tickets_from(logged, 5), others=crew[1:], now=NOW, commit=False)

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(successor, "next", broken)
    with pytest.raises(raised, match=message):
        successor.warm_up(engine.last_served())
