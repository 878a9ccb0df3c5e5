"""Claimed work is locked: two agents never take the same ticket, even when their claim-next requests race."""
from __future__ import annotations

import threading
from datetime import timedelta

from skillmatch.config import PolicyConfig
from skillmatch.engine import Engine

from .conftest import NOW, agents_from, tickets_from


def _claim(engine: Engine, agent: dict, queue: list[dict], now=NOW) -> str | None:
    answer = engine.next(agent, queue, now=now, commit=True)
    return answer["assignment"]["ticket_id"] if answer["assignment"] else None


def test_a_claimed_ticket_is_not_offered_to_the_next_agent(engine, logged, two_weeks):
    queue = tickets_from(logged, 6)
    first, second = agents_from(two_weeks, 2, slots=1)
    mine = _claim(engine, first, queue)
    assert mine is not None
    theirs = _claim(engine, second, queue)
    assert theirs is not None and theirs != mine
    only_mine = [t for t in queue if t["ticket_id"] == mine]
    answer = engine.next(second, only_mine, now=NOW, commit=False)
    assert answer["assignment"] is None and "claimed" in answer["reason"]


def test_a_round_leaves_claimed_tickets_waiting_and_says_who_holds_them(engine, logged, two_weeks):
    queue = tickets_from(logged, 4)
    claimer, *others = agents_from(two_weeks, 4, slots=2)
    mine = _claim(engine, claimer, queue)
    result = engine.assign(queue, others, now=NOW, commit=True)
    assert mine not in {a["ticket_id"] for a in result["assignments"]}
    reason = {u["ticket_id"]: u["reason"] for u in result["unassigned"]}[mine]
    assert reason.startswith(f"claimed by agent {claimer['agent_id']}")


def test_a_round_may_re_route_what_a_round_placed(engine, logged, two_weeks):
    ticket = tickets_from(logged, 1)
    first, second = agents_from(two_weeks, 2, slots=1)
    placed = engine.assign(ticket, [first], now=NOW, commit=True)["assignments"]
    moved = engine.assign(ticket, [second], now=NOW + timedelta(minutes=5), commit=True)["assignments"]
    assert placed and moved, "the drawn ticket must be eligible for both agents"
    assert moved[0]["agent_id"] == second["agent_id"]
    assert engine.ledger.holds([ticket[0]["ticket_id"]], NOW + timedelta(minutes=5))[ticket[0]["ticket_id"]].agent_id \
        == second["agent_id"]


def test_a_hold_ends_with_the_outcome_or_after_claim_hold_s(engine, logged, two_weeks):
    queue = tickets_from(logged, 3)
    first, second = agents_from(two_weeks, 2, slots=1)
    mine = _claim(engine, first, queue)
    assert set(engine.ledger.holds([mine], NOW)) == {mine}
    later = NOW + timedelta(seconds=engine.policy.claim_hold_s + 1)
    assert engine.ledger.holds([mine], later) == {}
    only_mine = [t for t in queue if t["ticket_id"] == mine]
    assert _claim(engine, second, only_mine, now=later) == mine  # free again

    row = logged.iloc[:1].drop(columns=["message_words"]).astype(object).to_dict("records")[0]
    row.update(ticket_id=mine, agent_id=second["agent_id"])
    engine.record_outcomes([row])
    assert engine.ledger.holds([mine], NOW) == {}


def test_holds_can_be_turned_off(trained, tmp_path, logged, two_weeks):
    engine = Engine.load(trained[0], database_url=f"sqlite:///{tmp_path / 'l.db'}",
                         policy=PolicyConfig(claim_hold_s=0))
    try:
        ticket = tickets_from(logged, 1)
        first, second = agents_from(two_weeks, 2, slots=1)
        _claim(engine, first, ticket)
        assert engine.ledger.holds([ticket[0]["ticket_id"]], NOW) == {}
    finally:
        engine.close()


def test_racing_claims_on_two_replicas_never_share_a_ticket(trained, postgres_schema_url, logged, two_weeks):
    """Eight agents on two replicas claim from the same queue at once; every ticket goes to one agent at most."""
    replicas = [Engine.load(trained[0], database_url=postgres_schema_url) for _ in range(2)]
    locks = [threading.Lock() for _ in replicas]  # one request at a time per replica, as the API serves them
    queue = tickets_from(logged, 12)
    agents = agents_from(two_weeks, 8, slots=1)
    start = threading.Barrier(len(agents))
    taken: list[tuple[str, str]] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        engine, lock = replicas[i % 2], locks[i % 2]
        try:
            start.wait()
            for round_ in range(2):
                with lock:
                    ticket = _claim(engine, agents[i], queue, now=NOW + timedelta(seconds=round_))
                if ticket is not None:
                    taken.append((ticket, agents[i]["agent_id"]))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(agents))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        tickets = [t for t, _ in taken]
        assert len(tickets) >= 8 and len(set(tickets)) == len(tickets), taken
        holds = replicas[0].ledger.holds([t["ticket_id"] for t in queue], NOW)
        assert {t: h.agent_id for t, h in holds.items()} == dict(taken)
    finally:
        for engine in replicas:
            engine.close()
